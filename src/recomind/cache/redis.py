"""Redis backend (redis-py). Short socket timeouts: a dead Redis must not stall requests.

Blocking calls use one client; :meth:`RedisCache.fetch`, the request path's read, uses an
``redis.asyncio`` client bound to the running event loop, so a cache hit never leaves it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence

import redis
import redis.asyncio
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


#: ``add_scored_many`` in one call: ARGV = TTL in ms, how many to keep, then per key (in KEYS
#: order) the number of members and that many ``score, member`` pairs.
_ADD_SCORED = """
local ttl, keep, at = ARGV[1], tonumber(ARGV[2]), 3
for i = 1, #KEYS do
  local n = tonumber(ARGV[at])
  redis.call('ZADD', KEYS[i], unpack(ARGV, at + 1, at + 2 * n))
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(keep + 1))
  redis.call('PEXPIRE', KEYS[i], ttl)
  at = at + 2 * n + 1
end
return #KEYS
"""


#: ``incr`` in one round trip: KEYS = the counter; ARGV = its TTL in ms ("" for none). A
#: counter without a TTL gets one (a crash between two separate calls cannot leave it
#: without, and one written so before is repaired).
_INCR = """
local v = redis.call('INCR', KEYS[1])
if ARGV[1] ~= '' and redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return v
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
        self._timeout_s = timeout_s
        self._admin: redis.Redis | None = None
        #: The async client and the event loop it belongs to (its connections cannot move
        #: between loops: a new loop gets a new client).
        self._async: tuple[asyncio.AbstractEventLoop, redis.asyncio.Redis] | None = None
        self._set_many_if = self._client.register_script(_SET_MANY_IF)
        self._add_scored = self._client.register_script(_ADD_SCORED)
        self._incr = self._client.register_script(_INCR)

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
        ttl = "" if ttl_s is None else str(max(1, int(ttl_s * 1000)))
        try:
            return int(self._incr(keys=[key], args=[ttl]))
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

    def set_many(self, values: Mapping[str, tuple[bytes, float]]) -> None:
        if not values:
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            for key, (value, ttl_s) in values.items():
                pipe.set(key, value, px=max(1, int(ttl_s * 1000)))
            pipe.execute()
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        try:
            values = self._client.mget(list(keys))
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc
        return [v if isinstance(v, bytes) else None for v in values]  # type: ignore[union-attr]

    def add_scored_many(
        self, items: Mapping[str, Mapping[str, float]], ttl_s: float, *, keep: int
    ) -> None:
        keys: list[str] = []
        args: list[str | int | float] = [max(1, int(ttl_s * 1000)), keep]
        for key, scores in items.items():
            if scores:
                keys.append(key)
                args.append(len(scores))
                for member, score in scores.items():
                    args += [score, member]
        if not keys:
            return
        try:  # one script: atomic, and one command for the whole batch
            self._add_scored(keys=keys, args=args)
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc

    def scored(self, key: str) -> dict[str, float]:
        try:
            raw = self._client.zrange(key, 0, -1, withscores=True)
        except redis.RedisError as exc:
            raise CacheError(str(exc)) from exc
        return _scores(raw)  # type: ignore[arg-type]

    def _async_client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            client = redis.asyncio.Redis.from_url(
                self._url,
                socket_timeout=self._timeout_s,
                socket_connect_timeout=self._timeout_s,
                health_check_interval=30,
            )
            self._async = (loop, client)
        return self._async[1]

    async def fetch(
        self, keys: Sequence[str], scored_key: str | None = None
    ) -> tuple[list[bytes | None], dict[str, float]]:
        try:
            pipe = self._async_client().pipeline(transaction=False)
            pipe.mget(list(keys))
            if scored_key is not None:
                pipe.zrange(scored_key, 0, -1, withscores=True)
            replies = await pipe.execute()
        except (redis.RedisError, OSError) as exc:
            raise CacheError(str(exc)) from exc
        values = [v if isinstance(v, bytes) else None for v in replies[0]]
        return values, (_scores(replies[1]) if scored_key is not None else {})

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


def _scores(raw: list[tuple[bytes | str, float]]) -> dict[str, float]:
    return {(m.decode() if isinstance(m, bytes) else m): float(score) for m, score in raw}


def _glob_escape(s: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in s)
