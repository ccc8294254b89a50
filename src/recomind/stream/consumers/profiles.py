"""``profiles``: fold actions into ``user_profiles`` and refresh what depends on them.

After the transaction the user's ``user_profile:{user_id}`` cache entry is dropped, and, when
``refresh_on_like`` is set, a taste action (a like, skip or unlike) refreshes
``recommendations:{user_id}`` in the background from the stored state (the API already
dropped the list when it accepted the action, and the next request counted it).
"""

from __future__ import annotations

from sqlalchemy import Connection

from recomind.folds import profiles
from recomind.schemas import ActionEvent
from recomind.serving.invalidation import TASTE_ACTIONS
from recomind.stream.consumers.base import DatabaseHandler


class ProfilesHandler(DatabaseHandler):
    group = "profiles"

    def apply(self, conn: Connection, events: list[ActionEvent]) -> None:
        profiles.apply(conn, settings=self.ctx.settings, events=events)

    def after_commit(self, events: list[ActionEvent]) -> None:
        service = self.ctx.recommendations
        for user in {e.user_id for e in events}:
            service.drop_profile(user)
        service.lists.stored(e.user_id for e in events if e.action_type in TASTE_ACTIONS)
