"""In-process cache for the embedded default: a dict with expiry times and a lock."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping, Sequence

from recomind.cache.base import Cache


class MemoryCache(Cache):
    is_local = True

    def __init__(self, max_keys: int = 100_000) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._sets: dict[str, tuple[dict[str, float], float]] = {}
        self._locks: dict[str, tuple[str, float]] = {}  # key -> (token, expiry)
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def _live(self, key: str, now: float) -> tuple[bytes, float | None] | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] is not None and item[1] <= now:
            del self._data[key]
            return None
        return item

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._live(key, time.monotonic())
            return item[0] if item else None

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._data) >= self._max_keys and key not in self._data:
                self._evict(now)
            self._data[key] = (bytes(value), now + ttl_s)

    def set_many_if(
        self, guard: str, expected: bytes | None, values: Mapping[str, tuple[bytes, float]]
    ) -> bool:
        now = time.monotonic()
        with self._lock:
            item = self._live(guard, now)
            if (item[0] if item else None) != expected:
                return False
            for key, (value, ttl_s) in values.items():
                if len(self._data) >= self._max_keys and key not in self._data:
                    self._evict(now)
                self._data[key] = (bytes(value), now + ttl_s)
            return True

    def _evict(self, now: float) -> None:
        for k in [k for k, (_, exp) in self._data.items() if exp is not None and exp <= now]:
            del self._data[k]
        while len(self._data) >= self._max_keys:
            del self._data[next(iter(self._data))]  # oldest inserted first

    def delete(self, *keys: str) -> int:
        now = time.monotonic()
        with self._lock:
            n = 0
            for k in keys:
                if self._live(k, now) is not None:
                    del self._data[k]
                    n += 1
                if k in self._sets:
                    n += int(self._sets.pop(k)[1] > now)
            return n

    def incr(self, key: str, ttl_s: float | None = None) -> int:
        now = time.monotonic()
        with self._lock:
            item = self._live(key, now)
            if item is None:
                value, exp = 1, (now + ttl_s if ttl_s is not None else None)
            else:  # a counter without a TTL gets one, as on Redis
                value = int(item[0]) + 1
                exp = item[1] if item[1] is not None or ttl_s is None else now + ttl_s
            self._data[key] = (str(value).encode(), exp)
            return value

    def try_lock(self, key: str, ttl_s: float) -> str | None:
        now = time.monotonic()
        with self._lock:
            held = self._locks.get(key)
            if held is not None and held[1] > now:
                return None
            token = uuid.uuid4().hex
            self._locks[key] = (token, now + ttl_s)
            return token

    def unlock(self, key: str, token: str) -> bool:
        with self._lock:
            held = self._locks.get(key)
            if held is None or held[0] != token or held[1] <= time.monotonic():
                return False
            del self._locks[key]
            return True

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = time.monotonic()
        with self._lock:
            items = [self._live(k, now) for k in keys]
        return [item[0] if item else None for item in items]

    def add_scored_many(
        self, items: Mapping[str, Mapping[str, float]], ttl_s: float, *, keep: int
    ) -> None:
        now = time.monotonic()
        with self._lock:
            for key, scores in items.items():
                if not scores:
                    continue
                current = self._sets.get(key)
                values = current[0] if current and current[1] > now else {}
                values.update(scores)
                if len(values) > keep:
                    top = sorted(values.items(), key=lambda kv: (kv[1], kv[0]))[-keep:]
                    values = dict(top) if keep > 0 else {}
                self._sets[key] = (values, now + ttl_s)
            if len(self._sets) > self._max_keys:
                for k in [k for k, (_, exp) in self._sets.items() if exp <= now]:
                    del self._sets[k]

    def scored(self, key: str) -> dict[str, float]:
        with self._lock:
            current = self._sets.get(key)
            if current is None or current[1] <= time.monotonic():
                return {}
            return dict(current[0])

    def ttl(self, key: str) -> float | None:
        now = time.monotonic()
        with self._lock:
            item = self._live(key, now)
            if item is None:
                members = self._sets.get(key)  # a set key has a TTL too, as in Redis
                return members[1] - now if members and members[1] > now else None
            return None if item[1] is None else item[1] - now

    def items_under(self, prefix: str) -> dict[str, bytes]:
        """Every live key under ``prefix`` with its value (sorted sets: their members
        joined), for audits such as the erasure test's scan."""
        now = time.monotonic()
        with self._lock:
            out = {
                k: v
                for k, (v, exp) in self._data.items()
                if k.startswith(prefix) and (exp is None or exp > now)
            }
            for k, (members, exp) in self._sets.items():
                if k.startswith(prefix) and exp > now:
                    out[k] = "\n".join(members).encode()
            return out

    def delete_prefix(self, prefix: str) -> int:
        with self._lock:
            doomed = [k for k in self._data if k.startswith(prefix)]
            for k in doomed:
                del self._data[k]
            sets = [k for k in self._sets if k.startswith(prefix)]
            for k in sets:
                del self._sets[k]
            return len(doomed) + len(sets)

    def ping(self) -> bool:
        return True
