"""Bulk actions onto the bus: what ``POST /video_actions/batch`` and ``recomind import actions``
share.

:func:`prepare` checks a batch against the catalogue and what is stored, and decides each
item's fate: ``accepted`` (an event to publish), ``duplicate`` (its event id was stored
before, or comes earlier in the batch or the import: it counts once) or ``rejected`` (a
timestamp beyond now + ``event_max_future_s``, or an unknown video). Historical timestamps
are accepted. :func:`publish` then hands the accepted events to the bus in one
``publish_many``; they take the same path as live events (the consumer groups), marked
``bulk`` so that popularity and profiles count a re-sent id once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection

from recomind.event_ids import client_event_id, derived_event_id
from recomind.event_time import check_event_time
from recomind.schemas import ActionEvent, BatchAction
from recomind.storage.actions import stored_event_ids
from recomind.storage.inserts import new_id
from recomind.storage.videos import existing_video_ids
from recomind.stream.bus import Producer

Status = Literal["accepted", "duplicate", "rejected"]


@dataclass(frozen=True)
class Outcome:
    """One item's fate; ``field`` and ``message`` say why it was rejected."""

    status: Status
    event_id: str | None = None
    field: str | None = None
    message: str | None = None


SEEN_IDS_MAX = 1_000_000


@dataclass
class Seen:
    """What a run of batches remembers between them (one import): the event ids already
    accepted and the videos already looked up.

    At most :data:`SEEN_IDS_MAX` ids are kept (about 150 MB); past that the set starts
    again, and a repeat of a forgotten id that is not stored yet is published again: the
    consumers still count it once, the import's summary counts it as accepted.
    """

    event_ids: set[str] = field(default_factory=set)
    videos: set[str] = field(default_factory=set)
    missing_videos: set[str] = field(default_factory=set)

    def remember(self, event_ids: Iterable[str]) -> None:
        if len(self.event_ids) > SEEN_IDS_MAX:
            self.event_ids.clear()
        self.event_ids.update(event_ids)


@dataclass
class Prepared:
    """A checked batch: one outcome per item, and the events to publish."""

    outcomes: list[Outcome]
    events: list[ActionEvent]

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def prepare(
    conn: Connection,
    *,
    items: Sequence[BatchAction],
    now: datetime,
    max_future_s: float,
    derive_ids: bool,
    seen: Seen | None = None,
) -> Prepared:
    """Check ``items`` and build their events.

    Parameters
    ----------
    conn
        Reads the catalogue and the stored event ids.
    items
        The actions, already valid by their schema.
    now
        The server's time (timestamps beyond ``now + max_future_s`` are rejected; ``None``
        means ``now``).
    derive_ids
        An item without ``event_id`` gets an id derived from its fields (the importer:
        the same row is the same event) instead of a new random one (the HTTP batch).
    seen
        State kept across the batches of one run; the accepted ids are added to it.
    """
    seen = seen if seen is not None else Seen()
    outcomes: list[Outcome | None] = [None] * len(items)
    timed: list[tuple[int, BatchAction, datetime]] = []
    for i, item in enumerate(items):
        try:
            at = check_event_time(
                item.timestamp, now=now, max_future_s=max_future_s, max_age_s=None
            )
        except ValueError as exc:
            outcomes[i] = Outcome("rejected", field="timestamp", message=str(exc))
            continue
        timed.append((i, item, at))
    _check_videos(conn, (item.video_id for _, item, _ in timed), seen)
    candidates: dict[str, tuple[int, ActionEvent]] = {}
    for i, item, at in timed:
        if item.video_id in seen.missing_videos:
            message = f"video {item.video_id!r} not found; create it first (POST /videos)"
            outcomes[i] = Outcome("rejected", field="video_id", message=message)
            continue
        event_id = _event_id(item, at, derive_ids)
        if event_id in candidates or event_id in seen.event_ids:
            outcomes[i] = Outcome("duplicate", event_id)
            continue
        event = ActionEvent(
            event_id=event_id,
            user_id=item.user_id,
            video_id=item.video_id,
            action_type=item.action_type,
            timestamp=at,
            watch_time_ms=item.watch_time_ms,
            bulk=True,
        )
        candidates[event_id] = (i, event)
    stored = stored_event_ids(conn, event_ids=list(candidates))
    events: list[ActionEvent] = []
    for event_id, (i, event) in candidates.items():
        if event_id in stored:
            outcomes[i] = Outcome("duplicate", event_id)
        else:
            outcomes[i] = Outcome("accepted", event_id)
            events.append(event)
    seen.remember(candidates)
    done = [o for o in outcomes if o is not None]
    assert len(done) == len(items), "every item has an outcome"
    return Prepared(done, events)


def _event_id(item: BatchAction, at: datetime, derive_ids: bool) -> str:
    if item.event_id is not None:
        return client_event_id(item.event_id)
    if not derive_ids:
        return new_id()
    return derived_event_id(
        user_id=item.user_id,
        video_id=item.video_id,
        action_type=item.action_type,
        timestamp=at,
        watch_time_ms=item.watch_time_ms,
    )


def _check_videos(conn: Connection, video_ids: Iterable[str], seen: Seen) -> None:
    ask = {v for v in video_ids if v not in seen.videos and v not in seen.missing_videos}
    if ask:
        found = existing_video_ids(conn, video_ids=ask)
        seen.videos |= found
        seen.missing_videos |= ask - found


def messages(events: Iterable[ActionEvent]) -> list[tuple[bytes, bytes]]:
    """``(key, value)`` of each event: keyed by user, like live events."""
    return [(e.user_id.encode(), e.to_json()) for e in events]


async def publish(producer: Producer, topic: str, encoded: Sequence[tuple[bytes, bytes]]) -> None:
    """Put :func:`messages` on the bus; raises
    :class:`~recomind.stream.bus.BusUnavailableError` when the bus did not take them all."""
    await producer.publish_many(topic, encoded)
