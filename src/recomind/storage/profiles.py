"""Data functions over ``user_profiles``: decayed tag weights per user. ``None`` when absent.

Every function takes a :class:`sqlalchemy.Connection` so callers choose the transaction.
Rows are read through one guard: tag weights that are not finite numbers and top tags that are
not strings are dropped, an ``updated_at`` far in the future reads as now (rows written before
event times were checked; migration 0004 repairs them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from recomind.event_time import not_after
from recomind.schemas import utcnow
from recomind.storage.inserts import insert_ignore
from recomind.storage.tables import user_profiles
from recomind.storage.types import as_datetime


@dataclass(frozen=True)
class ProfileRow:
    user_id: str
    top_tags: list[str]
    tag_weights: dict[str, float]
    updated_at: datetime


def _weight(value: Any) -> float | None:
    """A stored tag weight as a finite float, or ``None`` for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        w = float(value)
    except OverflowError:  # an integer beyond float range
        return None
    return w if math.isfinite(w) else None


def _profile(r: Any) -> ProfileRow:
    stored = r.tag_weights if isinstance(r.tag_weights, dict) else {}
    weights = {str(t): w for t, v in stored.items() if (w := _weight(v)) is not None}
    return ProfileRow(
        r.user_id,
        [t for t in r.top_tags if isinstance(t, str)],
        weights,
        not_after(as_datetime(r.updated_at), now=utcnow()),
    )


def get_profile(conn: Connection, *, user_id: str, lock: bool = False) -> ProfileRow | None:
    stmt = select(user_profiles).where(user_profiles.c.user_id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    r = conn.execute(stmt).first()
    if r is None:
        return None
    return _profile(r)


def get_profiles(conn: Connection, *, user_ids: Sequence[str]) -> dict[str, ProfileRow]:
    """The stored profiles of ``user_ids`` (users without one are left out)."""
    out: dict[str, ProfileRow] = {}
    ids = list(dict.fromkeys(user_ids))
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for r in conn.execute(select(user_profiles).where(user_profiles.c.user_id.in_(chunk))):
            out[r.user_id] = _profile(r)
    return out


def lock_profiles(conn: Connection, *, user_ids: Sequence[str]) -> dict[str, ProfileRow]:
    ids = sorted(set(user_ids))
    epoch = datetime(1970, 1, 1)
    insert_ignore(
        conn,
        user_profiles,
        [{"user_id": u, "top_tags": [], "tag_weights": {}, "updated_at": epoch} for u in ids],
    )
    stmt = select(user_profiles).where(user_profiles.c.user_id.in_(ids)).with_for_update()
    return {r.user_id: _profile(r) for r in conn.execute(stmt)}


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


def clear_profiles(conn: Connection) -> None:
    """Delete every row (a rebuild folds all events again in the same transaction)."""
    conn.execute(delete(user_profiles))
