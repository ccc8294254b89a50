"""What the per-user event rate limit costs: accepted ``POST /video_action``/s with and without.

    python -m bench.bench_rate_limit [--seconds 10] [--rounds 3] [--caches memory,redis]

Runs ``recomind serve`` on the embedded default (SQLite, SQLite event log) with the cache
``memory://`` (the limit counts in process memory) and ``redis://`` (the limit counts in
Redis), each with ``RECOMIND_EVENT_RATE_LIMIT`` empty (off) and at its default, alternating
off/on in every round so both see the same machine load. Load: ``wrk`` (one thread, 32
connections, the ``bench/post_action.lua`` bodies over 5,000 users: no user is near its
limit, so every answer must be 202). Figures: accepted/s per run and the median per setting,
the check alone (``EventRateLimiter.retry_after`` over 5,000 users, one at a time and 32
concurrent), and the server's CPU per accepted action in process (the app driven through
``httpx.ASGITransport``, 32 in flight, no consumers): CPU figures are steadier than requests
per second on a box shared with other work.

``--before-src DIR`` adds an A/B of the whole change: the same embedded ``wrk`` run against a
server from another source tree (e.g. ``git archive BASE src | tar -x -C /tmp/base`` and
``--before-src /tmp/base/src``) and from this one, alternating.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from bench.bench_stream import accepted_per_s_wrk, catalogue, env_of
from bench.common import AUTH, server, write_results
from recomind.api.app import create_app
from recomind.api.rate_limit import EventRateLimiter
from recomind.cache import open_cache
from recomind.config import Settings
from recomind.storage import migrate

DEFAULT_LIMIT = Settings.model_fields["event_rate_limit"].default


@contextmanager
def deployment(
    cache_url: str, limit: str, *, migrate_db: bool = True, **extra: Any
) -> Iterator[Settings]:
    """Settings for a fresh embedded database and bus; its Redis keys dropped afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"bench_rl_{uuid.uuid4().hex[:8]}:"
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'r.db'}",
            event_bus_url=f"sqlite:///{Path(tmp) / 'bus.db'}",
            lake_url=f"file://{tmp}/lake",
            cache_url=cache_url,
            cache_prefix=prefix,
            model_dir="",
            event_rate_limit=limit,
            **extra,
        )
        if migrate_db:
            migrate.upgrade(settings.database_url)
        try:
            yield settings
        finally:
            if cache_url.startswith("redis"):
                open_cache(cache_url).delete_prefix(prefix)


def one_run(cache_url: str, limit: str, seconds: int, src: str | None = None) -> float:
    """Accepted actions/s over ``wrk``; ``src``: serve the ``recomind`` package found there
    (``recomind serve`` migrates the database with that tree's own migrations)."""
    with deployment(cache_url, limit, migrate_db=src is None) as settings:
        env = env_of(settings)
        if src is not None:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)
        with server(env) as base:
            catalogue(base)
            accepted_per_s_wrk(base, seconds=2)  # warm up
            return float(accepted_per_s_wrk(base, seconds=seconds)["accepted_per_s"])


def check_cost(cache_url: str, n: int = 20_000) -> dict[str, dict[str, float]]:
    """Microseconds (wall, CPU) per ``retry_after`` with the default limit, 5,000 users."""
    settings = Settings(
        cache_url=cache_url, cache_prefix=f"bench_rl_{uuid.uuid4().hex[:8]}:", model_dir=""
    )

    async def run(concurrency: int) -> dict[str, float]:
        limiter = EventRateLimiter(settings)
        try:
            for i in range(500):  # warm up: connections, scripts
                await limiter.retry_after(f"w{i}")

            async def worker(k: int) -> None:
                for i in range(k, n, concurrency):
                    assert await limiter.retry_after(f"u{i % 5000}") is None

            wall, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(worker(k) for k in range(concurrency)))
            return {
                "wall_us": round((time.perf_counter() - wall) / n * 1e6, 1),
                "cpu_us": round((time.process_time() - cpu) / n * 1e6, 1),
            }
        finally:
            await limiter.reset()
            await limiter.close()

    return {f"concurrency_{c}": asyncio.run(run(c)) for c in (1, 32)}


