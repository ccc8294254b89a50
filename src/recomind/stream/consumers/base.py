"""What every consumer group's handler does, and the shared pieces it gets."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.records import Record
from recomind.schemas import ActionEvent
from recomind.serving.service import RecommendationService
from recomind.storage.engine import retrying, write_tx
from recomind.stream import offsets

Item = tuple[Record, ActionEvent | None]  # None: the message could not be parsed (sent to DLQ)


@dataclass
class Context:
    settings: Settings
    engine: Engine
    cache: SafeCache
    recommendations: RecommendationService


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
    """A group whose effect is a database change, applied exactly once per message.

    The group's offsets are advanced in the same transaction as the effect, so a message
    delivered again (after a crash before the bus commit, or a rebalance) changes nothing.
    A group with ``claims_bulk_ids`` also applies each bulk event id once (a re-sent batch
    is new messages with the same ids).
    """

    #: Count a bulk event id once (``event_claims``). ``persist`` needs no claim: the
    #: primary key of ``video_actions`` is the event id.
    claims_bulk_ids: bool = False

    def handle(self, items: Sequence[Item]) -> dict[int, int]:
        def tx() -> list[ActionEvent]:
            with write_tx(self.ctx.engine) as conn:
                fresh = offsets.claim(conn, group=self.group, records=[r for r, _ in items])
                keep = {(r.partition, r.offset) for r in fresh}
                events = [e for r, e in items if e is not None and (r.partition, r.offset) in keep]
                if self.claims_bulk_ids:
                    events = offsets.claim_bulk_events(conn, group=self.group, events=events)
                self.apply(conn, events)
            return events

        applied = retrying(tx)
        self.after_commit(applied)
        return next_offsets(items)

    @abstractmethod
    def apply(self, conn: Connection, events: list[ActionEvent]) -> None:
        """The effect, inside the transaction."""

    def after_commit(self, events: list[ActionEvent]) -> None:
        """Side effects outside the database (cache), once the transaction is committed."""
