"""The per-user event rate limit of ``POST /video_action``, checked before the bus.

``RECOMIND_EVENT_RATE_LIMIT`` (default ``20/second;600/minute``; empty: off) is counted per
``user_id`` with the ``limits`` library's fixed-window strategy: in Redis when
``RECOMIND_CACHE_URL`` is Redis (every serve process shares the counts; keys under
``{prefix}event_rate:``), in this process's memory on the embedded default. A window opens at
a user's first action and lasts the limit's period; every action counts, refused or not. A
user over any of the limits gets 429 with ``Retry-After`` (when every window it is over has
ended) and nothing is published. A user may fit up to twice a limit into one period that
straddles two windows: the price of the cheapest check (limits' sliding-window counter costs
twice as much per action).

Cost: the in-memory check runs inline on the event loop (no thread hop, no I/O): limits'
fixed-window rule kept in one dict (:class:`MemoryHits`, ~1 µs for two limits; limits' own
``MemoryStorage`` took ~10 µs behind its async locks). On Redis the checks of concurrent
requests go out together, as the action notes do (:mod:`recomind.api.action_notes`): one
script call per round trip, limits' own ``incr_expire`` applied to every counter of the
batch. If Redis does not answer within ``RECOMIND_CACHE_TIMEOUT_S`` the action is let
through: a cache outage must not stop the
stream (``SafeCache`` does the same).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from prometheus_client import Counter

from recomind.cache import keys
from recomind.config import Settings

logger = logging.getLogger(__name__)

LIMITED = Counter(
    "recomind_actions_rate_limited_total", "Actions refused with 429 (per-user event rate limit)"
)
#: Seconds between two warnings about a rate-limit store that does not answer.
WARN_EVERY_S = 30.0
#: Added to a window's remaining time before rounding up (Redis TTLs are whole milliseconds).
CLOCK_SLACK_S = 0.01


class MemoryHits:
    """limits' fixed window (``FixedWindowRateLimiter`` over its ``MemoryStorage``) in one
    dict: a user's window of a limit opens at their first action, ends ``period`` seconds
    later (the clock is ``time.time()``, as limits'), and every action in it counts. Ended
    windows are dropped at most once a second (reads already ignore them)."""

    def __init__(self, limits: list[RateLimitItem]) -> None:
        self.limits = limits
        self._limits = [(item.amount, float(item.get_expiry())) for item in limits]
        self._windows: dict[tuple[int, str], list[float]] = {}  # -> [count, end]
        self._next_sweep = 0.0

    def hit(self, user_id: str) -> list[bool]:
        """Count one action of ``user_id``: per limit, whether it is within it."""
        now = time.time()
        if now >= self._next_sweep:
            self._next_sweep = now + 1.0
            self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
        out = []
        for i, (amount, period) in enumerate(self._limits):
            window = self._windows.get((i, user_id))
            if window is None or window[1] <= now:
                window = self._windows[(i, user_id)] = [0.0, now + period]
            window[0] += 1
            out.append(window[0] <= amount)
        return out

    def seconds_left(self, index: int, user_id: str) -> float:
        """Time until ``user_id``'s window of limit ``index`` ends (0 if none is open)."""
        window = self._windows.get((index, user_id))
        return 0.0 if window is None else max(window[1] - time.time(), 0.0)


def _redis_uri(cache_url: str) -> str:
    """``redis://h:6379/0`` -> ``async+redis://h:6379/0`` (the scheme limits expects)."""
    if cache_url.startswith("unix://"):
        return "async+redis+unix://" + cache_url.removeprefix("unix://")
    return "async+" + cache_url


def open_storage(settings: Settings, name: str = keys.EVENT_RATE) -> RedisStorage | None:
    """limits' Redis storage (its keys under the cache prefix + ``name``) when the cache is
    Redis; ``None`` for in-process counts."""
    if settings.cache_url.startswith("memory://"):
        return None
    return RedisStorage(
        _redis_uri(settings.cache_url),
        implementation="redispy",
        key_prefix=keys.key(settings.cache_prefix, name),
        wrap_exceptions=True,
        socket_timeout=settings.cache_timeout_s,
        socket_connect_timeout=settings.cache_timeout_s,
    )


#: limits' ``incr_expire.lua`` over every key of a batch: ``KEYS[i]`` counts one action and,
#: when that opens its window, expires after ``ARGV[i]`` seconds. Returns the counts.
INCR_EXPIRE_MANY = """
local out = {}
for i, key in ipairs(KEYS) do
    local current = redis.call("incrby", key, 1)
    if current == 1 then
        redis.call("expire", key, ARGV[i])
    end
    out[i] = current
end
return out
"""


_MARK = "\x00user\x00"  # never in a user id (ids are checked against ID_PATTERN)


class RedisCounts:
    """Counts the hits of concurrent callers in one Redis script call per round trip.

    A caller hands its counters' keys (and each one's window in seconds) and gets their counts
    back; callers that arrive while a call is in flight form the next batch. The one owner of
    counting in Redis: the event limit and the request limits (:mod:`recomind.api.request_limits`)
    both count through it.
    """

    def __init__(self, storage: RedisStorage) -> None:
        self.client = storage.bridge.get_connection()  # type: ignore[attr-defined]
        self._incr = self.client.register_script(INCR_EXPIRE_MANY)  # reloads after NOSCRIPT
        self._pending: list[tuple[list[str], list[int], asyncio.Future[list[int]]]] = []
        self._runner: asyncio.Task[None] | None = None  # held: the loop keeps tasks weakly
        self.batches = 0  # calls made (tests)

    async def incr(self, keys: list[str], expiries: list[int]) -> list[int]:
        """Count one hit on each of ``keys``: their counts in their current windows."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[int]] = loop.create_future()
        self._pending.append((keys, expiries, done))
        if self._runner is None:
            self._runner = loop.create_task(self._run())
        return await done

    async def _run(self) -> None:
        try:
            await asyncio.sleep(0)  # requests already running this loop turn join the batch
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    counts = await self._incr(
                        keys=[k for keys, _, _ in batch for k in keys],
                        args=[e for _, expiries, _ in batch for e in expiries],
                    )
                except Exception as exc:  # every waiter of this batch sees the failure
                    for _, _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    at = 0
                    for keys, _, done in batch:
                        if not done.done():
                            done.set_result([int(c) for c in counts[at : at + len(keys)]])
                        at += len(keys)
                finally:
                    self.batches += 1
        finally:
            self._runner = None

    async def seconds_left(self, key: str) -> float:
        """Time until the window of the counter ``key`` ends (0 if none is open)."""
        ms = int(await self.client.pttl(key))
        return max(ms, 0) / 1000.0

    async def close(self) -> None:
        """Close the Redis connections."""
        await self.client.aclose()


class KeyedLimits:
    """A set of limits counted per identity, under limits' own key layout
    (``item.key_for(*namespace, identity)`` behind the storage's prefix), so the library's
    ``FixedWindowRateLimiter`` reads the same counters."""

    def __init__(self, storage: RedisStorage, limits: list[RateLimitItem], *namespace: str):
        self.limits = limits
        self.amounts = [item.amount for item in limits]
        self.expiries = [item.get_expiry() for item in limits]
        self._storage = storage
        self._namespace = namespace
        # Each limit's key around the identity, cut out of limits' own key once.
        self._around: list[tuple[str, str]] = []
        for item in limits:
            head, tail = self.key(item, _MARK).split(_MARK)
            self._around.append((head, tail))

    def key(self, item: RateLimitItem, identity: str) -> str:
        """The Redis key of ``identity``'s counter for ``item``."""
        return str(self._storage.bridge.prefixed_key(item.key_for(*self._namespace, identity)))

    def keys(self, identity: str) -> list[str]:
        """The keys of ``identity``'s counters, one per limit."""
        return [head + identity + tail for head, tail in self._around]


class RedisHits:
    """The event limit's counts in Redis (:class:`RedisCounts` per user)."""

    def __init__(self, storage: RedisStorage, limits: list[RateLimitItem]) -> None:
        self._keyed = KeyedLimits(storage, limits)
        self._counts = RedisCounts(storage)

    @property
    def batches(self) -> int:
        return self._counts.batches

    async def hit(self, user_id: str) -> list[bool]:
        """Count one action of ``user_id``: per limit, whether it is within it."""
        counts = await self._counts.incr(self._keyed.keys(user_id), self._keyed.expiries)
        return [c <= amount for c, amount in zip(counts, self._keyed.amounts, strict=True)]

    def keys(self, user_id: str) -> list[str]:
        """The Redis keys of ``user_id``'s counters, one per limit."""
        return self._keyed.keys(user_id)

    def key(self, item: RateLimitItem, user_id: str) -> str:
        """The Redis key of ``user_id``'s counter for ``item`` (limits' own layout)."""
        return self._keyed.key(item, user_id)

    async def seconds_left(self, item: RateLimitItem, user_id: str) -> float:
        """Time until ``user_id``'s window of ``item`` ends (0 if none is open)."""
        return await self._counts.seconds_left(self.key(item, user_id))

    async def close(self) -> None:
        await self._counts.close()


class EventRateLimiter:
    """Counts each user's actions against ``RECOMIND_EVENT_RATE_LIMIT``."""

    def __init__(self, settings: Settings) -> None:
        self.limits: list[RateLimitItem] = (
            parse_many(settings.event_rate_limit) if settings.event_rate_limit else []
        )
        self._storage = open_storage(settings) if self.limits else None
        self._redis = RedisHits(self._storage, self.limits) if self._storage is not None else None
        self._memory = MemoryHits(self.limits) if self.limits and self._redis is None else None
        self._warned_at = -math.inf

    async def _hit(self, user_id: str) -> list[bool]:
        if self._redis is not None:
            return await self._redis.hit(user_id)
        assert self._memory is not None
        return self._memory.hit(user_id)

    async def retry_after(self, user_id: str) -> tuple[int, RateLimitItem] | None:
        """Count one action of ``user_id``: ``None`` if it is within every limit, else the
        whole seconds until every window it is over has ended and the limit of the last one."""
        if not self.limits:
            return None
        try:
            allowed = await self._hit(user_id)
            if all(allowed):
                return None
            LIMITED.inc()
            waits = [
                (await self._wait_s(i, user_id), self.limits[i])
                for i, ok in enumerate(allowed)
                if not ok
            ]
            wait, item = max(waits, key=lambda w: w[0])
            return max(1, math.ceil(wait)), item
        except Exception as exc:  # the store is down or slow: let the action through
            now = time.monotonic()
            if now - self._warned_at >= WARN_EVERY_S:
                self._warned_at = now
                logger.warning("event rate limit not checked (store unavailable): %r", exc)
            return None

    async def _wait_s(self, index: int, user_id: str) -> float:
        """Seconds until ``user_id``'s current window of limit ``index`` ends (a new one has
        room)."""
        if self._redis is not None:
            left = await self._redis.seconds_left(self.limits[index], user_id)
        else:
            assert self._memory is not None
            left = self._memory.seconds_left(index, user_id)
        return left + CLOCK_SLACK_S

    async def reset(self) -> None:
        """Forget every count (tests; an operator lifting a block)."""
        if self._storage is not None:
            await self._storage.reset()
        self.reset_local_state()

    def counter_keys(self, user_id: str) -> list[str]:
        """The Redis keys of ``user_id``'s counters (an erasure deletes them); none when the
        counts live in this process's memory."""
        if self._redis is None:
            return []
        return self._redis.keys(user_id)

    def reset_local_state(self) -> None:
        """Forget the in-process counts (tests, between cases; Redis counts are cache keys)."""
        if self._memory is not None:
            self._memory = MemoryHits(self.limits)

    async def close(self) -> None:
        """Close the Redis connections, if any."""
        if self._redis is not None:
            await self._redis.close()
