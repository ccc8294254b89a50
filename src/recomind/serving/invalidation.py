"""The one owner of when a user's cached list stops being fresh, and the one way to say so.

A list stops being fresh on these rules, all here:

* a taste action (:data:`TASTE_ACTIONS`: a like, skip or unlike; ``refresh_on_like``): when
  the API accepts it, the user's list is **dropped** (:meth:`ListInvalidation.tasted`) and
  refreshed in the background, so their very next request never gets the list from before
  it (the refresh counts the action from the cache's recent actions: the consumers need not
  have stored it);
* every ``refresh_after_interactions`` actions of one user (counted by ``retrain-trigger``
  under ``actions_since_refresh:{user_id}``, the design's "after X interactions"): the list
  is marked stale (:meth:`ListInvalidation.stale`) and may be served while it is refreshed;
* an explicit drop (admin, tests): the next request recomputes the list;
* an erasure (:meth:`ListInvalidation.erased`): every key of the user is deleted, nothing
  is refreshed.

Every rule bumps the user's generation: a refresh already running stores its older result
only if the generation is unchanged, checked atomically with the write
(``Cache.set_many_if``), so a slow refresh never caches a list from before the change.
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

#: Actions that change what a user wants next: their next list must count them.
TASTE_ACTIONS: frozenset[str] = frozenset({"like", "skip", "unlike"})


class ListInvalidation:
    """Marks users' cached lists stale or drops them, and asks for their refresh.

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

    def _invalidate(self, user_ids: Iterable[str], *, drop: bool) -> None:
        ttl = 2.0 * (self.settings.recommendations_ttl_s + self.settings.recommendations_stale_s)
        for user_id in dict.fromkeys(user_ids):
            self.cache.incr(self._key(keys.GENERATION, user_id), ttl)
            listed = self._key(keys.RECOMMENDATIONS, user_id)
            if not drop:  # the list now names an older generation: served stale
                if self.cache.ttl(listed) is not None:  # only readers have a list to refresh
                    self.refresh(user_id)
            elif self.cache.delete(listed):
                self.refresh(user_id)  # they had a list, so they read: have the next one ready

    def stale(self, user_ids: Iterable[str]) -> None:
        """The users' state changed a little: bump their generations (a cached list names the
        generation it was computed at, so it is served ``stale`` now) and refresh the lists
        of those who have one in the background (a user without one is not reading: their
        next request computes it)."""
        self._invalidate(user_ids, drop=False)

    def tasted(self, user_ids: Iterable[str]) -> None:
        """These users just did a taste action (when ``refresh_on_like``): bump their
        generations, drop their lists and, for those who had one (they read their lists),
        refresh them in the background. Their next request waits for that refresh or
        computes the list itself: never the list from before."""
        if self.settings.refresh_on_like:
            self._invalidate(user_ids, drop=True)

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
        self._invalidate([user_id], drop=True)

    def erased(self, user_id: str) -> int:
        """The user was erased: delete their list and every other key named after them
        (``keys.user_keys``), with no refresh; returns how many keys existed. Bumps the
        generation first, so a refresh already running cannot store its list (call after
        waiting for it, and the generation key goes too)."""
        self.cache.incr(self._key(keys.GENERATION, user_id), 5.0)
        return self.cache.delete(*keys.user_keys(self.settings.cache_prefix, user_id))
