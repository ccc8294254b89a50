"""``popularity``: fold each action into the time-decayed ``video_popularity`` score."""

from __future__ import annotations

from sqlalchemy import Connection

from recomind.folds import popularity
from recomind.schemas import ActionEvent
from recomind.stream.consumers.base import DatabaseHandler


class PopularityHandler(DatabaseHandler):
    group = "popularity"

    def apply(self, conn: Connection, events: list[ActionEvent]) -> None:
        popularity.apply(conn, settings=self.ctx.settings, events=events)
