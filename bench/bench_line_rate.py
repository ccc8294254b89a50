"""Line rate: requests/s and p50/p99 of RecoMind's hot routes next to bare apps, one run.

Each server runs in turn as one uvicorn process with the settings ``recomind serve`` uses
(``uvicorn.run`` with loop and http "auto", i.e. uvloop and httptools, one process, the same
log level): bare Starlette and FastAPI apps returning the exact bytes of a cached RecoMind
list (``bench.bare_apps``), then RecoMind on the embedded default over a generated catalogue
(5,000 videos, 2,000 users; the lists of ``--users`` users filled first, every one checked to
answer ``X-Cache: hit`` before and after the timing). ``wrk -t1 -c1`` and ``-t1 -c16``
(``--latency``) drive each row; ``/recommendations`` rows spread over the cached users
(``bench/spread.lua``). With ``--rounds N`` all servers run N times in the same order and the
medians are reported, so every row sees the same machine load. Ratios are against the bare
FastAPI ``async`` route.

    python -m bench.bench_line_rate [--seconds 10] [--rounds 3] [--src /tmp/base/src]
        [--cache redis://127.0.0.1:6379/0]

Needs ``wrk`` (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import wrk
from bench.bench_api import load
from bench.common import AUTH, free_port, write_results
from bench.common import wait_up as common_wait_up
from recomind.storage import migrate

ROOT = Path(__file__).resolve().parent.parent
REC = "/recommendations/u"
BASELINE = "bare_fastapi_async"
HIT = "recomind_hit"


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    path: str  # REC: spread over the cached users


@dataclass(frozen=True)
class Server:
    name: str
    kind: str  # "recomind" or a bench.bare_apps kind
    rows: tuple[Row, ...]
    access_log: bool = False  # bare apps only; RecoMind logs as `recomind serve` does
    env: dict[str, str] = field(default_factory=dict)


def servers(cache: str | None) -> list[Server]:
    hit = "`GET /recommendations/{user}` hit"
    out = [
        Server(
            "recomind",
            "recomind",
            (
                Row(HIT, f"RecoMind {hit} (embedded default)", REC),
                Row("recomind_trending", "RecoMind `GET /trending` hit", "/trending"),
                Row("recomind_healthz", "RecoMind `/healthz`", "/healthz"),
            ),
        ),
        Server(
            "bare_starlette",
            "starlette",
            (Row("bare_starlette", "bare Starlette, same bytes, no access log", REC),),
        ),
        Server(
            "bare_starlette_access_log",
            "starlette",
            (Row("bare_starlette_access_log", "the same, uvicorn's access log on", REC),),
            access_log=True,
        ),
        Server(
            BASELINE,
            "fastapi-async",
            (Row(BASELINE, "bare FastAPI `async` route + query parameter", REC),),
        ),
        Server(
            "bare_fastapi_sync",
            "fastapi-sync",
            (Row("bare_fastapi_sync", "bare FastAPI sync route (thread pool)", REC),),
        ),
        Server(
            "recomind_no_consumers",
            "recomind",
            (
                Row(
                    "recomind_healthz_no_consumers",
                    "RecoMind `/healthz`, consumers off",
                    "/healthz",
                ),
                Row("recomind_hit_no_consumers", f"RecoMind {hit}, consumers off", REC),
            ),
            env={"RECOMIND_SERVE_CONSUMERS": "none"},
        ),
    ]
    if cache:
        out.append(
            Server(
                "recomind_redis",
                "recomind",
                (
                    Row("recomind_redis_hit", f"RecoMind {hit}, Redis cache", REC),
                    Row(
                        "recomind_redis_trending",
                        "RecoMind `GET /trending` hit, Redis",
                        "/trending",
                    ),
                ),
                env={"RECOMIND_CACHE_URL": cache, "RECOMIND_CACHE_PREFIX": ""},
            )
        )
    return out


class Run:
    """One benchmark run: the catalogue, the servers' environment, the figures."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.url = f"sqlite:///{work / 'catalogue.db'}"
        self.body_file = work / "body.json"
        self.prefix = f"linerate{uuid.uuid4().hex[:8]}:"
        self.figures: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.logs: dict[str, list[int]] = {}

    def command(self, server: Server, port: int) -> tuple[list[str], dict[str, str]]:
        env = {**os.environ, "RECOMIND_LOG_LEVEL": self.args.log_level}
        if server.kind == "recomind":
            env.update(
                {
                    "PYTHONPATH": str(Path(self.args.src).resolve()),
                    "RECOMIND_DATABASE_URL": self.url,
                    "RECOMIND_CACHE_URL": "memory://",
                    "RECOMIND_MODEL_DIR": "",
                    "RECOMIND_JOBS_INTERVAL_MINUTES": "0",
                    "RECOMIND_EVENT_BUS_URL": f"sqlite:///{self.work / f'bus-{server.name}.db'}",
                    "RECOMIND_LAKE_URL": f"file://{self.work / 'lake'}",
                    **server.env,
                }
            )
            if "RECOMIND_CACHE_PREFIX" in server.env:
                env["RECOMIND_CACHE_PREFIX"] = self.prefix
            return [sys.executable, "-m", "recomind", "serve", "--port", str(port)], env
        env.update(PYTHONPATH=str(ROOT), BENCH_BODY_FILE=str(self.body_file))
        log = "--access-log" if server.access_log else "--no-access-log"
        cmd = [sys.executable, "-m", "bench.bare_apps", server.kind, "--port", str(port)]
        return [*cmd, "--log-level", self.args.log_level, log], env

    def serve(self, server: Server, round_no: int) -> None:
        port = free_port()
        cmd, env = self.command(server, port)
        log_path = self.work / f"{server.name}-{round_no}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(cmd, env=env, cwd=self.work, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_up(base, proc, log_path)
            if server.kind == "recomind":
                self.fill(base, server)
            for row in server.rows:
                self.measure(base, row)
            if server.kind == "recomind":
                self.check_hits(base, server, "after the timing")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.logs.setdefault(server.name, []).append(access_lines(log_path))
        log_path.unlink()

    def fill(self, base: str, server: Server) -> None:
        with httpx.Client(base_url=base, headers=AUTH, timeout=60) as http:
            for u in range(self.args.users):
                http.get(f"{REC}{u}").raise_for_status()
            http.get("/trending").raise_for_status()
        self.check_hits(base, server, "after filling the lists")
        if not self.body_file.exists():
            self.body_file.write_bytes(httpx.get(f"{base}{REC}0", headers=AUTH).content)

    def check_hits(self, base: str, server: Server, when: str) -> None:
        paths = [f"{REC}{u}" for u in range(self.args.users)] + ["/trending"]
        with httpx.Client(base_url=base, headers=AUTH, timeout=60) as http:
            bad = [
                (p, r.status_code, r.headers.get("X-Cache"))
                for p in paths
                if not _hit(r := http.get(p))
            ]
        if bad:
            raise SystemExit(
                f"{server.name}: {len(bad)} of {len(paths)} requests were not cache hits "
                f"{when} (first: {bad[:3]}); the timing would not measure hits"
            )

    def measure(self, base: str, row: Row) -> None:
        script = wrk.SPREAD_LUA if row.path == REC else None
        env = {"WRK_PREFIX": REC, "WRK_USERS": str(self.args.users)}
        url = base + (f"{REC}0" if row.path == REC else row.path)
        wrk.run(url, connections=16, seconds=self.args.warmup, script=script, env=env)
        for c in (1, 16):
            figures = wrk.run(url, connections=c, seconds=self.args.seconds, script=script, env=env)
            figures["load_average"] = round(os.getloadavg()[0], 2)
            if figures["non_2xx"]:
                raise SystemExit(f"{row.name} -c{c}: non-2xx answers: {figures}")
            if any(figures["socket_errors"].values()):  # recorded; a loaded machine has some
                print(f"  {row.name} -c{c}: socket errors {figures['socket_errors']}")
            self.figures.setdefault(row.name, {}).setdefault(f"c{c}", []).append(figures)
            print(
                f"  {row.name:32s} c{c:<3d} {figures['requests_per_s']:9,.0f} req/s  "
                f"p50 {figures['p50_ms']:7.2f} ms  p99 {figures['p99_ms']:7.2f} ms",
                flush=True,
            )


