"""``persist``: insert every action into ``video_actions`` (idempotent on ``event_id``)."""

from __future__ import annotations

from sqlalchemy import Connection

from recomind.schemas import ActionEvent
from recomind.storage.actions import insert_actions
from recomind.storage.users import ensure_users
from recomind.stream.consumers.base import DatabaseHandler


class PersistHandler(DatabaseHandler):
    group = "persist"
    files_dead_letters = True

    def apply(self, conn: Connection, events: list[ActionEvent]) -> None:
        if events:
            ensure_users(conn, user_ids=[e.user_id for e in events])  # first-time users
            insert_actions(conn, events=events)
