"""Apply accepted actions in one transaction: store, then popularity and profiles.

Only events that were new to ``video_actions`` touch the scores, so a redelivered event is
never counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from recomind.config import Settings
from recomind.folds import popularity, profiles
from recomind.schemas import ActionEvent
from recomind.storage.actions import insert_actions
from recomind.storage.engine import retrying, write_tx
from recomind.storage.users import ensure_users


def apply_events(
    engine: Engine, *, settings: Settings, events: Sequence[ActionEvent]
) -> list[ActionEvent]:
    """Persist ``events`` and update derived state; returns the events that were new."""

    def tx() -> list[ActionEvent]:
        with write_tx(engine) as conn:
            ensure_users(conn, user_ids=[e.user_id for e in events])
            fresh = insert_actions(conn, events=events)
            popularity.apply(conn, settings=settings, events=fresh)
            profiles.apply(conn, settings=settings, events=fresh)
        return fresh

    return retrying(tx)
