"""Kafka backend (aiokafka): idempotent producer with ``acks=all``, group consumers, topics.

Only the Kafka protocol is used, through a standard client, so any Kafka-compatible
cluster works: point ``RECOMIND_EVENT_BUS_URL`` at ``kafka://broker1:9092,broker2:9092``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaError,
    MessageSizeTooLargeError,
    TopicAlreadyExistsError,
)
from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import Counter, Gauge

from recomind.config import Settings
from recomind.records import Record
from recomind.stream.bus import BusUnavailableError, Consumer, Producer

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 10.0
#: How long a publish waits while the last one failed (the broker is likely away): each
#: request is still tried, but answers 503 in this long, not PUBLISH_TIMEOUT_S.
OUTAGE_PUBLISH_TIMEOUT_S = 2.0
COMMIT_TIMEOUT_S = 10.0
IDEMPOTENT = Gauge(
    "recomind_producer_idempotent",
    "1 when the Kafka producer runs with idempotence (the broker accepted a producer id)",
)
COMMIT_FAILURES = Counter(
    "recomind_consumer_commit_failures_total",
    "Offset commits to the broker that failed or timed out (the batch is read again)",
    ["group"],
)
_PARTITIONER = DefaultPartitioner()  # the producer's default: murmur2 of the key
# (topic, partition count) -> key -> partition, for publish_many (a bulk load repeats users).
_KEY_PARTITIONS: dict[tuple[str, int], dict[bytes, int]] = {}
_KEY_PARTITIONS_MAX = 500_000


def _partition_of(topic: str, partitions: list[int], key: bytes) -> int:
    """The partition the client's default partitioner picks for ``key`` (murmur2 over every
    partition, as ``send`` lists them), hashed once per key while the cache lasts."""
    of_key = _KEY_PARTITIONS.get((topic, len(partitions)))
    if of_key is None or len(of_key) > _KEY_PARTITIONS_MAX:
        of_key = _KEY_PARTITIONS[(topic, len(partitions))] = {}
    part = of_key.get(key)
    if part is None:
        part = of_key[key] = _PARTITIONER(key, partitions, partitions)
    return part


def bootstrap_servers(url: str) -> str:
    """``kafka://a:9092,b:9092`` -> ``a:9092,b:9092``."""
    servers = url.removeprefix("kafka://").strip("/")
    if not servers:
        raise ValueError(f"event bus URL {url!r} names no broker; expected kafka://host:port")
    return servers


async def ensure_topics(settings: Settings, topics: list[str]) -> None:
    """Create the topics if missing, with the configured partitions and replication."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers(settings.event_bus_url),
        client_id=settings.kafka_client_id,
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            t,
                            num_partitions=settings.kafka_partitions,
                            replication_factor=settings.kafka_replication_factor,
                        )
                        for t in missing
                    ]
                )
                logger.info("created topics %s", missing)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


class KafkaProducer(Producer):
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._failing = False  # the last publish failed

    async def start(self) -> None:
        async with self._lock:
            if self._producer is not None:
                return
            topic = self._settings.kafka_topic
            await ensure_topics(self._settings, [topic, topic + ".dlq"])
            idempotent = self._settings.kafka_idempotent_producer
            producer = self._new_producer(idempotent=idempotent)
            try:
                await producer.start()
            except KafkaError as exc:
                await producer.stop()
                if not idempotent:
                    raise
                # The broker refused a producer id (InitProducerId): it cannot deduplicate.
                logger.warning(
                    "the broker refused an idempotent producer (%r); producing with acks=all "
                    "only: a retry may write an event twice, and the consumers count it once "
                    "by event id",
                    exc,
                )
                producer = self._new_producer(idempotent=False)
                await producer.start()
                idempotent = False
            IDEMPOTENT.set(1 if idempotent else 0)
            self._producer = producer

    def _new_producer(self, *, idempotent: bool) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers(self._settings.event_bus_url),
            client_id=self._settings.kafka_client_id,
            acks="all",
            # The broker drops a batch the producer sends again after a lost ack (a broker
            # restart, a timeout), so a retry never writes an event twice.
            enable_idempotence=idempotent,
            # No linger: a batch goes out as soon as the partition has no request in flight,
            # and what arrives meanwhile forms the next one. Waiting 2 ms per batch halved
            # what one process could publish (2,770 -> 6,860 msgs/s at 16 concurrent sends
            # on Tansu) and added 2 ms to every answer.
            linger_ms=0,
            request_timeout_ms=int(PUBLISH_TIMEOUT_S * 1000),
        )

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        """Returns once the brokers acknowledged the message (``acks=all``).

        One ``asyncio.timeout`` over the send and its ack (``wait_for`` wrapped each in a task
        of its own), and the key's partition from a cache: the client's default partitioner
        hashes the key in pure Python on every send. While the last publish failed, one
        waits :data:`OUTAGE_PUBLISH_TIMEOUT_S` at most (a 503 in 2 s rather than 10 s while
        the broker is away; the message may still be delivered after, like any that timed
        out, and counts once by its event id)."""
        timeout_s = OUTAGE_PUBLISH_TIMEOUT_S if self._failing else PUBLISH_TIMEOUT_S
        try:
            async with asyncio.timeout(timeout_s):
                if self._producer is None:
                    await self.start()
                producer = self._producer
                assert producer is not None
                partitions = producer.client.cluster.partitions_for_topic(topic)
                partition = _partition_of(topic, list(partitions), key) if partitions else None
                ack = await producer.send(topic, value=value, key=key, partition=partition)
                await ack
        except (KafkaError, TimeoutError, OSError) as exc:
            self._failing = True
            raise BusUnavailableError(f"Kafka did not take the message: {exc!r}") from exc
        self._failing = False

    async def publish_many(self, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> None:
        """Fill one record batch after another per partition (the partition ``publish``
        would pick: the client's default partitioner over the key), hand them all to the
        client, then wait for every ack. Per message that is a fraction of ``send``'s cost."""
        if not messages:
            return
        try:
            if self._producer is None:
                await asyncio.wait_for(self.start(), PUBLISH_TIMEOUT_S)
            assert self._producer is not None
            async with asyncio.timeout(PUBLISH_TIMEOUT_S + len(messages) / 1000):
                acks = await self._send_batches(self._producer, topic, messages)
                results = await asyncio.gather(*acks, return_exceptions=True)
            failed = next((r for r in results if isinstance(r, BaseException)), None)
            if failed is not None:
                raise failed
        except (KafkaError, TimeoutError, OSError) as exc:
            raise BusUnavailableError(f"Kafka did not take every message: {exc!r}") from exc

    @staticmethod
    async def _send_batches(
        producer: AIOKafkaProducer, topic: str, messages: Sequence[tuple[bytes, bytes]]
    ) -> list[asyncio.Future[Any]]:
        partitions = list(await producer.partitions_for(topic))  # as send() lists them
        by_partition: dict[int, list[tuple[bytes, bytes]]] = {}
        for key, value in messages:
            by_partition.setdefault(_partition_of(topic, partitions, key), []).append((key, value))
        acks: list[asyncio.Future[Any]] = []
        for part, items in by_partition.items():
            batch = producer.create_batch()
            for key, value in items:
                if batch.append(key=key, value=value, timestamp=None) is not None:
                    continue
                acks.append(await producer.send_batch(batch, topic, partition=part))
                batch = producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None) is None:
                    raise MessageSizeTooLargeError(f"a message of {len(value)} bytes")
            acks.append(await producer.send_batch(batch, topic, partition=part))
        return acks