def _hit(r: httpx.Response) -> bool:
    return r.status_code == 200 and r.headers.get("X-Cache") == "hit"


def wait_up(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    try:
        common_wait_up(base, proc, timeout_s=90)
    except RuntimeError as exc:
        raise SystemExit(f"{exc}:\n{log.read_text()[-3000:]}") from None


def access_lines(log: Path) -> int:
    """Access-log lines (uvicorn's ``"GET /path HTTP/1.1" 200``) the server wrote."""
    with log.open("rb") as f:
        return sum(1 for line in f if b'"GET /' in line and b"HTTP/1.1" in line)


def medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    keys = ("requests_per_s", "p50_ms", "p90_ms", "p99_ms", "load_average")
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in keys if k in runs[0]}


def summarise(run: Run, rows: list[Row]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in rows:
        out[row.name] = {"label": row.label, "path": row.path}
        for c, runs in run.figures[row.name].items():
            out[row.name][c] = {"median": medians(runs), "runs": runs}
    for row in rows:
        for c in ("c1", "c16"):
            base = out[BASELINE][c]["median"]["requests_per_s"]
            mine = out[row.name][c]["median"]
            mine["x_fastapi_async"] = round(mine["requests_per_s"] / base, 3)
    return out


def aims(rows: dict[str, Any]) -> dict[str, Any]:
    hit = rows[HIT]["c16"]["median"]
    return {
        "hit_c16_x_fastapi_async": {
            "value": hit["x_fastapi_async"],
            "aim": ">= 0.7",
            "met": hit["x_fastapi_async"] >= 0.7,
        },
        "hit_c16_p99_ms": {"value": hit["p99_ms"], "aim": "<= 5", "met": hit["p99_ms"] <= 5.0},
    }


def table(rows: dict[str, Any]) -> str:
    lines = [
        "| row | c1 req/s | c1 p50/p99 ms | c16 req/s | c16 p50/p99 ms | x FastAPI async, c16 |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows.values():
        a, b = r["c1"]["median"], r["c16"]["median"]
        lines.append(
            f"| {r['label']} | {a['requests_per_s']:,.0f} | {a['p50_ms']:.2f} / {a['p99_ms']:.2f} "
            f"| {b['requests_per_s']:,.0f} | {b['p50_ms']:.2f} / {b['p99_ms']:.2f} "
            f"| {b['x_fastapi_async']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10, help="each wrk run")
    ap.add_argument("--warmup", type=int, default=2, help="untimed wrk -c16 before each row")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--users", type=int, default=500, help="cached lists the hits spread over")
    ap.add_argument("--src", default=str(ROOT / "src"), help="source tree RecoMind runs from")
    ap.add_argument("--cache", default=None, help="redis://... : also RecoMind on Redis")
    ap.add_argument("--log-level", default="info", help="as RECOMIND_LOG_LEVEL (default info)")
    ap.add_argument("--name", default="line_rate", help="results file name")
    args = ap.parse_args()
    try:
        wrk.require_wrk()
    except wrk.WrkMissing as exc:
        raise SystemExit(str(exc)) from None
    started = {"load_average": os.getloadavg(), "uptime": _uptime()}
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(args, Path(tmp))
        migrate.upgrade(run.url)
        t0 = time.perf_counter()
        load(run.url, 5000, 2000, 20)
        print(f"catalogue loaded in {time.perf_counter() - t0:.1f} s", flush=True)
        plan = servers(args.cache)
        try:
            for r in range(args.rounds):
                for server in plan:
                    print(f"round {r + 1}/{args.rounds}: {server.name}", flush=True)
                    run.serve(server, r)
                figures = report(run, plan, started, r + 1)  # each round: a crash keeps these
        finally:
            if args.cache:
                from recomind.cache import open_cache

                open_cache(args.cache).delete_prefix(run.prefix)
    print(table(figures["rows"]))
    for name, aim in figures["aims"].items():
        print(f"{name}: {aim['value']} (aim {aim['aim']}: {'met' if aim['met'] else 'not met'})")
    print(f"load average {started['load_average']} -> {os.getloadavg()}")


def report(run: Run, plan: list[Server], started: dict[str, Any], rounds: int) -> dict[str, Any]:
    """The figures of the rounds done so far, written to ``results/<name>.json``."""
    args = run.args
    rows = summarise(run, [row for s in plan for row in s.rows])
    figures = {
        "setup": {
            "videos": 5000,
            "users": 2000,
            "cached_users": args.users,
            "seconds": args.seconds,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "rounds_done": rounds,
            "src": args.src,
            "cache": args.cache,
            "log_level": args.log_level,
            "wrk": "-t1 -c1 / -t1 -c16, --latency, --timeout 30s",
        },
        "load_average": {
            "start": started,
            "end": {"load_average": os.getloadavg(), "uptime": _uptime()},
        },
        "access_log_lines": run.logs,
        "rows": rows,
        "aims": aims(rows),
    }
    print(f"written to {write_results(args.name, figures)}", flush=True)
    return figures


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
