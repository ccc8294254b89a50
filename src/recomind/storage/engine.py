"""Engines from URLs: ``postgresql://``, ``mysql://`` or ``sqlite:///path``."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

logger = logging.getLogger(__name__)
T = TypeVar("T")

_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "sqlite": "sqlite+pysqlite",
}
_WRITE = "recomind_write"


def normalize_url(url: str) -> str:
    """Pick the driver RecoMind ships with when the URL names only the database kind."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"database URL {url!r} has no scheme; expected e.g. postgresql://...")
    if "+" in scheme:
        return url
    if scheme not in _DRIVERS:
        raise ValueError(f"database URL scheme {scheme!r} is not postgresql, mysql or sqlite")
    out = f"{_DRIVERS[scheme]}://{rest}"
    if scheme in ("mysql", "mariadb") and "charset=" not in rest:
        out += ("&" if "?" in rest else "?") + "charset=utf8mb4"
    return out


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine for ``url``; SQLite gets WAL, a busy timeout and write locks."""
    sa_url = make_url(normalize_url(url))
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:":
            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(sa_url, connect_args={"check_same_thread": False}, **kwargs)
        _sqlite_setup(engine)
        return engine
    if sa_url.get_backend_name() == "mysql":
        # Fewer gap locks, so concurrent upserts of different rows don't deadlock.
        kwargs.setdefault("isolation_level", "READ COMMITTED")
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_recycle", 1800)
    return create_engine(sa_url, **kwargs)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write transaction takes the lock up front so read-modify-write can't interleave.
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A transaction for read-modify-write: row locks on servers, the write lock on SQLite."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


def ping(engine: Engine) -> None:
    """Run ``SELECT 1`` on a connection of ``engine``; raises if the database does not answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


# MySQL 1213 deadlock / 1205 lock wait timeout; PostgreSQL deadlock / serialization failure.
_RETRYABLE_CODES = {1213, 1205}
_RETRYABLE_SQLSTATES = {"40P01", "40001"}


def is_retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _RETRYABLE_CODES:
        return True
    if getattr(orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(orig)


def retrying(fn: Callable[[], T], *, attempts: int = 8) -> T:
    """Run a whole transaction again when the database chose it as a deadlock victim."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except DBAPIError as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            logger.info("transaction retry %d after %s", attempt, type(exc.orig).__name__)
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")
