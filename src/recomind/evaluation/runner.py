"""Run the protocol for every model: tune on validation, refit on train+validation, test.

Peers come from :mod:`.peers`; RecoMind's strategies are discovered through
``recomind.recommend.registry`` when that module exists (labelled ``recomind:<name>``), so the
harness works with peers only until the strategies land.
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from recomind.recommend.base import Recommender

from .datasets import Dataset, load
from .grids import Params, grid_for
from .peers import PEERS
from .ranking import DEFAULT_BATCH, measure, rank
from .splits import PROTOCOLS, Split, sample_users, split

logger = logging.getLogger(__name__)

Family = Literal["peer", "recomind"]
SELECTION_METRIC = "NDCG@10"


@dataclass(frozen=True)
class ModelSpec:
    """A model to evaluate: its report label, how to build it and the grid to search."""

    label: str
    family: Family
    build: Callable[..., Recommender]
    grid: list[Params]


@dataclass
class ModelResult:
    """What one model scored, with the parameters chosen on validation and its timings."""

    label: str
    family: Family
    params: Params
    metrics: dict[str, float] = field(default_factory=dict)
    fit_seconds: float = float("nan")
    score_seconds: float = float("nan")
    tune_seconds: float = 0.0
    validation: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass
class RunResult:
    """One data set's evaluation: the setup and every model's result."""

    dataset: str
    source: str
    protocol: str
    n_users: int
    n_items: int
    n_events: int
    n_test_users: int
    n_validation_users: int
    sample_users: int | None
    tune_users: int | None
    fast: bool
    seed: int
    started: str
    wall_seconds: float = 0.0
    environment: dict[str, str] = field(default_factory=dict)
    models: list[ModelResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def recomind_strategies() -> dict[str, Callable[..., Recommender]]:
    """RecoMind's strategies by name from ``recomind.recommend.registry`` ({} when absent)."""
    try:
        registry = importlib.import_module("recomind.recommend.registry")
    except ModuleNotFoundError as exc:
        if exc.name != "recomind.recommend.registry":
            raise
        logger.info("recomind.recommend.registry not found: evaluating peers only")
        return {}
    build = registry.build
    names: list[str] = list(registry.STRATEGIES)

    def factory(name: str) -> Callable[..., Recommender]:
        def make(**params: Any) -> Recommender:
            model: Recommender = build(name, **params)
            return model

        return make

    return {name: factory(name) for name in names}


def available_models(dataset: str, *, fast: bool = False) -> dict[str, ModelSpec]:
    """Every model the harness can evaluate on ``dataset``, peers first."""
    specs: dict[str, ModelSpec] = {}
    for label, cls in PEERS.items():
        specs[label] = ModelSpec(label, "peer", cls, grid_for(dataset, label, fast=fast))
    for name, make in recomind_strategies().items():
        label = f"recomind:{name}"
        specs[label] = ModelSpec(label, "recomind", make, grid_for(dataset, label, fast=fast))
    return specs


def select_models(specs: dict[str, ModelSpec], names: Sequence[str] | None) -> list[ModelSpec]:
    """Pick models by label; ``peers`` / ``recomind`` select a family; ``None`` picks all."""
    if not names:
        return list(specs.values())
    chosen: dict[str, ModelSpec] = {}
    for raw in names:
        name = raw.strip()
        if name in ("peers", "recomind"):
            chosen.update({k: s for k, s in specs.items() if s.family == name.rstrip("s")})
        elif name in specs:
            chosen[name] = specs[name]
        elif f"recomind:{name}" in specs:
            chosen[f"recomind:{name}"] = specs[f"recomind:{name}"]
        else:
            raise ValueError(f"unknown model {name!r}; available: {', '.join(specs)}")
    return list(chosen.values())


