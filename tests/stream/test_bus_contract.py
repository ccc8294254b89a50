"""The event-bus contract: every test runs on the embedded SQLite log and on Kafka."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from recomind.config import Settings
from recomind.records import Record
from recomind.stream.bus import BusUnavailableError
from recomind.stream.factory import open_consumer, open_producer
from recomind.stream.local import LocalLog, bus_path
from tests.utils.kafka import LazyBroker
from tests.utils.services import unique_name
from tests.utils.settle import run_sync

BUSES = ["local", "kafka"]


@pytest.fixture(params=BUSES, ids=BUSES)
def bus_settings(
    request: pytest.FixtureRequest, tmp_path: Path, kafka_broker: LazyBroker
) -> Settings:
    name = unique_name("b")
    url = kafka_broker.url if request.param == "kafka" else f"sqlite:///{tmp_path / 'bus.db'}"
    return Settings(
        event_bus_url=url,
        kafka_topic=f"{name}.topic",
        kafka_group_prefix=name + "-",
        kafka_partitions=3,
        database_url="sqlite:///unused.db",
    )


async def _drain(
    settings: Settings, group: str, expect: int, timeout_s: float = 30
) -> list[Record]:
    consumer = open_consumer(settings, group, settings.kafka_topic)
    await consumer.start()
    out: list[Record] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(out) < expect and loop.time() < deadline:
            out.extend(await consumer.poll(100, 0.5))
        if out:
            ends: dict[int, int] = {}
            for r in out:
                ends[r.partition] = max(ends.get(r.partition, 0), r.offset + 1)
            await consumer.commit(ends)
    finally:
        await consumer.stop()
    return out


def test_keyed_order_groups_and_resume(bus_settings: Settings) -> None:
    async def scenario() -> None:
        producer = open_producer(bus_settings)
        await producer.start()
        for i in range(60):
            await producer.publish(
                bus_settings.kafka_topic, f"user{i % 5}".encode(), f"m{i}".encode()
            )
        first = await _drain(bus_settings, "g1", 60)
        assert len(first) == 60
        # One key, one partition, and in publish order within it.
        by_key: dict[bytes, list[Record]] = {}
        for r in first:
            assert r.key is not None
            by_key.setdefault(r.key, []).append(r)
        for key, records in by_key.items():
            assert len({r.partition for r in records}) == 1, key
            numbers = [int(r.value[1:]) for r in sorted(records, key=lambda r: r.offset)]
            assert numbers == sorted(numbers)
        # Another group reads everything independently.
        assert len(await _drain(bus_settings, "g2", 60)) == 60
        # The first group resumes after its commit: only new messages.
        for i in range(60, 65):
            await producer.publish(bus_settings.kafka_topic, b"user1", f"m{i}".encode())
        again = await _drain(bus_settings, "g1", 5)
        assert sorted(r.value for r in again) == [f"m{i}".encode() for i in range(60, 65)]
        await producer.stop()

    run_sync(scenario())


def test_lag_and_seek(bus_settings: Settings) -> None:
    async def scenario() -> None:
        producer = open_producer(bus_settings)
        await producer.start()
        for i in range(10):
            await producer.publish(bus_settings.kafka_topic, b"k", f"m{i}".encode())
        consumer = open_consumer(bus_settings, "g", bus_settings.kafka_topic)
        await consumer.start()
        got: list[Record] = []
        while len(got) < 10:
            got.extend(await consumer.poll(100, 0.5))
        part = got[0].partition
        assert sum((await consumer.lag()).values()) == 10
        await consumer.commit({part: got[3].offset + 1})
        assert sum((await consumer.lag()).values()) == 6
        await consumer.seek(part, got[5].offset)
        replay = await consumer.poll(100, 2.0)
        assert [r.value for r in replay] == [f"m{i}".encode() for i in range(5, 10)]
        await consumer.stop()
        await producer.stop()

    run_sync(scenario())


def test_local_log_survives_a_restart(tmp_path: Path) -> None:
    """What ``publish`` acknowledged is on disk: a new process (a new log object) reads it."""
    settings = Settings(
        event_bus_url=f"sqlite:///{tmp_path / 'bus.db'}", database_url="sqlite:///unused.db"
    )

    async def publish() -> None:
        producer = open_producer(settings)
        await producer.start()
        for i in range(20):
            await producer.publish(settings.kafka_topic, f"u{i}".encode(), b"x")

    run_sync(publish())
    LocalLog.open(bus_path(settings.event_bus_url), settings.kafka_partitions).close()
    reopened = LocalLog.open(bus_path(settings.event_bus_url), settings.kafka_partitions)
    assert sum(reopened.end_offsets(settings.kafka_topic).values()) == 20
    assert len(run_sync(_drain(settings, "g", 20))) == 20


def test_publish_many_delivers_all_in_key_order(bus_settings: Settings) -> None:
    """The bulk paths' ``publish_many``: every message once, each key's in the given order
    and on the partition ``publish`` gives that key, and an empty list is a no-op."""

    async def scenario() -> None:
        producer = open_producer(bus_settings)
        await producer.start()
        await producer.publish_many(bus_settings.kafka_topic, [])
        for i in range(7):  # one message per key the live way first
            await producer.publish(bus_settings.kafka_topic, f"user{i}".encode(), b"m-1")
        messages = [(f"user{i % 7}".encode(), f"m{i}".encode()) for i in range(3000)]
        await producer.publish_many(bus_settings.kafka_topic, messages[:1000])
        await producer.publish_many(bus_settings.kafka_topic, messages[1000:])
        got = await _drain(bus_settings, "g", 3007)
        assert sorted(r.value for r in got if r.value != b"m-1") == sorted(v for _, v in messages)
        assert sum(1 for r in got if r.value == b"m-1") == 7
        by_key: dict[bytes, list[Record]] = {}
        for r in got:
            assert r.key is not None
            by_key.setdefault(r.key, []).append(r)
        assert len(by_key) == 7
        for key, records in by_key.items():
            assert len({r.partition for r in records}) == 1, key
            numbers = [int(r.value[1:]) for r in sorted(records, key=lambda r: r.offset)]
            assert numbers == sorted(numbers), key
        await producer.stop()

    run_sync(scenario())


def test_local_publish_many_is_all_or_nothing(tmp_path: Path) -> None:
    """On the embedded log one ``publish_many`` is one transaction: after a failure none of
    its messages is on the topic."""
    settings = Settings(
        event_bus_url=f"sqlite:///{tmp_path / 'bus.db'}", database_url="sqlite:///unused.db"
    )
    bad: list[tuple[bytes, bytes]] = [(b"u1", b"ok"), (b"u2", None)]  # type: ignore[list-item]

    async def scenario() -> None:
        producer = open_producer(settings)
        await producer.start()
        with pytest.raises(BusUnavailableError):
            await producer.publish_many(settings.kafka_topic, bad)
        await producer.publish_many(settings.kafka_topic, [(b"u3", b"after")])

    run_sync(scenario())
    log = LocalLog.open(bus_path(settings.event_bus_url), settings.kafka_partitions)
    assert sum(log.end_offsets(settings.kafka_topic).values()) == 1
    got = run_sync(_drain(settings, "g", 1, timeout_s=2))
    assert [r.value for r in got] == [b"after"]
