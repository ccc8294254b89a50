"""The per-(user, video) rules as README and ``recomind.weights`` state them, computed
naively over *all* of a pair's events: the reference the folds are checked against.

Written apart from the service's code (no state, no incremental terms) on purpose.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

from recomind.schemas import ActionEvent

EPOCH = datetime(1970, 1, 1)


def counted_terms(
    events: Sequence[ActionEvent],
    weigh: Callable[[ActionEvent], float],
    *,
    window_s: float | None = None,
) -> list[tuple[ActionEvent, float]]:
    """``(event, weight it counts)`` for every event that counts, by the documented rules.

    A like counts once, at the pair's first like, if the pair's latest like/unlike (an
    unlike wins a tie) is a like; the k-th view (skip) by time counts 1/2**(k-1) of its
    weight, up to the 5th; with ``window_s``, first one view (skip) per window (the largest
    weight, the earliest of equals).
    """
    by_pair: dict[tuple[str, str], list[ActionEvent]] = defaultdict(list)
    for e in events:
        by_pair[(e.user_id, e.video_id)].append(e)
    out: list[tuple[ActionEvent, float]] = []
    for evs in by_pair.values():
        toggles = sorted(
            (e for e in evs if e.action_type in ("like", "unlike")),
            key=lambda e: (e.timestamp, e.action_type == "unlike"),
        )
        if toggles and toggles[-1].action_type == "like":
            first = min((e for e in toggles if e.action_type == "like"), key=lambda e: e.timestamp)
            out.append((first, weigh(first)))
        for kind in ("view", "skip"):
            kept = [e for e in evs if e.action_type == kind]
            if window_s:
                windows: dict[int, ActionEvent] = {}
                for e in sorted(kept, key=lambda e: (-weigh(e), e.timestamp)):
                    windows.setdefault(int((e.timestamp - EPOCH).total_seconds() // window_s), e)
                kept = list(windows.values())
            kept.sort(key=lambda e: (e.timestamp, -weigh(e)))
            out.extend((e, weigh(e) * 0.5**k) for k, e in enumerate(kept[:5]))
    return out


def popularity_at(
    events: Sequence[ActionEvent],
    weigh: Callable[[ActionEvent], float],
    *,
    now: datetime,
    half_life_s: float,
) -> dict[str, float]:
    """``video_id -> decayed popularity at now`` (distinct users per half-life window)."""
    out: dict[str, float] = {e.video_id: 0.0 for e in events}
    for e, w in counted_terms(events, weigh, window_s=half_life_s):
        age = (now - e.timestamp).total_seconds()
        out[e.video_id] += w * 2 ** (-age / half_life_s)
    return out


def profiles_at(
    events: Sequence[ActionEvent],
    weigh: Callable[[ActionEvent], float],
    tags: dict[str, list[str]],
    *,
    now: datetime,
    half_life_s: float,
) -> dict[str, dict[str, float]]:
    """``user_id -> tag -> decayed weight at now`` (tiny weights left out)."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for e, w in counted_terms(events, weigh):
        vt = tags.get(e.video_id) or []
        age = (now - e.timestamp).total_seconds()
        for t in vt:
            out[e.user_id][t] = out[e.user_id].get(t, 0.0) + w * 2 ** (-age / half_life_s) / len(vt)
    return {u: {t: w for t, w in ws.items() if abs(w) > 1e-9} for u, ws in out.items()}