def evaluate_model(
    spec: ModelSpec,
    data_split: Split,
    *,
    tune_users: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    seed: int = 0,
) -> ModelResult:
    """Tune ``spec`` on validation, refit on train+validation and measure on test."""
    protocol = data_split.protocol
    n_items = data_split.train.n_items
    result = ModelResult(spec.label, spec.family, dict(spec.grid[0]) if spec.grid else {})
    tune_start = time.perf_counter()
    if len(spec.grid) > 1:
        history = data_split.train.matrix()
        val_targets = data_split.validation.sample(tune_users, seed)
        best = -np.inf
        for params in spec.grid:
            t0 = time.perf_counter()
            model = spec.build(**params).fit(data_split.train)
            fit_s = time.perf_counter() - t0
            ranking = rank(model, history, val_targets, batch_size=batch_size)
            del model
            gc.collect()
            value = measure(ranking, n_items, protocol)[SELECTION_METRIC]
            result.validation.append(
                {
                    "params": params,
                    SELECTION_METRIC: value,
                    "fit_seconds": fit_s,
                    "score_seconds": ranking.seconds,
                }
            )
            logger.info("%s %s: validation %s = %.4f", spec.label, params, SELECTION_METRIC, value)
            if value > best:
                best, result.params = value, dict(params)
    result.tune_seconds = time.perf_counter() - tune_start

    t0 = time.perf_counter()
    model = spec.build(**result.params).fit(data_split.train_val)
    result.fit_seconds = time.perf_counter() - t0
    ranking = rank(model, data_split.train_val.matrix(), data_split.test, batch_size=batch_size)
    del model
    gc.collect()
    result.score_seconds = ranking.seconds
    result.metrics = measure(ranking, n_items, protocol)
    logger.info(
        "%s %s: test %s",
        spec.label,
        result.params,
        ", ".join(f"{k}={v:.4f}" for k, v in result.metrics.items()),
    )
    return result


def run(
    dataset: str | Dataset,
    *,
    data_dir: Path | str | None = None,
    models: Sequence[str] | None = None,
    sample: int | None = None,
    tune_users: int | None = 10_000,
    fast: bool = False,
    batch_size: int = DEFAULT_BATCH,
    seed: int = 0,
    on_result: Callable[[RunResult], None] | None = None,
) -> RunResult:
    """Evaluate ``models`` on ``dataset`` under its protocol and collect every result.

    Parameters
    ----------
    dataset
        ``"microlens-50k"``, ``"movielens-small"`` or an already loaded :class:`Dataset`.
    data_dir
        Folder holding the data set folders (default: :func:`.datasets.default_data_dir`).
    models
        Labels to run (``ease``, ``recomind:als``, ``peers``, ``recomind``); all when ``None``.
    sample
        Keep only this many random users (quick variant); all when ``None``.
    tune_users
        Validation users scored per grid point (a seeded sample); all when ``None``.
    fast
        Use only the first point of every grid (no tuning).
    batch_size
        History rows per ``score`` call.
    seed
        Seed of the user samples.
    on_result
        Called with the partial result after each model, e.g. to write reports as it goes.

    Returns
    -------
    RunResult
    """
    wall = time.perf_counter()
    ds = dataset if isinstance(dataset, Dataset) else load(dataset, data_dir)
    data = ds.interactions
    if sample is not None:
        data = sample_users(data, sample, seed)
    data_split = split(data, PROTOCOLS[ds.name])
    specs = select_models(available_models(ds.name, fast=fast), models)
    result = RunResult(
        dataset=ds.name,
        source=ds.source,
        protocol=data_split.protocol,
        n_users=data.n_users,
        n_items=data.n_items,
        n_events=int(data.users.size),
        n_test_users=int(data_split.test.users.size),
        n_validation_users=int(data_split.validation.users.size),
        sample_users=sample,
        tune_users=None
        if tune_users is None or tune_users >= data_split.validation.users.size
        else tune_users,
        fast=fast,
        seed=seed,
        started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        environment={
            "python": platform.python_version(),
            "numpy": np.__version__,
            "machine": platform.machine(),
            "cpus": str(os.cpu_count() or 1),
        },
    )
    for spec in specs:
        logger.info("evaluating %s on %s (grid of %d)", spec.label, ds.name, len(spec.grid))
        try:
            model_result = evaluate_model(
                spec, data_split, tune_users=tune_users, batch_size=batch_size, seed=seed
            )
        except Exception as exc:  # one broken model must not sink the whole report
            logger.exception("%s failed on %s", spec.label, ds.name)
            model_result = ModelResult(spec.label, spec.family, {}, error=repr(exc))
        result.models.append(model_result)
        result.wall_seconds = time.perf_counter() - wall
        if on_result is not None:
            on_result(result)
    result.wall_seconds = time.perf_counter() - wall
    return result