class _LogAssignments(ConsumerRebalanceListener):  # type: ignore[misc]
    """Log each rebalance: which partitions this member owns now."""

    def __init__(self, group: str) -> None:
        self.group = group

    async def on_partitions_revoked(self, revoked: Any) -> None:
        logger.info(
            "group %s: partitions revoked %s", self.group, sorted(tp.partition for tp in revoked)
        )

    async def on_partitions_assigned(self, assigned: Any) -> None:
        logger.info(
            "group %s: partitions assigned %s", self.group, sorted(tp.partition for tp in assigned)
        )


class KafkaConsumer(Consumer):
    def __init__(self, settings: Settings, group: str, topic: str) -> None:
        self._settings = settings
        self.group = group
        self.topic = topic
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        await ensure_topics(self._settings, [self.topic])
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers(self._settings.event_bus_url),
            client_id=f"{self._settings.kafka_client_id}-{self.group}",
            group_id=self._settings.kafka_group_prefix + self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._settings.consumer_batch_size,
            fetch_max_wait_ms=self._settings.kafka_fetch_max_wait_ms,
        )
        self._consumer.subscribe([self.topic], listener=_LogAssignments(self.group))
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        assert self._consumer is not None, "consumer not started"
        batches = await self._consumer.getmany(
            timeout_ms=int(timeout_s * 1000), max_records=max_records
        )
        out: list[Record] = []
        for tp, messages in sorted(batches.items(), key=lambda kv: kv[0].partition):
            out.extend(
                Record(tp.topic, tp.partition, m.offset, m.key, m.value or b"") for m in messages
            )
        return out

    async def commit(self, offsets: dict[int, int]) -> None:
        """Commit within :data:`COMMIT_TIMEOUT_S`; a commit that fails is logged and counted,
        never raised: the effects are keyed by event id, so what an uncommitted offset makes
        the group read again is applied once."""
        assert self._consumer is not None
        try:
            async with asyncio.timeout(COMMIT_TIMEOUT_S):
                await self._consumer.commit(
                    {TopicPartition(self.topic, p): o for p, o in offsets.items()}
                )
        except (CommitFailedError, IllegalStateError) as exc:
            # A rebalance took the partition: its new owner re-reads from the last commit.
            COMMIT_FAILURES.labels(self.group).inc()
            logger.warning("commit of %s skipped after a rebalance: %s", self.group, exc)
        except (KafkaError, TimeoutError, OSError) as exc:
            COMMIT_FAILURES.labels(self.group).inc()
            logger.warning("commit of %s failed (read again, applied once): %r", self.group, exc)

    async def seek(self, partition: int, offset: int) -> None:
        assert self._consumer is not None
        tp = TopicPartition(self.topic, partition)
        if tp in self._consumer.assignment():
            self._consumer.seek(tp, offset)

    async def end_offsets(self) -> dict[int, int]:
        assert self._consumer is not None
        assigned = list(self._consumer.assignment())
        if not assigned:
            return {}
        ends = await self._consumer.end_offsets(assigned)
        return {tp.partition: int(ends[tp]) for tp in assigned}

    async def lag(self) -> dict[int, int]:
        assert self._consumer is not None
        assigned = list(self._consumer.assignment())
        if not assigned:
            return {}
        ends = await self._consumer.end_offsets(assigned)
        out = {}  # one committed() per partition: a figure every few seconds
        for tp in assigned:
            committed = await self._consumer.committed(tp)
            out[tp.partition] = max(0, ends[tp] - (committed or 0))
        return out
