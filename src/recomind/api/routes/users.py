"""``POST /users``, ``GET /users/{user_id}``, ``GET /users/{user_id}/profile``."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path

from recomind.api.deps import EngineDep, StateDep
from recomind.cache import keys
from recomind.errors import NotFoundError
from recomind.schemas import ID_PATTERN, Profile, User, UserCreate
from recomind.storage import repository as repo
from recomind.storage.engine import read_tx, write_tx

router = APIRouter(tags=["users"])
UserId = Annotated[str, Path(pattern=ID_PATTERN, description="The client's own user id")]


@router.post("/users", status_code=201, response_model=User)
def create_user(body: UserCreate, engine: EngineDep) -> User:
    with write_tx(engine) as conn:
        return repo.create_user(conn, user_id=body.user_id, name=body.name)


@router.get("/users/{user_id}", response_model=User)
def get_user(user_id: UserId, engine: EngineDep) -> User:
    with read_tx(engine) as conn:
        user = repo.get_user(conn, user_id=user_id)
    if user is None:
        raise NotFoundError("user", "user_id", user_id)
    return user


@router.get("/users/{user_id}/profile", response_model=Profile)
def get_profile(user_id: UserId, state: StateDep) -> Profile:
    """The user's top tags, cached under ``user_profile:{user_id}`` (30 min)."""
    key = keys.key(state.settings.cache_prefix, keys.USER_PROFILE, user_id)
    cached = state.cache.get(key)
    if cached is not None:
        return Profile.model_validate_json(cached)
    with read_tx(state.engine) as conn:
        if repo.get_user(conn, user_id=user_id) is None:
            raise NotFoundError("user", "user_id", user_id)
        row = repo.get_profile(conn, user_id=user_id)
    profile = Profile(
        user_id=user_id,
        top_tags=row.top_tags if row else [],
        tag_weights=row.tag_weights if row else {},
        updated_at=row.updated_at if row else None,
    )
    state.cache.set(
        key, orjson.dumps(profile.model_dump(mode="json")), state.settings.user_profile_ttl_s
    )
    return profile
