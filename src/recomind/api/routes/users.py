"""``POST /users``, ``GET /users/{user_id}``, ``GET /users/{user_id}/profile``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from recomind.api.deps import EngineDep, StateDep
from recomind.api.responses import errors, id_path
from recomind.errors import NotFoundError
from recomind.schemas import Profile, User, UserCreate
from recomind.storage import users
from recomind.storage.engine import read_tx, write_tx

router = APIRouter(tags=["users"])
UserId = Annotated[str, id_path("The client's own user id", "u2")]


@router.post("/users", status_code=201, response_model=User, responses=errors(409, body=True))
def create_user(body: UserCreate, engine: EngineDep) -> User:
    with write_tx(engine) as conn:
        return users.create_user(conn, user_id=body.user_id, name=body.name)


@router.get("/users/{user_id}", response_model=User, responses=errors(404))
def get_user(user_id: UserId, engine: EngineDep) -> User:
    with read_tx(engine) as conn:
        user = users.get_user(conn, user_id=user_id)
    if user is None:
        raise NotFoundError("user", "user_id", user_id)
    return user


@router.get("/users/{user_id}/profile", response_model=Profile, responses=errors(404))
def get_profile(user_id: UserId, state: StateDep) -> Profile:
    """The user's top tags, cached under ``user_profile:{user_id}`` (30 min)."""
    profile = state.recommendations.profiles.get(user_id)
    if profile is None:
        raise NotFoundError("user", "user_id", user_id)
    return profile
