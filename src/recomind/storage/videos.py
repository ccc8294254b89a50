"""Data functions over ``videos``. Keyword-only; ``None`` when a row is absent.

Every function takes a :class:`sqlalchemy.Connection` so callers choose the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql

from recomind.errors import ConflictError
from recomind.schemas import Video, VideoCreate, to_naive_utc, utcnow
from recomind.storage.inserts import insert_new, new_id
from recomind.storage.tables import videos
from recomind.storage.types import as_datetime

_VIDEO_FIELDS = frozenset(Video.model_fields)
_set_attr = object.__setattr__


def _video(row: Any) -> Video:
    """The :class:`Video` of a stored row, built as ``Video(...)`` validates it (the row's
    columns already have the model's types: ``NOT NULL`` text, a tag list, a naive UTC
    time), without pydantic's per-field pass: ranking reads thousands of rows a second."""
    video = Video.__new__(Video)
    _set_attr(
        video,
        "__dict__",
        {
            "video_id": row.video_id,
            "title": row.title,
            "url": row.url,
            "tags": list(row.tags or []),
            "creator_id": row.creator_id,
            "duration_s": None if row.duration_s is None else float(row.duration_s),
            "created_at": to_naive_utc(as_datetime(row.created_at)),
        },
    )
    _set_attr(video, "__pydantic_fields_set__", set(_VIDEO_FIELDS))
    _set_attr(video, "__pydantic_extra__", None)
    _set_attr(video, "__pydantic_private__", None)
    return video


