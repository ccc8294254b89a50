"""The ranker that needs no model: tag affinity over a shared pool of popular and new videos.

:class:`TagAffinityRanker` answers until a model is published (and on its own where none
is configured); :class:`CandidatePool` is the per-process pool of candidates it scores.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import Connection

from recomind.config import Settings
from recomind.schemas import RecommendedVideo, Video, recommended
from recomind.serving.follow import FollowUp, FollowUpReads, after_action, follow_up
from recomind.serving.taste import (
    Taste,
    elsewhere,
    explore,
    popular_reason,
    recent_ids,
    recent_taste,
)
from recomind.serving.trending import compute_trending
from recomind.storage.actions import HistoryItem
from recomind.storage.profiles import ProfileRow
from recomind.storage.videos import get_videos, newest_videos


def history_videos(
    conn: Connection, history: list[HistoryItem], known: dict[str, Video]
) -> dict[str, Video]:
    """Rows of the newest :data:`~recomind.serving.taste.DEPTH` distinct videos of
    ``history``, from ``known`` where it has them (one query for the rest)."""
    ids = recent_ids(history)
    out = {i: known[i] for i in ids if i in known}
    missing = [i for i in ids if i not in out]
    if missing:
        out.update(get_videos(conn, video_ids=missing))
    return out


@dataclass
class CandidatePool:
    """Popular and new videos with their data, rebuilt every ``candidate_pool_ttl_s`` seconds.

    Shared by every request of this process, so a cache miss costs the user's own rows only.
    """

    settings: Settings
    size: int = 400
    _built_at: float = field(default=-1e18, init=False)
    _popularity: dict[str, float] = field(default_factory=dict, init=False)
    _videos: dict[str, Video] = field(default_factory=dict, init=False)
    _ranked: list[Video] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def get(self, conn: Connection) -> tuple[dict[str, float], dict[str, Video]]:
        """``(popularity by video id, video by id)`` of the pool."""
        return self._get(conn)[:2]

    def ranked(self, conn: Connection) -> tuple[dict[str, float], list[Video]]:
        """``(popularity by video id, the pool's videos most popular first)``."""
        pop, _, ranked = self._get(conn)
        return pop, ranked

    def _get(self, conn: Connection) -> tuple[dict[str, float], dict[str, Video], list[Video]]:
        with self._lock:
            if time.monotonic() - self._built_at > self.settings.candidate_pool_ttl_s:
                trending = compute_trending(conn, settings=self.settings, limit=self.size)
                popularity = {t.video_id: t.score for t in trending}
                newest = newest_videos(conn, limit=self.size // 2)
                ids = list(popularity)
                ids += [v.video_id for v in newest if v.video_id not in popularity]
                self._videos = get_videos(conn, video_ids=ids)
                self._popularity = popularity
                self._ranked = [self._videos[i] for i in ids if i in self._videos]
                self._built_at = time.monotonic()
            return self._popularity, self._videos, self._ranked

    def invalidate(self) -> None:
        with self._lock:
            self._built_at = -1e18


#: Weights of :class:`TagAffinityRanker`'s score terms (see its docstring).
PROFILE_SHARE = 0.5
RECENT_SHARE = 1.0
CREATOR_SHARE = 0.5
WATCHED_NEXT_SHARE = 0.5


@dataclass
class TagAffinityRanker:
    """The service core's simple, real ranker: no model, one pass over a few hundred videos.

    Candidates are the process's pool of popular and new videos plus the follow-ups of the
    user's newest positive actions (:func:`follow_up`: videos of their tags and creators and
    what their viewers went on to watch). Each candidate scores

    ``0.5 * profile + 1.0 * recent + 0.5 * creator + 0.5 * watched_next + 0.3 * popularity``

    where *profile* is its tags' mean weight in the user's profile over the top weight,
    *recent* the same over their recent taste (:func:`~recomind.serving.taste.recent_taste`:
    the newest action counts most, so the next page follows it; skipped tags count against),
    *creator* its creator's recent weight, *watched_next* how many viewers of the newest seed
    went on to watch it (over the most) and *popularity* its decayed popularity over the top.
    The list then follows the newest taste action
    (:func:`~recomind.serving.follow.after_action`), and every ``explore_every``-th place
    holds an item from elsewhere (:func:`~recomind.serving.taste.explore`).

    Each reason names the largest term's evidence: ``because you liked #tag`` (a tag the item
    has and the user liked or watched), ``more from the creator of <title>`` (a video of the
    same creator they liked or watched), ``viewers of <title> also liked`` (<title> is the
    seed), ``trending now``; else what the item has (``new upload in #tag`` for the pool's
    new videos, else ``something different: #tag``).
    """

    settings: Settings
    popularity_share: float = 0.3
    pool: CandidatePool | None = None
    reads: FollowUpReads | None = None

    def candidate_pool(self) -> CandidatePool:
        if self.pool is None:
            self.pool = CandidatePool(self.settings)
        return self.pool

    def follow_up_reads(self) -> FollowUpReads:
        if self.reads is None:
            self.reads = FollowUpReads(self.settings)
        return self.reads

    def reset_local_state(self) -> None:
        """Rebuild the candidate pool and the follow-up reads on the next request."""
        self.candidate_pool().invalidate()
        self.follow_up_reads().clear()

    def source(self) -> str:
        return "tag-affinity"

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
        pop, ranked = self.candidate_pool().ranked(conn)
        pool_videos = {v.video_id: v for v in ranked}
        acted = history_videos(conn, history, pool_videos)
        taste = recent_taste(history, acted, settings=self.settings)
        follow = follow_up(
            conn,
            taste=taste,
            settings=self.settings,
            exclude=exclude,
            reads=self.follow_up_reads(),
        )
        candidates = {**pool_videos, **follow.videos}
        top_pop = max(pop.values(), default=0.0) or 1.0
        weights = {
            t: w for t, w in (profile.tag_weights if profile else {}).items() if math.isfinite(w)
        }
        top_w = max((w for w in weights.values() if w > 0), default=1.0)
        top_next = max(follow.watched_next.values(), default=0) or 1
        new, other = "new upload in", "something different:"  # pool videos are new or popular
        scored: list[tuple[float, str, dict[str, float]]] = []
        for vid, v in candidates.items():
            if vid in exclude:
                continue
            long = sum(weights.get(t, 0.0) for t in v.tags) / len(v.tags) / top_w if v.tags else 0.0
            terms = {
                "tag": PROFILE_SHARE * long + RECENT_SHARE * taste.tag_affinity(v.tags),
                "creator": CREATOR_SHARE * taste.creator_affinity(v.creator_id),
                "next": WATCHED_NEXT_SHARE * follow.watched_next.get(vid, 0) / top_next,
                "popular": self.popularity_share * max(pop.get(vid, 0.0), 0.0) / top_pop,
            }
            scored.append((sum(terms.values()), vid, terms))
        scored.sort(key=lambda s: (-s[0], s[1]))
        items = [
            recommended(
                candidates[vid],
                s,
                self._reason(candidates[vid], terms, taste, weights, follow)
                or popular_reason(candidates[vid], pop, new=new if vid in pool_videos else other),
            )
            for s, vid, terms in scored[:n]
        ]
        items = after_action(
            items,
            newest=history[0] if history else None,
            videos=acted,
            taste=taste,
            follow=follow,
            pop=pop,
            settings=self.settings,
        )
        others = (
            recommended(v, 0.0, popular_reason(v, pop)) for v in ranked if v.video_id not in exclude
        )
        return explore(
            items,
            others,
            every=self.settings.explore_every,
            is_elsewhere=elsewhere(taste, weights),
        )

    @staticmethod
    def _reason(
        v: Video,
        terms: dict[str, float],
        taste: Taste,
        weights: dict[str, float],
        follow: FollowUp,
    ) -> str | None:
        """The text of the largest positive term whose evidence is there (``None``: none)."""
        for term in sorted(terms, key=lambda k: -terms[k]):
            if terms[term] <= 0:
                break
            if term == "tag":
                tag = taste.best_tag(v.tags) or max(
                    v.tags, key=lambda t: weights.get(t, 0.0), default=None
                )
                if tag is not None and (taste.tags.get(tag, 0.0) > 0 or weights.get(tag, 0.0) > 0):
                    return f"because you liked #{tag}"
            elif term == "creator":
                liked = taste.liked_by(v.creator_id)
                if liked is not None:
                    return f"more from the creator of {liked.title}"
            elif term == "next" and follow.seed is not None:
                return f"viewers of {follow.seed.title} also liked"
            elif term == "popular":
                return "trending now"
        return None
