"""Consumer offsets stored in the database, in the same transaction as each group's effect.

Kafka's own committed offset may lag (it is committed after the database transaction); a
message re-read after a crash or a rebalance is recognised here and skipped, so popularity
and profiles never count an event twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select, update

from recomind.schemas import utcnow
from recomind.storage.inserts import insert_ignore
from recomind.storage.tables import consumer_offsets
from recomind.stream.bus import Record


def claim(conn: Connection, *, group: str, records: Sequence[Record]) -> list[Record]:
    """Lock the group's offset rows, advance them past ``records``, return the unseen ones."""
    if not records:
        return []
    topic = records[0].topic
    partitions = sorted({r.partition for r in records})
    now = utcnow()
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
    stored = {int(p): int(o) for p, o in rows}
    fresh = [r for r in records if r.offset >= stored[r.partition]]
    for p in partitions:
        top = max(r.offset for r in records if r.partition == p) + 1
        if top > stored[p]:
            conn.execute(
                update(consumer_offsets)
                .where(
                    consumer_offsets.c.group_id == group,
                    consumer_offsets.c.topic == topic,
                    consumer_offsets.c.partition == p,
                )
                .values(next_offset=top, updated_at=now)
            )
    return fresh


def stored(conn: Connection, *, group: str, topic: str) -> dict[int, int]:
    rows = conn.execute(
        select(consumer_offsets.c.partition, consumer_offsets.c.next_offset).where(
            consumer_offsets.c.group_id == group, consumer_offsets.c.topic == topic
        )
    ).all()
    return {int(p): int(o) for p, o in rows}
