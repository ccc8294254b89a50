"""The model-backed ranker: the published hybrid, scored from the user's live history.

The user's history row is built from the database (plus videos the cache says they just
acted on), so a brand-new user's first like changes their next list at once, without a
refit. Videos uploaded after the last fit are unknown to the model: a few of them that match
the user's profile tags are blended in ("new upload in #tag"). Until a model is published
the :class:`~recomind.serving.fallback.TagAffinityRanker` answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sqlalchemy import Connection

from recomind.config import Settings
from recomind.folds.states import history_weights
from recomind.recommend.base import history_row
from recomind.recommend.batch_rank import rank_rows
from recomind.recommend.pages import page_order
from recomind.schemas import RecommendedVideo, Video, recommended
from recomind.serving.fallback import TagAffinityRanker
from recomind.serving.follow import after_action, follow_up
from recomind.serving.follow_prefetch import prefetch
from recomind.serving.inputs import UserInput, batch_inputs
from recomind.serving.model_store import LoadedModel, ModelLoader, ModelStore
from recomind.serving.rerank_inputs import ranker_histories
from recomind.serving.taste import (
    Taste,
    elsewhere,
    evidence_reason,
    explore,
    popular_reason,
    reason_holds,
    recent_ids,
    recent_taste,
)
from recomind.storage.actions import HistoryItem
from recomind.storage.profiles import ProfileRow
from recomind.storage.videos import get_videos, newest_videos

__all__ = ["ModelRanker", "UserInput", "batch_inputs", "cap_pages"]

logger = logging.getLogger(__name__)

FRESH_POOL = 200
#: Newest distinct videos of a history whose rows back the reasons (and the recent taste).
REASON_DEPTH = 100
#: Videos kept by :meth:`ModelRanker.videos` (dropped all at once beyond this, or every
#: ``candidate_pool_ttl_s``).
VIDEO_CACHE_SIZE = 50_000


def cap_pages(
    items: list[RecommendedVideo], *, page: int, max_per_creator: int, max_per_tag: int
) -> list[RecommendedVideo]:
    """:func:`recomind.recommend.pages.page_order` applied to a list of videos: every page of
    ``page`` respects the caps (``0``: no cap), the list ending at the first short page."""
    keep = page_order(
        [it.creator_id for it in items],
        [it.tags for it in items],
        page=page,
        max_per_creator=max_per_creator,
        max_per_tag=max_per_tag,
    )
    return [items[j] for j in keep]


@dataclass
class ModelRanker:
    """:class:`~recomind.serving.service.Ranker` backed by the published hybrid.

    Parameters
    ----------
    settings
        Action weights, page size, fresh-upload slots, pool TTL.
    loader
        Gives the current model (``None``: always the fallback).
    fallback
        Answers while no model is loaded.
    """

    settings: Settings
    loader: ModelLoader | None
    fallback: TagAffinityRanker
    _fresh: tuple[float, str, list[Video]] = field(default=(-1e18, "", []), init=False)
    _primed: dict[str, tuple[frozenset[str], list[RecommendedVideo]]] = field(
        default_factory=dict, init=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _videos: tuple[float, dict[str, Video]] = field(default=(-1e18, {}), init=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, background: bool = True) -> ModelRanker:
        """The ranker of ``settings.model_dir`` (fallback only when it is empty)."""
        loader = (
            ModelLoader(
                ModelStore(settings.model_dir),
                poll_seconds=settings.model_poll_seconds,
                background=background,
            )
            if settings.model_dir
            else None
        )
        return cls(settings, loader, TagAffinityRanker(settings))

    def model(self) -> LoadedModel | None:
        return self.loader.current() if self.loader is not None else None

    # -- the Ranker protocol -----------------------------------------------------------

    def source(self) -> str:
        model = self.model()
        return f"model:{model.version}" if model is not None else self.fallback.source()

    def rank(
        self,
        conn: Connection,
        *,
        user_id: str,
        history: list[HistoryItem],
        profile: ProfileRow | None,
        exclude: set[str],
        n: int,
    ) -> list[RecommendedVideo]:
        model = self.model()
        if model is None:
            return self.fallback.rank(
                conn, user_id=user_id, history=history, profile=profile, exclude=exclude, n=n
            )
        with self._lock:
            primed = self._primed.pop(user_id, None)
        if primed is not None and primed[0] == frozenset(exclude):
            return primed[1][:n]
        user = UserInput(user_id, history, profile, exclude)
        return self.rank_many(conn, model, [user], n=n)[0]

    # -- batches -----------------------------------------------------------------------

    def rank_many(
        self, conn: Connection, model: LoadedModel, users: Sequence[UserInput], *, n: int
    ) -> list[list[RecommendedVideo]]:
        """Feeds of ``n`` for several users with one batched scoring pass."""
        if not users:
            return []
        h, excludes = self.history_rows(model, users)
        now = time.time()
        rescorer = None
        if model.rerank is not None and self.settings.learned_ranker:
            hist = ranker_histories(
                users,
                h,
                index=model.item_index,
                n_items=model.hybrid.n_items,
                weigh=self._weigh(model),
                pending_weight=self.settings.weight_view,
                now=now,
            )
            rescorer = model.rerank.rescorer(model.hybrid, hist, now=now)
        recs = rank_rows(
            model.hybrid,
            h,
            n=n,
            page=self.settings.default_n,
            excludes=excludes,
            now=now,
            rescorer=rescorer,
        )
        fresh = self._fresh_uploads(conn, model)
        ids = {model.item_ids[r.item] for rs in recs for r in rs}
        ids |= {v for user in users for v in recent_ids(user.history, REASON_DEPTH)}
        videos = self.videos(conn, ids)
        pop, popular = self.fallback.candidate_pool().ranked(conn)
        tastes = [
            recent_taste(user.history, videos, settings=self.settings, depth=REASON_DEPTH)
            for user in users
        ]
        reads = prefetch(
            conn,
            self.fallback.follow_up_reads(),
            tastes,
            settings=self.settings,
            rows=self.videos,
            all_tags=model.hybrid.catalogue.tags,
        )
        out: list[list[RecommendedVideo]] = []
        for user, rs, taste in zip(users, recs, tastes, strict=True):
            items = [
                recommended(videos[model.item_ids[r.item]], r.score, r.reason)
                for r in rs
                if model.item_ids[r.item] in videos
            ]
            items = self._blend_fresh(items, fresh, user)
            items = [i if reason_holds(i, taste, pop) else _reason(i, taste, pop) for i in items]
            follow = follow_up(
                conn, taste=taste, settings=self.settings, exclude=user.exclude, reads=reads
            )
            items = after_action(
                items,
                newest=user.history[0] if user.history else None,
                videos=videos,
                taste=taste,
                follow=follow,
                pop=pop,
                settings=self.settings,
            )
            others = (
                recommended(v, 0.0, popular_reason(v, pop))
                for v in popular
                if v.video_id not in user.exclude
            )
            weights = user.profile.tag_weights if user.profile else {}
            items = explore(
                items,
                others,
                every=self.settings.explore_every,
                is_elsewhere=elsewhere(taste, weights),
            )
            out.append(
                cap_pages(
                    items,
                    page=self.settings.default_n,
                    max_per_creator=model.hybrid.max_per_creator,
                    max_per_tag=model.hybrid.max_per_tag,
                )[:n]
            )
        return out

    def videos(self, conn: Connection, ids: set[str]) -> dict[str, Video]:
        """Rows of ``ids`` (missing ones left out), reusing rows read in the last TTL.

        Ranked lists keep hitting the same popular videos: this process reuses their rows
        for ``candidate_pool_ttl_s`` seconds, as it does for its candidate pools.
        """
        ttl = self.settings.candidate_pool_ttl_s
        built, known = self._videos
        now = time.monotonic()
        if now - built > ttl or len(known) > VIDEO_CACHE_SIZE:
            built, known = now, {}
            self._videos = (built, known)
        missing = sorted(i for i in ids if i not in known)
        if missing:
            known.update(get_videos(conn, video_ids=missing))
        return {i: known[i] for i in ids if i in known}

    def prime(self, conn: Connection, users: Sequence[UserInput], *, n: int) -> int:
        """Rank ``users`` in one batch and keep the lists for their next :meth:`rank` call.

        The batch jobs prime a chunk of users, then refresh each through the service: the
        service's own logic (cache keys, top-up) applies, the scoring is batched. A primed
        list is used only if the user's exclusions are still the same. Returns how many
        users were primed (0 without a model).
        """
        model = self.model()
        if model is None or not users:
            return 0
        lists = self.rank_many(conn, model, users, n=n)
        with self._lock:
            for user, items in zip(users, lists, strict=True):
                self._primed[user.user_id] = (frozenset(user.exclude), items)
        return len(users)

    def reset_local_state(self) -> None:
        """Forget the rows and pools this process reuses (tests, admin)."""
        self.fallback.reset_local_state()
        self._videos = (-1e18, {})
        self._fresh = (-1e18, "", [])
        self.clear_primed()

    def clear_primed(self) -> None:
        with self._lock:
            self._primed.clear()

    def history_rows(
        self, model: LoadedModel, users: Sequence[UserInput]
    ) -> tuple[sparse.csr_matrix, list[np.ndarray]]:
        """Each user's recency-weighted history row (as the hybrid's ``history_matrix``
        weighs a stored history) and the item indices never to return.

        Each action counts what the per-(user, video) rules of :mod:`recomind.weights` say,
        as in the training data: a like noted twice once, an unlike cancels its like, the
        k-th view of a video less. Every counted action takes a recency position, including
        one on a video the model does not know yet (a new upload): it is still one of the
        user's newer actions, so older ones decay past it, as in
        :mod:`recomind.recommend.recency`. Only known videos get a column in the row.
        """
        index = model.item_index
        weigh = self._weigh(model)
        rows = []
        excludes: list[np.ndarray] = []
        for user in users:
            in_history = {h.video_id for h in user.history}
            # Acted on but not stored yet (the cache's recently-seen set): count as views,
            # newer than anything stored.
            pending = sorted(user.exclude - in_history)
            items: list[int] = []
            weights: list[float] = []
            positions: list[int] = []
            for position, video_id in enumerate(pending):
                i = index.get(video_id)
                if i is not None:
                    items.append(i)
                    weights.append(self.settings.weight_view)
                    positions.append(position)
            position = len(pending)
            for h, w in zip(user.history, history_weights(user.history, weigh), strict=True):
                if w == 0.0:  # a repeated like, an unlike, a view past the cap: not counted
                    continue
                i = index.get(h.video_id)
                if i is not None:
                    items.append(i)
                    weights.append(w)
                    positions.append(position)
                position += 1
            weights_all = np.asarray(weights, dtype=np.float64)
            weights_all *= model.hybrid.recency_factors(np.asarray(positions, dtype=np.int64))
            rows.append(history_row(items, weights_all, model.hybrid.n_items))
            ex = [index[v] for v in user.exclude if v in index]
            excludes.append(np.asarray(ex, dtype=np.int64))
        return sparse.vstack(rows, format="csr"), excludes

    def _weigh(self, model: LoadedModel) -> Callable[[HistoryItem], float]:
        """An action's own weight, with the model's duration of its video."""
        index, durations = model.item_index, model.item_durations

        def weigh(h: HistoryItem) -> float:
            i = index.get(h.video_id)
            d = float(durations[i]) if i is not None else float("nan")
            dur = d if np.isfinite(d) else None
            return self.settings.action_weight(h.action_type, h.watch_time_ms, dur)

        return weigh

    # -- new uploads the model does not know --------------------------------------------

    def _fresh_uploads(self, conn: Connection, model: LoadedModel) -> list[Video]:
        built, version, videos = self._fresh
        ttl = self.settings.candidate_pool_ttl_s
        if version == model.version and time.monotonic() - built <= ttl:
            return videos
        newest = newest_videos(conn, limit=FRESH_POOL)
        videos = [v for v in newest if v.video_id not in model.item_index]
        self._fresh = (time.monotonic(), model.version, videos)
        return videos

    def _blend_fresh(
        self, items: list[RecommendedVideo], fresh: list[Video], user: UserInput
    ) -> list[RecommendedVideo]:
        slots = self.settings.model_fresh_slots
        weights = user.profile.tag_weights if user.profile else {}
        if slots <= 0 or not fresh or not weights:
            return items
        top = max((w for w in weights.values() if w > 0), default=0.0)
        if top <= 0:
            return items
        have = {i.video_id for i in items} | user.exclude
        scored: list[tuple[float, str, Video]] = []
        for v in fresh:
            if v.video_id in have or not v.tags:
                continue
            best = max(v.tags, key=lambda t: weights.get(t, 0.0))
            affinity = sum(max(weights.get(t, 0.0), 0.0) for t in v.tags) / len(v.tags) / top
            if affinity > 0:
                scored.append((affinity, best, v))
        scored.sort(key=lambda s: (-s[0], s[2].video_id))
        out = list(items)
        for j, (affinity, tag, v) in enumerate(scored[:slots]):
            pos = min(len(out), 2 + 4 * j)  # 3rd, 7th, 11th, ... place
            score = out[pos - 1].score if 0 < pos <= len(out) else affinity
            out.insert(pos, recommended(v, score, f"new upload in #{tag}"))
        return out


def _reason(item: RecommendedVideo, taste: Taste, pop: dict[str, float]) -> RecommendedVideo:
    """``item`` with a reason that has evidence (the model's could not be checked: it named
    a tag or video the stored rows or the user's recent history do not have)."""
    return item.model_copy(update={"reason": evidence_reason(item, taste, pop)})
