"""What one evaluated model is and what it scored, and the fits shared within a run.

:class:`ModelSpec` names a model, how to build it and its grid; :class:`ModelResult` holds
its test figures, intervals and timings. :class:`FitCache` and :func:`fit` fit RecoMind's
strategies once per training set and share them between grid points, models and the
learned ranker's serving hybrid (:mod:`.learned`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from recomind.recommend import registry
from recomind.recommend.base import Interactions, Recommender
from recomind.recommend.hybrid import ComponentFitter, HybridRecommender

from .grids import Params

T = TypeVar("T")
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
    intervals: dict[str, list[float]] = field(default_factory=dict)
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Model-specific facts for the JSON report (the learned ranker's training figures)."""
    per_user: dict[str, npt.NDArray[np.float64]] = field(
        default_factory=dict, repr=False, compare=False
    )
    """Test values per evaluated user (for the paired comparison); not written to reports."""


class FitCache:
    """RecoMind strategies fitted in one run, by training set, name and params.

    The hybrid's grid points that differ only in blend weights or recency share their
    components, and the hybrid reuses what ``recomind:<name>`` fitted on the same data
    with the same params: each distinct strategy is fitted once per training set. A
    reused fit still counts in the reported fit time (:attr:`reused_seconds`), so the
    hybrid's "fit s" is what fitting it from scratch costs.
    """

    def __init__(self) -> None:
        self.fits: dict[tuple[int, str, str], tuple[Recommender, float]] = {}
        self._data: dict[int, Interactions] = {}  # keeps each id() valid
        self._derived: dict[tuple[Any, ...], Any] = {}
        self.reused_seconds = 0.0

    def get(
        self,
        data: Interactions,
        name: str,
        params: dict[str, Any],
        build: Callable[[], Recommender] | None = None,
    ) -> Recommender:
        """Strategy ``name`` with ``params`` fitted on ``data``; if new, ``build()`` (default:
        the registry's constructor) is fitted now."""
        key = (id(data), name, json.dumps(params, sort_keys=True, default=str))
        if key in self.fits:
            model, seconds = self.fits[key]
            self.reused_seconds += seconds
            return model
        self._data[id(data)] = data
        t0 = time.perf_counter()
        model = (build() if build else registry.build(name, **params)).fit(data)
        self.fits[key] = (model, time.perf_counter() - t0)
        return model

    def fitter(self, data: Interactions) -> ComponentFitter:
        """A hybrid component fitter on ``data`` that goes through this cache."""
        return lambda name, params: self.get(data, name, params)

    def derived(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        """``make()``, once per ``key`` in this run (e.g. the learned ranker's time split of
        a training set, so that its hybrid on the past is fitted once for every row)."""
        if key not in self._derived:
            self._derived[key] = make()
        value: T = self._derived[key]
        return value

    def clear(self) -> None:
        self.fits.clear()
        self._data.clear()
        self._derived.clear()


def fit(
    spec: ModelSpec, params: Params, data: Interactions, cache: FitCache | None = None
) -> Recommender:
    """Build ``spec`` with ``params`` and fit it on ``data``, through ``cache`` if given.

    Peers are always fitted afresh; RecoMind strategies and the hybrid's components are
    looked up in ``cache`` first.
    """
    if cache is None or spec.family != "recomind":
        return spec.build(**params).fit(data)
    model = spec.build(**params)
    if isinstance(model, HybridRecommender):
        return model.fit_components(data, cache.fitter(data))
    return cache.get(data, spec.label.removeprefix("recomind:"), params, lambda: model)
