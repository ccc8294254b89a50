"""How sure a reported figure is: bootstrap intervals over users and paired comparisons.

A test figure is a mean over evaluated users, so a different sample of users would give a
different figure. :func:`mean_interval` puts a bootstrap confidence interval around one
model's mean; :func:`compare` resamples the *per-user differences* of two models scored on
the same users (a paired bootstrap), which is far tighter than comparing two separate
intervals, and adds the paired t-test's two-sided p-value. Both come from
``scipy.stats`` (``bootstrap``, ``ttest_rel``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 2000
BATCH = 50  # resamples held at once: 50 x 50k users of float64 is 20 MB


@dataclass(frozen=True)
class Comparison:
    """``model`` minus ``baseline`` on ``metric``, over the same ``users``.

    ``low`` and ``high`` bound the mean difference at ``confidence``; ``p_value`` is the
    paired t-test's (two-sided).
    """

    model: str
    baseline: str
    metric: str
    users: int
    difference: float
    low: float
    high: float
    p_value: float
    confidence: float


def _values(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size < 2:
        raise ValueError(f"an interval needs at least 2 per-user values, got {v.size}")
    return v


def mean_interval(
    values: npt.ArrayLike,
    *,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-user ``values`` (users resampled)."""
    v = _values(values)
    if np.all(v == v[0]):  # every resample has the same mean
        return float(v[0]), float(v[0])
    res = stats.bootstrap(
        (v,),
        np.mean,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        batch=BATCH,
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def compare(
    model: str,
    model_values: npt.ArrayLike,
    baseline: str,
    baseline_values: npt.ArrayLike,
    *,
    metric: str = "NDCG@10",
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Comparison:
    """Paired comparison of two models' per-user values (same users, same order)."""
    a, b = _values(model_values), _values(baseline_values)
    if a.shape != b.shape:
        raise ValueError(f"paired values need the same users, got {a.size} and {b.size}")
    diff = a - b
    low, high = mean_interval(diff, confidence=confidence, resamples=resamples, seed=seed)
    if np.all(diff == diff[0]):  # no spread: the t statistic is undefined
        p_value = 1.0 if diff[0] == 0 else 0.0
    else:
        p_value = float(stats.ttest_rel(a, b).pvalue)
    return Comparison(
        model=model,
        baseline=baseline,
        metric=metric,
        users=int(a.size),
        difference=float(diff.mean()),
        low=low,
        high=high,
        p_value=p_value,
        confidence=confidence,
    )
