"""API fixtures: the real app under uvicorn on each stack, talked to over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from recomind.api.app import create_app
from recomind.cache import CacheError
from recomind.config import Settings
from recomind.storage.engine import make_engine
from tests.conftest import truncate
from tests.utils.server import live_server
from tests.utils.services import redis_or_skip, unique_name

STACKS = {
    "embedded": ("sqlite", "memory"),
    "postgres+redis": ("postgres", "redis"),
    "mysql+redis": ("mysql", "redis"),
}


@dataclass
class Api:
    http: httpx.Client
    settings: Settings
    engine: Engine
    base_url: str


def make_settings(db_url: str, cache_url: str, **overrides: Any) -> Settings:
    return Settings(
        database_url=db_url,
        cache_url=cache_url,
        cache_prefix=unique_name("t") + ":",
        environment="test",
        **overrides,
    )


@contextmanager
def running_api(settings: Settings) -> Iterator[Api]:
    """Serve a fresh app for ``settings``; drop its cache keys afterwards."""
    app = create_app(settings)
    state = app.state.recomind
    try:
        with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as http:
            yield Api(http, settings, state.engine, base)
    finally:
        with suppress(CacheError):  # a test may point the cache at a dead port on purpose
            state.cache.backend.delete_prefix(settings.cache_prefix)


@pytest.fixture(params=list(STACKS), ids=list(STACKS))
def stack(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def api(stack: str, _migrated_urls: dict[str, str]) -> Iterator[Api]:
    db_kind, cache_kind = STACKS[stack]
    db_url = _migrated_urls[db_kind]
    cache_url = "memory://" if cache_kind == "memory" else redis_or_skip()
    eng = make_engine(db_url)
    truncate(eng)
    eng.dispose()
    with running_api(make_settings(db_url, cache_url)) as a:
        yield a


@pytest.fixture
def embedded_api(_migrated_urls: dict[str, str]) -> Iterator[Api]:
    """The embedded default only (for tests about one stack's behaviour)."""
    db_url = _migrated_urls["sqlite"]
    eng = make_engine(db_url)
    truncate(eng)
    eng.dispose()
    with running_api(make_settings(db_url, "memory://")) as a:
        yield a
