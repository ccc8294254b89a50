"""The one owner of when a user's cached list stops being fresh, and the one way to say so.

A list stops being fresh on three rules, all here:

* a like (``refresh_on_like``): once when the API accepts it (from the action it has just
  seen) and once when the ``profiles`` group has stored it (from the stored state);
* every ``refresh_after_interactions`` actions of one user (counted by ``retrain-trigger``
  under ``actions_since_refresh:{user_id}``, the design's "after X interactions");
* an explicit drop (admin, tests): the next request recomputes the list.

Each goes through :meth:`ListInvalidation.stale`: the user's generation is bumped (a refresh
already running will not store its older result), the freshness marker is dropped (the old
list is served at most while the refresh runs) and a background refresh is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import Counter

from recomind.cache import keys
from recomind.cache.safe import SafeCache
from recomind.config import Settings

REFRESHES = Counter(
    "recomind_recommendation_refreshes_total", "User lists refreshed after X interactions"
)


class ListInvalidation:
    """Marks users' cached lists stale and asks for their refresh.

    Parameters
    ----------
    cache
        Where ``recommendations:{user_id}`` and its generation and freshness keys live.
    settings
        TTLs, the cache prefix and the refresh rules.
    refresh
        Recomputes one user's list in the background.
    """

    def __init__(
        self, *, cache: SafeCache, settings: Settings, refresh: Callable[[str], None]
    ) -> None:
        self.cache = cache
        self.settings = settings
        self.refresh = refresh

    def _key(self, *parts: str) -> str:
        return keys.key(self.settings.cache_prefix, *parts)

    def stale(self, user_ids: Iterable[str]) -> None:
        """The users' state changed: bump their generations, drop their freshness markers and
        refresh their lists in the background."""
        ttl = 2.0 * (self.settings.recommendations_ttl_s + self.settings.recommendations_stale_s)
        for user_id in dict.fromkeys(user_ids):
            self.cache.incr(self._key(keys.GENERATION, user_id), ttl)
            self.cache.delete(self._key(keys.FRESH, user_id))
            self.refresh(user_id)

    def liked(self, user_ids: Iterable[str]) -> None:
        """These users liked something: their lists are stale (when ``refresh_on_like``)."""
        if self.settings.refresh_on_like:
            self.stale(user_ids)

    def counted(self, actions_per_user: Mapping[str, int]) -> None:
        """Count new actions per user; a user reaching ``refresh_after_interactions`` since
        their last refresh has their list refreshed and their count reset."""
        x = self.settings.refresh_after_interactions
        if x <= 0:
            return
        ttl = float(self.settings.recommendations_ttl_s)
        due: list[str] = []
        for user_id, n in actions_per_user.items():
            key = self._key(keys.ACTIONS_SINCE_REFRESH, user_id)
            count = None
            for _ in range(n):
                count = self.cache.incr(key, ttl)
            if count is not None and count >= x:
                self.cache.delete(key)
                due.append(user_id)
        self.stale(due)
        REFRESHES.inc(len(due))

    def drop(self, user_id: str) -> None:
        """Drop the user's list outright; the next request recomputes it (admin, tests)."""
        self.stale([user_id])
        self.cache.delete(self._key(keys.RECOMMENDATIONS, user_id))
