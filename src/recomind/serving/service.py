"""Serving top-N: the cache in front, the database behind it, a ranker in between.

``recommendations:{user_id}`` holds the user's ranked list (up to ``max_n`` items) and
``popular_videos`` the trending list; both are JSON arrays in the response's own shape, so a
cache hit is one read plus a slice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import orjson
from prometheus_client import Counter
from sqlalchemy import Connection, Engine

from recomind.cache import keys
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.folds.profiles import fold_pending
from recomind.folds.states import first_likes, pending_actions
from recomind.schemas import Profile, RecommendedVideo, utcnow
from recomind.serving.fallback import CandidatePool, TagAffinityRanker
from recomind.serving.invalidation import TASTE_ACTIONS, ListInvalidation
from recomind.serving.recent_actions import current_pairs, member
from recomind.serving.trending import compute_trending, top_up
from recomind.storage.actions import HistoryItem, user_history
from recomind.storage.engine import read_tx
from recomind.storage.profiles import ProfileRow, get_profile
from recomind.storage.users import get_user
from recomind.storage.videos import get_videos

logger = logging.getLogger(__name__)

CACHE_LOOKUPS = Counter(
    "recomind_cache_lookups_total", "Cache lookups by key kind and result", ["kind", "result"]
)
BACKGROUND_REFRESHES = Counter(
    "recomind_background_refreshes_total", "User lists recomputed in the background"
)
SKIPPED_REFRESHES = Counter(
    "recomind_background_refreshes_skipped_total",
    "Background refreshes not queued because too many were waiting",
)
#: Users whose background refresh may wait or run at once (a burst of actions from users who
#: are not reading costs at most this much work; their next request computes their list).
REFRESH_QUEUE_MAX = 256


#: Stored actions newer than the user's profile folded into it per request, at most.
UNFOLDED_MAX = 200


class Ranker(Protocol):
    """Ranks videos for a user who has history. Must never return ``exclude``d videos."""

    def rank(
        self,
        conn: Connection,
        *,
        user_id: str,
        history: list[HistoryItem],
        profile: ProfileRow | None,
        exclude: set[str],
        n: int,
    ) -> list[RecommendedVideo]: ...


class RecommendationService:
    """Cache-first top-N for users and trending, with the database as the fallback."""

    def __init__(
        self, engine: Engine, cache: SafeCache, settings: Settings, ranker: Ranker | None = None
    ) -> None:
        self.engine = engine
        self.cache = cache
        self.settings = settings
        self.pool = CandidatePool(settings)
        self.ranker: Ranker = ranker or TagAffinityRanker(settings, pool=self.pool)
        self._refresher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="refresh")
        self._refresh_lock = threading.Lock()
        self._refreshing: dict[str, bool] = {}  # user -> run again when done
        self._running: set[str] = set()  # users whose refresh has started (not just queued)
        self._idle = threading.Condition(self._refresh_lock)
        self.lists = ListInvalidation(cache=cache, settings=settings, refresh=self.refresh_soon)

    def _key(self, *parts: str) -> str:
        return keys.key(self.settings.cache_prefix, *parts)

    def trending(self, n: int) -> tuple[list[RecommendedVideo] | bytes, bool]:
        """``(items, cache_hit)``; on a hit the items are the cached JSON bytes, sliced."""
        key = self._key(keys.POPULAR_VIDEOS)
        cached = self.cache.get(key)
        if cached is not None:
            CACHE_LOOKUPS.labels("popular_videos", "hit").inc()
            return _slice(cached, n), True
        CACHE_LOOKUPS.labels("popular_videos", "miss").inc()
        with read_tx(self.engine) as conn:
            items = compute_trending(conn, settings=self.settings, limit=self.settings.max_n)
        self.cache.set(key, _dump(items), self.settings.popular_videos_ttl_s)
        return items[:n], False

    def for_user(self, user_id: str, n: int) -> tuple[list[RecommendedVideo] | bytes, str]:
        """``(items, cache)`` where cache says where the list came from:

        * ``hit``: the cached list, fresh;
        * ``stale``: the cached list after its freshness ran out (its TTL, or every
          ``refresh_after_interactions`` actions), served while a refresh runs;
        * ``refreshed``: the user's list had been dropped (a like, skip or unlike) and this
          process was already recomputing it: the request waited for that refresh (at most
          ``recommendations_refresh_wait_s``) and serves its list;
        * ``miss``: computed by this request.

        A list from before a taste action is never served: the action dropped it, and a
        refresh that raced with it cannot store it again (:meth:`store_list`). Videos the user
        just acted on are never in the answer either.
        """
        key = self._key(keys.RECOMMENDATIONS, user_id)
        cached = self.cache.get(key)
        how = "hit"
        if cached is None and self._await_refresh(user_id):
            cached = self.cache.get(key)
            how = "refreshed"
        if cached is not None:
            seen = self.recently_seen(user_id)
            items = _without(cached, seen, n)
            if items is not None:
                if how == "hit" and self.cache.get(self._key(keys.FRESH, user_id)) is None:
                    CACHE_LOOKUPS.labels("recommendations", "stale").inc()
                    self.refresh_soon(user_id)
                    return items, "stale"
                CACHE_LOOKUPS.labels("recommendations", how).inc()
                return items, how
        CACHE_LOOKUPS.labels("recommendations", "miss").inc()
        fresh = self.refresh_user(user_id)
        return fresh[:n], "miss"

    def refresh_user(self, user_id: str) -> list[RecommendedVideo]:
        """Recompute the user's list and store it under ``recommendations:{user_id}``.

        The list is not stored if the user's state changed while it was computed (an
        invalidation bumped the generation): a slow reader never caches a stale list.
        """
        before = self.generation(user_id)
        items = self.compute_for_user(user_id)
        self.store_list(user_id, items, before)
        return items

    def generation(self, user_id: str) -> bytes | None:
        """The user's invalidation generation now (pass it to :meth:`store_list` later)."""
        return self.cache.get(self._key(keys.GENERATION, user_id))

    def store_list(
        self, user_id: str, items: list[RecommendedVideo], generation_before: bytes | None
    ) -> bool:
        """Cache ``items`` as the user's fresh list unless their generation moved meanwhile.

        ``generation_before`` is :meth:`generation` read before the list was computed;
        returns whether the list was stored (the guard of :meth:`refresh_user`). The check
        and the write are one atomic step (``Cache.set_many_if``): an invalidation can never
        slip between them. The list stays servable ``recommendations_stale_s`` past its TTL,
        marked stale.
        """
        ttl = self.settings.recommendations_ttl_s
        return self.cache.set_many_if(
            self._key(keys.GENERATION, user_id),
            generation_before,
            {
                self._key(keys.RECOMMENDATIONS, user_id): (
                    _dump(items),
                    ttl + self.settings.recommendations_stale_s,
                ),
                self._key(keys.FRESH, user_id): (b"1", ttl),
            },
        )

    def refresh_soon(self, user_id: str) -> None:
        """Recompute the user's list in the background (one refresh per user at a time).

        At most :data:`REFRESH_QUEUE_MAX` users wait or run; beyond that the refresh is not
        queued (counted in ``recomind_background_refreshes_skipped_total``): a dropped list
        is computed by its next request, a stale one refreshed then.
        """
        with self._refresh_lock:
            if user_id in self._refreshing:
                self._refreshing[user_id] = True  # state changed meanwhile: run once more
                return
            if len(self._refreshing) >= REFRESH_QUEUE_MAX:
                SKIPPED_REFRESHES.inc()
                return
            self._refreshing[user_id] = False
        self._refresher.submit(self._refresh_loop, user_id)

    def _refresh_loop(self, user_id: str) -> None:
        with self._refresh_lock:
            self._running.add(user_id)
        while True:
            try:
                self.refresh_user(user_id)
                BACKGROUND_REFRESHES.inc()
            except Exception:  # a failed refresh leaves the stale list; the next request retries
                logger.exception("background refresh of %s failed", user_id)
            with self._refresh_lock:
                if not self._refreshing.get(user_id):
                    del self._refreshing[user_id]
                    self._running.discard(user_id)
                    self._idle.notify_all()
                    return
                self._refreshing[user_id] = False

    def _await_refresh(self, user_id: str) -> bool:
        """Wait for the refresh of ``user_id`` this process is running (not one still
        queued), at most ``recommendations_refresh_wait_s``; whether it finished."""
        budget = self.settings.recommendations_refresh_wait_s
        with self._refresh_lock:
            if user_id not in self._running or budget <= 0:
                return False
            return self._idle.wait_for(lambda: user_id not in self._refreshing, budget)

    def wait_for_refreshes(self, timeout_s: float = 30.0) -> bool:
        """Block until no background refresh runs (tests, shutdown). False on timeout."""
        with self._refresh_lock:
            return self._idle.wait_for(lambda: not self._refreshing, timeout_s)

    def close(self) -> None:
        self._refresher.shutdown(wait=True, cancel_futures=True)

    def compute_for_user(self, user_id: str) -> list[RecommendedVideo]:
        """Rank from the database (no cache read): trending for users without history.

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
            items = self.ranker.rank(
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
        recent: dict[str, list[str]] = {}
        now = time.time()
        for j, (user_id, video_id, action_type) in enumerate(actions):  # in arrival order
            key = self._key(keys.RECENT_ACTIONS, user_id)
            recent.setdefault(key, []).append(member(now + j * 1e-6, action_type, video_id))
        self.cache.add_members_many(recent, self.settings.recommendations_ttl_s)
        self.lists.tasted(u for u, _, a in actions if a in TASTE_ACTIONS)

    def recent_actions(self, user_id: str) -> list[tuple[str, str]]:
        """``(action_type, video_id)`` pairs accepted in the last TTL, newest first (each
        pair once; of a video's likes and unlikes only the newest): the order the next list
        follows."""
        return current_pairs(self.cache.members(self._key(keys.RECENT_ACTIONS, user_id)))

    def recently_seen(self, user_id: str) -> set[str]:
        return {video for _, video in self.recent_actions(user_id)}

    def reset_local_state(self) -> None:
        """Forget what this process memoised, the ranker's pools included (tests, admin)."""
        self.pool.invalidate()
        reset = getattr(self.ranker, "reset_local_state", None)
        if callable(reset):
            reset()

    def profile(self, user_id: str) -> Profile | None:
        """The user's stored profile, cache-first (``user_profile:{user_id}``); ``None`` for
        an unknown user. Like lists, a profile read before a change is never cached after it."""
        key = self._key(keys.USER_PROFILE, user_id)
        cached = self.cache.get(key)
        if cached is not None:
            return Profile.model_validate_json(cached)
        generation_key = self._key(keys.PROFILE_GENERATION, user_id)
        before = self.cache.get(generation_key)
        with read_tx(self.engine) as conn:
            if get_user(conn, user_id=user_id) is None:
                return None
            row = get_profile(conn, user_id=user_id)
        profile = Profile(
            user_id=user_id,
            top_tags=row.top_tags if row else [],
            tag_weights=row.tag_weights if row else {},
            updated_at=row.updated_at if row else None,
        )
        if self.cache.get(generation_key) == before:
            self.cache.set(
                key, orjson.dumps(profile.model_dump(mode="json")), self.settings.user_profile_ttl_s
            )
        return profile

    def drop_profile(self, user_id: str) -> None:
        self.cache.incr(
            self._key(keys.PROFILE_GENERATION, user_id), 2.0 * self.settings.user_profile_ttl_s
        )
        self.cache.delete(self._key(keys.USER_PROFILE, user_id))


def _dump(items: list[RecommendedVideo]) -> bytes:
    return orjson.dumps([i.model_dump(mode="json") for i in items])


def _without(cached: bytes, seen: set[str], n: int) -> bytes | None:
    """The first ``n`` cached items minus ``seen``; ``None`` if too few are left."""
    items = orjson.loads(cached)
    if seen:
        kept = [i for i in items if i["video_id"] not in seen]
        if len(kept) < min(n, len(items)):
            return None
        items = kept
    if len(items) <= n and not seen:
        return cached
    return orjson.dumps(items[:n])


def _slice(cached: bytes, n: int) -> bytes:
    items = orjson.loads(cached)
    if len(items) <= n:
        return cached
    return orjson.dumps(items[:n])
