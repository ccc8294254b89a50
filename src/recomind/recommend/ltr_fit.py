"""Time splits of a deployment's events and the fit of the learned ranker on them.

:func:`split_by_time` cuts the events into *past*, a *label window* and a *holdout* (the
newest slice, for the champion/challenger gate), all in the same user and item index space.
:func:`fit_rerank_model` fits the ranker on groups of the label window
(:func:`~recomind.recommend.ltr_data.training_groups`), or says why it did not: too few
groups, or no group whose labels differ (nothing to learn an order from). The caller then
serves the fixed-weight hybrid alone, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from recomind.recommend.base import FloatArray, IntArray, Interactions
from recomind.recommend.hybrid import HybridRecommender
from recomind.recommend.ltr import LearnedRanker
from recomind.recommend.ltr_data import RerankModel, training_groups
from recomind.recommend.ltr_features import ItemStats

#: Fewest groups with at least two different labels the ranker is fitted on.
MIN_GROUPS = 20

Window = tuple[IntArray, IntArray, FloatArray, npt.NDArray[np.float64]]


def subset(data: Interactions, mask: npt.NDArray[np.bool_]) -> Interactions:
    """The events of ``data`` where ``mask`` holds (same users, items and metadata)."""
    return replace(
        data,
        users=data.users[mask],
        items=data.items[mask],
        weights=data.weights[mask],
        timestamps=data.timestamps[mask],
    )


def window_of(data: Interactions) -> Window:
    """``(users, items, weights, timestamps)`` of ``data``'s events."""
    return data.users, data.items, data.weights, data.timestamps


@dataclass(frozen=True)
class TimeSplit:
    """Events before ``label_at``, from it to ``holdout_at``, and from ``holdout_at`` on."""

    past: Interactions
    window: Interactions
    holdout: Interactions
    label_at: float
    holdout_at: float

    @property
    def fit_part(self) -> Interactions:
        """Everything before the holdout (what the challenger is fitted on)."""
        return subset(self.all, self.all.timestamps < self.holdout_at)

    @property
    def all(self) -> Interactions:
        return _concat(self.past, self.window, self.holdout)


def _concat(*parts: Interactions) -> Interactions:
    return replace(
        parts[0],
        users=np.concatenate([p.users for p in parts]),
        items=np.concatenate([p.items for p in parts]),
        weights=np.concatenate([p.weights for p in parts]),
        timestamps=np.concatenate([p.timestamps for p in parts]),
    )


def split_by_time(data: Interactions, *, holdout: float, window: float) -> TimeSplit:
    """Cut ``data`` at the time quantiles ``1 - holdout - window`` and ``1 - holdout``.

    Events at one cut time all go to the later part. ``holdout`` or ``window`` of 0 leaves
    that part empty.
    """
    t = data.timestamps
    if t.size == 0:
        return TimeSplit(data, data, data, 0.0, 0.0)
    hold_at = float(np.quantile(t, 1.0 - holdout)) if holdout > 0 else float("inf")
    label_at = float(np.quantile(t, max(0.0, 1.0 - holdout - window))) if window > 0 else hold_at
    if holdout > 0 and hold_at <= t.min():
        hold_at = float(np.nextafter(t.min(), np.inf))
    return TimeSplit(
        subset(data, t < label_at),
        subset(data, (t >= label_at) & (t < hold_at)),
        subset(data, t >= hold_at),
        label_at,
        hold_at,
    )


@dataclass(frozen=True)
class RankerFit:
    """A fitted ranker, or why there is none, and the figures of its training data."""

    model: RerankModel | None
    figures: dict[str, Any]


def fit_rerank_model(
    fit_hybrid: Callable[[Interactions], HybridRecommender],
    split: TimeSplit,
    serving: Interactions,
    *,
    like_at: float,
    long_at: float,
    time_of_day: bool = True,
    negatives: int = 10,
    max_groups: int | None = None,
    params: dict[str, Any] | None = None,
) -> RankerFit:
    """Fit a hybrid on ``split.past``, then the ranker on the label window's groups.

    Parameters
    ----------
    fit_hybrid
        Fits a hybrid on some events (the same settings as the serving hybrid's).
    split
        The time split.
    serving
        The events the serving hybrid is fitted on (its item figures are the ranker's).
    like_at, long_at, time_of_day, negatives, max_groups
        As in :func:`~recomind.recommend.ltr_data.training_groups`.
    params
        Keyword arguments of :class:`~recomind.recommend.ltr.LearnedRanker`.
    """
    figures: dict[str, Any] = {
        "past_events": int(split.past.users.size),
        "window_events": int(split.window.users.size),
    }
    if split.past.users.size == 0 or split.window.users.size == 0:
        return RankerFit(None, {**figures, "skipped": "no events before or in the label window"})
    hybrid = fit_hybrid(split.past)
    groups = training_groups(
        hybrid,
        split.past,
        window_of(split.window),
        like_at=like_at,
        long_at=long_at,
        negatives=negatives,
        time_of_day=time_of_day,
        max_users=max_groups,
    )
    bounds = np.concatenate([[0], np.cumsum(groups.sizes)])
    varied = sum(
        int(np.ptp(groups.labels[s:e]) > 0)
        for s, e in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
    )
    figures |= {"groups": groups.n_groups, "rows": int(groups.labels.size), "varied": varied}
    figures["label_counts"] = np.bincount(groups.labels, minlength=4).tolist()
    if varied < MIN_GROUPS:
        return RankerFit(None, {**figures, "skipped": f"fewer than {MIN_GROUPS} groups to learn"})
    ranker = LearnedRanker(groups.features, **(params or {})).fit(
        groups.x, groups.labels, groups.sizes
    )
    ranker.meta = {"training": figures}
    stats = ItemStats.from_events(
        serving.items, serving.weights, serving.timestamps, serving.n_items, like_at=like_at
    )
    return RankerFit(RerankModel(ranker, stats, time_of_day), figures)