def _video_row(v: VideoCreate, now: datetime) -> dict[str, Any]:
    return {
        "video_id": v.video_id or new_id(),
        "title": v.title,
        "url": v.url,
        "tags": v.tags,
        "creator_id": v.creator_id,
        "duration_s": v.duration_s,
        "created_at": to_naive_utc(v.created_at) if v.created_at else now,
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


def upsert_videos(conn: Connection, *, items: Sequence[VideoCreate]) -> tuple[list[str], int]:
    """Create the videos whose id is new, update the stored ones; ``(video_ids, created)``.

    An update replaces every field the item gives; ``created_at`` is kept unless the item
    sets it. Items without ``video_id`` are created with a new id. The caller rejects an id
    given twice in ``items`` (which one would win is not defined).
    """
    now = utcnow()
    rows = [_video_row(v, now) for v in items]
    created = insert_new(conn, videos, rows, "video_id")
    # (On MariaDB an id differing from a stored one only in case is not new: it updates it.)
    stale = [(r, v) for r, v in zip(rows, items, strict=True) if r["video_id"] not in created]
    if stale:
        c = videos.c
        conn.execute(
            update(videos)
            .where(c.video_id == bindparam("b_video_id"))
            .values(
                title=bindparam("b_title"),
                url=bindparam("b_url"),
                tags=bindparam("b_tags", type_=c.tags.type),
                creator_id=bindparam("b_creator_id"),
                duration_s=bindparam("b_duration_s"),
                created_at=func.coalesce(
                    bindparam("b_created_at", type_=c.created_at.type), c.created_at
                ),
            ),
            [
                {
                    **{f"b_{k}": value for k, value in r.items()},
                    "b_created_at": to_naive_utc(v.created_at) if v.created_at else None,
                }
                for r, v in stale
            ],
        )
    return [r["video_id"] for r in rows], len(created)


def get_video(conn: Connection, *, video_id: str, active_only: bool = False) -> Video | None:
    """The video; ``None`` when absent (or taken down, with ``active_only``)."""
    stmt = select(videos).where(videos.c.video_id == video_id)
    if active_only:
        stmt = stmt.where(_ACTIVE)
    row = conn.execute(stmt).first()
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


#: Candidates are active videos only: a taken-down one is generated nowhere (docs/erasure.md).
_ACTIVE = videos.c.active == true()


def newest_videos(conn: Connection, *, limit: int) -> list[Video]:
    stmt = (
        select(videos)
        .where(_ACTIVE)
        .order_by(videos.c.created_at.desc(), videos.c.video_id)
        .limit(limit)
    )
    return [_video(r) for r in conn.execute(stmt)]


def videos_with_tags(conn: Connection, *, tags: Sequence[str], limit: int) -> list[Video]:
    """The newest videos carrying any of ``tags`` (at most ``limit``), newest first.

    PostgreSQL tests its ``TEXT[]`` for overlap; elsewhere the JSON text is matched for each
    tag's JSON string, and the rows are checked again here.
    """
    wanted = list(dict.fromkeys(tags))
    if not wanted or limit <= 0:
        return []
    match: ColumnElement[bool]
    if conn.dialect.name == "postgresql":
        array = literal(wanted, type_=postgresql.ARRAY(Text()))
        match = cast(videos.c.tags, postgresql.ARRAY(Text())).op("&&")(array)
    else:
        text = cast(videos.c.tags, Text)
        match = or_(*(text.contains(json.dumps(t), autoescape=True) for t in wanted))
    stmt = (
        select(videos)
        .where(match, _ACTIVE)
        .order_by(videos.c.created_at.desc(), videos.c.video_id)
        .limit(limit)
    )
    want = set(wanted)
    return [v for v in map(_video, conn.execute(stmt)) if want.intersection(v.tags)]


def videos_by_creators(conn: Connection, *, creator_ids: Sequence[str], limit: int) -> list[Video]:
    """The newest videos of any of ``creator_ids`` (at most ``limit``), newest first."""
    ids = list(dict.fromkeys(creator_ids))
    if not ids or limit <= 0:
        return []
    stmt = (
        select(videos)
        .where(videos.c.creator_id.in_(ids), _ACTIVE)
        .order_by(videos.c.created_at.desc(), videos.c.video_id)
        .limit(limit)
    )
    # A case-insensitive collation (MariaDB) may match an id spelled differently.
    return [v for v in map(_video, conn.execute(stmt)) if v.creator_id in ids]


#: Tags from which :func:`videos_with_each_tag` reads every tag in one scan (SQLite).
TAG_SCAN_MIN = 16


def videos_with_each_tag(
    conn: Connection, *, tags: Sequence[str], limit: int, also: Sequence[str] = ()
) -> dict[str, list[Video]]:
    """:func:`videos_with_tags` of each tag alone, for several tags (batch ranking).

    On SQLite, :data:`TAG_SCAN_MIN` or more of ``tags`` and ``also`` together are read in
    one pass over the table (each tag's newest ``limit`` by a window over its JSON array's
    strings, compared ASCII case-insensitively as ``LIKE`` does), ``also`` included: tags
    worth having when they cost nothing more. Fewer, and on other databases, ``tags`` alone,
    one query per tag.
    """
    wanted = list(dict.fromkeys(tags))
    scan = list(dict.fromkeys([*wanted, *also]))
    if conn.dialect.name != "sqlite" or len(scan) < TAG_SCAN_MIN or limit <= 0:
        return {t: videos_with_tags(conn, tags=[t], limit=limit) for t in wanted}
    wanted = scan
    raw = cast(videos.c.tags, Text)
    array = case(
        (and_(func.json_valid(raw) == 1, func.json_type(raw) == "array"), raw),
        else_=literal_column("'[]'"),
    )
    each = func.json_each(array).table_valued("value", "type", name="element")
    tag = func.lower(each.c.value)
    matches = (
        select(videos.c.video_id, tag.label("tag"))
        .select_from(videos.join(each, true()))
        .where(each.c.type == "text", tag.in_(wanted), _ACTIVE)
        .distinct()
        .subquery("matches")
    )
    place = func.row_number().over(
        partition_by=matches.c.tag, order_by=(videos.c.created_at.desc(), videos.c.video_id)
    )
    ranked = (
        select(videos, matches.c.tag, place.label("place"))
        .select_from(videos.join(matches, matches.c.video_id == videos.c.video_id))
        .subquery("ranked")
    )
    stmt = select(ranked).where(ranked.c.place <= limit).order_by(ranked.c.tag, ranked.c.place)
    out: dict[str, list[Video]] = {t: [] for t in wanted}
    for row in conn.execute(stmt):
        v = _video(row)
        if row.tag in out and row.tag in v.tags:
            out[row.tag].append(v)
    return out


def videos_by_each_creator(
    conn: Connection, *, creator_ids: Sequence[str], limit: int
) -> dict[str, list[Video]]:
    """:func:`videos_by_creators` of each creator alone, in one query per 500 creators."""
    ids = list(dict.fromkeys(creator_ids))
    out: dict[str, list[Video]] = {c: [] for c in ids}
    if limit <= 0:
        return out
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        place = func.row_number().over(
            partition_by=videos.c.creator_id,
            order_by=(videos.c.created_at.desc(), videos.c.video_id),
        )
        ranked = (
            select(videos, place.label("place"))
            .where(videos.c.creator_id.in_(chunk), _ACTIVE)
            .subquery("ranked")
        )
        stmt = select(ranked).where(ranked.c.place <= limit).order_by(ranked.c.place)
        for row in conn.execute(stmt):
            # A case-insensitive collation (MariaDB) may match an id spelled differently:
            # it took a place, as in videos_by_creators, and goes to no one here.
            if row.creator_id in out:
                out[row.creator_id].append(_video(row))
    return out


def count_videos(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(videos)).scalar_one())
