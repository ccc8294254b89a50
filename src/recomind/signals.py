"""How much one action says about taste: the weight popularity and profiles add up."""

from __future__ import annotations

from recomind.config import Settings

MIN_VIEW_FRACTION = 0.1
MAX_VIEW_FRACTION = 2.0


def action_weight(
    settings: Settings,
    action_type: str,
    watch_time_ms: int | None = None,
    duration_s: float | None = None,
) -> float:
    """Weight of one action: like > view > skip (negative); a view counts by the share watched.

    A view without a known watch time or duration counts as one full view.
    """
    base = settings.action_weight(action_type)
    if action_type == "view" and watch_time_ms is not None and duration_s:
        fraction = watch_time_ms / (duration_s * 1000.0)
        base *= min(max(fraction, MIN_VIEW_FRACTION), MAX_VIEW_FRACTION)
    return base


def decay_factor(elapsed_s: float, half_life_s: float) -> float:
    """``2 ** (-elapsed / half_life)``; elapsed may be negative (an event from the past)."""
    return float(2.0 ** (-elapsed_s / half_life_s))
