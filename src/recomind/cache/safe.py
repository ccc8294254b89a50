"""A cache wrapper that never fails a request: on backend errors it acts as a miss.

After an error it stops calling the backend for ``cooldown_s`` (a tiny circuit breaker), so a
dead or hung Redis costs one timeout (the backend's socket timeout), not one per request:
every call, reads and writes alike, is skipped while the breaker is open. Deletes skipped
then (list invalidations) are remembered, up to :data:`MAX_PENDING_DELETES` keys, and sent
first once the cache answers again, so a list cached before the outage is not served after
it as if nothing had happened.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence

from prometheus_client import Counter

from recomind.cache.base import Cache, CacheError

logger = logging.getLogger(__name__)

#: The token :meth:`SafeCache.try_lock` grants when the cache cannot be reached.
NO_LOCK = "no-lock"

CACHE_ERRORS = Counter("recomind_cache_errors_total", "Cache backend errors (served without cache)")
CACHE_SKIPPED = Counter(
    "recomind_cache_skipped_total", "Cache calls skipped while the breaker is open", ["op"]
)
DELETES_DROPPED = Counter(
    "recomind_cache_deletes_dropped_total",
    "Deletes skipped during a cache outage beyond the remembered maximum (lost invalidations)",
)
#: Keys whose skipped delete is replayed after an outage (beyond: counted, logged, dropped).
MAX_PENDING_DELETES = 100_000


class SafeCache:
    """Forwards to a :class:`Cache`; errors are logged and turned into misses / no-ops."""

    def __init__(self, backend: Cache, *, cooldown_s: float = 5.0) -> None:
        self.backend = backend
        self._cooldown_s = cooldown_s
        self._down_until = 0.0
        self._pending: set[str] = set()
        self._pending_lock = threading.Lock()

    @property
    def is_local(self) -> bool:
        """True for the in-process backend: calls never block on I/O."""
        return self.backend.is_local

    @property
    def available(self) -> bool:
        if time.monotonic() < self._down_until:
            return False
        if self._pending:
            self._replay()
        return time.monotonic() >= self._down_until

    def _skip(self, op: str) -> bool:
        """Whether ``op`` must be skipped now (the breaker is open)."""
        if self.available:
            return False
        CACHE_SKIPPED.labels(op).inc()
        return True

    def _replay(self) -> None:
        """Send the deletes skipped during the outage (the breaker closed just now)."""
        with self._pending_lock:
            keys, self._pending = sorted(self._pending), set()
        try:
            for i in range(0, len(keys), 500):
                self.backend.delete(*keys[i : i + 500])
        except CacheError as exc:
            with self._pending_lock:
                self._pending.update(keys)
            self._failed("delete (replay)", exc)
            return
        logger.warning("cache answers again: sent %d deletes skipped during the outage", len(keys))

    def _remember(self, keys: Sequence[str]) -> None:
        with self._pending_lock:
            room = max(MAX_PENDING_DELETES - len(self._pending), 0)
            self._pending.update(keys[:room])
        if room < len(keys):
            DELETES_DROPPED.inc(len(keys) - room)
            logger.error("cache outage: %d invalidations could not be kept", len(keys) - room)

    def _failed(self, op: str, exc: Exception) -> None:
        CACHE_ERRORS.inc()
        self._down_until = time.monotonic() + self._cooldown_s
        logger.warning(
            "cache %s failed, serving without cache for %.0fs: %s", op, self._cooldown_s, exc
        )

    def get(self, key: str) -> bytes | None:
        if not self.available:
            return None
        try:
            return self.backend.get(key)
        except CacheError as exc:
            self._failed("get", exc)
            return None

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        if not self.available:
            return
        try:
            self.backend.set(key, value, ttl_s)
        except CacheError as exc:
            self._failed("set", exc)

    def delete(self, *keys: str) -> int:
        """How many of ``keys`` existed (0 when the cache fails: the delete is then sent
        once the cache answers again)."""
        if self._skip("delete"):
            self._remember(keys)
            return 0
        try:
            return self.backend.delete(*keys)
        except CacheError as exc:
            self._failed("delete", exc)
            self._remember(keys)
            return 0

    def set_many_if(
        self, guard: str, expected: bytes | None, values: Mapping[str, tuple[bytes, float]]
    ) -> bool:
        """As :meth:`Cache.set_many_if`; ``False`` (nothing stored) when the cache fails."""
        if not self.available:
            return False
        try:
            return self.backend.set_many_if(guard, expected, values)
        except CacheError as exc:
            self._failed("set_many_if", exc)
            return False

    def incr(self, key: str, ttl_s: float | None = None) -> int | None:
        if not self.available:
            return None
        try:
            return self.backend.incr(key, ttl_s)
        except CacheError as exc:
            self._failed("incr", exc)
            return None

    def try_lock(self, key: str, ttl_s: float) -> str | None:
        """As :meth:`Cache.try_lock`, but an unreachable cache grants :data:`NO_LOCK`: the
        caller goes ahead unguarded rather than never (work done twice beats work never done)."""
        if self.available:
            try:
                return self.backend.try_lock(key, ttl_s)
            except CacheError as exc:
                self._failed("try_lock", exc)
        logger.warning("cache unreachable: %s taken without a lock", key)
        return NO_LOCK

    def unlock(self, key: str, token: str) -> bool:
        if token == NO_LOCK:
            return True
        if self._skip("unlock"):
            return False  # the lock expires on its own TTL
        try:
            return self.backend.unlock(key, token)
        except CacheError as exc:
            self._failed("unlock", exc)
            return False

    def set_many(self, values: Mapping[str, tuple[bytes, float]]) -> None:
        if not self.available:
            return
        try:
            self.backend.set_many(values)
        except CacheError as exc:
            self._failed("set_many", exc)

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not self.available:
            return [None] * len(keys)
        try:
            return self.backend.get_many(keys)
        except CacheError as exc:
            self._failed("get_many", exc)
            return [None] * len(keys)

    def add_scored_many(
        self, items: Mapping[str, Mapping[str, float]], ttl_s: float, *, keep: int
    ) -> None:
        if self._skip("add_scored_many"):
            return
        try:
            self.backend.add_scored_many(items, ttl_s, keep=keep)
        except CacheError as exc:
            self._failed("add_scored_many", exc)

    def scored(self, key: str) -> dict[str, float]:
        if not self.available:
            return {}
        try:
            return self.backend.scored(key)
        except CacheError as exc:
            self._failed("scored", exc)
            return {}

    async def fetch(
        self, keys: Sequence[str], scored_key: str | None = None
    ) -> tuple[list[bytes | None], dict[str, float]]:
        """As :meth:`Cache.fetch`; all misses when the cache fails."""
        if self.available:
            try:
                return await self.backend.fetch(keys, scored_key)
            except CacheError as exc:
                self._failed("fetch", exc)
        return [None] * len(keys), {}

    def ttl(self, key: str) -> float | None:
        """As :meth:`Cache.ttl`; ``None`` when the cache fails."""
        if not self.available:
            return None
        try:
            return self.backend.ttl(key)
        except CacheError as exc:
            self._failed("ttl", exc)
            return None

    def ping(self) -> bool:
        ok = self.backend.ping()
        if ok:
            self._down_until = 0.0
        return ok

    def close(self) -> None:
        self.backend.close()
