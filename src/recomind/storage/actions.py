"""Data functions over ``video_actions``: storing events, a user's actions, counts.

Keyword-only; every function takes a :class:`sqlalchemy.Connection` so callers choose the
transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from recomind.schemas import ActionEvent
from recomind.storage.inserts import insert_new
from recomind.storage.tables import video_actions, videos
from recomind.storage.types import as_datetime


def insert_actions(conn: Connection, *, events: Sequence[ActionEvent]) -> list[ActionEvent]:
    """Store events idempotently on ``event_id``. Returns the events that were new."""
    if not events:
        return []
    unique: dict[str, ActionEvent] = {}
    for e in events:
        unique.setdefault(e.event_id, e)
    rows = [
        {
            "id": e.event_id,
            "user_id": e.user_id,
            "video_id": e.video_id,
            "action_type": e.action_type,
            "timestamp": e.timestamp.replace(tzinfo=None),
            "watch_time_ms": e.watch_time_ms,
        }
        for e in unique.values()
    ]
    inserted = insert_new(conn, video_actions, rows, "id")
    return [e for eid, e in unique.items() if eid in inserted]


@dataclass(frozen=True)
class HistoryItem:
    video_id: str
    action_type: str
    timestamp: datetime
    watch_time_ms: int | None


def user_history(conn: Connection, *, user_id: str, limit: int = 2000) -> list[HistoryItem]:
    """The user's most recent actions, newest first."""
    stmt = (
        select(
            video_actions.c.video_id,
            video_actions.c.action_type,
            video_actions.c.timestamp,
            video_actions.c.watch_time_ms,
        )
        .where(video_actions.c.user_id == user_id)
        .order_by(video_actions.c.timestamp.desc())
        .limit(limit)
    )
    return [
        HistoryItem(r.video_id, r.action_type, as_datetime(r.timestamp), r.watch_time_ms)
        for r in conn.execute(stmt)
    ]


@dataclass(frozen=True)
class ActionRow:
    video_id: str
    action_type: str
    timestamp: datetime
    watch_time_ms: int | None
    title: str | None
    url: str | None
    tags: list[str]


def recent_actions(
    conn: Connection, *, user_id: str, action_type: str | None, limit: int
) -> list[ActionRow]:
    """The user's newest actions (optionally of one type) with their video, newest first."""
    stmt = (
        select(
            video_actions.c.video_id,
            video_actions.c.action_type,
            video_actions.c.timestamp,
            video_actions.c.watch_time_ms,
            videos.c.title,
            videos.c.url,
            videos.c.tags,
        )
        .select_from(video_actions.outerjoin(videos, videos.c.video_id == video_actions.c.video_id))
        .where(video_actions.c.user_id == user_id)
        .order_by(video_actions.c.timestamp.desc(), video_actions.c.id)
        .limit(limit)
    )
    if action_type is not None:
        stmt = stmt.where(video_actions.c.action_type == action_type)
    return [
        ActionRow(
            r.video_id,
            r.action_type,
            as_datetime(r.timestamp),
            r.watch_time_ms,
            r.title,
            r.url,
            list(r.tags or []),
        )
        for r in conn.execute(stmt)
    ]


def count_actions(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(video_actions)).scalar_one())


def actions_by_type(conn: Connection) -> dict[str, int]:
    stmt = select(video_actions.c.action_type, func.count()).group_by(video_actions.c.action_type)
    return {str(kind): int(n) for kind, n in conn.execute(stmt)}


def events_per_minute(conn: Connection, *, now: datetime, minutes: int) -> list[int]:
    """Actions per minute over the last ``minutes`` minutes (by event time), oldest first.

    The last bucket is the current, partial minute.
    """
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=minutes)
    stmt = select(video_actions.c.timestamp).where(
        video_actions.c.timestamp >= start, video_actions.c.timestamp < end
    )
    buckets: Counter[int] = Counter()
    for (ts,) in conn.execute(stmt):
        buckets[int((as_datetime(ts) - start).total_seconds() // 60)] += 1
    return [buckets.get(i, 0) for i in range(minutes)]


def all_events(conn: Connection) -> list[ActionEvent]:
    """Every stored action as an event, oldest first."""
    rows = conn.execute(select(video_actions).order_by(video_actions.c.timestamp)).all()
    return [
        ActionEvent(
            event_id=r.id,
            user_id=r.user_id,
            video_id=r.video_id,
            action_type=r.action_type,
            timestamp=r.timestamp,
            watch_time_ms=r.watch_time_ms,
        )
        for r in rows
    ]


def active_users(conn: Connection, *, since: datetime, limit: int) -> list[str]:
    """Users with actions at or after ``since``, most recently active first (``limit`` 0:
    all of them)."""
    a = video_actions.c
    last = func.max(a.timestamp)
    stmt = (
        select(a.user_id)
        .where(a.timestamp >= since)
        .group_by(a.user_id)
        .order_by(last.desc(), a.user_id)
    )
    if limit > 0:
        stmt = stmt.limit(limit)
    return list(conn.execute(stmt).scalars())
