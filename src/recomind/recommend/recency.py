"""Recency weighting of a user's history: recent actions steer the next feed the most.

A history row normally sums each action's weight (:func:`recomind.weights.action_weight`).
With recency weighting, an action's weight is multiplied by

``floor + (1 - floor) * 2 ** (-position / half_life)``

where ``position`` counts the user's *newer* actions (0 for the newest). A half-life of 2
means the third-newest action counts half as much as the newest; the floor keeps the
long-term taste in play (and keeps every history item non-zero, so it is still excluded
from the feed). Positions, not clock times, are used: a short-video session is a burst of
actions minutes apart, and one data set (MicroLens) has only the order of events.

The service (its history rows, newest first, through
:meth:`~recomind.recommend.hybrid.HybridRecommender.recency_factors`) and the offline
evaluation (:func:`history_matrix`, from timestamps) weight rows with the same
:func:`factors`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import sparse

from recomind.recommend.base import FloatArray, IntArray, Interactions


def validate(half_life: float, floor: float) -> None:
    """Raise ``ValueError`` unless ``half_life >= 0`` (``inf``: no decay) and ``0 < floor <= 1``."""
    if not half_life >= 0:  # also refuses nan
        raise ValueError("recency_half_life must be >= 0 (0 turns recency weighting off)")
    if not 0.0 < floor <= 1.0:
        raise ValueError("recency_floor must be in (0, 1]")


def factors(positions: npt.ArrayLike, half_life: float, floor: float) -> FloatArray:
    """Weight multiplier of actions at ``positions`` (0 = newest); all 1 when ``half_life`` is 0.

    Parameters
    ----------
    positions
        How many newer actions the user has, per action.
    half_life
        Positions over which the recency bonus halves; ``0`` disables weighting.
    floor
        Multiplier an infinitely old action tends to, in ``(0, 1]``.

    Returns
    -------
    numpy.ndarray
        float32 multipliers in ``[floor, 1]``, for any positions (a negative or ``nan`` one
        counts as the newest).
    """
    pos = np.asarray(positions, dtype=np.float64)
    if half_life <= 0:
        return np.ones(pos.shape, dtype=np.float32)
    pos = np.where(pos > 0, pos, 0.0)  # nan and negatives: newest
    with np.errstate(invalid="ignore"):  # inf / inf: an infinite half-life, no decay
        ratio = np.nan_to_num(pos / half_life, nan=0.0)
    out = floor + (1.0 - floor) * np.exp2(-ratio)
    return out.astype(np.float32)


def positions_from_newest(users: IntArray, timestamps: npt.NDArray[np.float64]) -> IntArray:
    """Per event, how many of the same user's events are newer.

    Events with equal timestamps keep their input order (a later one is newer), the same
    tie rule the evaluation's splits use.
    """
    n = users.size
    order = np.lexsort((np.arange(n), timestamps, users))
    sorted_users = users[order]
    counts = np.bincount(sorted_users, minlength=int(users.max()) + 1 if n else 0)
    starts = np.cumsum(counts) - counts
    rank_in_user = np.arange(n) - starts[sorted_users]
    out = np.empty(n, dtype=np.int64)
    out[order] = counts[sorted_users] - 1 - rank_in_user
    return out


def history_matrix(data: Interactions, half_life: float, floor: float) -> sparse.csr_matrix:
    """User x item matrix of recency-weighted summed weights (``data.matrix()`` when off)."""
    if half_life <= 0 or data.users.size == 0:
        return data.matrix()
    weights = data.weights * factors(
        positions_from_newest(data.users, data.timestamps), half_life, floor
    )
    return data.matrix(weights=weights.astype(np.float32))
