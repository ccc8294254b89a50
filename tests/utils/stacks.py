"""Deployments for tests: a stack is a database, a cache and an event bus.

Stacks: the embedded default (SQLite, in-process cache, SQLite event log), PostgreSQL +
Redis + Kafka, and MariaDB + Redis + Kafka.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine

from recomind.api.app import create_app
from recomind.api.state import AppState
from recomind.cache import CacheError
from recomind.config import Settings
from tests.utils.credentials import TEST_MASTER_KEY, TEST_TOKEN_SECRET, admin_headers
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
    app: FastAPI | None = None

    def settle(self) -> None:
        """Wait until the consumers have applied every accepted action and the background
        refreshes they (or the API) started have finished."""
        settle(self.settings)
        assert self.state.recommendations.wait_for_refreshes(), "refreshes did not finish"


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
        "model_dir": str(tmp / name / "models"),
        "lake_flush_seconds": 0.2,
        "consumer_poll_ms": 50,
        # A loaded 2-core CI box can stall Redis replies past the production 0.25 s.
        "cache_timeout_s": 2.0,
        "serve_consumers": "all",
        "environment": "test",
        # Scenario tests post far faster than a person taps; the limiter still runs on every
        # action (tests/api/test_rate_limit.py checks the production default's behaviour).
        "event_rate_limit": "1000/second",
        # Likewise the request limits (per key, user and address: one loopback address and one
        # key for every test); tests/api/test_request_limits.py checks real limits.
        "rate_limits_per_key": "*=100000/second",
        "rate_limits_per_user": "*=100000/second",
        "rate_limits_per_address": "*=100000/second",
        # A session-long server must not train on its own: after 10,000 events (a bulk-load
        # test) the scheduler would publish a model of an earlier test's catalogue and later
        # tests would rank with it. Tests run jobs explicitly; tests/jobs covers the scheduler.
        "jobs_interval_minutes": 0,
        # The served-list log (off by default) is on: its tests read what these servers log.
        "impressions_log": True,
        # Auth is on, as in production; the stacks' clients send the master key by default.
        "master_key": TEST_MASTER_KEY,
        "token_secret": TEST_TOKEN_SECRET,
        "web_sign_in": True,
        "key_cache_s": 1.0,  # a revoked key is refused within 1 s (tests wait for it)
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_api(settings: Settings) -> Iterator[Api]:
    """Serve a fresh app for ``settings``; drop its cache keys afterwards."""
    app = create_app(settings)
    state: AppState = app.state.recomind
    try:
        with (
            live_server(app, settings) as base,
            httpx.Client(base_url=base, timeout=30, headers=admin_headers()) as http,
        ):
            yield Api(http, settings, state.engine, base, state, app)
    finally:
        with suppress(CacheError):  # a test may point the cache at a dead port on purpose
            state.cache.backend.delete_prefix(settings.cache_prefix)


def stack_settings_factory(
    _migrated_urls: dict[str, str],
    tmp: Path,
    kafka_broker: LazyBroker,
) -> Callable[..., Settings]:
    """``stack name -> Settings`` for a fresh deployment on that stack (servers started lazily)."""

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


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a ``recomind`` subprocess use ``settings``."""
    env = {}
    for name, value in settings.model_dump().items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is not None:
            env["RECOMIND_" + name.upper()] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    return env
