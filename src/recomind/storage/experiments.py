"""Data functions over ``experiments``. Keyword-only; ``None`` when a row is absent.

At most one experiment runs per surface: ``running_on`` holds the surface while it runs and is
unique, so two concurrent creates cannot both win (:class:`ExperimentConflict`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from recomind.errors import ConflictError
from recomind.experiment_spec import Experiment, Variant
from recomind.schemas import utcnow
from recomind.storage.tables import experiments
from recomind.storage.types import as_datetime


class ExperimentConflict(ConflictError):
    """The name is taken, or another experiment runs on the surface."""

    def __init__(self, field_name: str, value: str, message: str) -> None:
        super().__init__("experiment", field_name, value)
        self.args = (message,)


def _experiment(row: Any) -> Experiment:
    return Experiment(
        name=row.name,
        surface=row.surface,
        variants=tuple(Variant(v["name"], v["ranker"], float(v["weight"])) for v in row.variants),
        salt=row.salt,
        horizon_users=int(row.horizon_users),
        primary=row.primary_metric,
        status=row.status,
        created_at=as_datetime(row.created_at),
        stopped_at=as_datetime(row.stopped_at) if row.stopped_at is not None else None,
        shipped_variant=row.shipped_variant,
    )


def create_experiment(conn: Connection, *, experiment: Experiment) -> Experiment:
    """Store a running experiment; :class:`ExperimentConflict` when its name exists or
    another experiment runs on its surface."""
    if get_experiment(conn, name=experiment.name) is not None:
        raise ExperimentConflict(
            "name", experiment.name, f"experiment {experiment.name!r} already exists"
        )
    running = running_experiment(conn, surface=experiment.surface)
    if running is not None:
        raise ExperimentConflict(
            "surface",
            experiment.surface,
            f"experiment {running.name!r} runs on {experiment.surface!r}: "
            "stop or ship it first (one running experiment per surface)",
        )
    created = utcnow()
    row = {
        "name": experiment.name,
        "surface": experiment.surface,
        "status": "running",
        "running_on": experiment.surface,
        "variants": [v.to_json() for v in experiment.variants],
        "salt": experiment.salt,
        "horizon_users": experiment.horizon_users,
        "primary_metric": experiment.primary,
        "created_at": created,
    }
    try:
        conn.execute(experiments.insert(), row)
    except IntegrityError as exc:  # a concurrent create won the race
        raise ExperimentConflict(
            "surface", experiment.surface, f"another experiment runs on {experiment.surface!r}"
        ) from exc
    found = get_experiment(conn, name=experiment.name)
    assert found is not None
    return found


def get_experiment(conn: Connection, *, name: str) -> Experiment | None:
    row = conn.execute(select(experiments).where(experiments.c.name == name)).first()
    return _experiment(row) if row else None


def list_experiments(conn: Connection) -> list[Experiment]:
    """Every experiment, newest first."""
    stmt = select(experiments).order_by(experiments.c.created_at.desc(), experiments.c.name)
    return [_experiment(r) for r in conn.execute(stmt)]


def running_experiment(conn: Connection, *, surface: str) -> Experiment | None:
    row = conn.execute(select(experiments).where(experiments.c.running_on == surface)).first()
    return _experiment(row) if row else None


def serving_state(conn: Connection) -> tuple[list[Experiment], list[Experiment]]:
    """What serving needs, in one read: the running experiments and, per surface, the last
    shipped one (its variant's ranker serves everyone not in a running experiment)."""
    running: list[Experiment] = []
    shipped: dict[str, Experiment] = {}
    stmt = (
        select(experiments)
        .where(experiments.c.status.in_(("running", "shipped")))
        .order_by(experiments.c.stopped_at)
    )
    for row in conn.execute(stmt):
        found = _experiment(row)
        if found.status == "running":
            running.append(found)
        else:
            shipped[found.surface] = found  # the newest wins (ordered by stopped_at)
    return running, list(shipped.values())


def end_experiment(
    conn: Connection,
    *,
    name: str,
    shipped_variant: str | None = None,
    at: datetime | None = None,
) -> Experiment | None:
    """Stop a running experiment (``shipped_variant``: and ship that variant). ``None`` when
    there is no such experiment; an experiment that has ended already is returned as it is."""
    found = get_experiment(conn, name=name)
    if found is None or found.status != "running":
        return found
    values: dict[str, Any] = {
        "status": "shipped" if shipped_variant else "stopped",
        "running_on": None,
        "stopped_at": (at or utcnow()).replace(tzinfo=None),
        "shipped_variant": shipped_variant,
    }
    conn.execute(
        update(experiments)
        .where(experiments.c.name == name, experiments.c.status == "running")
        .values(**values)
    )
    return get_experiment(conn, name=name)
