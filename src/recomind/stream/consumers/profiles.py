"""``profiles``: fold actions into ``user_profiles`` and refresh what depends on them.

After the transaction the user's ``user_profile:{user_id}`` cache entry is dropped. Their
list needs nothing: the API dropped and refreshed it when it accepted a taste action, and
that refresh counted the action already (from the cache's recent actions).
"""

from __future__ import annotations

from sqlalchemy import Connection

from recomind.folds import profiles
from recomind.schemas import ActionEvent
from recomind.stream.consumers.base import DatabaseHandler


class ProfilesHandler(DatabaseHandler):
    group = "profiles"

    def apply(self, conn: Connection, events: list[ActionEvent]) -> None:
        profiles.apply(conn, settings=self.ctx.settings, events=events)

    def after_commit(self, events: list[ActionEvent]) -> None:
        service = self.ctx.recommendations
        for user in {e.user_id for e in events}:
            service.profiles.drop(user)
