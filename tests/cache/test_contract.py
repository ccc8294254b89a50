"""The cache contract: every test here runs on the in-memory backend and on Redis."""

from __future__ import annotations

import asyncio
import time

import pytest

from recomind.cache import Cache, keys, open_cache
from recomind.cache.safe import NO_LOCK, SafeCache


def test_set_get_delete(cache: Cache, key_prefix: str) -> None:
    k = keys.key(key_prefix, keys.RECOMMENDATIONS, "u1")
    assert cache.get(k) is None
    cache.set(k, b"[1,2,3]", 60)
    assert cache.get(k) == b"[1,2,3]"
    cache.set(k, b"[4]", 60)
    assert cache.get(k) == b"[4]"
    assert cache.delete(k) == 1
    assert cache.delete(k) == 0
    assert cache.get(k) is None


def test_ttl_is_honoured(cache: Cache, key_prefix: str) -> None:
    short = keys.key(key_prefix, "short")
    long = keys.key(key_prefix, "long")
    cache.set(short, b"x", 0.3)
    cache.set(long, b"y", 60)
    left = cache.ttl(long)
    assert left is not None and 50 < left <= 60
    assert cache.get(short) == b"x"
    time.sleep(0.5)
    assert cache.get(short) is None
    assert cache.ttl(short) is None
    assert cache.get(long) == b"y"


def test_incr_counts_and_expires(cache: Cache, key_prefix: str) -> None:
    k = keys.key(key_prefix, "count")
    assert [cache.incr(k, 0.4) for _ in range(3)] == [1, 2, 3]
    time.sleep(0.6)
    assert cache.incr(k, 0.4) == 1


def test_incr_gives_a_counter_without_a_ttl_one(cache: Cache, key_prefix: str) -> None:
    k = keys.key(key_prefix, "untimed")
    assert cache.incr(k) == 1 and cache.ttl(k) is None
    assert cache.incr(k, 30) == 2
    ttl = cache.ttl(k)
    assert ttl is not None and 0 < ttl <= 30
    assert cache.incr(k, 0.1) == 3 and cache.ttl(k) == pytest.approx(ttl, abs=1)  # kept


def test_add_scored_many_writes_every_key_with_its_ttl_and_cap(
    cache: Cache, key_prefix: str
) -> None:
    a, b, empty = (keys.key(key_prefix, "seen", u) for u in ("a", "b", "c"))
    cache.add_scored_many({a: {"old": 1.0}}, 60, keep=3)
    cache.add_scored_many({a: {"x": 2.0, "y": 3.5}, b: {"z": 1.5}, empty: {}}, 30, keep=3)
    assert cache.scored(a) == {"old": 1.0, "x": 2.0, "y": 3.5}
    assert cache.scored(b) == {"z": 1.5}
    assert cache.scored(empty) == {}
    assert cache.ttl(empty) is None
    for k in (a, b):
        left = cache.ttl(k)
        assert left is not None and 25 < left <= 30  # restarted at the new TTL
    cache.add_scored_many({a: {"w": 4.0, "old": 5.0}}, 30, keep=3)  # "old" moves up
    assert cache.scored(a) == {"y": 3.5, "w": 4.0, "old": 5.0}  # the lowest-scored left


def test_get_many_and_set_many(cache: Cache, key_prefix: str) -> None:
    a, b, c = (keys.key(key_prefix, "many", k) for k in "abc")
    assert cache.get_many([]) == []
    cache.set_many({a: (b"1", 60), c: (b"3", 0.3)})
    assert cache.get_many([a, b, c]) == [b"1", None, b"3"]
    time.sleep(0.5)
    assert cache.get_many([a, b, c]) == [b"1", None, None]


def test_fetch_reads_values_and_a_scored_set_in_one_call(cache: Cache, key_prefix: str) -> None:
    a, b, s = (keys.key(key_prefix, "fetch", k) for k in "abs")
    cache.set(a, b"A", 60)
    cache.add_scored_many({s: {"m": 2.0}}, 60, keep=10)

    async def both() -> tuple[
        tuple[list[bytes | None], dict[str, float]], tuple[list[bytes | None], dict[str, float]]
    ]:
        return await cache.fetch([a, b], s), await cache.fetch([b])

    assert asyncio.run(both()) == (([b"A", None], {"m": 2.0}), ([None], {}))
    assert asyncio.run(cache.fetch([a])) == ([b"A"], {})  # a second event loop works too


