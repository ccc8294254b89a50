"""Recompute popularity and profiles from scratch, from any stream of events.

Used by ``recomind replay --from-lake`` (disaster recovery, new consumers), by the
``popularity`` and ``profiles`` batch jobs, and by tests that check the consumers against a
from-scratch computation. It folds with the same functions the consumers use, so both paths
agree to rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine

from recomind.config import Settings
from recomind.folds import popularity, profiles
from recomind.schemas import ActionEvent
from recomind.storage.actions import all_events
from recomind.storage.engine import retrying, write_tx

CHUNK = 5000


@dataclass(frozen=True)
class Table:
    """A table a fold maintains: how to empty it (and the fold's per-pair states), and how
    to fold events into it."""

    clear: Callable[[Connection], None]
    fold: Callable[..., Any]


POPULARITY = Table(popularity.clear, popularity.apply)
PROFILES = Table(profiles.clear, profiles.apply)


def _chunks(events: Iterable[ActionEvent], size: int) -> Iterator[list[ActionEvent]]:
    it = iter(events)
    while chunk := list(islice(it, size)):
        yield chunk


def rebuild(
    engine: Engine,
    *,
    settings: Settings,
    events: Iterable[ActionEvent],
    tables: Sequence[Table] = (POPULARITY, PROFILES),
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Replace ``tables`` (default: ``video_popularity`` and ``user_profiles``) by a fold
    over ``events``.

    One transaction: readers see the old state until the new one is complete. Returns the
    number of events folded; ``progress(done, total)`` is called after each chunk.
    """
    stored = events if isinstance(events, list) else list(events)  # a retry reads them again

    def tx() -> int:
        n = 0
        with write_tx(engine) as conn:
            for table in tables:
                table.clear(conn)
            for chunk in _chunks(stored, CHUNK):
                for table in tables:
                    table.fold(conn, settings=settings, events=chunk)
                n += len(chunk)
                if progress is not None:
                    progress(n, len(stored))
        return n

    return retrying(tx)


def stored_events(engine: Engine) -> list[ActionEvent]:
    """Every row of ``video_actions`` as events, oldest first."""
    with engine.connect() as conn:
        return all_events(conn)
