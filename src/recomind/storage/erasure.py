"""Data functions of erasure and takedown (docs/erasure.md): a user's rows removed, the
erasure recorded by hash, takedowns, and the audit log. Keyword-only; every function takes a
:class:`sqlalchemy.Connection` so the erasure is one transaction with its audit row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, false, func, select, update

from recomind.storage.tables import (
    action_states,
    audit_log,
    consumer_offsets,
    erasures,
    user_profiles,
    users,
    video_actions,
    video_popularity,
    videos,
)
from recomind.storage.types import as_datetime
from recomind.weights import Act

CHUNK = 500


def lock_consumers(conn: Connection) -> dict[tuple[str, str, int], int]:
    """Lock every consumer group's offset rows (``FOR UPDATE``) until the transaction ends:
    a batch a group is applying commits first (and is seen), or waits and then finds the
    erasure (SQLite: the write transaction holds the database already). Returns
    ``(group, topic, partition) -> next offset``."""
    o = consumer_offsets.c
    stmt = (
        select(o.group_id, o.topic, o.partition, o.next_offset)
        .order_by(o.group_id, o.topic, o.partition)
        .with_for_update()
    )
    return {(str(g), str(t), int(p)): int(n) for g, t, p, n in conn.execute(stmt)}


def user_action_counts(conn: Connection, *, user_id: str) -> dict[str, int]:
    """``video_id -> how many of the user's actions are stored on it``."""
    a = video_actions.c
    stmt = select(a.video_id, func.count()).where(a.user_id == user_id).group_by(a.video_id)
    return {str(v): int(n) for v, n in conn.execute(stmt)}


def user_states(conn: Connection, *, fold: str, user_id: str) -> dict[str, list[Act]]:
    """``video_id -> the user's state in fold`` (what their actions count there)."""
    s = action_states.c
    stmt = select(s.video_id, s.acts).where(s.fold == fold, s.user_id == user_id)
    out: dict[str, list[Act]] = {}
    for video_id, acts in conn.execute(stmt):
        if isinstance(acts, str | bytes):
            acts = orjson.loads(acts)
        out[str(video_id)] = [(str(k), int(at), float(w)) for k, at, w in acts or []]
    return out


def delete_user_rows(conn: Connection, *, user_id: str) -> dict[str, int]:
    """Delete every row naming the user; ``table -> rows deleted``."""
    return {
        "actions": conn.execute(
            delete(video_actions).where(video_actions.c.user_id == user_id)
        ).rowcount,
        "action_states": conn.execute(
            delete(action_states).where(action_states.c.user_id == user_id)
        ).rowcount,
        "profile": conn.execute(
            delete(user_profiles).where(user_profiles.c.user_id == user_id)
        ).rowcount,
        "user": conn.execute(delete(users).where(users.c.user_id == user_id)).rowcount,
    }


def delete_popularity(conn: Connection, *, video_ids: Sequence[str]) -> int:
    """Delete the popularity rows of ``video_ids`` (nothing of theirs is counted any more)."""
    n = 0
    ids = sorted(set(video_ids))
    for i in range(0, len(ids), CHUNK):
        stmt = delete(video_popularity).where(video_popularity.c.video_id.in_(ids[i : i + CHUNK]))
        n += conn.execute(stmt).rowcount
    return n


def record_erasure(
    conn: Connection, *, subject_hash: str, erased_at: datetime, receipt_id: str
) -> bool:
    """Record (or move forward) the erasure of the user of ``subject_hash``; returns whether
    one was recorded before."""
    before = conn.execute(
        select(erasures.c.subject_hash).where(erasures.c.subject_hash == subject_hash)
    ).first()
    conn.execute(delete(erasures).where(erasures.c.subject_hash == subject_hash))
    conn.execute(
        erasures.insert(),
        {"subject_hash": subject_hash, "erased_at": erased_at, "receipt_id": receipt_id},
    )
    return before is not None


def erased_since(conn: Connection, *, subject_hashes: Iterable[str]) -> dict[str, datetime]:
    """``subject_hash -> erased_at`` of those of ``subject_hashes`` that were erased."""
    wanted = sorted(set(subject_hashes))
    out: dict[str, datetime] = {}
    for i in range(0, len(wanted), CHUNK):
        stmt = select(erasures.c.subject_hash, erasures.c.erased_at).where(
            erasures.c.subject_hash.in_(wanted[i : i + CHUNK])
        )
        out.update({str(h): as_datetime(at) for h, at in conn.execute(stmt)})
    return out


def set_video_active(conn: Connection, *, video_id: str, active: bool) -> bool | None:
    """Take a video down (``active=False``) or restore it; ``None`` when there is no such
    video, else whether it was active before."""
    row = conn.execute(select(videos.c.active).where(videos.c.video_id == video_id)).first()
    if row is None:
        return None
    conn.execute(update(videos).where(videos.c.video_id == video_id).values(active=active))
    return bool(row.active)


def inactive_video_ids(conn: Connection) -> set[str]:
    """Every taken-down video's id (a few, usually: read often)."""
    stmt = select(videos.c.video_id).where(videos.c.active == false())
    return {str(v) for (v,) in conn.execute(stmt)}


@dataclass(frozen=True)
class AuditEntry:
    id: str
    at: datetime
    actor: str
    action: str
    target: str
    summary: dict[str, Any]


def write_audit(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    summary: Mapping[str, Any],
) -> str:
    """Append one audit row (in the caller's transaction, with the change it records)."""
    entry_id = str(uuid.uuid4())
    conn.execute(
        audit_log.insert(),
        {
            "id": entry_id,
            "at": at,
            "actor": actor,
            "action": action,
            "target": target,
            "summary": dict(summary),
        },
    )
    return entry_id


def list_audit(conn: Connection, *, limit: int, action: str | None = None) -> list[AuditEntry]:
    """The newest ``limit`` audit rows, newest first (optionally of one ``action``)."""
    stmt = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id).limit(limit)
    if action is not None:
        stmt = stmt.where(audit_log.c.action == action)
    out = []
    for r in conn.execute(stmt):
        summary = orjson.loads(r.summary) if isinstance(r.summary, str | bytes) else r.summary
        out.append(AuditEntry(r.id, as_datetime(r.at), r.actor, r.action, r.target, summary))
    return out
