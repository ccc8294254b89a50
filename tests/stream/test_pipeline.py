"""End to end: actions over HTTP → the bus → every consumer group, on Kafka and embedded."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pytest
from sqlalchemy import func, select

from recomind.config import Settings
from recomind.lake.reader import read_table
from recomind.storage.engine import make_engine
from recomind.storage.tables import retrain_signals, video_actions
from tests.api.helpers import load_catalogue
from tests.conftest import truncate
from tests.stream.helpers import actions, assert_matches_from_scratch, post_all
from tests.utils.stacks import running_api

PIPELINE_STACKS = ["postgres+redis", "embedded"]


@pytest.mark.parametrize("stack", PIPELINE_STACKS)
def test_thousand_actions_reach_every_consumer_once(
    stack: str, stack_settings: Callable[..., Settings]
) -> None:
    settings = stack_settings(
        stack, consumer_batch_size=64, lake_flush_events=300, retrain_after_events=400
    )
    engine = make_engine(settings.database_url)
    truncate(engine)
    with running_api(settings) as api:
        load_catalogue(api.http, 25)
        ids = post_all(api.base_url, actions(1000))
        assert len(set(ids)) == 1000
        api.settle()
    with engine.connect() as conn:
        stored = set(conn.execute(select(video_actions.c.id)).scalars())
        signals = conn.execute(select(func.count()).select_from(retrain_signals)).scalar_one()
    assert stored == set(ids)
    assert signals == 2  # after 400 and 800 events
    lake = read_table(settings.lake_url)
    assert lake.num_rows == 1000
    assert set(lake.column("event_id").to_pylist()) == set(ids)
    root = settings.lake_url.removeprefix("file://")
    # DuckDB reads the lake as one table, with the hive partitions as columns.
    with duckdb.connect() as con:
        count, hours = con.execute(
            f"SELECT count(*), count(DISTINCT hour) FROM read_parquet('{root}/**/*.parquet', "
            "hive_partitioning = true)"
        ).fetchall()[0]
    assert count == 1000 and hours >= 1
    assert_matches_from_scratch(engine, settings)
    engine.dispose()
