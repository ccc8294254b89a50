"""Time-decayed popularity: ``score(T) = sum_i w_i * 2 ** (-(T - t_i) / half_life)``.

The fold below is order-independent, so applying events incrementally (in any order, in any
batch size) gives the same score as a from-scratch computation over all of them.

Both functions are total: whatever a row holds (a ``nan``/``inf`` score, a time decades
ahead), they return a finite score and never raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from recomind.config import Settings
from recomind.schemas import ActionEvent
from recomind.storage.popularity import PopularityRow, lock_popularity, save_popularity
from recomind.storage.videos import get_videos
from recomind.weights import decay_factor, finite


def fold(row: PopularityRow, *, at: datetime, weight: float, half_life_s: float) -> PopularityRow:
    """Add one event of ``weight`` at time ``at`` to a decayed score (non-finite counts as 0)."""
    base, weight = finite(row.score), finite(weight)
    if at >= row.last_updated:
        elapsed = (at - row.last_updated).total_seconds()
        score = base * decay_factor(elapsed, half_life_s) + weight
        last = at
    else:
        score = base + weight * decay_factor((row.last_updated - at).total_seconds(), half_life_s)
        last = row.last_updated
    return PopularityRow(row.video_id, finite(score), last, row.n_events + 1)


def score_at(row: PopularityRow, now: datetime, half_life_s: float) -> float:
    """The row's score decayed to ``now``; a row dated after ``now`` is not grown.

    Decaying "back" to an earlier time would multiply the score by ``2 ** (ahead /
    half_life)``: for a row within the allowed clock skew that is under 1 %, for one written
    decades ahead (before timestamps were checked) it overflows. Such a row counts as is.
    """
    elapsed = max((now - row.last_updated).total_seconds(), 0.0)
    return finite(finite(row.score) * decay_factor(elapsed, half_life_s))


def apply(conn: Connection, *, settings: Settings, events: Sequence[ActionEvent]) -> None:
    """Add ``events`` to ``video_popularity`` (rows locked for the transaction)."""
    if not events:
        return
    half_life = settings.popularity_half_life_hours * 3600.0
    durations = {
        v.video_id: v.duration_s
        for v in get_videos(conn, video_ids=[e.video_id for e in events]).values()
    }
    rows = lock_popularity(conn, video_ids=[e.video_id for e in events])
    for e in events:
        w = settings.action_weight(e.action_type, e.watch_time_ms, durations.get(e.video_id))
        rows[e.video_id] = fold(
            rows[e.video_id], at=e.timestamp.replace(tzinfo=None), weight=w, half_life_s=half_life
        )
    save_popularity(conn, rows=list(rows.values()))
