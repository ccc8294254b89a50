"""Retention of the embedded bus's log (the SQLite file of :mod:`recomind.stream.local`).

:func:`compact` deletes, per topic partition, the events every required consumer group has
committed past (consumed: nothing is lost), and then, beyond a maximum age, older events even
if a group has not consumed them (a stuck or removed group would otherwise keep the file
growing for ever): those are logged as an error and counted, since a group that comes back
will not see them (``recomind replay`` rebuilds its state from ``video_actions``). The last
event of a partition is always kept, so its end offset never moves back. SQLite reuses the
freed pages, so the file stops growing once compaction keeps up.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Counter

logger = logging.getLogger(__name__)

COMPACTED = Counter(
    "recomind_bus_compacted_total",
    "Events deleted from the embedded bus's log",
    ["reason"],  # consumed | expired (not consumed by every group: lost to it)
)


@dataclass(frozen=True)
class Compaction:
    """What one :func:`compact` did."""

    consumed: int
    expired: int
    kept: int

    def as_dict(self) -> dict[str, int]:
        return {"consumed": self.consumed, "expired": self.expired, "kept": self.kept}


def compact(
    path: Path, *, groups: Sequence[str], max_age_s: float | None, now: float
) -> Compaction:
    """Delete what every group in ``groups`` consumed, and what is older than ``max_age_s``
    (``None``: no age cap), from the log at ``path``; see the module."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN IMMEDIATE")
        consumed = expired = 0
        parts = conn.execute(
            'SELECT topic, partition, MAX("offset") FROM log GROUP BY topic, partition'
        ).fetchall()
        for topic, partition, last in parts:
            rows = conn.execute(
                "SELECT group_id, next_offset FROM group_offsets WHERE topic = ? AND partition = ?",
                (topic, partition),
            ).fetchall()
            committed = dict(rows)
            floor = min((int(committed.get(g, 0)) for g in groups), default=0)
            cut = min(floor, int(last))  # keep the last event: the end offset stays put
            consumed += conn.execute(
                'DELETE FROM log WHERE topic = ? AND partition = ? AND "offset" < ?',
                (topic, partition, cut),
            ).rowcount
            if max_age_s is None:
                continue
            aged = conn.execute(
                'DELETE FROM log WHERE topic = ? AND partition = ? AND "offset" < ? AND ts < ?',
                (topic, partition, int(last), now - max_age_s),
            ).rowcount
            if aged:
                expired += aged
                lagging = sorted(g for g in groups if int(committed.get(g, 0)) <= int(last))
                logger.error(
                    "embedded bus: %d events of %s[%d] older than %.0f h deleted before "
                    "groups %s consumed them; replay their state from video_actions",
                    aged,
                    topic,
                    partition,
                    max_age_s / 3600,
                    ", ".join(lagging),
                )
        kept = int(conn.execute("SELECT COUNT(*) FROM log").fetchone()[0])
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    COMPACTED.labels("consumed").inc(consumed)
    COMPACTED.labels("expired").inc(expired)
    return Compaction(consumed, expired, kept)
