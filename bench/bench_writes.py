"""Accepted ``POST /video_action`` per second in one server process, and its CPU per action.

    python -m bench.bench_writes [--stacks embedded,kafka] [--concurrency 1,16]
        [--seconds 10] [--rounds 3] [--before /tmp/wbase/src] [--after src]

Starts ``recomind serve`` (one uvicorn process) on each stack and loads it with ``wrk``
(``post_action.lua``: views of 1,000 videos by 5,000 users; one ``wrk`` thread) at each
concurrency:

* ``embedded``: the embedded default (SQLite database, SQLite event log, in-process cache), the
  five consumer groups running in the same process (as ``recomind serve`` runs them);
* ``kafka``: a Tansu broker (Kafka protocol, ``acks=all``), PostgreSQL and Redis (the cache and
  the rate limit's counters); consumers elsewhere (``RECOMIND_SERVE_CONSUMERS=none``), so the
  figure is the API's.

The rate limit is at its default (``20/second;600/minute``; 5,000 users stay within it).
Per run it records accepted/s (every answer must be 202) and the server's CPU per accepted
action (``utime + stime`` of the process from ``/proc``, less sensitive to the machine's load
than the rate). With ``--before`` it runs two source trees alternately (``PYTHONPATH``),
``--rounds`` times, and reports medians of each. Writes ``results/writes.json``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.bench_stream import catalogue, env_of
from bench.common import (
    AUTH,
    embedded_settings,
    free_port,
    kafka_stack,
    stack_args,
    wait_up,
    write_results,
)

SCRIPT = Path(__file__).with_name("post_action.lua")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@contextmanager
def serve(env: dict[str, str], src: str) -> Iterator[tuple[str, int]]:
    """``recomind serve`` (one process) with ``src`` first on the path: (base URL, pid)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "recomind", "serve", "--port", str(port)],
        env={
            **os.environ,
            **env,
            "PYTHONPATH": os.path.abspath(src),
            "RECOMIND_LOG_LEVEL": "warning",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base, proc, timeout_s=90)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wrk(base: str, concurrency: int, seconds: float) -> tuple[int, float]:
    """(accepted requests, wall seconds) of one ``wrk`` run; every answer must be 202."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{int(seconds)}s",
            "-H",
            f"Authorization: {AUTH['Authorization']}",
            "-s",
            str(SCRIPT),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise RuntimeError(f"{bad.group(1)} requests were not accepted:\n{out}")
    total = int(re.search(r"(\d+) requests in ([0-9.]+)(m?s)", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    return total, total / rate if rate else float(seconds)


def measure(base: str, pid: int, concurrency: int, seconds: float) -> dict[str, float]:
    c0 = cpu_s(pid)
    n, wall = wrk(base, concurrency, seconds)
    cpu = cpu_s(pid) - c0
    return {
        "accepted_per_s": round(n / wall, 1),
        "cpu_us_per_action": round(cpu / n * 1e6, 1),
        "server_cpu_share": round(cpu / wall, 3),
        "actions": n,
    }


def one_server(
    env: dict[str, str], src: str, levels: list[int], seconds: float
) -> dict[str, dict[str, float]]:
    with serve(env, src) as (base, pid):
        try:
            catalogue(base)
        except httpx.HTTPStatusError as exc:  # a later run on the same database
            if exc.response.status_code != 409:
                raise
        wrk(base, 16, 2)  # warm up: connections, topic metadata, known videos
        time.sleep(1)
        return {f"c{c}": measure(base, pid, c, seconds) for c in levels}


@contextmanager
def stack_env(stack: str, args: argparse.Namespace) -> Iterator[dict[str, str]]:
    """The environment of one stack (embedded: a fresh folder for every run)."""
    if stack == "embedded":
        yield {}
    else:
        with kafka_stack(args, "recomind_writes", serve_consumers="none") as settings:
            yield env_of(settings)


def run_env(stack: str, env: dict[str, str], run: str, tmp: ExitStack) -> dict[str, str]:
    """One server's environment: a topic (Kafka) or a folder (embedded) of its own."""
    if stack == "embedded":
        return env_of(embedded_settings(tmp.enter_context(tempfile.TemporaryDirectory())))
    return {**env, "RECOMIND_KAFKA_TOPIC": f"{env['RECOMIND_KAFKA_TOPIC']}.{run}"}


def summarise(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for level in runs[0]:
        out[level] = {
            k: round(statistics.median(r[level][k] for r in runs), 1)
            for k in ("accepted_per_s", "cpu_us_per_action")
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--stacks", default="embedded,kafka")
    ap.add_argument("--concurrency", default="1,16")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--before", default=None, help="src folder of the base tree (A/B)")
    ap.add_argument("--after", default="src", help="src folder of the tree under test")
    ap.add_argument("--name", default="writes", help="results/<name>.json")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for every server, e.g. RECOMIND_REFRESH_AFTER_INTERACTIONS=0",
    )
    stack_args(ap)
    args = ap.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    extra = dict(kv.split("=", 1) for kv in args.set)
    trees = (
        {"after": args.after}
        if args.before is None
        else {
            "before": args.before,
            "after": args.after,
        }
    )
    figures: dict[str, Any] = {"args": vars(args), "load_average_before": os.getloadavg()}
    for stack in args.stacks.split(","):
        runs: dict[str, list[dict[str, dict[str, float]]]] = {t: [] for t in trees}
        with stack_env(stack, args) as env:
            for r in range(args.rounds):
                for label, src in trees.items():
                    with ExitStack() as tmp:
                        server_env = {**run_env(stack, env, f"{label}{r}", tmp), **extra}
                        runs[label].append(one_server(server_env, src, levels, args.seconds))
                    print(stack, label, runs[label][-1], "load", os.getloadavg(), flush=True)
        figures[stack] = {"runs": runs, "median": {t: summarise(runs[t]) for t in trees}}
        for t in trees:
            for level, f in figures[stack]["median"][t].items():
                print(
                    f"{stack} {t} {level}: {f['accepted_per_s']:.0f} accepted/s, "
                    f"{f['cpu_us_per_action']:.0f} µs CPU per action"
                )
    figures["load_average_after"] = os.getloadavg()
    print(f"written to {write_results(args.name, figures)}")


if __name__ == "__main__":
    main()
