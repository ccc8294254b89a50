"""``Annotated`` dependency aliases used by the routes.

Every dependency here is ``async def``: FastAPI runs a plain ``def`` dependency on the thread
pool, one hop per dependency and request, which under concurrency costs more than the work.
Even so, FastAPI solves each dependency anew per request (about 40 µs apiece here): the
hottest routes (a cache hit) take the ``Request`` and call :func:`state_of` and
:func:`page_size_of` themselves instead.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import Engine

from recomind.api.errors import FieldError
from recomind.api.responses import PAGE_SIZE_MARK
from recomind.api.state import AppState
from recomind.config import Settings


def state_of(request: Request) -> AppState:
    """The app's :class:`AppState` (what :data:`StateDep` gives, without a dependency)."""
    state: AppState = request.app.state.recomind
    return state


async def get_state(request: Request) -> AppState:
    return state_of(request)


StateDep = Annotated[AppState, Depends(get_state)]


async def get_engine(state: StateDep) -> Engine:
    return state.engine


async def get_settings(state: StateDep) -> Settings:
    return state.settings


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


#: The ``n`` query parameter of a page; check it with :func:`page_size_of`.
PageSizeQuery = Annotated[
    int | None,
    Query(
        description="How many videos (1..max_n, default default_n)",
        json_schema_extra={PAGE_SIZE_MARK: True},
    ),
]


def page_size_of(settings: Settings, n: int | None) -> int:
    """``n`` checked against ``max_n`` (422 ``query.n``), or ``default_n`` when absent."""
    if n is None:
        return settings.default_n
    if not 1 <= n <= settings.max_n:
        raise FieldError(
            "query.n", f"must be an integer from 1 to {settings.max_n}, got {n}", status_code=422
        )
    return n


async def page_size(settings: SettingsDep, n: PageSizeQuery = None) -> int:
    return page_size_of(settings, n)


PageSizeDep = Annotated[int, Depends(page_size)]
