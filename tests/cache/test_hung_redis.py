"""A hung (not refused) Redis: a private ``redis-server`` frozen with SIGSTOP costs one socket
timeout, then every call is skipped while the breaker is open, and the invalidations skipped
then are sent once it answers again."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from recomind.cache.redis import RedisCache
from recomind.cache.safe import CACHE_ERRORS, CACHE_SKIPPED, SafeCache
from tests.utils.private_redis import private_redis as start_private_redis


@pytest.fixture
def private_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    with start_private_redis() as server:
        yield server.proc, server.url


def _errors() -> float:
    return CACHE_ERRORS._value.get()


def test_frozen_redis_costs_one_timeout_then_skips_and_replays_deletes(
    private_redis: tuple[subprocess.Popen[bytes], str],
) -> None:
    proc, url = private_redis
    safe = SafeCache(RedisCache(url, timeout_s=0.25), cooldown_s=1.0)
    safe.set("list:a", b"old page", 60)
    safe.incr("gen:a", 60)
    assert safe.get("list:a") == b"old page"

    os.kill(proc.pid, signal.SIGSTOP)
    before = _errors()
    skipped = CACHE_SKIPPED.labels("delete")._value.get()
    assert safe.delete("list:a") == 0  # times out: the breaker opens, the delete is kept
    for _ in range(20):  # every kind of call is skipped, none waits on the frozen server
        assert safe.delete("list:a") == 0
        safe.add_scored_many({"seen:a": {"v1": 1.0}}, 60, keep=10)
        assert safe.incr("gen:a", 60) is None
        assert safe.get("list:a") is None
        assert safe.unlock("lock:a", "token") is False
    assert _errors() - before == 1
    assert CACHE_SKIPPED.labels("delete")._value.get() - skipped == 20

    os.kill(proc.pid, signal.SIGCONT)
    time.sleep(1.1)  # the breaker's cooldown
    # The first call after the outage sends the skipped invalidation first: the page cached
    # before the outage is not served after it.
    assert safe.get("list:a") is None
    assert safe.available and _errors() - before == 1


def test_incr_gives_a_counter_without_ttl_one(
    private_redis: tuple[subprocess.Popen[bytes], str],
) -> None:
    _, url = private_redis
    cache = RedisCache(url)
    assert cache.incr("c") == 1 and cache.ttl("c") is None  # no TTL asked
    assert cache.incr("c", 30) == 2
    ttl = cache.ttl("c")
    assert ttl is not None and 0 < ttl <= 30
