"""Time-decayed popularity: ``score(T) = sum_i w_i * 2 ** (-(T - t_i) / half_life)``.

The ``w_i`` are what each action *counts* under the per-(user, video) rules of
:mod:`recomind.weights`: a like once (an unlike takes it back), repeated views less and less,
and, popularity's own rule, **distinct users per window**: within one window of
``popularity_half_life_hours`` (aligned to the epoch) one user counts at most one view and
one skip of a video, so one account moves a video no more than one honest viewer. The
fold keeps its per-pair states (:mod:`recomind.folds.states`, fold ``popularity``) and is
order-independent, so applying events incrementally (in any order, in any batch size) gives
the same score as a from-scratch computation over all of them.

Both functions are total: whatever a row holds (a ``nan``/``inf`` score, a time decades
ahead), they return a finite score and never raise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection

from recomind.config import Settings
from recomind.folds.states import Term, changes, from_us
from recomind.schemas import ActionEvent
from recomind.storage.action_states import clear_states
from recomind.storage.erasure import delete_popularity, user_states
from recomind.storage.popularity import (
    PopularityRow,
    clear_popularity,
    lock_popularity,
    save_popularity,
)
from recomind.storage.videos import get_videos
from recomind.weights import decay_factor, finite, pair_terms

FOLD = "popularity"


def window_us(settings: Settings) -> int:
    """Popularity's distinct-user window in microseconds: one half-life."""
    return max(1, round(settings.popularity_half_life_hours * 3600e6))


def fold(
    row: PopularityRow,
    *,
    terms: Iterable[Term],
    latest: datetime,
    events: int,
    half_life_s: float,
) -> PopularityRow:
    """Add ``terms`` to a decayed score, now as of ``max(row.last_updated, latest)``.

    ``latest`` is the newest of the ``events`` new events on the video (each counts in
    ``n_events``, whether or not it changed the score). Non-finite scores and weights count as 0.
    """
    last = max(row.last_updated, latest)
    score = finite(row.score) * decay_factor((last - row.last_updated).total_seconds(), half_life_s)
    for t in terms:
        score += finite(t.weight) * decay_factor((last - t.at).total_seconds(), half_life_s)
    return PopularityRow(row.video_id, finite(score), last, row.n_events + events)


def score_at(row: PopularityRow, now: datetime, half_life_s: float) -> float:
    """The row's score decayed to ``now``; a row dated after ``now`` is not grown.

    Decaying "back" to an earlier time would multiply the score by ``2 ** (ahead /
    half_life)``: for a row within the allowed clock skew that is under 1 %, for one written
    decades ahead (before timestamps were checked) it overflows. Such a row counts as is.
    """
    elapsed = max((now - row.last_updated).total_seconds(), 0.0)
    return finite(finite(row.score) * decay_factor(elapsed, half_life_s))


def apply(conn: Connection, *, settings: Settings, events: Sequence[ActionEvent]) -> None:
    """Add ``events`` to ``video_popularity`` (states and rows locked for the transaction)."""
    if not events:
        return
    half_life = settings.popularity_half_life_hours * 3600.0
    durations = {
        v.video_id: v.duration_s
        for v in get_videos(conn, video_ids=[e.video_id for e in events]).values()
    }
    terms = changes(
        conn,
        fold=FOLD,
        events=events,
        weigh=lambda e: settings.action_weight(
            e.action_type, e.watch_time_ms, durations.get(e.video_id)
        ),
        window_us=window_us(settings),
    )
    rows = lock_popularity(conn, video_ids=[e.video_id for e in events])
    latest: dict[str, datetime] = {}
    counts: dict[str, int] = {}
    for e in events:
        at = e.timestamp.replace(tzinfo=None)
        latest[e.video_id] = max(latest.get(e.video_id, at), at)
        counts[e.video_id] = counts.get(e.video_id, 0) + 1
    by_video: dict[str, list[Term]] = {v: [] for v in latest}
    for t in terms:
        by_video[t.video_id].append(t)
    for vid, ts in by_video.items():
        rows[vid] = fold(
            rows[vid], terms=ts, latest=latest[vid], events=counts[vid], half_life_s=half_life
        )
    save_popularity(conn, rows=list(rows.values()))


def clear(conn: Connection) -> None:
    """Empty ``video_popularity`` and the fold's states (before a rebuild)."""
    clear_popularity(conn)
    clear_states(conn, fold=FOLD)


def forget_user(
    conn: Connection, *, settings: Settings, user_id: str, events_per_video: Mapping[str, int]
) -> int:
    """Take the user's contribution out of ``video_popularity``, exactly: every term their
    pairs count (their states in this fold) is taken back, their ``events_per_video`` leave
    ``n_events``, and a video left with no events loses its row (as a fold from scratch over
    the remaining actions would). Call before the user's states are deleted. Returns how
    many videos were adjusted."""
    states = user_states(conn, fold=FOLD, user_id=user_id)
    touched = sorted(set(states) | set(events_per_video))
    if not touched:
        return 0
    half_life = settings.popularity_half_life_hours * 3600.0
    window = window_us(settings)
    rows = lock_popularity(conn, video_ids=touched)
    kept: list[PopularityRow] = []
    gone: list[str] = []
    for vid in touched:
        row = rows[vid]
        back = [
            Term(user_id, vid, -w, from_us(at))
            for w, at in pair_terms(states.get(vid, []), window_us=window)
        ]
        new = fold(
            row,
            terms=back,
            latest=row.last_updated,
            events=-events_per_video.get(vid, 0),
            half_life_s=half_life,
        )
        if new.n_events <= 0:
            gone.append(vid)
        else:
            kept.append(new)
    save_popularity(conn, rows=kept)
    delete_popularity(conn, video_ids=gone)
    return len(touched)
