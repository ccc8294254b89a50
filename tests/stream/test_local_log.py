"""The embedded log's costs and wake-ups: publishes of one loop turn share one hand-off to the
writer, idle consumers read nothing, and another process's writes still reach a waiting
consumer (through the watcher)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from recomind.config import Settings
from recomind.stream.bus import BusUnavailableError
from recomind.stream.local import LocalConsumer, LocalLog, LocalProducer, bus_path
from tests.utils.settle import run_sync


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        event_bus_url=f"sqlite:///{tmp_path / 'bus.db'}",
        database_url="sqlite:///unused.db",
        kafka_partitions=3,
    )


def _log(settings: Settings) -> LocalLog:
    return LocalLog.open(bus_path(settings.event_bus_url), settings.kafka_partitions)


def _count(log: LocalLog, name: str) -> list[int]:
    """Count the calls of ``log.<name>`` (the real method still runs)."""
    calls = [0]
    real: Callable[..., Any] = getattr(log, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(*args, **kwargs)

    setattr(log, name, counted)
    return calls


def test_publishes_of_one_loop_turn_go_to_the_writer_together(settings: Settings) -> None:
    topic = settings.kafka_topic

    async def scenario() -> None:
        producer = LocalProducer(settings)
        await producer.start()
        appends = _count(_log(settings), "append_many")
        await asyncio.gather(
            *(producer.publish(topic, f"u{i % 4}".encode(), f"m{i}".encode()) for i in range(50))
        )
        assert appends[0] == 1
        await producer.publish(topic, b"u0", b"last")
        assert appends[0] == 2

    run_sync(scenario())
    consumer = LocalConsumer(settings, "g", topic)

    async def read() -> list[bytes]:
        await consumer.start()
        got = await consumer.poll(1000, 1.0)
        by_key: dict[bytes | None, list[bytes]] = {}
        for r in sorted(got, key=lambda r: (r.partition, r.offset)):
            by_key.setdefault(r.key, []).append(r.value)
        assert by_key[b"u0"] == [f"m{i}".encode() for i in range(0, 50, 4)] + [b"last"]
        return [r.value for r in got]

    assert len(run_sync(read())) == 51


def test_a_cancelled_publish_leaves_the_others_alone(settings: Settings) -> None:
    topic = settings.kafka_topic

    async def scenario() -> None:
        producer = LocalProducer(settings)
        await producer.start()
        tasks = [
            asyncio.ensure_future(producer.publish(topic, b"k", f"m{i}".encode())) for i in range(3)
        ]
        await asyncio.sleep(0)  # all three are waiting on their commit now
        tasks[1].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], asyncio.CancelledError)

    run_sync(scenario())
    assert sum(_log(settings).end_offsets(topic).values()) == 3  # handed over before the cancel


def test_a_closed_log_refuses_publishes(settings: Settings) -> None:
    async def scenario() -> None:
        producer = LocalProducer(settings)
        await producer.start()
        _log(settings).close()
        with pytest.raises(BusUnavailableError):
            await producer.publish(settings.kafka_topic, b"k", b"v")

    run_sync(scenario())


def test_an_idle_consumer_reads_nothing_and_wakes_on_a_publish(settings: Settings) -> None:
    topic = settings.kafka_topic

    async def scenario() -> None:
        producer = LocalProducer(settings)
        await producer.start()
        for i in range(6):
            await producer.publish(topic, f"u{i}".encode(), b"x")
        consumer = LocalConsumer(settings, "g", topic)
        await consumer.start()
        assert len(await consumer.poll(100, 1.0)) == 6
        reads = _count(_log(settings), "read")
        for _ in range(3):
            assert await consumer.poll(100, 0.2) == []
        assert reads[0] == 0  # the old loop read every partition every 50 ms
        waiting = asyncio.ensure_future(consumer.poll(100, 30.0))
        await asyncio.sleep(0.1)
        await producer.publish(topic, b"late", b"y")
        got = await waiting
        assert [r.value for r in got] == [b"y"]
        assert reads[0] == 1  # only the partition that moved

    run_sync(scenario())


PUBLISH = """
import asyncio, sys
from recomind.config import Settings
from recomind.stream.local import LocalProducer

async def main():
    s = Settings(event_bus_url=sys.argv[1], database_url="sqlite:///unused.db",
                 kafka_partitions=3)
    p = LocalProducer(s)
    await p.start()
    await p.publish(s.kafka_topic, b"other", b"from another process")

asyncio.run(main())
"""


def test_another_processs_publish_reaches_a_waiting_consumer(settings: Settings) -> None:
    topic = settings.kafka_topic

    async def scenario() -> None:
        consumer = LocalConsumer(settings, "g", topic)
        await consumer.start()
        assert await consumer.poll(100, 0.1) == []
        waiting = asyncio.ensure_future(consumer.poll(100, 60.0))
        await asyncio.sleep(0.1)
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", PUBLISH, settings.event_bus_url],
            check=True,
            timeout=60,
        )
        got = await waiting
        assert [r.value for r in got] == [b"from another process"]

    run_sync(scenario())
