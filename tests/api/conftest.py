"""API fixtures: the real app under uvicorn on each stack, talked to over HTTP.

Stacks: the embedded default (SQLite, in-process cache, SQLite event log), PostgreSQL +
Redis + Kafka, and MariaDB + Redis + Kafka. Each stack's server runs once per session
with its consumers in-process (a Kafka group join costs seconds); between tests the
consumers are drained, the tables emptied and the test's cache keys dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from recomind.api.app import create_app
from recomind.api.state import AppState
from recomind.cache import CacheError
from recomind.config import Settings
from tests.conftest import truncate
from tests.utils.kafka import LazyBroker
from tests.utils.server import live_server
from tests.utils.services import redis_or_skip, unique_name
from tests.utils.settle import settle

STACKS = {
    "embedded": ("sqlite", "memory", "local"),
    "postgres+redis": ("postgres", "redis", "kafka"),
    "mysql+redis": ("mysql", "redis", "kafka"),
}


@dataclass
class Api:
    http: httpx.Client
    settings: Settings
    engine: Engine
    base_url: str
    state: AppState

    def settle(self) -> None:
        """Wait until the consumers have applied every accepted action."""
        settle(self.settings)


def make_settings(
    db_url: str, cache_url: str, bus_url: str, tmp: Path, **overrides: Any
) -> Settings:
    name = unique_name("t")
    values: dict[str, Any] = {
        "database_url": db_url,
        "cache_url": cache_url,
        "cache_prefix": name + ":",
        "event_bus_url": bus_url,
        "kafka_topic": f"{name}.video_actions_stream",
        "kafka_group_prefix": name + "-",
        "kafka_partitions": 3,
        "lake_url": f"file://{tmp / name / 'lake'}",
        "lake_flush_seconds": 0.2,
        "consumer_poll_ms": 50,
        "serve_consumers": "all",
        "environment": "test",
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_api(settings: Settings) -> Iterator[Api]:
    """Serve a fresh app for ``settings``; drop its cache keys afterwards."""
    app = create_app(settings)
    state: AppState = app.state.recomind
    try:
        with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as http:
            yield Api(http, settings, state.engine, base, state)
    finally:
        with suppress(CacheError):  # a test may point the cache at a dead port on purpose
            state.cache.backend.delete_prefix(settings.cache_prefix)


@pytest.fixture(scope="session")
def stack_settings(
    _migrated_urls: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    kafka_broker: LazyBroker,
) -> Callable[..., Settings]:
    """``stack name -> Settings`` for a fresh deployment on that stack (servers started lazily)."""
    tmp = tmp_path_factory.mktemp("stacks")

    def build(stack: str, **overrides: Any) -> Settings:
        db_kind, cache_kind, bus_kind = STACKS[stack]
        db_url = _migrated_urls[db_kind]
        cache_url = overrides.pop("cache_url", None) or (
            "memory://" if cache_kind == "memory" else redis_or_skip()
        )
        if bus_kind == "kafka":
            bus_url = kafka_broker.url
        else:
            bus_url = f"sqlite:///{tmp / unique_name('bus')}.db"
        return make_settings(db_url, cache_url, bus_url, tmp, **overrides)

    return build


@pytest.fixture(scope="session")
def _servers(stack_settings: Callable[..., Settings]) -> Iterator[dict[str, Api]]:
    """One running server per stack for the session, started on first use."""
    with ExitStack() as stack:

        class Lazy(dict[str, Api]):
            def __missing__(self, name: str) -> Api:
                api = stack.enter_context(running_api(stack_settings(name)))
                self[name] = api
                return api

        yield Lazy()


def reset(api: Api) -> None:
    """Between tests: drain the consumers, empty the tables, forget cached state."""
    api.settle()
    truncate(api.engine)
    api.state.cache.backend.delete_prefix(api.settings.cache_prefix)
    api.state.known_videos.clear()
    api.state.recommendations.reset_local_state()


@pytest.fixture(params=list(STACKS), ids=list(STACKS))
def stack(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def api(stack: str, _servers: dict[str, Api]) -> Iterator[Api]:
    a = _servers[stack]
    reset(a)
    yield a
    a.settle()


@pytest.fixture
def embedded_api(_servers: dict[str, Api]) -> Iterator[Api]:
    """The embedded default only (for tests about one stack's behaviour)."""
    a = _servers["embedded"]
    reset(a)
    yield a
    a.settle()
