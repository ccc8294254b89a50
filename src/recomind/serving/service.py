"""Serving top-N: the cache in front, the database behind it, a ranker in between.

``recommendations:{user_id}`` holds the user's ranked list (up to ``max_n`` items) and
``popular_videos`` the trending list, both in compact form (ids, scores, reason codes:
:mod:`~recomind.serving.list_codec`); a page is rendered from it and the shared video cards
(:mod:`~recomind.serving.video_cards`). A cache hit is one cache round trip (the list, its
generation and the user's recent actions together) and no thread hop: the read methods
are coroutines, and only a miss runs on a worker thread.

When the database does not answer, what the cache holds is served, marked ``degraded``
(``X-RecoMind-Degraded: database``) where the database was needed: a list to compute
(:mod:`~recomind.serving.degraded`), video cards (:mod:`~recomind.serving.video_cards`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import NamedTuple

from prometheus_client import Counter
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from recomind.cache import keys
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.folds.profiles import fold_pending
from recomind.folds.states import first_likes, pending_actions
from recomind.schemas import RecommendedVideo, utcnow
from recomind.serving import list_codec
from recomind.serving.degraded import cached_instead
from recomind.serving.experiments import Arm, Variants, variant_of
from recomind.serving.fallback import CandidatePool, TagAffinityRanker
from recomind.serving.first_page import first_page, triples
from recomind.serving.impressions import ImpressionLog, ServedPage
from recomind.serving.invalidation import TASTE_ACTIONS, ListInvalidation
from recomind.serving.profile_cache import ProfileCache
from recomind.serving.ranker import Ranker
from recomind.serving.recent_actions import current_pairs, member, noted_videos
from recomind.serving.refresher import Refresher
from recomind.serving.takedowns import Takedowns
from recomind.serving.trending import compute_trending, top_up
from recomind.serving.video_cards import VideoCards
from recomind.storage.actions import HistoryItem, user_history
from recomind.storage.engine import read_tx
from recomind.storage.outage import DATABASE_DOWN, served_from_cache
from recomind.storage.profiles import ProfileRow, get_profile
from recomind.storage.videos import get_videos

logger = logging.getLogger(__name__)

CACHE_LOOKUPS = Counter(
    "recomind_cache_lookups_total", "Cache lookups by key kind and result", ["kind", "result"]
)
_LOOKUP = {
    (kind, result): CACHE_LOOKUPS.labels(kind, result)
    for kind in ("recommendations", "popular_videos")
    for result in ("hit", "stale", "refreshed", "miss")
}


#: The source of the trending list (``popular_videos``).
TRENDING = "trending"

#: Stored actions newer than the user's profile folded into it per request, at most.
UNFOLDED_MAX = 200


class Served(NamedTuple):
    """A page served: its JSON, where it came from (``X-Cache``), its request id (empty for
    trending), whether the database failed it (served from the cache instead) and its
    experiment variant (``X-RecoMind-Variant``; empty: none)."""

    page: bytes
    cache: str
    request_id: str
    degraded: bool = False
    variant: str = ""


class RecommendationService:
    """Cache-first top-N for users and trending, with the database as the fallback."""

    def __init__(
        self,
        engine: Engine,
        cache: SafeCache,
        settings: Settings,
        ranker: Ranker | None = None,
        *,
        impressions: ImpressionLog | None = None,
    ) -> None:
        self.engine = engine
        self.impressions = impressions
        self.cache = cache
        self.settings = settings
        self.pool = CandidatePool(settings)
        self.ranker: Ranker = ranker or TagAffinityRanker(settings, pool=self.pool)
        self.cards = VideoCards(engine, cache, settings)
        self.profiles = ProfileCache(engine, cache, settings)
        self.refresher = Refresher(self.refresh_user)
        self.lists = ListInvalidation(cache=cache, settings=settings, refresh=self.refresh_soon)
        self.takedowns = Takedowns(engine, refresh_s=settings.takedown_refresh_s)
        self.variants = Variants(engine, settings, self.ranker, pool=self.pool)

    def _key(self, *parts: str) -> str:
        return keys.key(self.settings.cache_prefix, *parts)

    async def trending(self, n: int) -> Served:
        """The top-``n`` trending videos as a JSON array (``X-Cache``: hit or miss)."""
        page = await self.cached_trending(n)
        if page is not None:
            return page
        _LOOKUP["popular_videos", "miss"].inc()
        items = await run_in_threadpool(self._compute_trending)
        return Served(first_page(items, n, TRENDING)[2], "miss", "")

    async def cached_trending(self, n: int) -> Served | None:
        """The trending page from the cache; ``None`` when it must be computed."""
        (cached,), _ = await self.cache.fetch([self._key(keys.POPULAR_VIDEOS)])
        listed = list_codec.decode(cached) if cached is not None else None
        if listed is None:
            return None
        positions = listed.page(n, frozenset(), self.takedowns.ids)  # None: compute anew
        if positions is None:
            return None
        _LOOKUP["popular_videos", "hit"].inc()
        page, degraded = await self._render(listed, positions)
        return Served(page, "hit", "", degraded)

    def _compute_trending(self) -> list[RecommendedVideo]:
        with read_tx(self.engine) as conn:
            items = compute_trending(conn, settings=self.settings, limit=self.settings.max_n)
        items = self.takedowns.without(items)
        self.cards.remember(items)
        key = self._key(keys.POPULAR_VIDEOS)
        listed = list_codec.encode(triples(items), source=TRENDING)
        self.cache.set(key, listed, self.settings.popular_videos_ttl_s)
        return items

    async def for_user(self, user_id: str, n: int) -> Served:
        """The user's top-``n`` as a JSON array (:class:`Served`: with its request id, the
        served-list log's key), and where it came from:

        * ``hit``: the cached list, fresh;
        * ``stale``: the cached list after its freshness ran out (its TTL, or every
          ``refresh_after_interactions`` actions), served while a refresh runs;
        * ``refreshed``: the user's list had been dropped (a like, skip or unlike) and this
          process was already recomputing it: the request waited for that refresh (at most
          ``recommendations_refresh_wait_s``) and serves its list;
        * ``miss``: computed by this request;
        * ``stale`` and ``degraded``: it had to be computed and the database did not answer
          (:func:`~recomind.serving.degraded.cached_instead`).

        A list from before a taste action is never served: the action dropped it, and a
        refresh that raced with it cannot store it again (:meth:`store_list`). Videos the user
        just acted on are never in the answer either.
        """
        cached = await self.cached_page(user_id, n)
        if cached is not None:
            return cached
        if self.refresher.running(user_id):
            budget = self.settings.recommendations_refresh_wait_s
            if await run_in_threadpool(self.refresher.wait_for, user_id, budget):
                cached = await self.cached_page(user_id, n, how="refreshed")
                if cached is not None:
                    return cached
        _LOOKUP["recommendations", "miss"].inc()
        arm = self.variants.arm(user_id)
        try:
            items = await run_in_threadpool(self.refresh_user, user_id, arm)
        except DATABASE_DOWN as exc:
            prefix = self.settings.cache_prefix
            instead = await cached_instead(
                self.cache, prefix, user_id, n, self._render, self.takedowns.ids
            )
            if instead is None:
                raise
            served_from_cache(exc, "recommendations")
            return self._served(user_id, *instead, "stale", degraded=True)
        listed, positions, page = first_page(items, n, arm.ranker.source(), arm.tag)
        return self._served(user_id, listed, positions, page, "miss")

    def _served(
        self,
        user_id: str,
        listed: list_codec.CompactList,
        positions: list[int],
        page: bytes,
        how: str,
        *,
        degraded: bool = False,
    ) -> Served:
        request_id = uuid.uuid4().hex
        variant = variant_of(listed.tag)
        if self.impressions is not None:
            self.impressions.served(
                ServedPage.of(
                    listed,
                    positions,
                    served_at=time.time(),
                    request_id=request_id,
                    user_id=user_id,
                    cache=how,
                    variant=variant,
                )
            )
        return Served(page, how, request_id, degraded, variant or "")

    async def cached_page(self, user_id: str, n: int, how: str = "hit") -> Served | None:
        """:meth:`for_user` when the cache can answer now (``how``, or ``stale``: a refresh
        is queued); ``None`` when the list must be computed or waited for. One cache round
        trip; no thread hop unless a video card must come from the database."""
        wanted = [self._key(keys.RECOMMENDATIONS, user_id), self._key(keys.GENERATION, user_id)]
        (cached, generation), recent = await self.cache.fetch(
            wanted, self._key(keys.RECENT_ACTIONS, user_id)
        )
        listed = list_codec.decode(cached) if cached is not None else None
        if listed is None or listed.tag != self.variants.arm(user_id).tag:
            return None  # none, or cached for another arm (docs/experiments.md)
        positions = listed.page(n, noted_videos(recent), self.takedowns.ids)
        if positions is None:
            return None
        page, degraded = await self._render(listed, positions)
        if how == "hit" and not listed.fresh(time.time(), generation):
            how = "stale"
            self.refresh_soon(user_id)
        _LOOKUP["recommendations", how].inc()
        return self._served(user_id, listed, positions, page, how, degraded=degraded)

    async def _render(
        self, listed: list_codec.CompactList, positions: list[int]
    ) -> tuple[bytes, bool]:
        """``(page, degraded)``: degraded when the database did not answer for its cards."""
        cards = await self.cards.get([listed.ids[i] for i in positions])
        return list_codec.render(listed, positions, cards.cards), cards.degraded

    def refresh_user(self, user_id: str, arm: Arm | None = None) -> list[RecommendedVideo]:
        """Recompute the user's list with their arm's ranker (:mod:`~recomind.serving.
        experiments`) and store it under ``recommendations:{user_id}``.

        The list is not stored if the user's state changed while it was computed (an
        invalidation bumped the generation): a slow reader never caches a stale list.
        """
        arm = arm or self.variants.arm(user_id)
        before = self.generation(user_id)
        items = self.takedowns.without(self.compute_for_user(user_id, arm.ranker))
        self.store_list(user_id, items, before, arm)
        return items

    def generation(self, user_id: str) -> bytes | None:
        """The user's invalidation generation now (pass it to :meth:`store_list` later)."""
        return self.cache.get(self._key(keys.GENERATION, user_id))

    def store_list(
        self,
        user_id: str,
        items: list[RecommendedVideo],
        generation_before: bytes | None,
        arm: Arm | None = None,
    ) -> bool:
        """Cache ``items`` as the user's fresh list unless their generation moved meanwhile.

        ``generation_before`` is :meth:`generation` read before the list was computed;
        returns whether the list was stored (the guard of :meth:`refresh_user`). The check
        and the write are one atomic step (``Cache.set_many_if``): an invalidation can never
        slip between them. The list is fresh for ``recommendations_ttl_s`` and while the
        generation stays, and servable ``recommendations_stale_s`` longer, marked stale. The
        items' video cards are shared at the same time. Without ``arm`` the items were ranked
        by the service's ranker (precompute): not stored for a user whose arm ranks otherwise.
        """
        if arm is None:
            arm = self.variants.arm(user_id)
            if arm.ranker is not self.ranker:
                return False
        items = self.takedowns.without(items)  # also lists computed elsewhere (precompute)
        self.cards.remember(items)
        ttl = self.settings.recommendations_ttl_s
        listed = list_codec.encode(
            triples(items),
            fresh_until=time.time() + ttl,
            generation=generation_before,
            source=arm.ranker.source(),
            tag=arm.tag,
        )
        return self.cache.set_many_if(
            self._key(keys.GENERATION, user_id),
            generation_before,
            {
                self._key(keys.RECOMMENDATIONS, user_id): (
                    listed,
                    ttl + self.settings.recommendations_stale_s,
                ),
            },
        )

    def refresh_soon(self, user_id: str) -> None:
        """Recompute the user's list in the background (:class:`Refresher`)."""
        self.refresher.soon(user_id)

    def wait_for_refreshes(self, timeout_s: float = 30.0) -> bool:
        """Block until no background refresh runs (tests, shutdown). False on timeout."""
        return self.refresher.wait_idle(timeout_s)

    def close(self) -> None:
        self.refresher.close()
        if self.impressions is not None:
            self.impressions.close()

    def compute_for_user(
        self, user_id: str, ranker: Ranker | None = None
    ) -> list[RecommendedVideo]:
        """Rank from the database (no cache read) with ``ranker`` (default: the user's arm's):
        trending for users without history.

        Actions accepted but not yet stored by the consumers (the cache's recent-actions set)
        count as history and in the profile already, so a like steers the very next list.
        """
        limit = self.settings.max_n
        recent = self.recent_actions(user_id)
        with read_tx(self.engine) as conn:
            history = user_history(conn, user_id=user_id)
            if not history and not recent:
                return compute_trending(conn, settings=self.settings, limit=limit)
            profile = get_profile(conn, user_id=user_id)
            history, profile = self._with_pending(conn, user_id, history, profile, recent)
            exclude = {h.video_id for h in history}
            ranker = ranker or self.variants.arm(user_id).ranker
            items = ranker.rank(
                conn, user_id=user_id, history=history, profile=profile, exclude=exclude, n=limit
            )
            if len(items) < limit:  # top up with trending the user has not seen
                have = exclude | {i.video_id for i in items}
                trending = compute_trending(conn, settings=self.settings, limit=limit + len(have))
                top_up(items, have, trending, limit)
            return items

    def _with_pending(
        self,
        conn: Connection,
        user_id: str,
        history: list[HistoryItem],
        profile: ProfileRow | None,
        recent: list[tuple[str, str]],
    ) -> tuple[list[HistoryItem], ProfileRow | None]:
        """The history plus actions the cache noted but ``persist`` has not stored yet (newest
        first, before the stored ones; by the state rules: a like noted twice counts once),
        and the profile plus every action it has not folded: those and the stored actions
        newer than it (the consumer groups lag independently)."""
        pending = pending_actions(history, recent)
        since = profile.updated_at if profile is not None else None
        unfolded = [
            (h.action_type, h.video_id)
            for h in history[:UNFOLDED_MAX]
            if since is None or h.timestamp > since
        ]
        if not pending and not unfolded:
            return history, profile
        videos = get_videos(conn, video_ids=[v for _, v in pending + unfolded])
        now = utcnow()
        extra = [HistoryItem(v, a, now, None) for a, v in pending if v in videos]
        folded = fold_pending(
            profile,
            user_id=user_id,
            pending=pending + unfolded,
            videos=videos,
            settings=self.settings,
            first_likes=first_likes(history),
        )
        return extra + history, folded

    def note_action(self, user_id: str, video_id: str, action_type: str = "view") -> None:
        """Remember at once that the user acted on ``video_id``, before any consumer ran.

        The video is never served to them again, the action counts in their next ranking,
        and a taste action (a like, skip or unlike) drops their cached list at once (when
        ``refresh_on_like`` is set): their next request computes it or waits for its refresh.
        """
        self.note_actions([(user_id, video_id, action_type)])

    def note_actions(self, actions: Sequence[tuple[str, str, str]]) -> None:
        """:meth:`note_action` for ``(user_id, video_id, action_type)`` triples, with one
        cache round trip for all of them (the API batches concurrent requests' actions)."""
        recent: dict[str, dict[str, float]] = {}
        now_us = time.time_ns() // 1000  # whole microseconds: Redis keeps them compact
        for j, (user_id, video_id, action_type) in enumerate(actions):  # in arrival order
            key = self._key(keys.RECENT_ACTIONS, user_id)
            recent.setdefault(key, {})[member(action_type, video_id)] = float(now_us + j)
        self.cache.add_scored_many(
            recent, self.settings.recommendations_ttl_s, keep=self.settings.recent_actions_keep
        )
        self.lists.tasted(u for u, _, a in actions if a in TASTE_ACTIONS)

    def recent_actions(self, user_id: str) -> list[tuple[str, str]]:
        """``(action_type, video_id)`` pairs accepted in the last TTL, newest first (each
        pair once; of a video's likes and unlikes only the newest): the order the next list
        follows."""
        return current_pairs(self.cache.scored(self._key(keys.RECENT_ACTIONS, user_id)))

    def recently_seen(self, user_id: str) -> set[str]:
        return {video for _, video in self.recent_actions(user_id)}

    def reset_local_state(self) -> None:
        """Forget what this process memoised, the ranker's pools included (tests, admin)."""
        self.pool.invalidate()
        self.cards.clear_local()
        self.variants.forget()
        reset = getattr(self.ranker, "reset_local_state", None)
        if callable(reset):
            reset()
