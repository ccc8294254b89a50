"""Consumer offsets stored in the database, in the same transaction as each group's effect.

Kafka's own committed offset may lag (it is committed after the database transaction); a
message re-read after a crash or a rebalance is recognised here and skipped, so popularity
and profiles never count an event twice. The rows are ``consumer_offsets``, read and written
through :mod:`recomind.storage.offsets`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from recomind.records import Record
from recomind.schemas import utcnow
from recomind.storage.offsets import advance_offsets, lock_offsets


def claim(conn: Connection, *, group: str, records: Sequence[Record]) -> list[Record]:
    """Lock the group's offset rows, advance them past ``records``, return the unseen ones."""
    if not records:
        return []
    topic = records[0].topic
    partitions = sorted({r.partition for r in records})
    now = utcnow()
    stored = lock_offsets(conn, group=group, topic=topic, partitions=partitions, now=now)
    fresh = [r for r in records if r.offset >= stored[r.partition]]
    advanced: dict[int, int] = {}
    for p in partitions:
        top = max(r.offset for r in records if r.partition == p) + 1
        if top > stored[p]:
            advanced[p] = top
    advance_offsets(conn, group=group, topic=topic, offsets=advanced, now=now)
    return fresh
