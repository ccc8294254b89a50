"""Crashes: a consumer or the embedded server killed with SIGKILL loses and doubles nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select

from recomind.config import Settings
from recomind.lake.reader import read_table
from recomind.storage import migrate
from recomind.storage.engine import make_engine
from recomind.storage.tables import video_actions
from tests.api.helpers import load_catalogue
from tests.conftest import truncate
from tests.stream.helpers import actions, assert_matches_from_scratch, post_all
from tests.utils.credentials import admin_headers
from tests.utils.server import free_port
from tests.utils.settle import settle
from tests.utils.stacks import running_api, settings_env


def _rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(video_actions)).scalar_one())


def _consume(settings: Settings, *groups: str, log: Path) -> subprocess.Popen[bytes]:
    args = [a for g in groups for a in ("--group", g)]
    env = {**os.environ, **settings_env(settings), "RECOMIND_LOG_LEVEL": "info"}
    return subprocess.Popen(
        [sys.executable, "-m", "recomind", "consume", *args],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _wait(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_consumer_killed_mid_batch_then_restarted(
    stack_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = stack_settings("postgres+redis", serve_consumers="none", consumer_batch_size=10)
    engine = make_engine(settings.database_url)
    truncate(engine)
    with running_api(settings) as api:  # accepts actions; no consumer runs in it
        load_catalogue(api.http, 25)
        ids = post_all(api.base_url, actions(1000))
    assert _rows(engine) == 0
    log = tmp_path / "consume.log"
    proc = _consume(settings, "all", log=log)
    try:
        _wait(lambda: _rows(engine) >= 150, 90, "the consumer to start storing")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    at_kill = _rows(engine)
    assert 150 <= at_kill < 1000, "the kill must land in the middle of the stream"
    proc = _consume(settings, "all", log=log)
    try:
        settle(settings, timeout_s=120)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    with engine.connect() as conn:
        assert set(conn.execute(select(video_actions.c.id)).scalars()) == set(ids)
    assert_matches_from_scratch(engine, settings)
    assert read_table(settings.lake_url).num_rows == 1000
    engine.dispose()


def test_two_persist_processes_share_partitions(
    stack_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = stack_settings("postgres+redis", serve_consumers="none", kafka_partitions=6)
    engine = make_engine(settings.database_url)
    truncate(engine)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [_consume(settings, "persist", log=log) for log in logs]
    pattern = re.compile(r"group persist: partitions assigned \[([0-9, ]*)\]")

    def assignments() -> list[set[int]]:
        out = []
        for log in logs:
            found = pattern.findall(log.read_text()) if log.exists() else []
            out.append({int(p) for p in found[-1].split(",") if p.strip()} if found else set())
        return out

    try:
        _wait(lambda: all(assignments()) and len(set.union(*assignments())) == 6, 90, "a rebalance")
        with running_api(settings) as api:
            load_catalogue(api.http, 25)
            ids = post_all(api.base_url, actions(1000, seed=9))
        settle(settings, timeout_s=90, groups=("persist",))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    first, second = assignments()
    assert first and second and not first & second and first | second == set(range(6))
    with engine.connect() as conn:
        stored = list(conn.execute(select(video_actions.c.id)).scalars())
    assert len(stored) == 1000 and set(stored) == set(ids)
    engine.dispose()


def test_embedded_server_killed_mid_stream_loses_nothing(tmp_path: Path) -> None:
    """The embedded default: SIGKILL ``recomind serve`` while it works; restart; nothing lost."""
    db_url = f"sqlite:///{tmp_path / 'recomind.db'}"
    migrate.upgrade(db_url)
    settings = Settings(
        database_url=db_url,
        event_bus_url=f"sqlite:///{tmp_path / 'bus.db'}",
        lake_url=f"file://{tmp_path / 'lake'}",
        lake_flush_events=150,
        lake_flush_seconds=0.5,
        consumer_batch_size=25,
        environment="test",
        # As the test stacks: a script posts far faster than a person taps (500 actions over
        # a few dozen users in about a second); tests/api/test_rate_limit.py checks the limit.
        event_rate_limit="1000/second",
    )
    env = {**os.environ, **settings_env(settings)}
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "recomind", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "serve.log").open("ab"),
        )

        def up() -> bool:
            try:
                return httpx.get(base + "/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        _wait(up, 60, "the server")
        return proc

    proc = start()
    try:
        with httpx.Client(base_url=base, headers=admin_headers()) as http:
            load_catalogue(http, 25)
        first = post_all(base, actions(500, seed=1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc = start()
        second = post_all(base, actions(500, seed=2))
        settle(settings, timeout_s=60)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert set(conn.execute(select(video_actions.c.id)).scalars()) == set(first + second)
    assert_matches_from_scratch(engine, settings)
    lake = read_table(settings.lake_url)
    assert lake.num_rows == 1000 and set(lake.column("event_id").to_pylist()) == set(first + second)
    engine.dispose()
