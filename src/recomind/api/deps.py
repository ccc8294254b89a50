"""``Annotated`` dependency aliases used by the routes.

Every dependency here is ``async def``: FastAPI runs a plain ``def`` dependency on the thread
pool, one hop per dependency and request, which under concurrency costs more than the work.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import Engine

from recomind.api.errors import FieldError
from recomind.api.state import AppState
from recomind.config import Settings


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.recomind
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_engine(state: StateDep) -> Engine:
    return state.engine


async def get_settings(state: StateDep) -> Settings:
    return state.settings


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def page_size(
    settings: SettingsDep,
    n: Annotated[int | None, Query(description="How many videos (1..max_n, default 20)")] = None,
) -> int:
    if n is None:
        return settings.default_n
    if not 1 <= n <= settings.max_n:
        raise FieldError(
            "query.n", f"must be an integer from 1 to {settings.max_n}, got {n}", status_code=422
        )
    return n


PageSizeDep = Annotated[int, Depends(page_size)]