def test_set_many_if_writes_only_while_the_guard_is_unchanged(
    cache: Cache, key_prefix: str
) -> None:
    guard, a, b = (keys.key(key_prefix, k) for k in ("generation", "list", "fresh"))
    assert cache.set_many_if(guard, None, {a: (b"[1]", 60), b: (b"1", 30)})  # guard absent
    assert cache.get(a) == b"[1]" and cache.get(b) == b"1"
    left = cache.ttl(b)
    assert left is not None and 25 < left <= 30  # each key with its own TTL
    assert cache.incr(guard, 60) == 1
    assert not cache.set_many_if(guard, None, {a: (b"[2]", 60)})  # guard moved: nothing
    assert cache.get(a) == b"[1]"
    assert not cache.set_many_if(guard, b"2", {a: (b"[2]", 60)})
    assert cache.set_many_if(guard, b"1", {a: (b"[3]", 60)})
    assert cache.get(a) == b"[3]"


def test_lock_is_exclusive_until_released_or_expired(cache: Cache, key_prefix: str) -> None:
    k = keys.key(key_prefix, keys.JOBS_LOCK)
    first = cache.try_lock(k, 60)
    assert first is not None
    assert cache.try_lock(k, 60) is None  # held
    assert cache.unlock(k, "not-the-token") is False
    assert cache.try_lock(k, 60) is None  # a wrong token released nothing
    assert cache.unlock(k, first) is True
    assert cache.unlock(k, first) is False  # only once
    second = cache.try_lock(k, 0.3)
    assert second is not None and second != first
    time.sleep(0.5)
    third = cache.try_lock(k, 60)  # the holder never released it, but it expired
    assert third is not None
    assert cache.unlock(k, second) is False  # the late holder cannot free the new lock
    assert cache.try_lock(k, 60) is None
    assert cache.unlock(k, third) is True


def test_delete_prefix_removes_only_that_prefix(cache: Cache, key_prefix: str) -> None:
    for i in range(5):
        cache.set(keys.key(key_prefix, "a", str(i)), b"1", 60)
    cache.set(keys.key(key_prefix, "b"), b"2", 60)
    assert cache.delete_prefix(key_prefix + "a:") == 5
    assert cache.get(keys.key(key_prefix, "a", "0")) is None
    assert cache.get(keys.key(key_prefix, "b")) == b"2"


def test_ping(cache: Cache) -> None:
    assert cache.ping() is True


def test_key_helper_joins_design_names() -> None:
    assert keys.key("", keys.RECOMMENDATIONS, "u1") == "recommendations:u1"
    assert keys.key("t:", keys.POPULAR_VIDEOS) == "t:popular_videos"
    assert keys.key("", keys.USER_PROFILE, "u1") == "user_profile:u1"


def test_dead_redis_becomes_misses_not_errors() -> None:
    safe = SafeCache(open_cache("redis://127.0.0.1:1/0"), cooldown_s=60)
    assert safe.get("k") is None
    safe.set("k", b"v", 10)
    safe.delete("k")
    assert safe.incr("k") is None
    assert safe.set_many_if("g", None, {"k": (b"v", 10)}) is False
    assert safe.scored("k") == {} and safe.get_many(["a", "b"]) == [None, None]
    assert asyncio.run(safe.fetch(["a"], "s")) == ([None], {})
    fresh = SafeCache(open_cache("redis://127.0.0.1:1/0"), cooldown_s=60)
    assert asyncio.run(fresh.fetch(["a", "b"], "s")) == ([None, None], {})  # the async client
    assert fresh.available is False
    # A lock cannot be checked: the caller goes ahead unguarded rather than never.
    assert safe.try_lock("lock", 60) == NO_LOCK
    assert safe.unlock("lock", NO_LOCK) is True
    assert safe.available is False  # the breaker is open: no more waiting on timeouts
    assert safe.ping() is False
