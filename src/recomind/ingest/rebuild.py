"""Recompute popularity and profiles from scratch, from any stream of events.

Used by ``recomind replay --from-lake`` (disaster recovery, new consumers), by the batch job,
and by tests that check the consumers against a from-scratch computation. It folds with the
same functions the consumers use, so both paths agree to rounding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from sqlalchemy import Engine

from recomind.config import Settings
from recomind.ingest import popularity, profiles
from recomind.schemas import ActionEvent
from recomind.storage.actions import all_events
from recomind.storage.engine import retrying, write_tx
from recomind.storage.popularity import clear_popularity
from recomind.storage.profiles import clear_profiles

CHUNK = 5000


def _chunks(events: Iterable[ActionEvent], size: int) -> Iterator[list[ActionEvent]]:
    it = iter(events)
    while chunk := list(islice(it, size)):
        yield chunk


def rebuild(engine: Engine, *, settings: Settings, events: Iterable[ActionEvent]) -> int:
    """Replace ``video_popularity`` and ``user_profiles`` by a fold over ``events``.

    One transaction: readers see the old state until the new one is complete. Returns the
    number of events folded.
    """

    def tx() -> int:
        n = 0
        with write_tx(engine) as conn:
            clear_popularity(conn)
            clear_profiles(conn)
            for chunk in _chunks(events, CHUNK):
                popularity.apply(conn, settings=settings, events=chunk)
                profiles.apply(conn, settings=settings, events=chunk)
                n += len(chunk)
        return n

    if not isinstance(events, list):
        events = list(events)  # a retry must be able to read them again
    return retrying(tx)


def stored_events(engine: Engine) -> list[ActionEvent]:
    """Every row of ``video_actions`` as events, oldest first."""
    with engine.connect() as conn:
        return all_events(conn)
