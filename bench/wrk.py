"""Running ``wrk`` and reading its ``--latency`` report (requests/s, p50/p90/p99, errors)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

SPREAD_LUA = Path(__file__).parent / "spread.lua"

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.M)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.M)


class WrkMissing(RuntimeError):
    pass


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing("wrk is not installed: apt-get install wrk")
    return path


def parse(output: str) -> dict[str, Any]:
    """Figures from ``wrk --latency`` output; raises ``ValueError`` when it has none."""
    rps = _RPS.search(output)
    if rps is None:
        raise ValueError(f"no Requests/sec in wrk output:\n{output}")
    figures: dict[str, Any] = {"requests_per_s": float(rps.group(1))}
    for pct, value, unit in _PERCENTILE.findall(output):
        figures[f"p{pct}_ms"] = round(float(value) * _UNITS_MS[unit], 4)
    total = _TOTAL.search(output)
    if total is not None:
        figures["requests"] = int(total.group(1))
        figures["duration_s"] = round(float(total.group(2)) * _UNITS_MS[total.group(3)] / 1000, 3)
    non_2xx = _NON_2XX.search(output)
    figures["non_2xx"] = int(non_2xx.group(1)) if non_2xx else 0
    socket = _SOCKET.search(output)
    names = ("connect", "read", "write", "timeout")
    counts = [int(g) for g in socket.groups()] if socket else [0, 0, 0, 0]
    figures["socket_errors"] = dict(zip(names, counts, strict=True))
    return figures


def run(
    url: str,
    *,
    connections: int,
    seconds: int,
    script: Path | None = None,
    env: dict[str, str] | None = None,
    timeout_s: int = 30,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One ``wrk -t1 -c<connections> --latency`` run against ``url`` (``headers`` on every
    request, the scripts' included; by default the benches' master key)."""
    from bench.common import AUTH

    cmd = [require_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (AUTH if headers is None else headers).items():
        cmd += ["-H", f"{name}: {value}"]
    # wrk leaves requests slower than its 2 s default out of the latencies (as timeouts).
    cmd += ["--timeout", f"{timeout_s}s"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run(
        [*cmd, url],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=seconds + timeout_s + 60,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} {url}: exit {out.returncode}\n{out.stderr}")
    return parse(out.stdout)
