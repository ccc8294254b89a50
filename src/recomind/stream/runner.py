"""The consume loop every group runs: poll → parse (bad ones to the DLQ) → apply → commit.

Offsets are committed only after the handler made the batch durable. If the handler fails
(the database is down, say), the batch is not committed and is read again after a pause; a
database that does not answer is logged once per outage window (:mod:`recomind.storage.outage`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

import orjson
from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError

from recomind.config import Settings
from recomind.records import Record
from recomind.schemas import ActionEvent
from recomind.storage.outage import DATABASE_DOWN, note_outage
from recomind.stream.bus import Consumer, Producer
from recomind.stream.consumers import GROUPS, Context, Handler, build
from recomind.stream.consumers.base import Item
from recomind.stream.factory import open_consumer, open_producer
from recomind.stream.local import bus_path
from recomind.stream.local_retention import compact

logger = logging.getLogger(__name__)

PROCESSED = Counter("recomind_consumer_events_total", "Events handled per group", ["group"])
DEAD_LETTERS = Counter(
    "recomind_consumer_dlq_total", "Unparseable messages sent to the DLQ", ["group"]
)
LAG = Gauge("recomind_consumer_lag", "Messages not yet committed per group", ["group"])
BATCH_SECONDS = Histogram(
    "recomind_consumer_batch_seconds",
    "Time to apply one batch",
    ["group"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
)
FAILURES = Counter(
    "recomind_consumer_failures_total", "Batches that failed and will be retried", ["group"]
)

LAG_EVERY_S = 5.0
RETRY_PAUSE_S = 1.0
#: How often the consumers' process compacts the embedded bus's log.
RETENTION_EVERY_S = 300.0


def dlq_topic(topic: str) -> str:
    return topic + ".dlq"


def dead_letter(record: Record, reason: str) -> bytes:
    return orjson.dumps(
        {
            "reason": reason,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key.decode("utf-8", "replace") if record.key else None,
            "value": record.value.decode("utf-8", "replace"),
        }
    )


def parse(record: Record) -> tuple[ActionEvent | None, str]:
    try:
        return ActionEvent.model_validate_json(record.value), ""
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ())) or 'value'}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        ]
        return None, "; ".join(problems)


class GroupRunner:
    """Runs one consumer group until ``stop`` is set."""

    def __init__(self, ctx: Context, group: str, *, handler: Handler | None = None) -> None:
        self.ctx = ctx
        self.group = group
        self.topic = ctx.settings.kafka_topic
        self.handler = handler or build(group, ctx)
        self.consumer: Consumer = open_consumer(ctx.settings, group, self.topic)
        self.dlq: Producer = open_producer(ctx.settings)

    async def run(self, stop: asyncio.Event) -> None:
        settings = self.ctx.settings
        await self.consumer.start()
        logger.info("consumer group %s started on %s", self.group, self.topic)
        last_lag = 0.0
        try:
            while not stop.is_set():
                records = await self.consumer.poll(
                    settings.consumer_batch_size, settings.consumer_poll_ms / 1000
                )
                try:
                    if records:
                        done = await self._apply(records)
                    else:
                        done = await asyncio.to_thread(self.handler.tick)
                except DATABASE_DOWN as exc:  # one line per outage window, not per batch
                    note_outage(exc, "consumers read their batches again after a pause")
                    await self._retry_later(records)
                    continue
                except Exception:
                    logger.exception("group %s: batch failed; it will be read again", self.group)
                    await self._retry_later(records)
                    continue
                if done:
                    await self.consumer.commit(done)
                if time.monotonic() - last_lag > LAG_EVERY_S:
                    last_lag = time.monotonic()
                    LAG.labels(self.group).set(sum((await self.consumer.lag()).values()))
            done = await asyncio.to_thread(self.handler.flush)
            if done:
                await self.consumer.commit(done)
        finally:
            await self.consumer.stop()
            await self.dlq.stop()
            logger.info("consumer group %s stopped", self.group)

    async def _apply(self, records: Sequence[Record]) -> dict[int, int]:
        items: list[Item] = []
        for record in records:
            event, reason = parse(record)
            if event is None and self.handler.files_dead_letters:
                await self.dlq.publish(
                    dlq_topic(self.topic), record.key or b"", dead_letter(record, reason)
                )
                DEAD_LETTERS.labels(self.group).inc()
            if event is None:
                logger.warning(
                    "group %s: skipping unparseable message %d/%d: %s",
                    self.group,
                    record.partition,
                    record.offset,
                    reason,
                )
            items.append((record, event))
        with BATCH_SECONDS.labels(self.group).time():
            done = await asyncio.to_thread(self.handler.handle, items)
        PROCESSED.labels(self.group).inc(len(records))
        return done

    async def _retry_later(self, records: Sequence[Record]) -> None:
        """A batch failed: count it, read it again after :data:`RETRY_PAUSE_S`."""
        FAILURES.labels(self.group).inc()
        await self._rewind(records)
        await asyncio.sleep(RETRY_PAUSE_S)

    async def _rewind(self, records: Sequence[Record]) -> None:
        firsts: dict[int, int] = {}
        for r in records:
            firsts[r.partition] = min(firsts.get(r.partition, r.offset), r.offset)
        for partition, offset in firsts.items():
            await self.consumer.seek(partition, offset)


async def run_groups(ctx: Context, groups: Sequence[str], stop: asyncio.Event) -> None:
    """Run several groups side by side until ``stop``; one failing group does not stop others.

    On the embedded bus the log's retention runs beside them (:func:`keep_log_bounded`)."""
    runners = [GroupRunner(ctx, g) for g in groups]
    tasks = [r.run(stop) for r in runners]
    if not ctx.settings.event_bus_url.startswith("kafka://"):
        tasks.append(keep_log_bounded(ctx.settings, stop))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for group, result in zip([*groups, "bus-retention"], results, strict=False):
        if isinstance(result, BaseException):
            logger.error("consumer group %s ended with %r", group, result)


async def keep_log_bounded(
    settings: Settings, stop: asyncio.Event, *, every_s: float = RETENTION_EVERY_S
) -> None:
    """Compact the embedded bus's log every ``every_s`` until ``stop``
    (:func:`~recomind.stream.local_retention.compact`: what every known group consumed, and
    what is older than ``event_bus_retention_hours``)."""
    hours = settings.event_bus_retention_hours
    path = bus_path(settings.event_bus_url)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_s)
        if stop.is_set() or not path.exists():
            continue
        try:
            done = await asyncio.to_thread(
                compact,
                path,
                groups=GROUPS,
                max_age_s=hours * 3600 if hours > 0 else None,
                now=time.time(),
            )
        except Exception:  # a busy or broken file: try again next time
            logger.exception("embedded bus compaction failed")
            continue
        if done.consumed or done.expired:
            logger.info("embedded bus compacted: %s", done.as_dict())
