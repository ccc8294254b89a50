"""Data functions over ``video_actions``: storing events, a user's actions, counts.

Keyword-only; every function takes a :class:`sqlalchemy.Connection` so callers choose the
transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, overload

from sqlalchemy import Connection, FromClause, String, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY

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


def stored_event_ids(conn: Connection, *, event_ids: Sequence[str]) -> set[str]:
    """Which of ``event_ids`` are stored already (primary-key lookups).

    On PostgreSQL the ids go as one array parameter (a statement with thousands of
    placeholders costs psycopg more to prepare than the lookup), with sequential scans off
    (restored afterwards): while a bulk load grows the table faster than autovacuum analyses
    it, the planner's row estimate is stale and it would scan the whole table instead.
    """
    ids = list(dict.fromkeys(event_ids))
    if not ids:
        return set()
    if conn.dialect.name != "postgresql":
        found: set[str] = set()
        for i in range(0, len(ids), 1000):
            stmt = select(video_actions.c.id).where(video_actions.c.id.in_(ids[i : i + 1000]))
            found.update(r[0] for r in conn.execute(stmt))
        return found
    before = conn.execute(text("SELECT current_setting('enable_seqscan')")).scalar_one()
    conn.execute(text("SELECT set_config('enable_seqscan', 'off', true)"))
    stmt = select(video_actions.c.id).where(
        video_actions.c.id == any_(bindparam("ids", ids, type_=ARRAY(String(36))))
    )
    found = {r[0] for r in conn.execute(stmt)}
    conn.execute(text("SELECT set_config('enable_seqscan', :v, true)"), {"v": before})
    return found


@dataclass(frozen=True)
class HistoryItem:
    """One of a user's actions."""

    video_id: str
    action_type: str
    timestamp: datetime
    watch_time_ms: int | None


@dataclass(frozen=True)
class ActionRow(HistoryItem):
    """One of a user's actions with its video (``title`` and ``url`` ``None`` if it is gone)."""

    title: str | None
    url: str | None
    tags: list[str]


@overload
def user_actions(
    conn: Connection,
    *,
    user_ids: Sequence[str],
    limit: int,
    action_type: str | None = None,
    with_video: Literal[False] = False,
) -> dict[str, list[HistoryItem]]: ...


@overload
def user_actions(
    conn: Connection,
    *,
    user_ids: Sequence[str],
    limit: int,
    action_type: str | None = None,
    with_video: Literal[True],
) -> dict[str, list[ActionRow]]: ...


def user_actions(
    conn: Connection,
    *,
    user_ids: Sequence[str],
    limit: int,
    action_type: str | None = None,
    with_video: bool = False,
) -> dict[str, list[HistoryItem]] | dict[str, list[ActionRow]]:
    """Each user's newest actions, newest first (ties by event id): the one query of a
    user's actions, for serving histories, batch ranking and the API's activity list.

    Parameters
    ----------
    conn
        An open connection.
    user_ids
        The users (one query per 500 of them; for a single user the database applies
        ``limit``).
    limit
        Newest actions kept per user.
    action_type
        Only actions of this kind (``None``: all).
    with_video
        Join each action's video: :class:`ActionRow` instead of :class:`HistoryItem`.

    Returns
    -------
    dict
        ``user_id -> actions`` for every user asked about (an empty list when none).
    """
    a = video_actions.c
    columns = [a.user_id, a.video_id, a.action_type, a.timestamp, a.watch_time_ms]
    source: FromClause = video_actions
    if with_video:
        columns += [videos.c.title, videos.c.url, videos.c.tags]
        source = video_actions.outerjoin(videos, videos.c.video_id == a.video_id)
    ids = list(dict.fromkeys(user_ids))
    out: dict[str, list[HistoryItem]] = {u: [] for u in ids}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        # One user: every row is theirs, even where a case-insensitive collation (MariaDB)
        # matched an id spelled differently.
        only = chunk[0] if len(chunk) == 1 else None
        stmt = (
            select(*columns)
            .select_from(source)
            .where(a.user_id.in_(chunk) if only is None else a.user_id == only)
            .order_by(a.user_id, a.timestamp.desc(), a.id)
        )
        if action_type is not None:
            stmt = stmt.where(a.action_type == action_type)
        if only is not None:
            stmt = stmt.limit(limit)
        result = conn.execute(stmt)
        if with_video:
            for uid, vid, kind, ts, watch, title, url, tags in result:
                rows = out[uid if only is None else only]
                if len(rows) < limit:
                    at = as_datetime(ts)
                    rows.append(ActionRow(vid, kind, at, watch, title, url, list(tags or [])))
        else:
            for uid, vid, kind, ts, watch in result:
                rows = out[uid if only is None else only]
                if len(rows) < limit:
                    rows.append(HistoryItem(vid, kind, as_datetime(ts), watch))
    return out


