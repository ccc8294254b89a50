"""The embedded bus's retention: what every consumer group consumed goes, the end offsets
never move back, a lagging group keeps its events until the age cap, which is counted."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from recomind.config import Settings
from recomind.records import Record
from recomind.stream.consumers import GROUPS
from recomind.stream.factory import open_consumer, open_producer
from recomind.stream.local import LocalLog, bus_path
from recomind.stream.local_retention import COMPACTED, compact
from recomind.stream.runner import keep_log_bounded
from tests.utils.settle import run_sync


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        event_bus_url=f"sqlite:///{tmp_path / 'bus.db'}",
        database_url="sqlite:///unused.db",
        kafka_partitions=2,
    )


def _publish(settings: Settings, n: int, start: int = 0) -> None:
    async def go() -> None:
        producer = open_producer(settings)
        await producer.start()
        for i in range(start, start + n):
            await producer.publish(settings.kafka_topic, f"u{i % 7}".encode(), str(i).encode())

    run_sync(go())


def _consume(settings: Settings, group: str, limit: int | None = None) -> list[Record]:
    """Read (and commit) up to ``limit`` of what ``group`` has not read yet."""

    async def go() -> list[Record]:
        consumer = open_consumer(settings, group, settings.kafka_topic)
        await consumer.start()
        out: list[Record] = []
        try:
            for _ in range(10):
                got = await consumer.poll(limit or 1000, 0.2)
                out.extend(got)
                if not got or (limit is not None and len(out) >= limit):
                    break
            out = out[:limit] if limit is not None else out
            ends: dict[int, int] = {}
            for r in out:
                ends[r.partition] = max(ends.get(r.partition, 0), r.offset + 1)
            if ends:
                await consumer.commit(ends)
        finally:
            await consumer.stop()
        return out

    return run_sync(go())


def _rows(settings: Settings) -> int:
    with sqlite3.connect(bus_path(settings.event_bus_url)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM log").fetchone()[0])


def test_consumed_events_go_ends_stay_and_a_lagging_group_keeps_its_events(
    settings: Settings,
) -> None:
    path = bus_path(settings.event_bus_url)
    _publish(settings, 40)
    log = LocalLog.open(path, settings.kafka_partitions)
    ends = log.end_offsets(settings.kafka_topic)
    for g in GROUPS[1:]:
        assert len(_consume(settings, g)) == 40
    # persist has read only 10: nothing it has not read may go
    assert len(_consume(settings, GROUPS[0], limit=10)) == 10
    done = compact(path, groups=GROUPS, max_age_s=None, now=time.time())
    assert done.consumed == 10 and done.expired == 0 and done.kept == 30
    assert log.end_offsets(settings.kafka_topic) == ends
    assert len(_consume(settings, GROUPS[0])) == 30  # persist reads the rest, in order

    done = compact(path, groups=GROUPS, max_age_s=None, now=time.time())
    assert done.kept == settings.kafka_partitions  # the last event of each partition stays
    assert log.end_offsets(settings.kafka_topic) == ends
    _publish(settings, 5, start=40)  # new offsets continue after the old ends
    got = _consume(settings, GROUPS[1])
    assert sorted(int(r.value) for r in got) == list(range(40, 45))
    assert all(r.offset >= ends[r.partition] for r in got)


def test_the_age_cap_deletes_unconsumed_events_and_counts_them(settings: Settings) -> None:
    path = bus_path(settings.event_bus_url)
    _publish(settings, 12)
    before = COMPACTED.labels("expired")._value.get()
    kept = compact(path, groups=GROUPS, max_age_s=3600, now=time.time())
    assert kept.expired == 0 and kept.kept == 12  # young: no group read them, all kept
    later = compact(path, groups=GROUPS, max_age_s=3600, now=time.time() + 7200)
    assert later.expired == 12 - settings.kafka_partitions
    assert COMPACTED.labels("expired")._value.get() - before == later.expired
    assert _rows(settings) == settings.kafka_partitions


def test_the_consumers_process_compacts_while_it_runs(settings: Settings) -> None:
    _publish(settings, 20)
    for g in GROUPS:
        _consume(settings, g)

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(keep_log_bounded(settings, stop, every_s=0.05))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if _rows(settings) == settings.kafka_partitions:
                break
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(run())
    assert _rows(settings) == settings.kafka_partitions
