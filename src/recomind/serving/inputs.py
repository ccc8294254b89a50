"""What ranking a batch of users needs, read in few queries (batch ranking, precompute)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from recomind.storage.actions import HistoryItem, user_actions
from recomind.storage.profiles import ProfileRow, get_profiles


@dataclass(frozen=True)
class UserInput:
    """What ranking one user needs: their history (newest first), profile and exclusions."""

    user_id: str
    history: list[HistoryItem]
    profile: ProfileRow | None
    exclude: set[str]


def batch_inputs(
    conn: Connection,
    *,
    user_ids: Sequence[str],
    seen: dict[str, set[str]],
    history_limit: int = 2000,
) -> list[UserInput]:
    """Histories and profiles of several users, two queries per 500 users (batch ranking).

    Parameters
    ----------
    conn
        An open connection.
    user_ids
        The users.
    seen
        Per user, videos acted on that may not be stored yet (the cache's recently seen).
    history_limit
        Newest actions kept per user.

    Returns
    -------
    list of UserInput
        In ``user_ids`` order; ``exclude`` is history plus ``seen``, as the service does.
    """
    ids = list(dict.fromkeys(user_ids))
    histories = user_actions(conn, user_ids=ids, limit=history_limit)
    profiles = get_profiles(conn, user_ids=ids)
    return [
        UserInput(
            u,
            histories[u],
            profiles.get(u),
            {h.video_id for h in histories[u]} | seen.get(u, set()),
        )
        for u in ids
    ]