def user_history(conn: Connection, *, user_id: str, limit: int = 2000) -> list[HistoryItem]:
    """The user's most recent actions, newest first (:func:`user_actions` of one user)."""
    return user_actions(conn, user_ids=[user_id], limit=limit)[user_id]


def watched_next(
    conn: Connection,
    *,
    video_id: str,
    action_types: Sequence[str],
    not_user: str | None = None,
    viewers: int = 200,
    limit: int = 50,
) -> dict[str, int]:
    """What the viewers of ``video_id`` went on to watch.

    Parameters
    ----------
    conn
        An open connection.
    video_id
        The video.
    action_types
        The actions that count, both on ``video_id`` and after it (e.g. likes and views).
    not_user
        A user left out of the viewers (the one the answer is for).
    viewers
        Only the most recent viewers are read.
    limit
        Videos returned.

    Returns
    -------
    dict
        ``video_id -> how many of the viewers acted on it after their first action on
        video_id``, at most ``limit`` of the highest counts (ties by id); never ``video_id``.
    """
    if not action_types or limit <= 0:
        return {}
    a = video_actions.alias("seed")
    b = video_actions.alias("next")
    who = select(a.c.user_id, func.min(a.c.timestamp).label("since")).where(
        a.c.video_id == video_id, a.c.action_type.in_(list(action_types))
    )
    if not_user is not None:
        who = who.where(a.c.user_id != not_user)
    seen = (
        who.group_by(a.c.user_id)
        .order_by(func.max(a.c.timestamp).desc(), a.c.user_id)
        .limit(viewers)
        .subquery("viewers")
    )
    n = func.count(func.distinct(b.c.user_id)).label("n")
    stmt = (
        select(b.c.video_id, n)
        .select_from(b.join(seen, b.c.user_id == seen.c.user_id))
        .where(
            b.c.timestamp > seen.c.since,
            b.c.action_type.in_(list(action_types)),
            b.c.video_id != video_id,
        )
        .group_by(b.c.video_id)
        .order_by(n.desc(), b.c.video_id)
        .limit(limit)
    )
    return {vid: int(count) for vid, count in conn.execute(stmt) if vid != video_id}


def watched_next_many(
    conn: Connection,
    *,
    video_ids: Sequence[str],
    action_types: Sequence[str],
    viewers: int = 200,
    limit: int = 50,
) -> dict[str, dict[str, int]]:
    """:func:`watched_next` of several videos (batch ranking).

    One query per video: a single statement for all of them (a window ranking the viewers
    and another the counts, per video) costs SQLite 10-30 % more than the separate queries
    on the seeds ranking meets (popular videos, 1,000+ groups to rank each), and the round
    trips it saves are a small share.

    Returns
    -------
    dict
        ``video_id -> watched_next(video_id)`` for every video asked about.
    """
    return {
        v: watched_next(conn, video_id=v, action_types=action_types, viewers=viewers, limit=limit)
        for v in dict.fromkeys(video_ids)
    }


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
