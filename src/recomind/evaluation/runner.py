"""Run the protocol for every model: tune on validation, refit on train+validation, test.

Peers come from :mod:`.peers`; RecoMind's strategies come from
``recomind.recommend.registry`` (labelled ``recomind:<name>``), built and scored exactly as the
service builds and scores them. The learned ranker's rows (``recomind:learned``,
``recomind:learned+tod``) re-rank the tuned hybrid's candidates (:mod:`.learned`).
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recomind.recommend import registry
from recomind.recommend.base import Recommender

from . import learned, metrics, significance
from .datasets import Dataset, load
from .fitting import SELECTION_METRIC, Family, FitCache, ModelResult, ModelSpec, fit
from .grids import grid_for
from .peers import PEERS
from .ranking import DEFAULT_BATCH, measure, rank
from .splits import PROTOCOLS, Split, sample_users, split

__all__ = [
    "SELECTION_METRIC",
    "Family",
    "FitCache",
    "ModelResult",
    "ModelSpec",
    "RunResult",
    "available_models",
    "evaluate_model",
    "fit",
    "run",
    "select_models",
]

logger = logging.getLogger(__name__)


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
    comparisons: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for model in out["models"]:
            del model["per_user"]
        return out

    def best(self, family: Family, metric: str = SELECTION_METRIC) -> ModelResult | None:
        """The ``family`` model with the highest test ``metric`` (``None`` if none ran)."""
        done = [m for m in self.models if m.family == family and metric in m.metrics]
        return max(done, key=lambda m: m.metrics[metric], default=None)


def recomind_strategies() -> dict[str, Callable[..., Recommender]]:
    """RecoMind's strategies by name, from ``recomind.recommend.registry``."""

    def factory(name: str) -> Callable[..., Recommender]:
        def make(**params: Any) -> Recommender:
            return registry.build(name, **params)

        return make

    return {name: factory(name) for name in registry.STRATEGIES}


def available_models(dataset: str, *, fast: bool = False) -> dict[str, ModelSpec]:
    """Every model the harness can evaluate on ``dataset``, peers first."""
    specs: dict[str, ModelSpec] = {}
    for label, cls in PEERS.items():
        specs[label] = ModelSpec(label, "peer", cls, grid_for(dataset, label, fast=fast))
    for name, make in recomind_strategies().items():
        label = f"recomind:{name}"
        specs[label] = ModelSpec(label, "recomind", make, grid_for(dataset, label, fast=fast))
    if "recomind:hybrid" in specs:
        specs.update(learned.specs(specs["recomind:hybrid"]))
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
    learned.with_hybrid(chosen, specs)
    return list(chosen.values())


def evaluate_model(
    spec: ModelSpec,
    data_split: Split,
    *,
    tune_users: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    seed: int = 0,
    cache: FitCache | None = None,
) -> ModelResult:
    """Tune ``spec`` on validation, refit on train+validation and measure on test.

    ``cache`` shares RecoMind fits across grid points and models (:class:`FitCache`);
    a private one is used when ``None``.
    """
    cache = cache if cache is not None else FitCache()
    protocol = data_split.protocol
    n_items = data_split.train.n_items
    result = ModelResult(spec.label, spec.family, dict(spec.grid[0]) if spec.grid else {})
    tune_start = time.perf_counter()
    if len(spec.grid) > 1:
        train = data_split.train
        seen = train.matrix()
        val_targets = data_split.validation.sample(tune_users, seed)
        best = -np.inf
        for params in spec.grid:
            t0 = time.perf_counter()
            model = fit(spec, params, train, cache)
            fit_s = time.perf_counter() - t0
            ranking = rank(
                model,
                model.history_matrix(train),
                val_targets,
                batch_size=batch_size,
                exclude=seen,
            )
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
    reused = cache.reused_seconds
    train_val = data_split.train_val
    model = fit(spec, result.params, train_val, cache)
    result.fit_seconds = time.perf_counter() - t0 + cache.reused_seconds - reused
    ranking = rank(
        model,
        model.history_matrix(train_val),
        data_split.test,
        batch_size=batch_size,
        exclude=train_val.matrix(),
    )
    del model
    gc.collect()
    result.score_seconds = ranking.seconds
    result.metrics = measure(ranking, n_items, protocol)
    values = metrics.ndcg_per_user(ranking.hits, ranking.n_targets, 10)
    result.per_user[SELECTION_METRIC] = values
    if values.size >= 2:
        result.intervals[SELECTION_METRIC] = list(significance.mean_interval(values, seed=seed))
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
    cache = FitCache()
    for spec in specs:
        logger.info("evaluating %s on %s (grid of %d)", spec.label, ds.name, len(spec.grid))
        try:
            if spec.label in learned.LABELS:
                model_result = learned.evaluate(
                    spec, data_split, result.models, batch_size=batch_size, seed=seed, cache=cache
                )
            else:
                model_result = evaluate_model(
                    spec,
                    data_split,
                    tune_users=tune_users,
                    batch_size=batch_size,
                    seed=seed,
                    cache=cache,
                )
        except Exception as exc:  # one broken model must not sink the whole report
            logger.exception("%s failed on %s", spec.label, ds.name)
            model_result = ModelResult(spec.label, spec.family, {}, error=repr(exc))
        result.models.append(model_result)
        result.wall_seconds = time.perf_counter() - wall
        if on_result is not None:
            on_result(result)
    cache.clear()
    result.comparisons = compare_to_best_peer(result, seed=seed)
    result.comparisons += learned.comparisons(result.models, seed=seed)
    result.wall_seconds = time.perf_counter() - wall
    return result


def compare_to_best_peer(run: RunResult, *, seed: int = 0) -> list[dict[str, Any]]:
    """The hybrid (else the best RecoMind model) against the best peer on test NDCG@10,
    paired over the same test users (:func:`.significance.compare`)."""
    peer = run.best("peer")
    ours = next((m for m in run.models if m.label == "recomind:hybrid" and m.metrics), None)
    ours = ours or run.best("recomind")
    if peer is None or ours is None:
        return []
    a, b = ours.per_user.get(SELECTION_METRIC), peer.per_user.get(SELECTION_METRIC)
    if a is None or b is None or a.size < 2:
        return []
    found = significance.compare(ours.label, a, peer.label, b, metric=SELECTION_METRIC, seed=seed)
    return [asdict(found)]
