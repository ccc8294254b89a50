"""An experiment's figures per variant and its verdict against control: arrays in, figures out.

Users are the unit of randomisation, so every figure is a ratio of sums over a variant's users
(likes over impressions, say) and its variance is the delta method's over *users*: one user's
impressions are not independent of each other, and treating them as if they were makes
intervals too narrow and A/A tests "significant" far more often than 5 %.

The verdict follows a **fixed horizon**: it is computed once every variant has
``horizon_users`` users, over exactly the first ``horizon_users`` users of each variant (in
the order they were first served), and users who come later never change it. Looking at the
figures every day is then harmless: what is shown before the horizon carries no verdict, and
the verdict cannot move once reached (a sequential test would allow stopping early, at the cost
of wider intervals and a harder explanation; a fixed horizon is the rule a reader can check).
With several treatments, each is compared with control at ``alpha / (variants - 1)``
(Bonferroni). A sample-ratio mismatch — users per variant far from the configured weights,
chi-squared p below ``SRM_ALPHA`` — means assignment or logging is broken, and no verdict is
given while it lasts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import stats

Floats = npt.NDArray[np.float64]

#: The figures per impression, each a ratio of per-user sums; ``True`` when higher is better.
METRICS: dict[str, bool] = {"like_rate": True, "skip_rate": False, "watch_fraction": True}
ALPHA = 0.05
#: A sample-ratio mismatch is declared below this p-value (strict: a real SRM is blatant).
SRM_ALPHA = 0.001


@dataclass(frozen=True)
class UserTotals:
    """One variant's users, in the order they were first served: per user, the impressions
    shown and, over those impressions, the likes, the skips and the sum of watch fractions."""

    impressions: Floats
    likes: Floats
    skips: Floats
    watch_fraction: Floats

    @classmethod
    def of(cls, rows: Sequence[tuple[float, float, float, float]]) -> UserTotals:
        a = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
        return cls(a[:, 0], a[:, 1], a[:, 2], a[:, 3])

    @property
    def users(self) -> int:
        return int(self.impressions.size)

    def first(self, n: int) -> UserTotals:
        return UserTotals(
            self.impressions[:n], self.likes[:n], self.skips[:n], self.watch_fraction[:n]
        )

    def numerator(self, metric: str) -> Floats:
        return {"like_rate": self.likes, "skip_rate": self.skips}.get(metric, self.watch_fraction)


@dataclass(frozen=True)
class Estimate:
    """A ratio metric over a variant's users with its interval at ``confidence``."""

    value: float
    low: float
    high: float
    variance: float


@dataclass(frozen=True)
class Difference:
    """``variant`` minus control on ``metric``: absolute, relative to control, its interval
    (at the corrected level) and two-sided p-value; ``significant`` at the corrected alpha."""

    variant: str
    metric: str
    difference: float
    relative: float
    low: float
    high: float
    p_value: float
    significant: bool


@dataclass(frozen=True)
class VariantFigures:
    name: str
    users: int
    impressions: int
    metrics: dict[str, Estimate]


@dataclass(frozen=True)
class Verdict:
    """``status``: ``collecting`` (the horizon is not reached), ``srm`` (sample-ratio
    mismatch: no verdict), ``decided``. When decided, ``winner`` is the treatment whose
    primary metric beats control significantly (the best if several), else ``None``."""

    status: str
    horizon_users: int
    primary: str
    srm_p_value: float
    differences: list[Difference] = field(default_factory=list)
    winner: str | None = None
    caveats: list[str] = field(default_factory=list)


def ratio_estimate(num: Floats, den: Floats, *, confidence: float = 0.95) -> Estimate:
    """``sum(num) / sum(den)`` over users, with the delta method's variance over users."""
    n = int(den.size)
    total = float(den.sum())
    if n == 0 or total <= 0:
        return Estimate(float("nan"), float("nan"), float("nan"), float("nan"))
    r = float(num.sum()) / total
    if n < 2:
        return Estimate(r, float("nan"), float("nan"), float("nan"))
    x_bar = total / n
    resid = num - r * den  # var(y - R x) over users, the delta method's linearisation
    var = float(np.var(resid, ddof=1)) / (n * x_bar * x_bar)
    half = float(stats.norm.ppf(0.5 + confidence / 2)) * np.sqrt(var)
    return Estimate(r, r - half, r + half, var)


