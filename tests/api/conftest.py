"""API fixtures: the real app under uvicorn on each stack, talked to over HTTP.

Stacks: the embedded default (SQLite, in-process cache, SQLite event log), PostgreSQL +
Redis + Kafka, and MariaDB + Redis + Kafka. Each stack's server runs once per session
with its consumers in-process (a Kafka group join costs seconds); between tests the
consumers are drained, the tables emptied and the test's cache keys dropped.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from recomind.config import Settings
from tests.conftest import truncate
from tests.utils.stacks import STACKS, Api, running_api


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
    """Between tests: drain the consumers, empty the tables and the lake, forget cached
    state (a test's lake rows and served pages would join to the next test's actions)."""
    api.settle()
    if api.state.recommendations.impressions is not None:
        api.state.recommendations.impressions.flush()
    lake = api.settings.lake_url.removeprefix("file://")
    if lake != api.settings.lake_url:
        shutil.rmtree(lake, ignore_errors=True)
    truncate(api.engine)
    api.state.cache.backend.delete_prefix(api.settings.cache_prefix)
    api.state.known_videos.clear()
    api.state.recommendations.reset_local_state()
    api.state.rate_limiter.reset_local_state()


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
