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
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import orjson
from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError

from recomind.config import Settings
from recomind.records import Record
from recomind.schemas import ActionEvent, utcnow
from recomind.storage.engine import write_tx
from recomind.storage.outage import DATABASE_DOWN, note_outage
from recomind.stream import offsets
from recomind.stream.bus import Consumer, Producer
from recomind.stream.consumers import GROUPS, Context, Handler, build
from recomind.stream.consumers.base import Item
from recomind.stream.factory import open_consumer, open_producer
from recomind.stream.local import bus_path
from recomind.stream.local_retention import compact
from recomind.stream.supervision import Backoff, DaemonWorker, Health, pause

logger = logging.getLogger(__name__)
T = TypeVar("T")

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
#: The first pause after a failure; each further one doubles, up to RETRY_PAUSE_MAX_S.
RETRY_PAUSE_S = 0.5
RETRY_PAUSE_MAX_S = 30.0
#: Bounds on the bus calls of a group (a broker that does not answer fails them instead).
START_TIMEOUT_S = 20.0
POLL_SLACK_S = 15.0
CALL_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 2.0
#: How long a stop waits for a batch in flight (or the final flush) before leaving it.
SHUTDOWN_GRACE_S = 3.0
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
    """Runs one consumer group until ``stop`` is set, through any failure of the bus or the
    database: every call is bounded, failures back off (capped at :data:`RETRY_PAUSE_MAX_S`)
    and show in the group's health figures, and ``stop`` ends it within
    :data:`SHUTDOWN_GRACE_S` of a batch in flight, whatever state the bus is in."""

    def __init__(self, ctx: Context, group: str, *, handler: Handler | None = None) -> None:
        self.ctx = ctx
        self.group = group
        self.topic = ctx.settings.kafka_topic
        self.handler = handler or build(group, ctx)
        self.consumer: Consumer = open_consumer(ctx.settings, group, self.topic)
        self.dlq: Producer = open_producer(ctx.settings)
        self.health = Health(group, stuck_after_s=ctx.settings.consumer_stuck_after_s)
        self._worker = DaemonWorker(f"recomind-{group}")
        self._backoff = Backoff(first_s=RETRY_PAUSE_S, cap_s=RETRY_PAUSE_MAX_S)
        self._checking: asyncio.Task[None] | None = None  # the lag and log-end check
        self._rounds = 0  # worker jobs that may have stored offsets (on the worker thread)

    async def run(self, stop: asyncio.Event) -> None:
        try:
            if await self._start(stop):
                await self._loop(stop)
                await self._finish()
        finally:
            await self._close()

    async def _start(self, stop: asyncio.Event) -> bool:
        """Start the consumer, again and again while the bus is not there; False: stopped."""
        while not stop.is_set():
            try:
                async with asyncio.timeout(START_TIMEOUT_S):
                    if await self._until_stop(self._started(), stop) is None:
                        return False  # stopped while joining (the broker may be away)
            except Exception as exc:
                self._failed(f"could not start on {self.topic}: {exc!r}")
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(CLOSE_TIMEOUT_S):
                        await self.consumer.stop()
                await pause(stop, self._backoff.next_pause())
                continue
            logger.info("consumer group %s started on %s", self.group, self.topic)
            self._backoff.reset()
            self.health.ok()
            return True
        return False

    async def _loop(self, stop: asyncio.Event) -> None:
        settings = self.ctx.settings
        last_check = 0.0
        while not stop.is_set():
            records: list[Record] = []
            try:
                async with asyncio.timeout(settings.consumer_poll_ms / 1000 + POLL_SLACK_S):
                    records = await self.consumer.poll(
                        settings.consumer_batch_size, settings.consumer_poll_ms / 1000
                    )
                work = self._apply(records) if records else self._advancing(self.handler.tick)
                done = await self._until_stop(work, stop, grace_s=SHUTDOWN_GRACE_S)
                if done is None:
                    return  # stopped while a batch was in flight: it is read again later
                if done and await self._until_stop(self._commit(done), stop, grace_s=1.0) is None:
                    return  # stopped during a commit: what it did not commit is read again
            except DATABASE_DOWN as exc:  # one line per outage window, not per batch
                FAILURES.labels(self.group).inc()
                self.health.failed()
                note_outage(exc, "consumers read their batches again after a pause")
                await self._retry_later(records, stop)
                continue
            except Exception as exc:
                FAILURES.labels(self.group).inc()
                self._failed(f"batch failed; it will be read again: {exc!r}")
                await self._retry_later(records, stop)
                continue
            self._backoff.reset()
            self.health.ok()
            if time.monotonic() - last_check > LAG_EVERY_S and (
                self._checking is None or self._checking.done()
            ):
                # Beside the loop: a broker slow to answer these never holds up a batch.
                last_check = time.monotonic()
                self._checking = asyncio.create_task(self._check_log(stop))

    async def _until_stop(
        self, work: Coroutine[Any, Any, T], stop: asyncio.Event, *, grace_s: float = 0.0
    ) -> T | None:
        """``work``'s result; None if ``stop`` came and ``work`` did not end within
        ``grace_s`` after it (its thread is left to finish alone)."""
        task = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done() and grace_s > 0:
                await asyncio.wait({task}, timeout=grace_s)
            if not task.done():
                logger.warning("group %s: stopping with work in flight", self.group)
                task.cancel()
                return None
            return task.result()
        finally:
            stopping.cancel()

    async def _check_log(self, stop: asyncio.Event) -> None:
        """Publish the lag, and lower stored offsets above the bus's log ends (reported as
        offset regressions: :func:`~recomind.stream.offsets.follow_log_ends`)."""
        try:
            rounds = self._rounds
            async with asyncio.timeout(CALL_TIMEOUT_S):
                ends = await self.consumer.end_offsets()
                LAG.labels(self.group).set(sum((await self.consumer.lag()).values()))
            if ends:
                regressions = await self._until_stop(
                    self._worker.call(lambda: self._follow(ends, rounds)), stop
                )
                for regression in regressions or []:
                    regression.report()
        except Exception as exc:  # a figure and a check: the next round tries again
            logger.warning("group %s: could not read the bus's log ends: %r", self.group, exc)

    def _follow(self, ends: dict[int, int], rounds: int) -> list[offsets.Regression]:
        """On the worker thread, so no batch runs meanwhile; skipped if one ran since
        ``ends`` were read (it may have stored offsets past them)."""
        if rounds != self._rounds:
            return []
        with write_tx(self.ctx.engine) as conn:
            return offsets.follow_log_ends(
                conn, group=self.group, topic=self.topic, ends=ends, now=utcnow()
            )

    async def _advancing(self, fn: Callable[[], dict[int, int]]) -> dict[int, int]:
        """``fn`` (handle, tick or flush: work that may store offsets) on the worker thread,
        counted in ``_rounds`` there."""

        def counted() -> dict[int, int]:
            self._rounds += 1
            return fn()

        return await self._worker.call(counted)

    async def _started(self) -> bool:
        await self.consumer.start()
        return True

    async def _commit(self, done: dict[int, int]) -> bool:
        await self.consumer.commit(done)
        return True

    async def _finish(self) -> None:
        """Make buffered work durable (within :data:`SHUTDOWN_GRACE_S`) and commit it
        (within :data:`CLOSE_TIMEOUT_S`; not tried while the group is failing: the bus is
        likely away, and what is not committed is read again and applied once)."""
        try:
            async with asyncio.timeout(SHUTDOWN_GRACE_S):
                done = await self._advancing(self.handler.flush)
            if done and self.health.failing_since is None:
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await self.consumer.commit(done)
        except Exception as exc:  # not committed: read again (and claimed once) next start
            logger.warning("group %s: final flush not completed: %r", self.group, exc)

    async def _close(self) -> None:
        """Close the consumer and the DLQ producer side by side, within CLOSE_TIMEOUT_S."""

        async def close(closing: Callable[[], Coroutine[Any, Any, None]]) -> None:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await closing()
            except Exception as exc:
                logger.warning("group %s: close did not complete: %r", self.group, exc)

        if self._checking is not None:
            self._checking.cancel()
            await asyncio.gather(self._checking, return_exceptions=True)
        await asyncio.gather(close(self.consumer.stop), close(self.dlq.stop))
        self._worker.close()
        logger.info("consumer group %s stopped", self.group)

    def _failed(self, what: str) -> None:
        """Log a failure: in full the first time, then one line each time (while failing)."""
        first = self.health.failing_since is None
        self.health.failed()
        if first:
            logger.exception("group %s: %s", self.group, what)
        else:
            logger.warning(
                "group %s: still failing (%.0f s%s): %s",
                self.group,
                time.monotonic() - (self.health.failing_since or time.monotonic()),
                ", STUCK" if self.health.stuck else "",
                what,
            )

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
            done = await self._advancing(lambda: self.handler.handle(items))
        PROCESSED.labels(self.group).inc(len(records))
        return done

    async def _retry_later(self, records: Sequence[Record], stop: asyncio.Event) -> None:
        """A round failed: read its batch again after the next backoff pause."""
        with contextlib.suppress(Exception):
            await self._rewind(records)
        await pause(stop, self._backoff.next_pause())

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
