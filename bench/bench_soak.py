"""Soak under faults: steady traffic for minutes, one fault a minute, then the audit.

    python -m bench.bench_soak [--minutes 10] [--rate 40] [--broker s3|memory] [--name soak]

PostgreSQL (a private cluster this bench may stop), Redis (a private ``redis-server`` it may
freeze), a Kafka-protocol broker, ``recomind serve`` and one ``recomind consume`` process per
group. Every minute, in turn: the broker restarts; one consumer group (the next in turn) is
killed with SIGKILL and restarted; ``serve`` is killed with SIGKILL and restarted; the
database stops for 10 s; Redis freezes for 10 s (SIGSTOP); every consumer is stopped
(SIGTERM) while the broker is down, then both come back.

``--broker s3`` (the default) is Tansu on S3 storage against moto: it keeps acknowledged
events across a restart, but every record batch is an object and a fetch lists them, so
reads slow as the log grows and after ~5 minutes the consumers fall behind the traffic (not
a RecoMind limit: bench/README.md). ``--broker memory`` is Tansu on memory storage, whose
reads stay fast but which loses everything on a restart: there the broker *hangs* instead
(SIGSTOP for 10 s, then SIGCONT; clients see a broker that holds their connections and
answers nothing), and the consumers are stopped while it hangs. Broker restarts proper are
audited by the S3 mode and by tests/faults.

After the last minute the consumers catch up and the audit (:func:`tests.utils.faults.audit`)
counts accepted, rejected (503), refused (no answer: serve
was down), lost (must be 0), stored but never accepted (503'd posts that landed), counted
twice (must be 0), and POST / GET latency percentiles, overall and in each fault's minute.
Writes ``bench/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.utils.durable_broker import durable_tansu
from tests.utils.faults import Deployment, Traffic, violations
from tests.utils.private_postgres import private_postgres
from tests.utils.private_redis import PrivateRedis, private_redis
from tests.utils.stacks import make_settings
from tests.utils.tansu import TansuBroker

from bench.common import percentiles, write_results
from recomind.stream.consumers import GROUPS

OUTAGE_S = 10.0


def _faults(
    d: Deployment, broker: TansuBroker, pg: Any, cache: PrivateRedis, *, durable: bool
) -> list[tuple[str, Callable[[], None]]]:
    groups = itertools.cycle(GROUPS)

    def kill_consumer() -> None:
        role = d.groups[next(groups)]
        role.kill()
        time.sleep(1)
        role.start()

    def kill_serve() -> None:
        d.serve.kill()
        d.serve.start()

    def database_outage() -> None:
        pg.stop()
        time.sleep(OUTAGE_S)
        pg.start()

    def hung_redis() -> None:
        cache.freeze()
        time.sleep(OUTAGE_S)
        cache.thaw()

    def stop_consumers_while_broker_down() -> None:
        broker.kill() if durable else broker.freeze()
        time.sleep(2)
        for role in d.groups.values():
            role.terminate(timeout_s=30)
        broker.start() if durable else broker.thaw()
        for role in d.groups.values():
            role.start()

    def hung_broker() -> None:
        broker.freeze()
        time.sleep(OUTAGE_S)
        broker.thaw()

    first: tuple[str, Callable[[], None]] = (
        ("broker restart", lambda: print(f"broker back in {broker.restart():.2f} s"))
        if durable
        else ("hung broker", hung_broker)
    )
    down = "down" if durable else "hung"
    return [
        first,
        ("kill -9 a consumer", kill_consumer),
        ("kill -9 serve", kill_serve),
        ("database outage", database_outage),
        ("hung redis", hung_redis),
        (f"consumers stopped while the broker is {down}", stop_consumers_while_broker_down),
    ]


def _window(traffic: Traffic, start: int, get_start: int) -> dict[str, Any]:
    post, get = traffic.post_s[start:], traffic.get_s[get_start:]
    return {
        "post": percentiles(post) if post else {},
        "get": percentiles(get) if get else {},
    }


def soak(minutes: float, rate: float, tmp: Path, *, durable: bool = True) -> dict[str, Any]:
    brokers = durable_tansu() if durable else TansuBroker()
    with brokers as broker, private_postgres() as pg, private_redis() as cache:
        settings = make_settings(
            pg.url,
            cache.url,
            broker.url,
            tmp,
            serve_consumers="none",
            cache_timeout_s=0.25,
            lake_flush_seconds=5.0,
            refresh_after_interactions=3,
            # Tansu on moto's S3 pays for every empty fetch; held up to 3 s, five groups keep
            # up (tests/faults/test_faults.py says why).
            kafka_fetch_max_wait_ms=3000,
        )
        with Deployment(settings, tmp, groups=list(GROUPS)) as d:
            faults = itertools.cycle(_faults(d, broker, pg, cache, durable=durable))
            traffic = d.start_traffic(rate=rate, workers=8, users=200)
            minute_log: list[dict[str, Any]] = []
            started = time.monotonic()
            while time.monotonic() - started < minutes * 60:
                name, fault = next(faults)
                mark = (len(traffic.post_s), len(traffic.get_s))
                t0 = time.monotonic()
                time.sleep(20)
                fault()
                took = time.monotonic() - t0 - 20
                time.sleep(max(0.0, 60 - (time.monotonic() - t0)))
                minute_log.append(
                    {"fault": name, "fault_s": round(took, 2), **_window(traffic, *mark)}
                )
                print(minute_log[-1]["fault"], minute_log[-1]["post"].get("p99_ms"), flush=True)
            traffic.stop()
            caught_up = ""
            try:
                result = d.catch_up_and_audit(timeout_s=300)
            except AssertionError as exc:  # the consumers did not catch up: audit as it is
                caught_up = str(exc)
                result = d.audit()
            problems = violations(result, traffic)
            return {
                "minutes": minutes,
                "broker": "tansu-s3" if durable else "tansu-memory",
                "rate_per_s": rate,
                "statuses": dict(traffic.statuses),
                "accepted": result.accepted,
                "rejected_503": traffic.statuses["post:503"],
                "refused": traffic.statuses["post:refused"],
                "lost": result.lost,
                "stored_not_accepted": result.unexpected,
                "double_counted": result.double_counted,
                "folds_match": result.folds_match,
                "lake_rows": result.lake_rows,
                "lake_distinct": result.lake_distinct,
                "post": percentiles(traffic.post_s),
                "get": percentiles(traffic.get_s),
                "minutes_log": minute_log,
                "violations": problems,
                "not_caught_up": caught_up,
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second")
    parser.add_argument("--broker", choices=("s3", "memory"), default="s3")
    parser.add_argument("--name", default="soak")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = soak(args.minutes, args.rate, Path(tmp), durable=args.broker == "s3")
    path = write_results(args.name, figures)
    print(path)
    keys = ("accepted", "rejected_503", "refused", "lost", "double_counted", "violations")
    print({k: figures[k] for k in keys})
    print("POST", figures["post"], "GET", figures["get"])


if __name__ == "__main__":
    main()