def figures(name: str, totals: UserTotals, *, confidence: float = 0.95) -> VariantFigures:
    return VariantFigures(
        name=name,
        users=totals.users,
        impressions=int(totals.impressions.sum()),
        metrics={
            m: ratio_estimate(totals.numerator(m), totals.impressions, confidence=confidence)
            for m in METRICS
        },
    )


def difference(
    variant: str, treated: Estimate, control: Estimate, metric: str, *, alpha: float
) -> Difference:
    """Two independent groups of users: the difference's variance is the sum of theirs."""
    diff = treated.value - control.value
    var = treated.variance + control.variance
    if not np.isfinite(var) or var <= 0:
        p = 1.0 if diff == 0 or not np.isfinite(diff) else 0.0
        return Difference(variant, metric, diff, _relative(diff, control), diff, diff, p, False)
    se = float(np.sqrt(var))
    z = diff / se
    p = float(2 * stats.norm.sf(abs(z)))
    half = float(stats.norm.ppf(1 - alpha / 2)) * se
    return Difference(
        variant, metric, diff, _relative(diff, control), diff - half, diff + half, p, p < alpha
    )


def _relative(diff: float, control: Estimate) -> float:
    return diff / control.value if control.value else float("nan")


def srm_p_value(users: Sequence[int], weights: Sequence[float]) -> float:
    """Chi-squared goodness of fit of the users per variant to the configured weights."""
    observed = np.asarray(users, dtype=np.float64)
    if observed.sum() == 0 or len(observed) < 2:
        return 1.0
    w = np.asarray(weights, dtype=np.float64)
    expected = observed.sum() * w / w.sum()
    return float(stats.chisquare(observed, expected).pvalue)


def verdict(
    variants: Mapping[str, UserTotals],
    weights: Mapping[str, float],
    *,
    control: str,
    horizon_users: int,
    primary: str = "like_rate",
    alpha: float = ALPHA,
) -> Verdict:
    """The fixed-horizon verdict (see the module's docstring). ``variants`` hold every user
    so far, in first-served order; the SRM check uses all of them."""
    names = list(variants)
    srm_p = srm_p_value([variants[n].users for n in names], [weights[n] for n in names])
    caveats: list[str] = []
    if srm_p < SRM_ALPHA:
        caveats.append(
            f"sample-ratio mismatch (p = {srm_p:.2g}): users per variant do not follow the "
            "weights, so assignment or logging is broken; fix it before reading any figure"
        )
        return Verdict("srm", horizon_users, primary, srm_p, caveats=caveats)
    short = [n for n in names if variants[n].users < horizon_users]
    if short:
        caveats.append(
            "no verdict before every variant has "
            f"{horizon_users} users (fixed horizon): {', '.join(sorted(short))} short"
        )
        return Verdict("collecting", horizon_users, primary, srm_p, caveats=caveats)
    corrected = alpha / max(1, len(names) - 1)
    at = {n: figures(n, variants[n].first(horizon_users)) for n in names}
    diffs = [
        difference(n, at[n].metrics[m], at[control].metrics[m], m, alpha=corrected)
        for n in names
        if n != control
        for m in METRICS
    ]
    up = METRICS[primary]
    better = [
        d
        for d in diffs
        if d.metric == primary and d.significant and (d.difference > 0) == up and d.difference
    ]
    winner = (
        max(better, key=lambda d: d.difference if up else -d.difference).variant if better else None
    )
    if len(names) > 2:
        caveats.append(f"{len(names) - 1} treatments: each compared at alpha {corrected:.3g}")
    return Verdict("decided", horizon_users, primary, srm_p, diffs, winner, caveats)