def inprocess_cpu_us(cache_url: str, limit: str, n: int = 4000) -> float:
    """CPU microseconds per accepted ``POST /video_action``, the app driven in process."""

    async def run() -> float:
        with deployment(cache_url, limit, serve_consumers="none", jobs_interval_minutes=0) as s:
            app = create_app(s)
            transport = httpx.ASGITransport(app=app)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=transport, base_url="http://bench", headers=AUTH
                ) as http,
            ):
                videos = [
                    {"video_id": f"v{i}", "title": "t", "url": "u", "duration_s": 30}
                    for i in range(1000)
                ]
                r = await http.post("/videos/batch", json={"videos": videos})
                r.raise_for_status()
                bodies = [
                    {
                        "user_id": f"u{i % 5000}",
                        "video_id": f"v{i % 1000}",
                        "action_type": "view",
                        "watch_time_ms": 1200,
                    }
                    for i in range(n + 300)
                ]
                gate = asyncio.Semaphore(32)

                async def post(body: dict[str, Any]) -> None:
                    async with gate:
                        r = await http.post("/video_action", json=body)
                        if r.status_code != 202:
                            raise RuntimeError(f"{r.status_code}: {r.text}")

                await asyncio.gather(*(post(b) for b in bodies[:300]))  # warm up
                cpu = time.process_time()
                await asyncio.gather(*(post(b) for b in bodies[300:]))
                return (time.process_time() - cpu) / n * 1e6

    return round(asyncio.run(run()), 1)


def alternate(rounds: int, runs: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Each run ``rounds`` times, in turn, the order flipped every round (same machine load)."""
    out: dict[str, list[float]] = {label: [] for label in runs}
    for r in range(rounds):
        for label in list(runs)[:: -1 if r % 2 else 1]:
            out[label].append(runs[label]())
            print(f"  round {r + 1} {label}: {out[label][-1]}", flush=True)
    return out


def summary(name: str, by: dict[str, list[float]], unit: str) -> dict[str, float]:
    """Medians per label; prints the change from the first label to the second."""
    med = {label: statistics.median(v) for label, v in by.items()}
    (a, va), (b, vb) = med.items()
    print(f"{name}: {a} {va:.1f} -> {b} {vb:.1f} {unit} ({(vb - va) / va * 100:+.1f} %)")
    return med


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--caches", default="memory,redis")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--before-src", default=None, help="a src/ tree to compare with (A/B)")
    args = ap.parse_args()
    urls = {"memory": "memory://", "redis": args.redis}
    caches = args.caches.split(",") if args.caches else []
    figures: dict[str, Any] = {
        "args": vars(args),
        "limit": DEFAULT_LIMIT,
        "load_average_before": os.getloadavg(),
    }
    lines: list[str] = []
    for name in caches:
        url = urls[name]
        figures.setdefault("check_cost", {})[name] = check_cost(url)
        lines.append(f"{name}: one check {figures['check_cost'][name]}")
        cpu = alternate(
            args.rounds,
            {
                "off": partial(inprocess_cpu_us, url, ""),
                "on": partial(inprocess_cpu_us, url, DEFAULT_LIMIT),
            },
        )
        figures.setdefault("inprocess_cpu_us", {})[name] = cpu
        figures.setdefault("inprocess_cpu_us_median", {})[name] = summary(
            f"{name}, in process", cpu, "CPU us per action"
        )
        wrk = alternate(
            args.rounds,
            {
                "off": partial(one_run, url, "", args.seconds),
                "on": partial(one_run, url, DEFAULT_LIMIT, args.seconds),
            },
        )
        figures.setdefault("runs", {})[name] = wrk
        figures.setdefault("median", {})[name] = summary(f"{name}, wrk", wrk, "accepted/s")
    if args.before_src:
        ab = alternate(
            args.rounds,
            {
                "before": partial(one_run, "memory://", "", args.seconds, src=args.before_src),
                "after": partial(one_run, "memory://", DEFAULT_LIMIT, args.seconds),
            },
        )
        figures["before_after_embedded"] = ab
        figures["before_after_embedded_median"] = summary(
            "embedded, before -> after (whole change)", ab, "accepted/s"
        )
    figures["load_average_after"] = os.getloadavg()
    print("\n".join(lines))
    print(f"written to {write_results('rate_limit', figures)}")


if __name__ == "__main__":
    main()
