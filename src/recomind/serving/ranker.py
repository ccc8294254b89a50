"""What ranks a user's list: the service's ranker, and each experiment variant's."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection

from recomind.schemas import RecommendedVideo
from recomind.storage.actions import HistoryItem
from recomind.storage.profiles import ProfileRow


class Ranker(Protocol):
    """Ranks videos for a user who has history. Must never return ``exclude``d videos."""

    def source(self) -> str:
        """What ranks now (``model:{version}``, ``tag-affinity``): the served-list log
        records it with every page, and the online figures are kept per source."""
        ...

    def rank(
        self,
        conn: Connection,
        *,
        user_id: str,
        history: list[HistoryItem],
        profile: ProfileRow | None,
        exclude: set[str],
        n: int,
    ) -> list[RecommendedVideo]: ...
