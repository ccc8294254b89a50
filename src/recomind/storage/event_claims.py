"""Data functions over ``event_claims``: bulk event ids a consumer group has applied.

A group claims the ids in the same transaction as its effect (see
:mod:`recomind.stream.offsets`), so the caller's connection carries that transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from recomind.storage.inserts import insert_new
from recomind.storage.tables import event_claims


def claim_event_ids(conn: Connection, *, group: str, event_ids: Sequence[str]) -> set[str]:
    """Record ``event_ids`` as applied by ``group``; returns those not recorded before."""
    unique = list(dict.fromkeys(event_ids))
    rows = [{"group_id": group, "event_id": e} for e in unique]
    new: set[str] = set()
    for i in range(0, len(rows), 5000):
        new |= insert_new(conn, event_claims, rows[i : i + 5000], "event_id")
    return new
