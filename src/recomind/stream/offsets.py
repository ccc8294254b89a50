"""What a consumer group has applied: event ids decide, stored offsets detect regressions.

**Event ids decide.** Every group applies an event at most once per event id, whatever offset
it arrives at: ``persist`` through the primary key of ``video_actions``, every other group
through its claims in ``event_claims`` (:func:`claim_events`), written in the same
transaction as its effect. So a message the producer wrote twice (a retry after a broker
restart), a batch sent again, or a partition read again after a crash or a rebalance
changes nothing the second time. A live event's claim expires after
``event_claims_days`` (longer than the bus keeps a message); a bulk event's is kept.

**Offsets detect.** ``consumer_offsets`` keeps, per (group, topic, partition), the offset
after the last record the group applied. A record below it is normally one read again (its
id is claimed already). A record below it whose id is *new* means the bus's offsets went
back: the topic was deleted and created again, a broker lost its log, or someone reset the
group. The rule then (:func:`settle`): the record is applied (by id, like any other), the
stored offset follows the bus down to where this batch ends, and the regression is reported
(logged as an error and counted in ``recomind_consumer_offset_regressions_total``) once per
partition per episode. The runner also compares the stored offsets with the bus's log ends
(:func:`follow_log_ends`), so an idle group notices a topic that came back shorter.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter
from sqlalchemy import Connection

from recomind.records import Record
from recomind.schemas import ActionEvent
from recomind.storage.event_claims import claim_event_ids
from recomind.storage.offsets import advance_offsets, lock_offsets, reset_offsets_above

logger = logging.getLogger(__name__)

REGRESSIONS = Counter(
    "recomind_consumer_offset_regressions_total",
    "Times a group found the bus's offsets below the ones it stored (topic recreated, "
    "log lost, offsets reset), per group",
    ["group"],
)
REREAD_NEW = Counter(
    "recomind_consumer_regressed_events_total",
    "Events applied from below a group's stored offset (after an offset regression)",
    ["group"],
)


@dataclass(frozen=True)
class Regression:
    """Partition ``partition`` of ``topic``: ``group`` had stored ``stored``; the bus gave
    ``new_events`` unseen events from offset ``first`` (or its log ends at ``first``)."""

    group: str
    topic: str
    partition: int
    stored: int
    first: int
    new_events: int

    def report(self) -> None:
        REGRESSIONS.labels(self.group).inc()
        REREAD_NEW.labels(self.group).inc(self.new_events)
        seen = (
            f"{self.new_events} new events from offset {self.first}"
            if self.new_events
            else f"its log ends at offset {self.first}"
        )
        logger.error(
            "OFFSET REGRESSION: group %s, %s partition %d: stored offset %d, but the bus has "
            "%s (the topic was recreated, the broker lost its log, or the group's offsets "
            "were reset). Events are applied by event id, so nothing is skipped or counted "
            "twice; the stored offset now follows the bus.",
            self.group,
            self.topic,
            self.partition,
            self.stored,
            seen,
        )


def lock(
    conn: Connection, *, group: str, records: Sequence[Record], now: datetime
) -> dict[int, int]:
    """Lock the group's offset rows of the partitions in ``records`` (``FOR UPDATE``, until
    the transaction ends); returns ``partition -> stored next offset``."""
    if not records:
        return {}
    partitions = sorted({r.partition for r in records})
    return lock_offsets(conn, group=group, topic=records[0].topic, partitions=partitions, now=now)


def claim_events(
    conn: Connection,
    *,
    group: str,
    events: Sequence[ActionEvent],
    now: datetime,
    live_days: float,
) -> list[ActionEvent]:
    """``events`` less those ``group`` applied before (by id) and the later copies of an id
    within ``events``; claims the rest. A live event's claim expires ``live_days`` after
    ``now``, a bulk event's never."""
    if not events:
        return []
    live = [e.event_id for e in events if not e.bulk]
    bulk = [e.event_id for e in events if e.bulk]
    fresh: set[str] = set()
    if live:
        expires = now + timedelta(days=live_days)
        fresh |= claim_event_ids(conn, group=group, event_ids=live, expires_at=expires)
    if bulk:
        fresh |= claim_event_ids(conn, group=group, event_ids=bulk)
    out: list[ActionEvent] = []
    for e in events:
        if e.event_id in fresh:
            fresh.discard(e.event_id)  # a second copy in this batch is a duplicate too
            out.append(e)
    return out


def settle(
    conn: Connection,
    *,
    group: str,
    items: Sequence[tuple[Record, ActionEvent | None]],
    stored: Mapping[int, int],
    applied: Collection[str],
    now: datetime,
) -> list[Regression]:
    """Advance the group's stored offsets past ``items`` (rows :func:`lock` locked) and
    return the partitions whose offsets went back (see the module docstring).

    ``applied`` holds the ids of the events the group applied in this transaction: a record
    below its stored offset whose event is among them is new, not read again."""
    if not items:
        return []
    topic = items[0][0].topic
    regressions: list[Regression] = []
    advanced: dict[int, int] = {}
    for p in sorted({r.partition for r, _ in items}):
        mine = [(r, e) for r, e in items if r.partition == p]
        top = max(r.offset for r, _ in mine) + 1
        below_new = [
            r.offset
            for r, e in mine
            if r.offset < stored[p] and e is not None and e.event_id in applied
        ]
        if below_new:
            regressions.append(
                Regression(group, topic, p, stored[p], min(below_new), len(below_new))
            )
            advanced[p] = top  # follow the bus down
        elif top > stored[p]:
            advanced[p] = top
    advance_offsets(conn, group=group, topic=topic, offsets=advanced, now=now)
    return regressions


def follow_log_ends(
    conn: Connection, *, group: str, topic: str, ends: Mapping[int, int], now: datetime
) -> list[Regression]:
    """Reset to 0 the group's stored offsets that are above the bus's log ends ``ends`` (the
    topic came back shorter: recreated, or its broker lost the log), so that the new log's
    records, read from wherever the group's position is, are not reported again; returns
    those partitions as regressions (not yet reported)."""
    reset = reset_offsets_above(conn, group=group, topic=topic, ends=ends, now=now)
    return [Regression(group, topic, p, was, ends[p], 0) for p, was in sorted(reset.items())]
