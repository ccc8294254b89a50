"""Data functions over ``video_popularity``: decayed scores, read locked and written back.

Every function takes a :class:`sqlalchemy.Connection` so callers choose the transaction.
Rows are read through one guard: a non-finite score reads as 0 and a ``last_updated`` far in
the future as now (rows written before event times were checked; migration 0004 repairs them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from recomind.event_time import not_after
from recomind.schemas import utcnow
from recomind.storage.inserts import insert_ignore
from recomind.storage.tables import video_popularity
from recomind.storage.types import as_datetime
from recomind.weights import finite


@dataclass(frozen=True)
class PopularityRow:
    video_id: str
    score: float
    last_updated: datetime
    n_events: int


def _rows(result: Any) -> list[PopularityRow]:
    now = utcnow()
    return [
        PopularityRow(
            r.video_id,
            finite(float(r.score)),
            not_after(as_datetime(r.last_updated), now=now),
            r.n_events,
        )
        for r in result
    ]


def lock_popularity(conn: Connection, *, video_ids: Sequence[str]) -> dict[str, PopularityRow]:
    """Make sure rows exist, then read them locked (``FOR UPDATE``) for read-modify-write."""
    ids = sorted(set(video_ids))
    epoch = datetime(1970, 1, 1)
    insert_ignore(
        conn,
        video_popularity,
        [{"video_id": v, "score": 0.0, "last_updated": epoch, "n_events": 0} for v in ids],
    )
    stmt = select(video_popularity).where(video_popularity.c.video_id.in_(ids)).with_for_update()
    return {r.video_id: r for r in _rows(conn.execute(stmt))}


def save_popularity(conn: Connection, *, rows: Sequence[PopularityRow]) -> None:
    """Write back locked popularity rows: one UPDATE executed for all rows (executemany)."""
    if not rows:
        return
    stmt = (
        update(video_popularity)
        .where(video_popularity.c.video_id == bindparam("b_video_id"))
        .values(
            score=bindparam("b_score"),
            last_updated=bindparam("b_last_updated"),
            n_events=bindparam("b_n_events"),
        )
    )
    conn.execute(
        stmt,
        [
            {
                "b_video_id": r.video_id,
                "b_score": r.score,
                "b_last_updated": r.last_updated,
                "b_n_events": r.n_events,
            }
            for r in rows
        ],
    )


def top_popularity(conn: Connection, *, limit: int) -> list[PopularityRow]:
    stmt = (
        select(video_popularity)
        .where(video_popularity.c.n_events > 0)
        .order_by(video_popularity.c.score.desc(), video_popularity.c.video_id)
        .limit(limit)
    )
    return _rows(conn.execute(stmt))


def clear_popularity(conn: Connection) -> None:
    """Delete every row (a rebuild folds all events again in the same transaction)."""
    conn.execute(delete(video_popularity))
