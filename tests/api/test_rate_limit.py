"""The per-user event rate limit: 429 with an honest ``Retry-After``, nothing published, counts
shared through Redis, no thread hop in memory, and a dead Redis lets actions through."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
import redis
from limits.aio.strategies import FixedWindowRateLimiter
from pydantic import ValidationError

from recomind.api.rate_limit import EventRateLimiter
from recomind.cache import keys
from recomind.config import Settings
from tests.api.helpers import act, load_catalogue
from tests.conftest import truncate
from tests.utils.services import redis_or_skip, unique_name
from tests.utils.settle import messages_on_topic
from tests.utils.stacks import running_api

T = TypeVar("T")
STACKS_HERE = ["embedded", "postgres+redis"]


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(make())


def _settings(cache: str, limit: str) -> Settings:
    url = "memory://" if cache == "memory" else redis_or_skip()
    # These tests count; a loaded CI machine must not trip the store's short timeout, which
    # lets actions through (that fail-open path has its own test below).
    return Settings(
        cache_url=url,
        cache_prefix=unique_name("rl") + ":",
        event_rate_limit=limit,
        cache_timeout_s=5.0,
    )


@pytest.mark.parametrize("stack", STACKS_HERE)
def test_over_the_limit_is_429_with_retry_after_and_publishes_nothing(
    stack: str, stack_settings: Callable[..., Settings]
) -> None:
    settings = stack_settings(stack, event_rate_limit="3/day", serve_consumers="none")
    with running_api(settings) as api:
        truncate(api.engine)  # the stack's database is shared with the session's servers
        load_catalogue(api.http, 3)
        for v in ("v0", "v1", "v2"):
            act(api.http, "busy", v, "view")
        on_topic = messages_on_topic(settings)
        r = api.http.post(
            "/video_action", json={"user_id": "busy", "video_id": "v0", "action_type": "like"}
        )
        assert r.status_code == 429, r.text
        retry = int(r.headers["Retry-After"])
        assert 1 <= retry <= 2 * 86_400
        err = r.json()
        assert err["error"] == "rate_limited" and err["field"] == "body.user_id"
        assert "3 actions per 1 day" in err["message"] and err["retry_after_s"] == retry
        assert messages_on_topic(settings) == on_topic  # nothing was published
        act(api.http, "someone-else", "v0", "like")  # the limit is per user
        assert messages_on_topic(settings) == on_topic + 1
        metrics = api.http.get("/metrics/").text.splitlines()
        counted = [m for m in metrics if m.startswith("recomind_actions_rate_limited_total ")]
        assert counted and float(counted[0].split()[1]) >= 1


@pytest.mark.parametrize("cache", ["memory", "redis"])
def test_retry_after_is_when_the_next_action_fits(cache: str) -> None:
    settings = _settings(cache, "2/second")

    async def scenario() -> list[tuple[int, str] | None]:
        limiter = EventRateLimiter(settings)
        try:
            seen: list[tuple[int, str] | None] = []
            for _ in range(3):  # three times: refused, wait as told, accepted
                refused = None
                for _ in range(10):
                    refused = await limiter.retry_after("u1")
                    if refused is not None:
                        break
                assert refused is not None, "never limited"
                wait, item = refused
                seen.append((wait, str(item)))
                await asyncio.sleep(wait)
                seen.append(await limiter.retry_after("u1"))
            return seen
        finally:
            await limiter.reset()
            await limiter.close()

    seen = _run(scenario)
    assert seen[1::2] == [None, None, None]  # after waiting Retry-After, the action fits
    assert all(1 <= s[0] <= 2 for s in seen[0::2] if s is not None)


def test_redis_counts_are_shared_and_live_under_the_cache_prefix() -> None:
    settings = _settings("redis", "5/minute")

    async def scenario() -> tuple[list[bool], int]:
        a, b = EventRateLimiter(settings), EventRateLimiter(settings)  # two serve processes
        try:
            got = []
            for i in range(8):
                got.append(await (a if i % 2 else b).retry_after("shared") is None)
            # The counters are where limits itself reads them.
            assert a._storage is not None
            stats = await FixedWindowRateLimiter(a._storage).get_window_stats(a.limits[0], "shared")
            assert stats.remaining == 0 and stats.reset_time > time.time()
            # 50 concurrent requests of one user: one pipeline per round trip, exact counts.
            many = await asyncio.gather(*(a.retry_after("burst") for _ in range(50)))
            assert sum(m is None for m in many) == 5
            assert a._redis is not None and a._redis.batches < 50
            return got, sum(m is None for m in many)
        finally:
            await a.close()
            await b.close()

    got, _ = _run(scenario)
    assert got == [True] * 5 + [False] * 3
    client = redis.Redis.from_url(settings.cache_url)
    prefix = keys.key(settings.cache_prefix, keys.EVENT_RATE)
    stored = list(client.scan_iter(match=prefix + "*"))
    assert stored, "no counters under the cache prefix"
    client.delete(*stored)
    client.close()


def test_memory_check_completes_without_yielding_to_the_loop() -> None:
    """No thread hop, no I/O: the coroutine finishes on its first step."""
    settings = _settings("memory", "20/second;600/minute")

    async def scenario() -> None:
        limiter = EventRateLimiter(settings)
        for user in ("u1", "u1", "u2"):
            step = limiter.retry_after(user)
            with pytest.raises(StopIteration) as done:
                step.send(None)
            assert done.value.value is None

    _run(scenario)


def test_unreachable_redis_lets_actions_through_quickly() -> None:
    settings = Settings(
        cache_url="redis://127.0.0.1:9/0", cache_timeout_s=0.2, event_rate_limit="1/day"
    )

    async def scenario() -> list[object]:
        limiter = EventRateLimiter(settings)
        return [await limiter.retry_after("u1") for _ in range(3)]

    t0 = time.monotonic()
    assert _run(scenario) == [None, None, None]
    assert time.monotonic() - t0 < 10  # bounded by the cache timeout, not hung


def test_empty_limit_is_off_and_bad_limits_are_refused() -> None:
    settings = Settings(event_rate_limit="")

    async def scenario() -> list[object]:
        limiter = EventRateLimiter(settings)
        return [await limiter.retry_after("u1") for _ in range(100)]

    assert _run(scenario) == [None] * 100
    for bad in ("fast", "20 per fortnight", "-1/second"):
        with pytest.raises(ValidationError, match="RECOMIND_EVENT_RATE_LIMIT"):
            Settings(event_rate_limit=bad)


def test_memory_windows_count_as_limits_own_memory_storage() -> None:
    """``MemoryHits`` keeps limits' fixed-window rule: same answers as limits'
    ``FixedWindowRateLimiter`` over its ``MemoryStorage`` for the same actions."""
    from limits import parse_many
    from limits.aio.storage import MemoryStorage

    from recomind.api.rate_limit import MemoryHits

    items = parse_many("3/second;5/minute")

    async def scenario() -> tuple[list[list[bool]], list[list[bool]]]:
        ours, theirs = MemoryHits(items), FixedWindowRateLimiter(MemoryStorage())
        got: tuple[list[list[bool]], list[list[bool]]] = ([], [])
        for phase in range(2):  # the second-long windows end between the phases
            for user in ["a", "b", "a", "a", "a", "b", "a", "c"]:
                got[0].append(ours.hit(user))
                got[1].append([await theirs.hit(item, user) for item in items])
            if phase == 0:
                await asyncio.sleep(1.2)
        return got

    ours, theirs = _run(scenario)
    assert ours == theirs
    assert [False, True] in ours and [True, False] in ours  # both limits bit somewhere
