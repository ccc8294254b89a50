"""Data functions over ``event_claims``: the event ids a consumer group has applied.

A group claims the ids in the same transaction as its effect (see
:mod:`recomind.stream.offsets`), so the caller's connection carries that transaction.
A claim with an ``expires_at`` is dropped by :func:`prune_claims` once that time passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, select

from recomind.storage.inserts import insert_new
from recomind.storage.tables import event_claims

_CHUNK = 5000


def claim_event_ids(
    conn: Connection,
    *,
    group: str,
    event_ids: Sequence[str],
    expires_at: datetime | None = None,
) -> set[str]:
    """Record ``event_ids`` as applied by ``group`` (kept until ``expires_at``; for ever if
    None); returns those not recorded before."""
    unique = list(dict.fromkeys(event_ids))
    rows = [{"group_id": group, "event_id": e, "expires_at": expires_at} for e in unique]
    new: set[str] = set()
    for i in range(0, len(rows), _CHUNK):
        new |= insert_new(conn, event_claims, rows[i : i + _CHUNK], "event_id")
    return new


def claimed_event_ids(conn: Connection, *, group: str) -> set[str]:
    """Every event id ``group`` holds a claim on (tests, audits)."""
    rows = conn.execute(
        select(event_claims.c.event_id).where(event_claims.c.group_id == group)
    ).scalars()
    return set(rows)


def prune_claims(conn: Connection, *, group: str, now: datetime) -> int:
    """Drop ``group``'s claims that expired before ``now``; returns how many."""
    result = conn.execute(
        delete(event_claims).where(
            event_claims.c.group_id == group,
            event_claims.c.expires_at.is_not(None),
            event_claims.c.expires_at < now,
        )
    )
    return int(result.rowcount or 0)
