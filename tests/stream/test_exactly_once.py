"""Each event counts once in every group, whatever offset it arrives at: a message written
twice (a producer retry), and events below a group's stored offsets (a recreated topic), on
every stack."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, func, select

from recomind.config import Settings
from recomind.lake.reader import read_raw, read_table
from recomind.schemas import ActionEvent, utcnow
from recomind.storage.engine import write_tx
from recomind.storage.event_claims import claimed_event_ids
from recomind.storage.inserts import new_id
from recomind.storage.offsets import lock_offsets, stored_offsets
from recomind.storage.tables import consumer_offsets, video_actions, video_popularity
from recomind.stream.consumers import GROUPS
from recomind.stream.factory import open_producer
from tests.api.helpers import load_catalogue
from tests.conftest import truncate
from tests.stream.helpers import actions, assert_matches_from_scratch
from tests.utils.settle import run_sync
from tests.utils.stacks import STACKS, running_api

CLAIMING = ("popularity", "profiles", "lake", "retrain-trigger")


def _events(n: int, *, seed: int) -> list[ActionEvent]:
    now = utcnow()
    return [
        ActionEvent(
            event_id=new_id(),
            timestamp=now - timedelta(seconds=n - i),
            **body,
        )
        for i, body in enumerate(actions(n, seed=seed))
    ]


def _publish(settings: Settings, batches: list[list[ActionEvent]]) -> None:
    """Publish each batch in turn, one message per event (as the API does)."""

    async def go() -> None:
        producer = open_producer(settings)
        await producer.start()
        try:
            for batch in batches:
                for e in batch:
                    await producer.publish(settings.kafka_topic, e.user_id.encode(), e.to_json())
        finally:
            await producer.stop()

    run_sync(go())


def _counted(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(video_actions)).scalar_one()
        counted = conn.execute(select(func.sum(video_popularity.c.n_events))).scalar_one()
    return int(rows), int(counted or 0)


def _regressions(group: str) -> float:
    value = REGISTRY.get_sample_value(
        "recomind_consumer_offset_regressions_total", {"group": group}
    )
    return value or 0.0


@pytest.mark.parametrize("stack", list(STACKS))
def test_a_message_written_twice_counts_once_in_every_group(
    stack: str, stack_settings: Callable[..., Settings]
) -> None:
    """The same events again at new offsets, right after (one batch) and much later."""
    settings = stack_settings(stack, consumer_batch_size=50, lake_flush_events=80)
    with running_api(settings) as api:
        truncate(api.engine)
        load_catalogue(api.http, 25)
        events = _events(300, seed=3)
        # Each event twice in a row (one poll may hold both copies), then the first 120 again.
        _publish(settings, [[e for e in events for _ in (0, 1)], events[:120]])
        api.settle()
        rows, counted = _counted(api.engine)
        assert rows == 300
        assert counted == 300  # popularity's n_events: one per event
        assert_matches_from_scratch(api.engine, settings)
        ids = {e.event_id for e in events}
        with api.engine.connect() as conn:
            for group in CLAIMING:
                assert claimed_event_ids(conn, group=group) >= ids, group
        lake = read_table(settings.lake_url)
        assert sorted(lake.column("event_id").to_pylist()) == sorted(ids)
        raw = read_raw(settings.lake_url)
        assert raw.num_rows == 300  # filed once, not only read once


@pytest.mark.parametrize("stack", list(STACKS))
def test_events_below_the_stored_offsets_are_applied_and_reported(
    stack: str, stack_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    """A recreated topic: every group stored offsets far beyond the new log's end. Nothing
    is skipped, the regression is logged and counted once per partition, and the stored
    offsets follow the bus down."""
    settings = stack_settings(stack, consumer_batch_size=40, serve_consumers="none")
    partitions = list(range(settings.kafka_partitions))
    topic = settings.kafka_topic
    with running_api(settings) as api:
        truncate(api.engine)
        load_catalogue(api.http, 25)
        with write_tx(api.engine) as conn:  # what the old topic left behind
            for group in GROUPS:
                lock_offsets(conn, group=group, topic=topic, partitions=partitions, now=utcnow())
                conn.execute(
                    consumer_offsets.update()
                    .where(consumer_offsets.c.topic == topic)
                    .values(next_offset=10_000)
                )
        before = {g: _regressions(g) for g in GROUPS}
        events = _events(240, seed=4)
        _publish(settings, [events])
    served = settings.model_copy(update={"serve_consumers": "all"})
    with (
        caplog.at_level(logging.ERROR, logger="recomind.stream.offsets"),
        running_api(served) as api,
    ):
        api.settle()
        rows, counted = _counted(api.engine)
        assert (rows, counted) == (240, 240)
        assert_matches_from_scratch(api.engine, settings)
        with api.engine.connect() as conn:
            for group in GROUPS:
                stored = stored_offsets(conn, group=group, topic=topic)
                assert all(o < 10_000 for o in stored.values()), (group, stored)
                assert sum(stored.values()) == 240, (group, stored)
    assert read_table(settings.lake_url).num_rows == 240
    for group in GROUPS:
        assert _regressions(group) - before[group] == len(partitions), group
    lines = [r for r in caplog.records if "OFFSET REGRESSION" in r.getMessage()]
    assert len(lines) == len(GROUPS) * len(partitions)
