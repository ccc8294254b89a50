"""The storage contract for experiments: created, read, listed, stopped and shipped the same
way on SQLite, PostgreSQL and MariaDB, with one running experiment per surface."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine

from recomind.experiment_spec import Experiment, parse
from recomind.storage.engine import read_tx, write_tx
from recomind.storage.experiments import (
    ExperimentConflict,
    create_experiment,
    end_experiment,
    get_experiment,
    list_experiments,
    running_experiment,
    serving_state,
)

T0 = datetime(2026, 1, 1, 12, 0, 0, 123456)


def spec(name: str) -> Experiment:
    return parse(
        {
            "name": name,
            "variants": [
                {"name": "control", "ranker": "current", "weight": 1},
                {"name": "trend", "ranker": "trending", "weight": 2},
            ],
            "horizon_users": 100,
        }
    )


def test_an_experiment_is_created_read_and_listed(engine: Engine) -> None:
    with write_tx(engine) as conn:
        made = create_experiment(conn, experiment=spec("first"))
    assert made.status == "running" and made.created_at is not None
    with read_tx(engine) as conn:
        got = get_experiment(conn, name="first")
        assert get_experiment(conn, name="absent") is None
        assert [e.name for e in list_experiments(conn)] == ["first"]
        assert running_experiment(conn, surface="recommendations") == got
    assert got is not None and got == made
    assert got.salt == "first" and got.horizon_users == 100 and got.primary == "like_rate"
    assert [(v.name, v.ranker, v.weight) for v in got.variants] == [
        ("control", "current", 1.0),
        ("trend", "trending", 2.0),
    ]
    assert got.control == "control"


def test_one_running_experiment_per_surface_and_unique_names(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_experiment(conn, experiment=spec("first"))
    conflict = pytest.raises(ExperimentConflict, match="one running experiment")
    with conflict as raised, write_tx(engine) as conn:
        create_experiment(conn, experiment=spec("second"))
    assert raised.value.field == "surface"
    with pytest.raises(ExperimentConflict, match="already exists"), write_tx(engine) as conn:
        create_experiment(conn, experiment=spec("first"))
    with write_tx(engine) as conn:
        stopped = end_experiment(conn, name="first", at=T0)
    assert stopped is not None and stopped.status == "stopped" and stopped.stopped_at == T0
    with write_tx(engine) as conn:  # the surface is free again
        assert create_experiment(conn, experiment=spec("second")).status == "running"
    with read_tx(engine) as conn:
        assert [e.name for e in list_experiments(conn)] == ["second", "first"]


def test_ship_ends_once_and_serving_state_names_the_last_shipped(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_experiment(conn, experiment=spec("first"))
        shipped = end_experiment(conn, name="first", shipped_variant="trend", at=T0)
    assert shipped is not None and shipped.status == "shipped"
    assert shipped.shipped_variant == "trend"
    with write_tx(engine) as conn:
        again = end_experiment(conn, name="first")  # ended already: unchanged
        assert again == shipped
        assert end_experiment(conn, name="absent") is None
        create_experiment(conn, experiment=spec("second"))
    with read_tx(engine) as conn:
        running, last_shipped = serving_state(conn)
    assert [e.name for e in running] == ["second"]
    assert [e.name for e in last_shipped] == ["first"]
