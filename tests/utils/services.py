"""Real services for tests: fresh databases per run, unique Redis key prefixes.

Under ``CI=true`` a service that does not answer fails the test; elsewhere it is skipped
with the reason, so a newcomer without servers still runs the embedded suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from recomind.storage.engine import make_engine, normalize_url

POSTGRES_ADMIN_URL = os.environ.get(
    "RECOMIND_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MYSQL_ADMIN_URL = os.environ.get("RECOMIND_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
REDIS_URL = os.environ.get("RECOMIND_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(what: str, exc: BaseException) -> None:
    """Fail under CI, skip elsewhere: a missing service is never a silent pass in CI."""
    msg = f"{what} is not reachable ({type(exc).__name__}: {exc})"
    if in_ci():
        pytest.fail(msg + " — CI=true requires every service", pytrace=False)
    pytest.skip(msg)


def unique_name(prefix: str = "recomind_test") -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """Create an empty database on the ``postgres`` or ``mysql`` server; drop it afterwards."""
    admin_url = POSTGRES_ADMIN_URL if kind == "postgres" else MYSQL_ADMIN_URL
    name = unique_name()
    try:
        admin = make_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=None)
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # driver errors differ per backend
        unavailable(f"{kind} at {admin_url}", exc)
        raise
    url = (
        make_url(normalize_url(admin_url)).set(database=name).render_as_string(hide_password=False)
    )
    try:
        yield url
    finally:
        with admin.connect() as conn:
            if kind == "postgres":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


def redis_or_skip() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL}", exc)
    return REDIS_URL
