"""What the API's guards cost: cache hits and accepted ``POST /video_action``/s with auth and the
request limits on and off, in the same window, beside a bare endpoint.

    python -m bench.bench_guard [--seconds 10] [--rounds 3] [--caches memory,redis] [--auth auto]

One SQLite catalogue (``bench_api.load``: 5,000 videos, 2,000 users), then per round, in turn:

- ``bare``: ``bench.bare_apps starlette`` (the HTTP stack alone: a cached list's bytes on
  ``GET /recommendations/{id}``, 202 on ``POST /video_action``), as the floor;
- ``off``: ``recomind serve`` with every request limit off (and ``RECOMIND_AUTH=off``);
- ``on``: the same with every request counted against the limits (per key, user and address,
  ``*=1000000/second``: counted, never refused) and, once the auth layer is in
  (``Settings.auth`` exists), ``RECOMIND_AUTH=required`` with the master key on every request.

The security headers and CORS layers are on in both ``off`` and ``on`` (they have no switch);
the per-user event limit is at its default in both. Each server measures: 1,500 sequential
keep-alive cache hits over 300 warmed users (``httpx``: p50/p99), the same hits from ``wrk``
(32 connections: requests/s and p99), and ``wrk``'s accepted ``POST /video_action``/s (32
connections, ``post_action.lua``, 5,000 users: none near a limit, every answer must be 202; the
consumers are off, so the figure is the API's accept path). ``--caches redis`` counts the
limits in Redis (``--redis``). On a shared machine those figures swing from round to round;
``check_alone_us`` is steadier: the request-limits middleware alone, around an app that does
nothing, in process (µs per request, memory and Redis, one at a time and 32 in flight). Figures
go to ``bench/results/guard.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench import wrk
from bench.bench_api import load
from bench.common import free_port, percentiles, server, wait_up, write_results
from recomind.api.request_limits import RequestLimits, RequestRateLimiter
from recomind.cache import open_cache
from recomind.config import Settings
from recomind.storage import migrate

USERS = 300
PASSES = 5
MASTER_KEY = "rmk_bench_" + uuid.uuid4().hex
COUNTED = "*=1000000/second"
POST_LUA = Path(__file__).with_name("post_action.lua")


def auth_available() -> bool:
    """Whether this tree has the auth layer (issue 15's ``Settings.auth`` and master key)."""
    return "auth" in Settings.model_fields and "master_key" in Settings.model_fields


def variant_env(variant: str, auth: bool) -> tuple[dict[str, str], dict[str, str]]:
    """The server's environment and the client's headers for ``off`` or ``on``."""
    limits = COUNTED if variant == "on" else ""
    env = {f"RECOMIND_RATE_LIMITS_PER_{s}": limits for s in ("KEY", "USER", "ADDRESS")}
    headers: dict[str, str] = {}
    if auth_available():
        env["RECOMIND_AUTH"] = "required" if variant == "on" and auth else "off"
        env["RECOMIND_MASTER_KEY"] = MASTER_KEY
        if variant == "on" and auth:
            headers["Authorization"] = f"Bearer {MASTER_KEY}"
    return env, headers


@contextmanager
def bare_server(body_file: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bare_apps", "starlette", "--port", str(port)],
        env={**os.environ, "BENCH_BODY_FILE": str(body_file)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base, proc, timeout_s=60)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def measure(base: str, headers: dict[str, str], seconds: int, bare: bool) -> dict[str, Any]:
    """Sequential hits, concurrent hits and accepted POSTs against the server at ``base``."""
    latencies: list[float] = []
    with httpx.Client(base_url=base, timeout=30, headers=headers) as http:
        for u in range(USERS):  # fill the cache (the first request of each user is a miss)
            http.get(f"/recommendations/u{u}").raise_for_status()
        for _ in range(PASSES):
            for u in range(USERS):
                t0 = time.perf_counter()
                r = http.get(f"/recommendations/u{u}")
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200 or r.headers.get("x-cache") != "hit":
                    raise RuntimeError(f"not a hit: {r.status_code} {r.headers}")
    spread = {"WRK_PREFIX": "/recommendations/u", "WRK_USERS": str(USERS)}
    hits = wrk.run(
        base, connections=32, seconds=seconds, script=wrk.SPREAD_LUA, env=spread, headers=headers
    )
    posts = wrk.run(base + "/video_action", connections=32, seconds=seconds, script=POST_LUA,
                    headers=headers)  # fmt: skip
    for name, run in (("hits", hits), ("posts", posts)):
        if run["non_2xx"] or any(run["socket_errors"].values()):
            raise RuntimeError(f"{name}: not every request succeeded: {run}")
    return {
        "sequential_hits": percentiles(latencies),
        "concurrent_hits": {k: hits[k] for k in ("requests_per_s", "p50_ms", "p99_ms")},
        "accepted_posts_per_s": posts["requests_per_s"],
        "bare": bare,
    }


def one_round(
    url: str, work: Path, cache: str, redis_url: str, seconds: int, auth: bool
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    body = work / "body.json"
    for variant in ("off", "on", "bare"):  # bare last: it serves the bytes "off" fetched
        if variant == "bare":
            with bare_server(body) as base:
                out[variant] = measure(base, {}, seconds, bare=True)
            continue
        prefix = f"bench_guard_{uuid.uuid4().hex[:8]}:"
        cache_url = "memory://" if cache == "memory" else redis_url
        extra, headers = variant_env(variant, auth)
        env = {
            "RECOMIND_DATABASE_URL": url,
            "RECOMIND_CACHE_URL": cache_url,
            "RECOMIND_CACHE_PREFIX": prefix,
            "RECOMIND_MODEL_DIR": "",
            "RECOMIND_SERVE_CONSUMERS": "none",
            "RECOMIND_JOBS_INTERVAL_MINUTES": "0",
            "RECOMIND_EVENT_BUS_URL": f"sqlite:///{work / (prefix[:-1] + '-bus.db')}",
            "RECOMIND_LAKE_URL": f"file://{work / 'lake'}",
            **extra,
        }
        try:
            with server(env, "--no-migrate") as base:
                if not body.exists():  # the bare app serves a real cached list's bytes
                    with httpx.Client(base_url=base, headers=headers) as http:
                        http.get("/recommendations/u0")
                        body.write_bytes(http.get("/recommendations/u0").content)
                out[variant] = measure(base, headers, seconds, bare=False)
        finally:
            if cache_url.startswith("redis"):
                open_cache(cache_url).delete_prefix(prefix)
    return out


async def _check_alone(cache_url: str, concurrency: int, n: int = 20_000) -> float:
    """µs per request through ``RequestLimits`` (every scope counted) around a no-op app."""
    settings = Settings(
        cache_url=cache_url,
        cache_prefix=f"bench_guard_{uuid.uuid4().hex[:8]}:",
        **{f"rate_limits_per_{s}": COUNTED for s in ("key", "user", "address")},
    )
    limiter = RequestRateLimiter(settings)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    mw = RequestLimits(app, limiter)
    scope = {"type": "http", "method": "GET", "path": "/recommendations/u1", "query_string": b"",
             "headers": [], "client": ("127.0.0.1", 5000), "state": {}}  # fmt: skip

    async def worker(count: int) -> None:
        for _ in range(count):
            await mw(scope, receive, app)

    try:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
        return round((time.perf_counter() - t0) / n * 1e6, 2)
    finally:
        await limiter.close()
        if cache_url.startswith("redis"):
            open_cache(cache_url).delete_prefix(settings.cache_prefix)


def check_alone(caches: list[str], redis_url: str) -> dict[str, float]:
    out = {}
    for cache in caches:
        url = "memory://" if cache == "memory" else redis_url
        for concurrency in (1, 32):
            out[f"{cache}_c{concurrency}"] = asyncio.run(_check_alone(url, concurrency))
    return out


def summary(runs: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Medians per variant, and the on/off and off/bare ratios."""

    def med(variant: str, *path: str) -> float:
        values = []
        for run in runs:
            value: Any = run[variant]
            for p in path:
                value = value[p]
            values.append(float(value))
        return round(statistics.median(values), 4)

    figures = {
        v: {
            "sequential_hit_p50_ms": med(v, "sequential_hits", "p50_ms"),
            "sequential_hit_p99_ms": med(v, "sequential_hits", "p99_ms"),
            "concurrent_hits_per_s": med(v, "concurrent_hits", "requests_per_s"),
            "concurrent_hit_p99_ms": med(v, "concurrent_hits", "p99_ms"),
            "accepted_posts_per_s": med(v, "accepted_posts_per_s"),
        }
        for v in ("bare", "off", "on")
    }

    def ratio(a: str, b: str, key: str) -> float:
        return round(figures[a][key] / figures[b][key], 3) if figures[b][key] else 0.0

    keys = list(figures["off"])
    figures["on_over_off"] = {k: ratio("on", "off", k) for k in keys}
    figures["off_over_bare"] = {k: ratio("off", "bare", k) for k in keys}
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10, help="each wrk run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--caches", default="memory", help="memory, redis or memory,redis")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--auth", choices=["auto", "on", "off"], default="auto",
                    help="auth in the 'on' variant: auto = when this tree has it")  # fmt: skip
    ap.add_argument("--name", default="guard", help="results file bench/results/NAME.json")
    args = ap.parse_args()
    if args.auth == "on" and not auth_available():
        raise SystemExit("--auth on: this tree has no Settings.auth / master_key yet")
    auth = auth_available() and args.auth != "off"
    wrk.require_wrk()
    results: dict[str, Any] = {"auth_in_on": auth, "seconds": args.seconds, "caches": {}}
    results["check_alone_us"] = check_alone(args.caches.split(","), args.redis)
    print("check alone (µs per request)", results["check_alone_us"], flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'catalogue.db'}"
        migrate.upgrade(url)
        load(url, 5000, 2000, 20)
        for cache in args.caches.split(","):
            runs = []
            for i in range(args.rounds):
                runs.append(one_round(url, work, cache, args.redis, args.seconds, auth))
                print(cache, "round", i + 1, summary(runs[-1:]), flush=True)
            results["caches"][cache] = {"runs": runs, "summary": summary(runs)}
            print(cache, "summary", results["caches"][cache]["summary"], flush=True)
    print("wrote", write_results(args.name, results))


if __name__ == "__main__":
    main()
