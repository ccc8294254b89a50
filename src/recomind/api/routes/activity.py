"""``GET /users`` (pick an account in the web app) and ``GET /users/{user_id}/actions``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from recomind.api.deps import EngineDep
from recomind.api.responses import errors, id_path
from recomind.errors import NotFoundError
from recomind.schemas import ActionType, User, UtcDatetime
from recomind.storage import actions, users
from recomind.storage.engine import read_tx

router = APIRouter(tags=["users"])

MAX_LIMIT = 100


class UserAction(BaseModel):
    """One stored action with the video it was about (``title`` is null if it was deleted)."""

    video_id: str
    action_type: ActionType
    timestamp: UtcDatetime
    watch_time_ms: int | None = None
    title: str | None = None
    url: str | None = None
    tags: list[str]


@router.get("/users", response_model=list[User], responses=errors())
def list_users(
    engine: EngineDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many users")] = 50,
) -> list[User]:
    """The oldest ``limit`` users, for the web app's account picker (no auth yet)."""
    with read_tx(engine) as conn:
        return users.list_users(conn, limit=limit)


@router.get("/users/{user_id}/actions", response_model=list[UserAction], responses=errors(404))
def user_actions(
    user_id: Annotated[str, id_path("The client's own user id", "u2")],
    engine: EngineDep,
    action_type: Annotated[ActionType | None, Query(description="Only this kind")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many actions")] = 20,
) -> list[UserAction]:
    """The user's newest actions, newest first (e.g. ``?action_type=like`` for recent likes)."""
    with read_tx(engine) as conn:
        if users.get_user(conn, user_id=user_id) is None:
            raise NotFoundError("user", "user_id", user_id)
        rows = actions.user_actions(
            conn, user_ids=[user_id], limit=limit, action_type=action_type, with_video=True
        )[user_id]
    return [
        UserAction(
            video_id=r.video_id,
            action_type=r.action_type,  # type: ignore[arg-type]
            timestamp=r.timestamp,
            watch_time_ms=r.watch_time_ms,
            title=r.title,
            url=r.url,
            tags=r.tags,
        )
        for r in rows
    ]
