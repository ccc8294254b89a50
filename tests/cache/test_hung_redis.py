"""A hung (not refused) Redis: a private ``redis-server`` frozen with SIGSTOP costs one socket
timeout, then every call is skipped while the breaker is open, and the invalidations skipped
then are sent once it answers again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from recomind.cache.redis import RedisCache
from recomind.cache.safe import CACHE_ERRORS, CACHE_SKIPPED, SafeCache


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def private_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the private redis-server did not start")
    yield proc, url
    os.kill(proc.pid, signal.SIGCONT)
    proc.kill()
    proc.wait()


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
