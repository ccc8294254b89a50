"""Data functions over the five tables. Keyword-only; ``None`` when a row is absent.

Every function takes a :class:`sqlalchemy.Connection` so callers choose the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Insert, bindparam, func, select, text, update
from sqlalchemy.dialects import mysql, postgresql, sqlite

from recomind.errors import ConflictError
from recomind.schemas import ActionEvent, User, Video, VideoCreate, utcnow
from recomind.storage.tables import user_profiles, users, video_actions, video_popularity, videos
from recomind.storage.types import as_datetime


def new_id() -> str:
    return str(uuid.uuid4())


def _insert_ignore(conn: Connection, table: Any) -> Insert:
    """``INSERT`` that silently skips rows whose primary key exists, in ``conn``'s dialect."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return mysql.insert(table).prefix_with("IGNORE")


def insert_ignore(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows, silently skipping those whose primary key exists (race-safe)."""
    if rows:
        conn.execute(_insert_ignore(conn, table), rows)


def insert_new(conn: Connection, table: Any, rows: list[dict[str, Any]], key: str) -> set[Any]:
    """Insert rows whose primary key ``key`` is not stored yet; returns the keys inserted.

    One statement, no lookup first (a lookup of many keys can be planned as a scan of the
    whole table). On PostgreSQL the rows travel as one array per column through
    ``unnest``: a short statement that psycopg prepares once, instead of a multi-row
    ``VALUES`` list it would re-parse for every batch.
    """
    if not rows:
        return set()
    if conn.dialect.name != "postgresql":
        stmt = _insert_ignore(conn, table).returning(table.c[key])
        return {r[0] for r in conn.execute(stmt, rows)}
    quote = conn.dialect.identifier_preparer.quote
    cols = list(rows[0])
    arrays = ", ".join(
        f"CAST(:c{i} AS {table.c[c].type.compile(dialect=conn.dialect)}[])"
        for i, c in enumerate(cols)
    )
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) "
        f"SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING RETURNING {quote(key)}"
    )
    params = {f"c{i}": [r[c] for r in rows] for i, c in enumerate(cols)}
    return {r[0] for r in conn.execute(text(sql), params)}


# -- users ----------------------------------------------------------------------------------


def _user(row: Any) -> User:
    return User(user_id=row.user_id, name=row.name, created_at=as_datetime(row.created_at))


def create_user(conn: Connection, *, user_id: str | None, name: str) -> User:
    uid = user_id or new_id()
    if get_user(conn, user_id=uid) is not None:
        raise ConflictError("user", "user_id", uid)
    row = {"user_id": uid, "name": name, "created_at": utcnow()}
    conn.execute(users.insert(), row)
    return User(**row)


def get_user(conn: Connection, *, user_id: str) -> User | None:
    row = conn.execute(select(users).where(users.c.user_id == user_id)).first()
    return _user(row) if row else None


def ensure_users(conn: Connection, *, user_ids: Iterable[str]) -> int:
    """Create users first seen in an action (named after their id). Returns how many were new."""
    now = utcnow()
    rows = [{"user_id": u, "name": u, "created_at": now} for u in sorted(set(user_ids))]
    return len(insert_new(conn, users, rows, "user_id"))


# -- videos ---------------------------------------------------------------------------------


def _video(row: Any) -> Video:
    return Video(
        video_id=row.video_id,
        title=row.title,
        url=row.url,
        tags=list(row.tags or []),
        creator_id=row.creator_id,
        duration_s=row.duration_s,
        created_at=as_datetime(row.created_at),
    )


def _video_row(v: VideoCreate, now: datetime) -> dict[str, Any]:
    return {
        "video_id": v.video_id or new_id(),
        "title": v.title,
        "url": v.url,
        "tags": v.tags,
        "creator_id": v.creator_id,
        "duration_s": v.duration_s,
        "created_at": (v.created_at.replace(tzinfo=None) if v.created_at else now),
    }


def create_videos(conn: Connection, *, items: Sequence[VideoCreate]) -> list[Video]:
    """Insert videos; a duplicate id (in the batch or stored) raises and inserts nothing."""
    now = utcnow()
    rows = [_video_row(v, now) for v in items]
    ids = [r["video_id"] for r in rows]
    seen: set[str] = set()
    for vid in ids:
        if vid in seen:
            raise ConflictError("video", "video_id", vid)
        seen.add(vid)
    existing = existing_video_ids(conn, video_ids=ids)
    if existing:
        raise ConflictError("video", "video_id", sorted(existing)[0])
    conn.execute(videos.insert(), rows)
    return [Video(**r) for r in rows]


def get_video(conn: Connection, *, video_id: str) -> Video | None:
    row = conn.execute(select(videos).where(videos.c.video_id == video_id)).first()
    return _video(row) if row else None


def get_videos(conn: Connection, *, video_ids: Sequence[str]) -> dict[str, Video]:
    out: dict[str, Video] = {}
    ids = list(dict.fromkeys(video_ids))
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for row in conn.execute(select(videos).where(videos.c.video_id.in_(chunk))):
            out[row.video_id] = _video(row)
    return out


def existing_video_ids(conn: Connection, *, video_ids: Iterable[str]) -> set[str]:
    ids = list(set(video_ids))
    found: set[str] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        found.update(
            r[0]
            for r in conn.execute(select(videos.c.video_id).where(videos.c.video_id.in_(chunk)))
        )
    return found


def newest_videos(conn: Connection, *, limit: int) -> list[Video]:
    stmt = select(videos).order_by(videos.c.created_at.desc(), videos.c.video_id).limit(limit)
    return [_video(r) for r in conn.execute(stmt)]


def count_videos(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(videos)).scalar_one())


# -- actions --------------------------------------------------------------------------------


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


def count_actions(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(video_actions)).scalar_one())


# -- popularity -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PopularityRow:
    video_id: str
    score: float
    last_updated: datetime
    n_events: int


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
    return {
        r.video_id: PopularityRow(r.video_id, r.score, as_datetime(r.last_updated), r.n_events)
        for r in conn.execute(stmt)
    }


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
    return [
        PopularityRow(r.video_id, r.score, as_datetime(r.last_updated), r.n_events)
        for r in conn.execute(stmt)
    ]


# -- profiles -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileRow:
    user_id: str
    top_tags: list[str]
    tag_weights: dict[str, float]
    updated_at: datetime


def get_profile(conn: Connection, *, user_id: str, lock: bool = False) -> ProfileRow | None:
    stmt = select(user_profiles).where(user_profiles.c.user_id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    r = conn.execute(stmt).first()
    if r is None:
        return None
    return ProfileRow(r.user_id, list(r.top_tags), dict(r.tag_weights), as_datetime(r.updated_at))


def lock_profiles(conn: Connection, *, user_ids: Sequence[str]) -> dict[str, ProfileRow]:
    ids = sorted(set(user_ids))
    epoch = datetime(1970, 1, 1)
    insert_ignore(
        conn,
        user_profiles,
        [{"user_id": u, "top_tags": [], "tag_weights": {}, "updated_at": epoch} for u in ids],
    )
    stmt = select(user_profiles).where(user_profiles.c.user_id.in_(ids)).with_for_update()
    return {
        r.user_id: ProfileRow(
            r.user_id, list(r.top_tags), dict(r.tag_weights), as_datetime(r.updated_at)
        )
        for r in conn.execute(stmt)
    }


def save_profiles(conn: Connection, *, rows: Sequence[ProfileRow]) -> None:
    """Write back locked profile rows: one UPDATE executed for all rows (executemany)."""
    if not rows:
        return
    c = user_profiles.c
    stmt = (
        update(user_profiles)
        .where(c.user_id == bindparam("b_user_id"))
        .values(
            top_tags=bindparam("b_top_tags", type_=c.top_tags.type),
            tag_weights=bindparam("b_tag_weights", type_=c.tag_weights.type),
            updated_at=bindparam("b_updated_at"),
        )
    )
    conn.execute(
        stmt,
        [
            {
                "b_user_id": r.user_id,
                "b_top_tags": r.top_tags,
                "b_tag_weights": r.tag_weights,
                "b_updated_at": r.updated_at,
            }
            for r in rows
        ],
    )
