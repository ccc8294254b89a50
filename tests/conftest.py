"""Shared fixtures: every storage test runs on SQLite, PostgreSQL and MariaDB; every cache
test on memory and Redis; API tests on the embedded default and on real servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, delete

from recomind.cache import Cache, open_cache
from recomind.config import Settings
from recomind.recommend.base import Interactions
from recomind.storage import migrate
from recomind.storage.engine import make_engine
from recomind.storage.tables import metadata
from tests.utils.credentials import install_env
from tests.utils.kafka import LazyBroker
from tests.utils.server import free_port
from tests.utils.services import fresh_database, redis_or_skip, unavailable, unique_name
from tests.utils.stacks import stack_settings_factory
from tests.utils.synthetic import make_synthetic

DATABASES = ["sqlite", "postgres", "mysql"]
install_env()  # every Settings() of the suite has the test master key and token secret


@pytest.fixture(scope="session")
def _migrated_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One migrated database per backend for the whole run, created on first use."""
    urls: dict[str, str] = {}
    stack: list[object] = []

    class Lazy(dict[str, str]):
        def __missing__(self, kind: str) -> str:
            if kind == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'recomind.db'}"
            else:
                cm = fresh_database(kind)
                url = cm.__enter__()
                stack.append(cm)
            migrate.upgrade(url)
            self[kind] = url
            return url

    lazy = Lazy(urls)
    yield lazy
    for cm in reversed(stack):
        cm.__exit__(None, None, None)  # type: ignore[attr-defined]


def truncate(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))


@pytest.fixture(params=DATABASES, ids=DATABASES)
def db_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def db_url(db_kind: str, _migrated_urls: dict[str, str]) -> Iterator[str]:
    """A migrated, empty database of ``db_kind``."""
    url = _migrated_urls[db_kind]
    engine = make_engine(url)
    truncate(engine)
    engine.dispose()
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[LazyBroker]:
    """The session's Kafka-protocol broker, started on first use (stopped last)."""
    broker = LazyBroker()
    yield broker
    broker.close()


@pytest.fixture(scope="session")
def stack_settings(
    _migrated_urls: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    kafka_broker: LazyBroker,
) -> Callable[..., Settings]:
    """``stack name -> Settings`` for a fresh deployment (own topic, groups, keys, lake)."""
    return stack_settings_factory(_migrated_urls, tmp_path_factory.mktemp("stacks"), kafka_broker)


CACHES = ["memory", "redis"]


@pytest.fixture(params=CACHES, ids=CACHES)
def cache_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def cache_url(cache_kind: str) -> str:
    return "memory://" if cache_kind == "memory" else redis_or_skip()


@pytest.fixture
def key_prefix() -> str:
    return unique_name("t") + ":"


@pytest.fixture
def cache(cache_url: str, key_prefix: str) -> Iterator[Cache]:
    backend = open_cache(cache_url)
    yield backend
    backend.delete_prefix(key_prefix)
    backend.close()


@pytest.fixture(scope="session")
def synthetic() -> Interactions:
    """A small synthetic catalogue to fit and store models on (recommend and serving tests)."""
    return make_synthetic(n_users=300, n_items=250, n_events=6000, n_tags=20, seed=3)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible endpoint (moto's server on loopback) for the lake's tests."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        unavailable("moto[server]", exc)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["file", "s3"])
def lake(
    request: pytest.FixtureRequest, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str | None]:
    """``(lake url, S3 endpoint or None)``: an empty lake on a folder, then on S3 (moto)."""
    if request.param == "file":
        return f"file://{tmp_path}/lake", None
    endpoint = request.getfixturevalue("s3_endpoint")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import boto3  # type: ignore[import-untyped]

    bucket = unique_name("lake").replace("_", "-")
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/lake", endpoint
