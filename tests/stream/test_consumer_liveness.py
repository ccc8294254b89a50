"""Consumers stay alive and stoppable: with no broker to talk to, ``recomind consume`` keeps
trying (backing off, one line per try), shows the group as stuck in its metrics, and ends
within seconds of SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from recomind.config import Settings
from tests.utils.server import free_port
from tests.utils.stacks import settings_env

STOP_BOUND_S = 15.0  # a liveness bound (the process must end), not a speed figure


def _wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _metric(port: int, name: str, group: str) -> float | None:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.TransportError:
        return None
    for line in text.splitlines():
        if line.startswith(f'{name}{{group="{group}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_consume_with_no_broker_backs_off_shows_stuck_and_stops_on_sigterm(
    stack_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = stack_settings(
        "postgres+redis",
        serve_consumers="none",
        event_bus_url=f"kafka://127.0.0.1:{free_port()}",  # nothing listens there
        consumer_metrics_port=free_port(),
        consumer_stuck_after_s=1.0,
    )
    log = tmp_path / "consume.log"
    env = {**os.environ, **settings_env(settings), "RECOMIND_LOG_LEVEL": "info"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "recomind", "consume", "--group", "persist", "--group", "lake"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    port = settings.consumer_metrics_port
    try:
        _wait_for(
            lambda: log.read_text().count("group persist: still failing") >= 2,
            60,
            "two retries of the persist group",
        )
        _wait_for(lambda: _metric(port, "recomind_consumer_stuck", "persist") == 1.0, 30, "stuck")
        failing = _metric(port, "recomind_consumer_failing_seconds", "lake")
        assert failing is not None and failing > 0
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=STOP_BOUND_S)
        print(f"stopped {time.monotonic() - started:.2f} s after SIGTERM")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert proc.returncode == 0, text[-2000:]
    assert "consumer group persist stopped" in text
    assert "consumer group lake stopped" in text
    # One traceback when the group starts failing, then one line per retry.
    assert text.count("Traceback") <= 2, text[-4000:]
