"""Read-only queries for the web app and the operator dashboard (users, recent actions)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from recomind.schemas import User
from recomind.storage.tables import users, video_actions, videos
from recomind.storage.types import as_datetime


def list_users(conn: Connection, *, limit: int) -> list[User]:
    """The first ``limit`` users, oldest first (ties by id)."""
    stmt = select(users).order_by(users.c.created_at, users.c.user_id).limit(limit)
    return [
        User(user_id=r.user_id, name=r.name, created_at=as_datetime(r.created_at))
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


def count_rows(conn: Connection) -> dict[str, int]:
    """How many users, videos and actions are stored."""
    return {
        name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for name, t in (("users", users), ("videos", videos), ("actions", video_actions))
    }


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
