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


def open_storage(settings: Settings) -> RedisStorage | None:
    """limits' Redis storage when the cache is Redis; ``None`` for in-process counts."""
    if settings.cache_url.startswith("memory://"):
        return None
    return RedisStorage(
        _redis_uri(settings.cache_url),
        implementation="redispy",
        key_prefix=keys.key(settings.cache_prefix, keys.EVENT_RATE),
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


class RedisHits:
    """Counts the actions of concurrent requests in one Redis call per round trip.

    The counters are the ones limits' ``FixedWindowRateLimiter`` keeps over this storage (same
    keys, same window rule), so the library reads them; actions that arrive while a call is in
    flight form the next batch.
    """

    def __init__(self, storage: RedisStorage, limits: list[RateLimitItem]) -> None:
        self._storage = storage
        self._limits = limits
        self._client = storage.bridge.get_connection()  # type: ignore[attr-defined]
        self._incr = self._client.register_script(INCR_EXPIRE_MANY)  # reloads after NOSCRIPT
        self._pending: list[tuple[str, asyncio.Future[list[bool]]]] = []
        self._runner: asyncio.Task[None] | None = None  # held: the loop keeps tasks weakly
        self.batches = 0  # calls made (tests)
        # Each limit's key around the user id, cut out of limits' own key once.
        self._around: list[tuple[str, str]] = []
        for item in limits:
            head, tail = self.key(item, _MARK).split(_MARK)
            self._around.append((head, tail))

    async def hit(self, user_id: str) -> list[bool]:
        """Count one action of ``user_id``: per limit, whether it is within it."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[bool]] = loop.create_future()
        self._pending.append((user_id, done))
        if self._runner is None:
            self._runner = loop.create_task(self._run())
        return await done

    async def _run(self) -> None:
        try:
            await asyncio.sleep(0)  # requests already running this loop turn join the batch
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    results = await self._execute([user for user, _ in batch])
                except Exception as exc:  # every waiter of this batch sees the failure
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for (_, done), allowed in zip(batch, results, strict=True):
                        if not done.done():
                            done.set_result(allowed)
                finally:
                    self.batches += 1
        finally:
            self._runner = None

    def key(self, item: RateLimitItem, user_id: str) -> str:
        """The Redis key of ``user_id``'s counter for ``item`` (limits' own layout)."""
        return str(self._storage.bridge.prefixed_key(item.key_for(user_id)))

    async def seconds_left(self, item: RateLimitItem, user_id: str) -> float:
        """Time until ``user_id``'s window of ``item`` ends (0 if none is open)."""
        ms = int(await self._client.pttl(self.key(item, user_id)))
        return max(ms, 0) / 1000.0

    async def _execute(self, users: list[str]) -> list[list[bool]]:
        keys = [head + user + tail for user in users for head, tail in self._around]
        expiries = [item.get_expiry() for _ in users for item in self._limits]
        counts = await self._incr(keys=keys, args=expiries)
        n, amounts = len(self._limits), [item.amount for item in self._limits]
        return [
            [int(c) <= limit for c, limit in zip(counts[i * n : (i + 1) * n], amounts, strict=True)]
            for i in range(len(users))
        ]


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
        return [head + user_id + tail for head, tail in self._redis._around]

    def reset_local_state(self) -> None:
        """Forget the in-process counts (tests, between cases; Redis counts are cache keys)."""
        if self._memory is not None:
            self._memory = MemoryHits(self.limits)

    async def close(self) -> None:
        """Close the Redis connections, if any."""
        if self._redis is not None:
            await self._redis._client.aclose()
