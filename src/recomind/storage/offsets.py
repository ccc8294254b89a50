"""Data functions over ``consumer_offsets``: the next offset each consumer group applied.

A group reads and advances its rows in the same transaction as its effect (see
:mod:`recomind.stream.offsets`), so the caller's connection carries that transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, select, update

from recomind.storage.inserts import insert_ignore
from recomind.storage.tables import consumer_offsets


def lock_offsets(
    conn: Connection, *, group: str, topic: str, partitions: Sequence[int], now: datetime
) -> dict[int, int]:
    """``partition -> next offset`` of ``partitions``, rows created at 0 if missing and read
    locked (``FOR UPDATE``) until the transaction ends."""
    insert_ignore(
        conn,
        consumer_offsets,
        [
            {"group_id": group, "topic": topic, "partition": p, "next_offset": 0, "updated_at": now}
            for p in partitions
        ],
    )
    rows = conn.execute(
        select(consumer_offsets.c.partition, consumer_offsets.c.next_offset)
        .where(
            consumer_offsets.c.group_id == group,
            consumer_offsets.c.topic == topic,
            consumer_offsets.c.partition.in_(partitions),
        )
        .with_for_update()
    ).all()
    return {int(p): int(o) for p, o in rows}


def advance_offsets(
    conn: Connection, *, group: str, topic: str, offsets: Mapping[int, int], now: datetime
) -> None:
    """Store ``partition -> next offset`` for rows :func:`lock_offsets` locked (one UPDATE
    per partition)."""
    for p, top in offsets.items():
        conn.execute(
            update(consumer_offsets)
            .where(
                consumer_offsets.c.group_id == group,
                consumer_offsets.c.topic == topic,
                consumer_offsets.c.partition == p,
            )
            .values(next_offset=top, updated_at=now)
        )


def stored_offsets(conn: Connection, *, group: str, topic: str) -> dict[int, int]:
    """``partition -> next offset`` the group has stored for ``topic`` (no lock)."""
    rows = conn.execute(
        select(consumer_offsets.c.partition, consumer_offsets.c.next_offset).where(
            consumer_offsets.c.group_id == group, consumer_offsets.c.topic == topic
        )
    ).all()
    return {int(p): int(o) for p, o in rows}


def reset_offsets_above(
    conn: Connection, *, group: str, topic: str, ends: Mapping[int, int], now: datetime
) -> dict[int, int]:
    """Set to 0 the stored offsets that are above the bus's log ends ``ends`` (the log came
    back shorter); returns ``partition -> the offset stored before`` of the rows reset."""
    stored = stored_offsets(conn, group=group, topic=topic)
    reset = {p: stored[p] for p, end in ends.items() if p in stored and stored[p] > end}
    for p in reset:
        conn.execute(
            update(consumer_offsets)
            .where(
                consumer_offsets.c.group_id == group,
                consumer_offsets.c.topic == topic,
                consumer_offsets.c.partition == p,
                consumer_offsets.c.next_offset > ends[p],
            )
            .values(next_offset=0, updated_at=now)
        )
    return reset
