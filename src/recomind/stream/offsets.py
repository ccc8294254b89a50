"""Consumer offsets stored in the database, in the same transaction as each group's effect.

Kafka's own committed offset may lag (it is committed after the database transaction); a
message re-read after a crash or a rebalance is recognised here and skipped, so popularity
and profiles never count an event twice. The rows are ``consumer_offsets``, read and written
through :mod:`recomind.storage.offsets`.

A bulk event (batch endpoint, importer) may also arrive again as a *new* message with the
same event id (a re-sent batch): :func:`claim_bulk_events` records such ids per group in
``event_claims`` (:mod:`recomind.storage.event_claims`), in the same transaction, and keeps
the first of each.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from recomind.records import Record
from recomind.schemas import ActionEvent, utcnow
from recomind.storage.event_claims import claim_event_ids
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


def claim_bulk_events(
    conn: Connection, *, group: str, events: Sequence[ActionEvent]
) -> list[ActionEvent]:
    """``events`` less the bulk ones whose id ``group`` has applied before (or earlier in
    ``events``); live events (server-made random ids) pass without a claim."""
    bulk = [e.event_id for e in events if e.bulk]
    if not bulk:
        return list(events)
    fresh = claim_event_ids(conn, group=group, event_ids=bulk)
    out: list[ActionEvent] = []
    for e in events:
        if e.bulk:
            if e.event_id not in fresh:
                continue
            fresh.discard(e.event_id)  # a second copy in this batch is a duplicate too
        out.append(e)
    return out
