"""Helpers shared by the storage contract tests."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine

from recomind.config import Settings
from recomind.folds.pipeline import apply_events
from recomind.schemas import ActionEvent
from recomind.storage.inserts import new_id


def event(user: str, video: str, kind: str, at: datetime, watch: int | None = None) -> ActionEvent:
    """An action with a fresh event id."""
    return ActionEvent(
        event_id=new_id(),
        user_id=user,
        video_id=video,
        action_type=kind,  # type: ignore[arg-type]
        timestamp=at,
        watch_time_ms=watch,
    )


def apply_in_random_batches(
    engine: Engine,
    settings: Settings,
    events: Sequence[ActionEvent],
    rng: random.Random,
    *,
    largest: int,
) -> None:
    """``apply_events`` over ``events`` in order, in batches of 1..``largest``."""
    i = 0
    while i < len(events):
        size = rng.randint(1, largest)
        apply_events(engine, settings=settings, events=events[i : i + size])
        i += size
