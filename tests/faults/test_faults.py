"""The fault suite: faults *while events flow*, on real servers in separate processes.

Each case runs ``recomind serve`` and ``recomind consume`` as processes against a durable
Kafka-protocol broker (Tansu on S3), a database and Redis, sends steady traffic (about
40 requests a second, a GET per three POSTs), injects one fault in the middle, lets the
consumers catch up, and audits (:func:`tests.utils.faults.audit`): every accepted event
stored (0 lost), nothing stored that was not accepted except posts answered 503 (whose
outcome the client cannot know), popularity counting each stored event once, popularity and
profiles equal to a from-scratch fold of ``video_actions``, and the lake's files holding
each event once. No answer may be a 5xx other than a JSON 503. Bounded: a few hundred events
and well under a minute per case.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from recomind.config import Settings
from recomind.stream.consumers import GROUPS
from tests.utils.durable_broker import durable_tansu
from tests.utils.faults import Audit, Deployment, p99, violations
from tests.utils.private_mariadb import private_mariadb
from tests.utils.private_postgres import private_postgres
from tests.utils.private_redis import private_redis
from tests.utils.services import fresh_database, redis_or_skip
from tests.utils.stacks import make_settings
from tests.utils.tansu import TansuBroker

FLOW_S = 4.0  # traffic before and after each fault


@pytest.fixture(scope="module")
def broker() -> Iterator[TansuBroker]:
    with durable_tansu() as b:
        yield b


def _settings(tmp: Path, db_url: str, cache_url: str, bus_url: str, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "serve_consumers": "none",
        "consumer_batch_size": 50,
        "lake_flush_events": 100,
        "lake_flush_seconds": 0.5,
        "cache_timeout_s": 0.25,  # the production default: a hung Redis costs this, then skips
        "refresh_after_interactions": 0,
        # Tansu on moto's S3 answers an empty fetch at once and pays for each one (an object
        # listing per partition): with five groups fetching every 100 ms it stalls (4 of 300
        # single-message batches read in 60 s); held up to 3 s, five groups read 300 in ~3 s.
        "kafka_fetch_max_wait_ms": 3000,
    }
    values.update(over)
    return make_settings(db_url, cache_url, bus_url, tmp, **values)


def _run(d: Deployment, fault: Callable[[], None]) -> Audit:
    result = d.run(fault, flow_s=FLOW_S)
    print(result.as_dict(), dict(d.traffic.statuses), f"POST p99 {p99(d.traffic.post_s):.3f} s")
    problems = violations(result, d.traffic)
    assert not problems, problems
    return result


@pytest.mark.parametrize("db", ["postgres", "mysql"])
def test_broker_restart_while_producing_and_consuming(
    db: str, broker: TansuBroker, tmp_path: Path
) -> None:
    with fresh_database(db) as url:
        settings = _settings(tmp_path, url, redis_or_skip(), broker.url)
        with Deployment(settings, tmp_path) as d:
            _run(d, lambda: print(f"broker back in {broker.restart():.2f} s"))


@pytest.mark.parametrize("db", ["postgres", "mysql"])
def test_kill_9_of_each_consumer_role_mid_stream(
    db: str, broker: TansuBroker, tmp_path: Path
) -> None:
    with fresh_database(db) as url:
        settings = _settings(tmp_path, url, redis_or_skip(), broker.url)
        with Deployment(settings, tmp_path, groups=list(GROUPS)) as d:

            def kill_each() -> None:
                for role in d.groups.values():
                    role.kill()
                    time.sleep(0.3)
                    role.start()

            _run(d, kill_each)


def test_kill_9_of_serve_mid_stream(broker: TansuBroker, tmp_path: Path) -> None:
    with fresh_database("postgres") as url:
        settings = _settings(tmp_path, url, redis_or_skip(), broker.url)
        with Deployment(settings, tmp_path) as d:

            def kill_serve() -> None:
                d.serve.kill()
                d.serve.start()

            _run(d, kill_serve)
            assert d.traffic.statuses["post:refused"] > 0, "the kill must land mid-traffic"


@pytest.mark.parametrize("db", ["postgres", "mysql"])
def test_database_outage_during_consumption_and_on_the_api(
    db: str, broker: TansuBroker, tmp_path: Path
) -> None:
    private = private_postgres() if db == "postgres" else private_mariadb()
    with private as server:
        settings = _settings(tmp_path, server.url, redis_or_skip(), broker.url)
        with Deployment(settings, tmp_path) as d:

            def outage() -> None:
                server.stop()
                time.sleep(5)
                server.start()

            _run(d, outage)
            served = d.traffic.statuses
            assert served["get:200"] > 0 and served["post:202"] > 0, served


def test_hung_redis_while_events_flow(broker: TansuBroker, tmp_path: Path) -> None:
    with private_redis() as cache, fresh_database("postgres") as url:
        settings = _settings(tmp_path, url, cache.url, broker.url)
        with Deployment(settings, tmp_path) as d:
            frozen_posts: list[float] = []

            def freeze() -> None:
                cache.freeze()
                before = len(d.traffic.post_s)
                time.sleep(4)
                frozen_posts.extend(d.traffic.post_s[before:])
                cache.thaw()

            _run(d, freeze)
            assert frozen_posts, "posts must have been answered while Redis was frozen"
            print(f"POST p99 while Redis was frozen: {p99(frozen_posts):.3f} s")


def test_consumer_shutdown_while_the_broker_is_down(broker: TansuBroker, tmp_path: Path) -> None:
    with fresh_database("postgres") as url:
        settings = _settings(tmp_path, url, redis_or_skip(), broker.url)
        with Deployment(settings, tmp_path) as d:
            consume = d.groups["all"]

            def stop_while_down() -> None:
                broker.kill()
                time.sleep(1)
                took = consume.terminate(timeout_s=20)
                print(f"consume stopped {took:.2f} s after SIGTERM with the broker down")
                broker.start()
                consume.start()

            _run(d, stop_while_down)


def test_embedded_serve_killed_while_events_flow(tmp_path: Path) -> None:
    """The embedded default (SQLite, in-process cache, SQLite bus, consumers inside serve)."""
    settings = _settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'recomind.db'}",
        "memory://",
        f"sqlite:///{tmp_path / 'bus.db'}",
        serve_consumers="all",
    )
    with Deployment(settings, tmp_path, groups=[]) as d:

        def kill_serve() -> None:
            d.serve.kill()
            d.serve.start()

        _run(d, kill_serve)
