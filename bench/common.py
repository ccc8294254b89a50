"""Shared bits of the benchmarks: percentiles, result files, a server subprocess."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import text

from recomind.config import Settings
from recomind.storage import migrate
from recomind.storage.engine import make_engine

RESULTS = Path(__file__).parent / "results"

#: Auth is on in every benchmark, as in production: the servers run with this master key
#: (unless RECOMIND_MASTER_KEY says another) and every client sends :data:`AUTH`.
BENCH_MASTER_KEY = "bench-master-key-0123456789abcdef0123456789abcdef"
os.environ.setdefault("RECOMIND_MASTER_KEY", BENCH_MASTER_KEY)
AUTH = {"Authorization": f"Bearer {os.environ['RECOMIND_MASTER_KEY']}"}


def percentiles(samples_s: list[float]) -> dict[str, float]:
    a = np.asarray(samples_s) * 1000.0
    return {
        "n": len(a),
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p95_ms": round(float(np.percentile(a, 95)), 3),
        "p99_ms": round(float(np.percentile(a, 99)), 3),
        "mean_ms": round(float(a.mean()), 3),
    }


def write_results(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    doc = {
        "benchmark": name,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "figures": figures,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(base: str, proc: subprocess.Popen[Any], *, timeout_s: float) -> None:
    """Wait until the server at ``base`` answers ``/healthz``; raise if ``proc`` died or
    ``timeout_s`` passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("server died; run it by hand to see why")
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.2)


@contextmanager
def server(env: dict[str, str], *args: str) -> Iterator[str]:
    """``recomind serve`` in a subprocess (its own core), yielding the base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "recomind", "serve", "--port", str(port), *args],
        env={**os.environ, **env, "RECOMIND_LOG_LEVEL": "warning"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base, proc, timeout_s=60)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def stack_args(ap: argparse.ArgumentParser) -> None:
    """``--postgres``, ``--redis`` and ``--only`` (one stack)."""
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--only", choices=["kafka", "embedded"], default=None)


def embedded_settings(tmp: str | Path, **values: Any) -> Settings:
    """The embedded default in ``tmp`` (SQLite, SQLite log, lake), migrated.

    The lake group commits only when it writes a Parquet file (every 5,000 events or 60 s by
    default): it flushes each second here, so "caught up" measures throughput.
    """
    settings = Settings(
        **{
            "database_url": f"sqlite:///{Path(tmp) / 'r.db'}",
            "event_bus_url": f"sqlite:///{Path(tmp) / 'bus.db'}",
            "lake_url": f"file://{tmp}/lake",
            "lake_flush_seconds": 1.0,
            "model_dir": "",
            **values,
        }
    )
    migrate.upgrade(settings.database_url)
    return settings


@contextmanager
def kafka_stack(args: argparse.Namespace, prefix: str, **values: Any) -> Iterator[Settings]:
    """Settings of a fresh PostgreSQL + Redis + Kafka deployment: a new database (migrated),
    a Tansu broker, a key prefix and a topic of its own; all removed afterwards. String
    ``values`` may name the deployment's temporary folder as ``{tmp}``."""
    from tests.utils.tansu import tansu_broker

    from recomind.cache import open_cache

    admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    db_url = args.postgres.rsplit("/", 1)[0] + "/" + name
    try:
        with tempfile.TemporaryDirectory() as tmp, tansu_broker() as broker_url:
            given = {k: v.format(tmp=tmp) if isinstance(v, str) else v for k, v in values.items()}
            settings = Settings(
                **{
                    "database_url": db_url,
                    "cache_url": args.redis,
                    "cache_prefix": f"{name}:",
                    "event_bus_url": broker_url,
                    "kafka_topic": f"{name}.actions",
                    "kafka_group_prefix": f"{name}-",
                    "lake_url": f"file://{tmp}/lake",
                    "model_dir": "",
                    **given,
                }
            )
            migrate.upgrade(db_url)
            try:
                yield settings
            finally:
                open_cache(args.redis).delete_prefix(settings.cache_prefix)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
