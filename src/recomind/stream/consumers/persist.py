"""``persist``: insert every action into ``video_actions`` (idempotent on ``event_id``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from recomind.schemas import ActionEvent
from recomind.storage.actions import insert_actions
from recomind.storage.users import ensure_users
from recomind.stream.consumers.base import DatabaseHandler


class PersistHandler(DatabaseHandler):
    """Claims no ids: the primary key of ``video_actions`` is the event id, so the insert
    itself keeps each event once and says which were new."""

    group = "persist"
    files_dead_letters = True

    def apply_new(
        self, conn: Connection, events: list[ActionEvent], *, now: datetime
    ) -> list[ActionEvent]:
        if not events:
            return []
        ensure_users(conn, user_ids=[e.user_id for e in events])  # first-time users
        return insert_actions(conn, events=events)

    def tick(self) -> dict[int, int]:
        return {}  # no claims to prune
