"""``persist``: insert every action into ``video_actions`` (idempotent on ``event_id``)."""

from __future__ import annotations

from sqlalchemy import Connection

from recomind.schemas import ActionEvent
from recomind.storage import repository as repo
from recomind.stream.consumers.base import DatabaseHandler


class PersistHandler(DatabaseHandler):
    group = "persist"
    files_dead_letters = True

    def apply(self, conn: Connection, events: list[ActionEvent]) -> None:
        if events:
            repo.ensure_users(conn, user_ids=[e.user_id for e in events])  # first-time users
            repo.insert_actions(conn, events=events)
