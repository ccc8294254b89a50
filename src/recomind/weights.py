"""How much one action says about taste: the weight popularity, profiles and models add up.

The one definition of action weights (pure: no settings, no I/O). A like counts more than a
view, a skip counts against; a view counts by the share of the video watched, within
[:data:`MIN_VIEW_FRACTION`, :data:`MAX_VIEW_FRACTION`]. :class:`recomind.config.Settings`
takes its defaults from :data:`DEFAULT_ACTION_WEIGHTS` (overridable per deployment) and passes
its weights to :func:`action_weight`; the vectorised :func:`action_weights` gives the same
numbers over arrays of events.

What one user's actions on *one video* add up to is defined here too, once, for popularity,
profiles, the training data and the live ranking (:func:`counted`, vectorised as
:func:`counted_weights`):

* **a like is a state**: the video is liked when the user's latest like/unlike of it (by event
  time; an unlike wins a tie) is a like. A liked video counts one like, at the time of the
  user's *first* like of it: a repeated like changes nothing, an ``unlike`` takes the like's
  weight back everywhere, an unlike without a like changes nothing, and liking again after an
  unlike restores the first like (it does not renew it);
* **repeated views count less and less**: the k-th view of one video by one user (by event
  time) counts :data:`REPEAT_RATIO` ** (k - 1) of its weight, and views after the
  :data:`MAX_REPEATS`-th count nothing; repeated skips likewise. So one user's total on one
  video is at most ``weight_like + (2 - 2 ** (1 - MAX_REPEATS)) * MAX_VIEW_FRACTION *
  weight_view``: 4 + 1.9375 * 2 = 7.875 with the default weights;
* **distinct users per window** (popularity only, ``window_us``): within one window (aligned
  to the epoch) a user counts at most one view (the one with the largest weight) and one
  skip of a video, so one account moves a video no more than one honest viewer there.

These rules depend on the *set* of a pair's actions, not on their arrival order, and
:func:`pair_state` keeps the few actions that can still matter (at most ``2 + 2 *
MAX_REPEATS``): a fold stores them per pair and gets the same numbers incrementally, in any
order and batching, as from scratch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

#: Default weight of each action type (a skip is negative evidence). An ``unlike`` has no
#: weight of its own: it takes the like's weight back (:mod:`recomind.pair_rules`).
DEFAULT_ACTION_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"like": 4.0, "view": 1.0, "skip": -1.0}
)
#: Action types by code, as in the arrays :func:`action_weights` takes (0 view, 1 like,
#: 2 skip, 3 unlike).
ACTION_TYPES = ("view", "like", "skip", "unlike")
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
        ``"like"``, ``"view"``, ``"skip"`` or ``"unlike"`` (0: no weight of its own);
        ``KeyError`` for anything else ``weights`` lacks.
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
    if action_type == "unlike":
        return 0.0
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
    table = [0.0 if t == "unlike" else weights[t] for t in ACTION_TYPES]
    base = np.asarray(table, dtype=np.float64)[codes]
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


# -- one user's actions on one video -------------------------------------------------------

#: Kinds that set a per-(user, video) state: whether the video is liked.
TOGGLES = ("like", "unlike")
#: Kinds that repeat: the k-th of one user on one video counts less (:func:`repeat_factor`).
REPEATED = ("view", "skip")
#: Each repeat of a view (or skip) counts this share of the one before ...
REPEAT_RATIO = 0.5
#: ... and repeats after this many count nothing.
MAX_REPEATS = 5

#: One action of a pair: ``(action_type, time in microseconds, weight)`` (weight from
#: :func:`action_weight`).
Act = tuple[str, int, float]


def repeat_factor(k: int) -> float:
    """Share of its weight the ``k``-th (1-based) view or skip of one video by one user
    counts: 1, 1/2, 1/4, 1/8, 1/16, then 0."""
    return REPEAT_RATIO ** (k - 1) if 1 <= k <= MAX_REPEATS else 0.0


def _repeat_key(act: Act) -> tuple[int, float]:
    # Time first; at equal times the larger weight (one kind's weights share a sign, so
    # equal keys mean equal actions).
    return (act[1], -abs(act[2]))


def _window_key(act: Act) -> tuple[float, int]:
    # Within a window: the largest weight, the earliest of equals.
    return (-abs(act[2]), act[1])


def _toggle_key(act: Act) -> tuple[int, bool]:
    # By time; an unlike wins a tie with a like.
    return (act[1], act[0] == "unlike")


def _like_key(act: Act) -> tuple[int, float]:
    return (act[1], -abs(act[2]))


def _repeats(acts: Sequence[Act], kind: str, window_us: int) -> list[int]:
    """Indices of ``kind`` that count, in order: one per window when ``window_us``."""
    rows = [i for i, a in enumerate(acts) if a[0] == kind]
    if window_us > 0:
        best: dict[int, int] = {}
        for i in rows:
            b = acts[i][1] // window_us
            j = best.get(b)
            if j is None or _window_key(acts[i]) < _window_key(acts[j]):
                best[b] = i
        rows = list(best.values())
    rows.sort(key=lambda i: _repeat_key(acts[i]))
    return rows[:MAX_REPEATS]


def _toggles(acts: Sequence[Act]) -> tuple[int | None, int | None]:
    """Indices of the latest like/unlike and of the first like (``None`` when absent)."""
    latest = first = None
    for i, a in enumerate(acts):
        if a[0] not in TOGGLES:
            continue
        if latest is None or _toggle_key(a) > _toggle_key(acts[latest]):
            latest = i
        if a[0] == "like" and (first is None or _like_key(a) < _like_key(acts[first])):
            first = i
    return latest, first


def counted_alone(act: Act) -> float:
    """What an action counts when it is its pair's only one: its weight, 0 for an unlike
    (:func:`counted` of ``[act]``, without the general rule)."""
    return 0.0 if act[0] == "unlike" else act[2]


def counted(acts: Sequence[Act], *, window_us: int = 0) -> list[float]:
    """What each of one user's actions on one video counts, by the rules of this module.

    Parameters
    ----------
    acts
        The pair's actions, in any order (an event's own weight is ``acts[i][2]``).
    window_us
        Popularity's distinct-user window in microseconds (0: every view counts).

    Returns
    -------
    list of float
        Per action, the weight it counts (0 for a repeated like, an unlike, a like undone,
        a view or skip past the :data:`MAX_REPEATS`-th, or one beaten in its window).
    """
    out = [0.0] * len(acts)
    latest, first = _toggles(acts)
    if latest is not None and first is not None and acts[latest][0] == "like":
        out[first] = acts[first][2]
    for kind in REPEATED:
        for k, i in enumerate(_repeats(acts, kind, window_us), start=1):
            out[i] = acts[i][2] * repeat_factor(k)
    return out


def pair_state(acts: Sequence[Act], *, window_us: int = 0) -> list[Act]:
    """The pair's actions that can still count, whatever arrives later (sorted).

    The latest like/unlike, the first like, and the first :data:`MAX_REPEATS` views and
    skips (per window when ``window_us``). :func:`counted` over the state plus new actions
    gives the same terms as over every action: ``pair_state(pair_state(a) + b) ==
    pair_state(a + b)``.
    """
    keep = {i for i in _toggles(acts) if i is not None}
    for kind in REPEATED:
        keep.update(_repeats(acts, kind, window_us))
    return sorted(acts[i] for i in keep)


def pair_terms(acts: Sequence[Act], *, window_us: int = 0) -> list[tuple[float, int]]:
    """``(weight, time in microseconds)`` of what the pair counts (non-zero only), sorted."""
    weights = counted(acts, window_us=window_us)
    return sorted((w, a[1]) for a, w in zip(acts, weights, strict=True) if w != 0.0)


def is_liked(acts: Sequence[Act]) -> bool:
    """Whether the latest like/unlike of ``acts`` (one pair) is a like."""
    latest, _ = _toggles(acts)
    return latest is not None and acts[latest][0] == "like"


def _group_starts(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """``True`` where a run of equal (sorted) ``keys`` begins."""
    starts = np.ones(keys.size, dtype=bool)
    starts[1:] = keys[1:] != keys[:-1]
    return starts


def counted_weights(
    pairs: npt.NDArray[np.int64],
    codes: npt.NDArray[np.integer],
    stamps: npt.NDArray[np.float64],
    weights: npt.NDArray[np.floating],
) -> npt.NDArray[np.float32]:
    """:func:`counted` over arrays of many pairs' events (no window): the training data's.

    Parameters
    ----------
    pairs
        Per event, a key of its (user, video) pair.
    codes
        Per event, the index of its type in :data:`ACTION_TYPES`.
    stamps
        Per event, its time (any unit).
    weights
        Per event, its own weight (:func:`action_weights`).

    Returns
    -------
    numpy.ndarray
        float32 weight each event counts (0: it does not).
    """
    w = np.asarray(weights, dtype=np.float64)
    out = np.zeros(w.size, dtype=np.float64)
    like, unlike = ACTION_TYPES.index("like"), ACTION_TYPES.index("unlike")
    # A pair with one action (most of them) counts it, unless it is an unlike.
    by_pair = np.argsort(pairs, kind="stable")
    starts = _group_starts(pairs[by_pair])
    alone = starts.copy()
    alone[:-1] &= starts[1:]
    one = by_pair[alone]
    out[one] = np.where(codes[one] == unlike, 0.0, w[one])
    # The others: one sort for every rule, by pair, time, then the larger weight (so a
    # like comes before an unlike at the same time, and the unlike wins the tie).
    rest = by_pair[~alone]
    order = rest[np.lexsort((-np.abs(w[rest]), stamps[rest], pairs[rest]))]
    kinds = codes[order]
    toggles = order[(kinds == like) | (kinds == unlike)]
    if toggles.size:
        starts = _group_starts(pairs[toggles])
        group = np.cumsum(starts) - 1
        last = np.ones(toggles.size, dtype=bool)
        last[:-1] = starts[1:]
        liked = np.zeros(int(group[-1]) + 1, dtype=bool)
        liked[group[last]] = codes[toggles[last]] == like
        likes = np.flatnonzero(codes[toggles] == like)
        first = likes[_group_starts(group[likes])]  # each pair's first like
        first = toggles[first[liked[group[first]]]]
        out[first] = w[first]
    for kind in REPEATED:
        rows = order[kinds == ACTION_TYPES.index(kind)]
        starts = _group_starts(pairs[rows])
        position = np.arange(rows.size)
        rank = position - np.maximum.accumulate(np.where(starts, position, 0))
        ok = rank < MAX_REPEATS
        out[rows[ok]] = w[rows[ok]] * REPEAT_RATIO ** rank[ok]
    result: npt.NDArray[np.float32] = out.astype(np.float32)
    return result


def finite(x: float) -> float:
    """``x`` if it is a finite number, else 0: what a score or weight that overflowed (or a
    ``nan``/``inf`` read from a row) counts as."""
    return x if math.isfinite(x) else 0.0
