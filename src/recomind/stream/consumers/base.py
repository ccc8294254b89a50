"""What every consumer group's handler does, and the shared pieces it gets."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.erasure_ids import subject_hash
from recomind.records import Record
from recomind.schemas import ActionEvent, to_naive_utc, utcnow
from recomind.serving.service import RecommendationService
from recomind.storage.engine import retrying, write_tx
from recomind.storage.erasure import erased_since
from recomind.storage.event_claims import prune_claims
from recomind.stream import offsets

logger = logging.getLogger(__name__)

#: How often a database group drops its expired event claims.
PRUNE_EVERY_S = 3600.0

Item = tuple[Record, ActionEvent | None]  # None: the message could not be parsed (sent to DLQ)


@dataclass
class Context:
    settings: Settings
    engine: Engine
    cache: SafeCache
    recommendations: RecommendationService


def drop_erased(conn: Connection, events: list[ActionEvent]) -> list[ActionEvent]:
    """``events`` without those of erased users dated at or before their erasure: events
    still in flight on the bus when the user was erased never bring them back (an action
    dated after the erasure is a new one, and creates the user again: docs/erasure.md)."""
    if not events:
        return events
    hashes = {e.user_id: subject_hash(e.user_id) for e in events}
    erased = erased_since(conn, subject_hashes=hashes.values())
    if not erased:
        return events
    kept = [
        e
        for e in events
        if (at := erased.get(hashes[e.user_id])) is None or to_naive_utc(e.timestamp) > at
    ]
    if len(kept) < len(events):
        logger.info("dropped %d events of erased users", len(events) - len(kept))
    return kept


def next_offsets(items: Sequence[Item]) -> dict[int, int]:
    """``partition -> offset after the last item``: what to commit once ``items`` are done."""
    out: dict[int, int] = {}
    for record, _ in items:
        out[record.partition] = max(out.get(record.partition, 0), record.offset + 1)
    return out


class Handler(ABC):
    """Applies batches of one group. Returns the offsets that are safe to commit."""

    group: str = ""
    #: Whether this group reports unparseable messages to the DLQ. Every group skips them;
    #: only one (``persist``) files them, so the DLQ holds each bad message once.
    files_dead_letters: bool = False

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @abstractmethod
    def handle(self, items: Sequence[Item]) -> dict[int, int]:
        """Apply ``items`` durably (or buffer them) and return committable offsets."""

    def tick(self) -> dict[int, int]:
        """Called when a poll returned nothing: time-based work (flushes, signals)."""
        return {}

    def flush(self) -> dict[int, int]:
        """Called on shutdown: make buffered work durable."""
        return {}


class DatabaseHandler(Handler):
    """A group whose effect is a database change, applied once per event id.

    Each batch is one transaction: lock the group's offset rows, keep the events it has not
    applied (:meth:`apply_new`: by id), apply them, advance the offsets
    (:func:`~recomind.stream.offsets.settle`, which also spots offset regressions). So a
    message delivered again (a crash before the bus commit, a rebalance, a producer retry at
    a new offset, a re-sent batch) changes nothing. Expired claims are pruned from
    :meth:`tick` once per :data:`PRUNE_EVERY_S`.
    """

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._pruned_at = time.monotonic()

    def handle(self, items: Sequence[Item]) -> dict[int, int]:
        def tx() -> tuple[list[ActionEvent], list[offsets.Regression]]:
            now = utcnow()
            with write_tx(self.ctx.engine) as conn:
                stored = offsets.lock(
                    conn, group=self.group, records=[r for r, _ in items], now=now
                )
                events = drop_erased(conn, [e for _, e in items if e is not None])
                applied = self.apply_new(conn, events, now=now)
                regressions = offsets.settle(
                    conn,
                    group=self.group,
                    items=items,
                    stored=stored,
                    applied={e.event_id for e in applied},
                    now=now,
                )
            return applied, regressions

        applied, regressions = retrying(tx)
        for regression in regressions:
            regression.report()
        self.after_commit(applied)
        return next_offsets(items)

    def apply_new(
        self, conn: Connection, events: list[ActionEvent], *, now: datetime
    ) -> list[ActionEvent]:
        """Apply the events of ``events`` this group has not applied before; return them.

        Claims each id in ``event_claims`` (:func:`~recomind.stream.offsets.claim_events`),
        then :meth:`apply`. A group whose effect is itself keyed by event id overrides it."""
        fresh = offsets.claim_events(
            conn,
            group=self.group,
            events=events,
            now=now,
            live_days=self.ctx.settings.event_claims_days,
        )
        self.apply(conn, fresh)
        return fresh

    def apply(self, conn: Connection, events: list[ActionEvent]) -> None:
        """The effect of events seen for the first time, inside the transaction."""

    def after_commit(self, events: list[ActionEvent]) -> None:
        """Side effects outside the database (cache), once the transaction is committed."""

    def tick(self) -> dict[int, int]:
        if time.monotonic() - self._pruned_at >= PRUNE_EVERY_S:
            self._pruned_at = time.monotonic()
            with write_tx(self.ctx.engine) as conn:
                dropped = prune_claims(conn, group=self.group, now=utcnow())
            if dropped:
                logger.info("group %s: pruned %d expired event claims", self.group, dropped)
        return {}
