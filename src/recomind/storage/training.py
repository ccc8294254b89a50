"""The columns a model fit reads: every video, and actions with their time in unix seconds.

Rows are streamed in chunks of :data:`CHUNK` (``yield_per``) as plain row tuples, and the
database itself turns timestamps into unix seconds, so a caller can fill numpy arrays from
millions of rows without building an object or parsing a datetime per row. Read them inside
the connection that produced them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Float, cast, false, func, literal_column, select, true
from sqlalchemy.sql.elements import ColumnElement

from recomind.storage.tables import video_actions, videos

CHUNK = 50_000


def epoch_seconds(column: Any, dialect: str) -> ColumnElement[Any]:
    """SQL expression: a naive-UTC timestamp column as unix seconds (float) on ``dialect``."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", column), Float)
    if dialect in ("mysql", "mariadb"):
        # Time-zone independent (UNIX_TIMESTAMP would apply the session time zone).
        # A DECIMAL (CAST AS FLOAT would be single precision on MySQL).
        micros = func.timestampdiff(literal_column("MICROSECOND"), "1970-01-01 00:00:00", column)
        return micros / literal_column("1000000.0")
    return (func.julianday(column) - 2440587.5) * 86400.0


def item_rows(conn: Connection) -> Iterable[Sequence[Any]]:
    """``(video_id, tags, title, created_s, creator_id, duration_s)`` of every video, ordered
    by id; ``created_s`` is the upload time in unix seconds."""
    stmt = select(
        videos.c.video_id,
        videos.c.tags,
        videos.c.title,
        epoch_seconds(videos.c.created_at, conn.dialect.name).label("created"),
        videos.c.creator_id,
        videos.c.duration_s,
    ).where(videos.c.active == true())  # a taken-down video is never trained on
    stmt = stmt.order_by(videos.c.video_id)
    return conn.execution_options(stream_results=True, yield_per=CHUNK).execute(stmt)


def action_rows(
    conn: Connection, *, since: datetime | None = None, max_events: int | None = None
) -> Iterable[Sequence[Any]]:
    """``(user_id, video_id, action_type, ts_s, watch_time_ms)`` of the stored actions;
    ``ts_s`` is the action time in unix seconds.

    Actions on taken-down videos are left out (docs/erasure.md). Only actions at or after
    ``since`` (naive UTC; ``None``: all), and at most the newest
    ``max_events`` of them (``None`` or 0: no cap, in no particular order).
    """
    a = video_actions.c
    stmt = select(
        a.user_id,
        a.video_id,
        a.action_type,
        epoch_seconds(a.timestamp, conn.dialect.name).label("ts"),
        a.watch_time_ms,
    ).where(a.video_id.not_in(select(videos.c.video_id).where(videos.c.active == false())))
    if since is not None:
        stmt = stmt.where(a.timestamp >= since)
    if max_events:
        stmt = stmt.order_by(a.timestamp.desc()).limit(max_events)
    return conn.execution_options(stream_results=True, yield_per=CHUNK).execute(stmt)
