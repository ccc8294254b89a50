"""How much one action says about taste: the weight popularity, profiles and models add up.

The one definition of action weights (pure: no settings, no I/O). A like counts more than a
view, a skip counts against; a view counts by the share of the video watched, within
[:data:`MIN_VIEW_FRACTION`, :data:`MAX_VIEW_FRACTION`]. :class:`recomind.config.Settings`
takes its defaults from :data:`DEFAULT_ACTION_WEIGHTS` (overridable per deployment) and passes
its weights to :func:`action_weight`; the vectorised :func:`action_weights` gives the same
numbers over arrays of events.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

#: Default weight of each action type (a skip is negative evidence).
DEFAULT_ACTION_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"like": 4.0, "view": 1.0, "skip": -1.0}
)
#: Action types by code, as in the arrays :func:`action_weights` takes (0 view, 1 like, 2 skip).
ACTION_TYPES = ("view", "like", "skip")
#: A view counts at least this share of a full view ...
MIN_VIEW_FRACTION = 0.1
#: ... and at most this many full views (re-watches).
MAX_VIEW_FRACTION = 2.0


def action_weight(
    action_type: str,
    watch_time_ms: int | None = None,
    duration_s: float | None = None,
    *,
    weights: Mapping[str, float],
) -> float:
    """Weight of one action: like > view > skip (negative); a view counts by the share watched.

    Parameters
    ----------
    action_type
        ``"like"``, ``"view"`` or ``"skip"`` (``KeyError`` for anything ``weights`` lacks).
    watch_time_ms
        How long the video was watched; ``None`` when unknown.
    duration_s
        The video's duration; ``None`` (or 0) when unknown.
    weights
        Weight of each action type (e.g. :data:`DEFAULT_ACTION_WEIGHTS`).

    Returns
    -------
    float
        The type's weight; for a view with a known watch time and duration, times the share
        watched clipped to [:data:`MIN_VIEW_FRACTION`, :data:`MAX_VIEW_FRACTION`]. A view
        without a known watch time or duration counts as one full view.
    """
    base = weights[action_type]
    if (
        action_type == "view"
        and watch_time_ms is not None
        and duration_s  # unknown or 0: a full view, as in action_weights
        and math.isfinite(duration_s)
    ):
        fraction = watch_time_ms / (duration_s * 1000.0)
        base *= min(max(fraction, MIN_VIEW_FRACTION), MAX_VIEW_FRACTION)
    return base


def action_weights(
    codes: npt.NDArray[np.integer],
    watch_ms: npt.NDArray[np.float64],
    duration_s: npt.NDArray[np.float64],
    *,
    weights: Mapping[str, float],
) -> npt.NDArray[np.float32]:
    """:func:`action_weight` over arrays of events (``nan`` = unknown watch time / duration).

    Parameters
    ----------
    codes
        Action code per event: the index of its type in :data:`ACTION_TYPES`.
    watch_ms, duration_s
        Watch time and video duration per event, ``nan`` when unknown.
    weights
        Weight of each action type.

    Returns
    -------
    numpy.ndarray
        float32 weight per event.
    """
    base = np.asarray([weights[t] for t in ACTION_TYPES], dtype=np.float64)[codes]
    view = ACTION_TYPES.index("view")
    known = (codes == view) & np.isfinite(watch_ms) & np.isfinite(duration_s) & (duration_s != 0)
    frac = np.ones_like(base)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac[known] = watch_ms[known] / (duration_s[known] * 1000.0)
    frac = np.clip(frac, MIN_VIEW_FRACTION, MAX_VIEW_FRACTION)
    out: npt.NDArray[np.float32] = np.where(known, base * frac, base).astype(np.float32)
    return out


#: Largest exponent :func:`decay_factor` uses: ``2 ** 1000`` is finite, so the factor always is.
MAX_DECAY_EXPONENT = 1000.0


def decay_factor(elapsed_s: float, half_life_s: float) -> float:
    """``2 ** (-elapsed / half_life)``, total: finite and never negative for any input.

    ``elapsed_s`` may be negative (a factor above 1: decaying to an earlier time); the
    exponent is capped at :data:`MAX_DECAY_EXPONENT` so it never overflows, and far-past
    elapsed times underflow to 0. A ``nan`` elapsed time (or half-life) gives 0: nothing is
    known about when, so nothing is kept. ``half_life_s`` must be positive (settings check it).
    """
    exponent = -elapsed_s / half_life_s
    if exponent != exponent:  # nan
        return 0.0
    return float(2.0 ** min(exponent, MAX_DECAY_EXPONENT))


def finite(x: float) -> float:
    """``x`` if it is a finite number, else 0: what a score or weight that overflowed (or a
    ``nan``/``inf`` read from a row) counts as."""
    return x if math.isfinite(x) else 0.0
