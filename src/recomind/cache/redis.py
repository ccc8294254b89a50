"""Redis backend (redis-py). Short socket timeouts: a dead Redis must not stall requests."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping

import redis
from redis.exceptions import LockError

from recomind.cache.base import Cache, CacheError

#: ``set_many_if``: KEYS = guard, then the keys to set; ARGV = "1" when the guard must be
#: absent (else "0"), the expected value, then value and TTL in ms per key.
_SET_MANY_IF = """
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur then return 0 end
elseif cur ~= ARGV[2] then
  return 0
end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'PX', ARGV[2 * i])
end
return 1
"""


class RedisCache(Cache):
    def __init__(self, url: str, *, timeout_s: float = 0.25) -> None:
        self._url = url
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
        )
        self._admin: redis.Redis | None = None
        self._set_many_if = self._client.register_script(_SET_MANY_IF)

    def _admin_client(self) -> redis.Redis:
        """Admin scans may take longer than a request may wait: their own, patient client."""
        if self._admin is None:
            self._admin = redis.Redis.from_url(
                self._url, socket_timeout=30, socket_connect_timeout=5
            )
        return self._admin

    def get(self, key: str) -> bytes | None:
        try:
            value = self._client.get(key)
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        try:
            self._client.set(key, value, px=max(1, int(ttl_s * 1000)))
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc

    def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        try:
            return int(self._client.delete(*keys))
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc

    def incr(self, key: str, ttl_s: float | None = None) -> int:
        try:
            value = int(self._client.incr(key))
            if value == 1 and ttl_s is not None:
                self._client.pexpire(key, max(1, int(ttl_s * 1000)))
            return value
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc

    def set_many_if(
        self, guard: str, expected: bytes | None, values: Mapping[str, tuple[bytes, float]]
    ) -> bool:
        args: list[bytes | str | int] = ["1" if expected is None else "0", expected or b""]
        for value, ttl_s in values.values():
            args += [value, max(1, int(ttl_s * 1000))]
        try:  # one script: the check and the writes are atomic
            return bool(self._set_many_if(keys=[guard, *values], args=args))
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc

    def try_lock(self, key: str, ttl_s: float) -> str | None:
        token = uuid.uuid4().hex
        # redis-py's Lock: SET NX PX to take it, a Lua compare-and-delete to release it.
        lock = self._client.lock(key, timeout=ttl_s, blocking=False, thread_local=False)
        try:
            return token if lock.acquire(token=token) else None
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc

    def unlock(self, key: str, token: str) -> bool:
        lock = self._client.lock(key, thread_local=False)
        lock.local.token = token.encode()
        try:
            lock.release()
        except LockError:  # expired, or another holder's now
            return False
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc
        return True

    def add_members(self, key: str, members: list[str], ttl_s: float) -> None:
        self.add_members_many({key: members}, ttl_s)

    def add_members_many(self, items: Mapping[str, list[str]], ttl_s: float) -> None:
        ms = max(1, int(ttl_s * 1000))
        try:
            # MULTI/EXEC: a set never exists without its TTL.
            pipe = self._client.pipeline(transaction=True)
            for key, members in items.items():
                if members:
                    pipe.sadd(key, *members)
                    pipe.pexpire(key, ms)
            pipe.execute()
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc

    def members(self, key: str) -> builtins.set[str]:
        try:
            raw = self._client.smembers(key)
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc
        return {m.decode() if isinstance(m, bytes) else str(m) for m in raw}  # type: ignore[union-attr]

    def ttl(self, key: str) -> float | None:
        try:
            ms = int(self._client.pttl(key))
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc
        return ms / 1000.0 if ms >= 0 else None

    def delete_prefix(self, prefix: str) -> int:
        client = self._admin_client()
        try:
            n = 0
            batch: list[bytes] = []
            for k in client.scan_iter(match=_glob_escape(prefix) + "*", count=1000):
                batch.append(k)
                if len(batch) >= 1000:
                    n += int(client.delete(*batch))
                    batch = []
            if batch:
                n += int(client.delete(*batch))
            return n
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc

    def ping(self) -> bool:
        try:
            return bool(self._client.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self._client.close()
        if self._admin is not None:
            self._admin.close()


def _glob_escape(s: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in s)
