"""Latency of ``GET /recommendations/{user_id}`` (cache hit and miss) and ``GET /trending``.

Runs the real server (``recomind serve``) in a subprocess on the embedded default and on
PostgreSQL + Redis, loads a synthetic catalogue, and times sequential keep-alive requests.

    python -m bench.bench_api [--videos 5000] [--users 2000] [--actions-per-user 20]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.common import AUTH, percentiles, server, write_results
from recomind.config import Settings
from recomind.folds.pipeline import apply_events
from recomind.schemas import ActionEvent, VideoCreate, utcnow
from recomind.storage import migrate
from recomind.storage.engine import make_engine, write_tx
from recomind.storage.videos import create_videos

TAGS = [f"tag{i}" for i in range(40)]


def load(url: str, videos: int, users: int, per_user: int) -> None:
    rng = random.Random(1)
    settings = Settings(database_url=url)
    engine = make_engine(url)
    now = utcnow()
    catalogue = [
        VideoCreate(
            video_id=f"v{i}",
            title=f"Video {i}",
            url=f"https://cdn.example/v{i}.mp4",
            tags=rng.sample(TAGS, k=rng.randint(1, 3)),
            creator_id=f"c{i % 300}",
            duration_s=30.0,
            created_at=now - timedelta(hours=rng.uniform(0, 300)),
        )
        for i in range(videos)
    ]
    for i in range(0, len(catalogue), 1000):
        with write_tx(engine) as conn:
            create_videos(conn, items=catalogue[i : i + 1000])
    weights = [1.0 / (r + 1) ** 0.8 for r in range(videos)]
    events: list[ActionEvent] = []
    for u in range(users):
        for vid in rng.choices(range(videos), weights=weights, k=per_user):
            events.append(
                ActionEvent(
                    event_id=str(uuid.uuid4()),
                    user_id=f"u{u}",
                    video_id=f"v{vid}",
                    action_type=rng.choice(["view", "view", "like", "skip"]),  # type: ignore[arg-type]
                    timestamp=now - timedelta(minutes=rng.uniform(0, 3000)),
                    watch_time_ms=rng.randint(1000, 30000),
                )
            )
    for i in range(0, len(events), 2000):
        apply_events(engine, settings=settings, events=events[i : i + 2000])
    engine.dispose()


def measure(base: str, users: int, requests: int) -> dict[str, Any]:
    rng = random.Random(2)
    out: dict[str, Any] = {}
    with httpx.Client(base_url=base, headers=AUTH, timeout=30) as http:
        http.get("/healthz")
        miss_users = rng.sample(range(users), k=min(requests, users))
        miss, hit, trending = [], [], []
        for u in miss_users:
            t = time.perf_counter()
            r = http.get(f"/recommendations/u{u}")
            miss.append(time.perf_counter() - t)
            assert r.headers["X-Cache"] == "miss", r.headers
        for i in range(requests):
            u = miss_users[i % len(miss_users)]
            t = time.perf_counter()
            r = http.get(f"/recommendations/u{u}")
            hit.append(time.perf_counter() - t)
            assert r.headers["X-Cache"] == "hit"
        for _ in range(requests):
            t = time.perf_counter()
            http.get("/trending")
            trending.append(time.perf_counter() - t)
    out["recommendations_cache_miss"] = percentiles(miss)
    out["recommendations_cache_hit"] = percentiles(hit)
    out["trending"] = percentiles(trending)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--videos", type=int, default=5000)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--actions-per-user", type=int, default=20)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--skip-postgres", action="store_true")
    args = ap.parse_args()
    figures: dict[str, Any] = {
        "setup": {
            "videos": args.videos,
            "users": args.users,
            "actions": args.users * args.actions_per_user,
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        load(url, args.videos, args.users, args.actions_per_user)
        with server({"RECOMIND_DATABASE_URL": url, "RECOMIND_CACHE_URL": "memory://"}) as base:
            figures["embedded"] = measure(base, args.users, args.requests)
    if not args.skip_postgres:
        admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT")
        name = f"recomind_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        url = args.postgres.rsplit("/", 1)[0] + "/" + name
        prefix = f"bench{uuid.uuid4().hex[:6]}:"
        try:
            migrate.upgrade(url)
            load(url, args.videos, args.users, args.actions_per_user)
            env = {
                "RECOMIND_DATABASE_URL": url,
                "RECOMIND_CACHE_URL": args.redis,
                "RECOMIND_CACHE_PREFIX": prefix,
            }
            with server(env) as base:
                figures["postgres+redis"] = measure(base, args.users, args.requests)
        finally:
            from recomind.cache import open_cache

            open_cache(args.redis).delete_prefix(prefix)
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.dispose()
    path = write_results("api", figures)
    for stack in ("embedded", "postgres+redis"):
        for k, v in figures.get(stack, {}).items():
            p50, p99 = v["p50_ms"], v["p99_ms"]
            print(f"{stack:15s} {k:28s} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  (n={v['n']})")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
