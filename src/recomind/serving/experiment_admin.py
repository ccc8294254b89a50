"""Creating, stopping and shipping experiments, and their results: what ``/experiments`` and
``recomind experiments`` both call (docs/experiments.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from recomind.analytics.experiment_results import experiment_rows, results
from recomind.config import Settings
from recomind.errors import ConflictError, NotFoundError
from recomind.experiment_spec import Experiment, SpecError, parse
from recomind.lake.impressions import read_impressions
from recomind.lake.reader import read_table
from recomind.schemas import utcnow
from recomind.storage.engine import read_tx, write_tx
from recomind.storage.experiments import (
    create_experiment,
    end_experiment,
    get_experiment,
    list_experiments,
)
from recomind.storage.videos import get_videos

#: How long after an impression an action still counts for it (as the online figures).
WINDOW_S = 86_400.0
#: How long a computed result is reused (the lake is read whole for it).
RESULTS_TTL_S = 10.0


class NotRunning(ConflictError):
    """Stop or ship of an experiment that has ended, or ship without a winner."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__("experiment", "name", name)
        self.args = (message,)


def create(engine: Engine, body: Mapping[str, Any]) -> Experiment:
    """Check ``body`` (:class:`SpecError`) and store the experiment, running."""
    experiment = parse(body)
    with write_tx(engine) as conn:
        return create_experiment(conn, experiment=experiment)


def every(engine: Engine) -> list[Experiment]:
    with read_tx(engine) as conn:
        return list_experiments(conn)


def show(engine: Engine, name: str) -> Experiment:
    with read_tx(engine) as conn:
        found = get_experiment(conn, name=name)
    if found is None:
        raise NotFoundError("experiment", "name", name)
    return found


def stop(engine: Engine, name: str) -> Experiment:
    """End the experiment: every user is served as before it (``current``)."""
    return _end(engine, name, None)


def ship(
    engine: Engine, settings: Settings, name: str, variant: str | None, memo: Results | None = None
) -> Experiment:
    """End the experiment and serve ``variant``'s ranker (default: the verdict's winner) to
    everyone on its surface."""
    found = show(engine, name)
    if found.status != "running":
        raise NotRunning(name, f"experiment {name!r} is {found.status} already")
    if variant is None:
        figures = (memo or Results(settings, engine)).get(found, fresh=True)
        variant = figures["verdict"]["winner"]
        if variant is None:
            raise NotRunning(
                name, f"experiment {name!r} has no winner yet: name the variant to ship"
            )
    elif found.variant(variant) is None:
        raise SpecError("variant", f"{variant!r} is not a variant of {name!r}")
    return _end(engine, name, variant)


def _end(engine: Engine, name: str, variant: str | None) -> Experiment:
    with write_tx(engine) as conn:
        before = get_experiment(conn, name=name)
        if before is None:
            raise NotFoundError("experiment", "name", name)
        if before.status != "running":
            raise NotRunning(name, f"experiment {name!r} is {before.status} already")
        ended = end_experiment(conn, name=name, shipped_variant=variant)
    assert ended is not None
    return ended


def lake_inputs(
    settings: Settings, engine: Engine, experiment: Experiment
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """``(impressions, events, durations)`` for the experiment's results, from the lake now
    (the readers leave out the tombstoned rows of erased users) and the catalogue."""
    endpoint = settings.lake_s3_endpoint_url
    impressions = read_impressions(settings.lake_url, s3_endpoint_url=endpoint)
    prefix = f"{experiment.name}:"
    if impressions.num_rows:
        mask = pc.starts_with(pc.fill_null(impressions.column("variant"), ""), prefix)
        impressions = impressions.filter(mask)
    if not impressions.num_rows:
        return impressions, pa.table({}), pa.table({})
    events = read_table(settings.lake_url, s3_endpoint_url=endpoint)
    first = pc.min(impressions.column("served_at"))
    events = events.filter(pc.greater_equal(events.column("timestamp"), first))
    shown = pc.unique(impressions.column("video_id")).to_pylist()
    with read_tx(engine) as conn:
        videos = get_videos(conn, video_ids=shown)
    durations = pa.table(
        {
            "video_id": pa.array(list(videos), pa.string()),
            "duration_s": pa.array([v.duration_s for v in videos.values()], pa.float64()),
        }
    )
    return impressions, events, durations


def compute_results(settings: Settings, engine: Engine, experiment: Experiment) -> dict[str, Any]:
    """The results from the lake now (:func:`lake_inputs`)."""
    inputs = lake_inputs(settings, engine, experiment)
    users, hours = experiment_rows(experiment, *inputs, window_s=WINDOW_S)
    return results(experiment, users, hours, generated_at=utcnow().isoformat() + "Z")


class Results:
    """:func:`compute_results`, reused for ``RESULTS_TTL_S`` per experiment and status."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._memo: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, experiment: Experiment, *, fresh: bool = False) -> dict[str, Any]:
        key = (experiment.name, experiment.status)
        with self._lock:
            hit = self._memo.get(key)
        if hit is not None and not fresh and time.monotonic() - hit[0] < RESULTS_TTL_S:
            return hit[1]
        body = compute_results(self.settings, self.engine, experiment)
        with self._lock:
            self._memo[key] = (time.monotonic(), body)
        return body
