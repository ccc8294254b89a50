"""The service with a fitted model: train job, precompute job, ``GET /recommendations``.

A synthetic catalogue (100,000 videos, 50,000 users, 2,000,000 actions at ``--scale 1``) is
bulk-loaded straight into a database (embedded SQLite by default, ``--postgres URL``), then:

* the ``train`` job fits the hybrid (seconds per strategy) and publishes it;
* the ``precompute`` job caches top-N for the most recently active users;
* the real server (a subprocess) answers ``GET /recommendations/{user}`` for a cache miss
  (first request of a user) and a cache hit (the same user again).

Figures are printed and written to ``bench/results/service.json``.

    python -m bench.bench_service --scale 0.05      # quick
    python -m bench.bench_service                   # full size
    python -m bench.bench_service --reuse bench/var/full.db   # load the DB once, then reuse
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import Engine, insert
from tests.utils.synthetic import make_synthetic

from bench.common import AUTH, percentiles, server, write_results
from recomind.cache import open_cache
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.jobs import JobContext, run_jobs
from recomind.serving.model_ranker import ModelRanker
from recomind.serving.service import RecommendationService
from recomind.storage import migrate
from recomind.storage.engine import make_engine
from recomind.storage.tables import video_actions, video_popularity, videos

logger = logging.getLogger("bench.service")
VAR = Path(__file__).parent / "var"
CHUNK = 20_000


def children_cpu() -> float:
    """CPU seconds of finished child processes (the precompute workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def server_cpu() -> float:
    """CPU seconds used so far by this process's ``recomind serve`` children (0 if none)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"serve" in cmd:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _ts(x: np.ndarray) -> list[datetime]:
    return [datetime.fromtimestamp(float(t), UTC).replace(tzinfo=None) for t in x]


def load(engine: Engine, *, scale: float, seed: int) -> dict[str, Any]:
    """Generate the catalogue and bulk-insert videos, actions and popularity."""
    n_items, n_users, n_events = int(100_000 * scale), int(50_000 * scale), int(2e6 * scale)
    now = time.time()
    t0 = time.perf_counter()
    data = make_synthetic(n_users, n_items, n_events, n_tags=200, now=now, days=7, seed=seed)
    gen_s = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    durations = rng.uniform(8, 60, size=data.n_items)
    kinds = np.where(data.weights > 1, "like", np.where(data.weights < 0, "skip", "view"))
    watch = (rng.uniform(0.1, 1.0, size=len(data.users)) * durations[data.items] * 1000).astype(
        np.int64
    )
    t0 = time.perf_counter()
    assert data.item_created is not None
    created = _ts(data.item_created)
    with engine.begin() as conn:
        rows = [
            {
                "video_id": data.item_ids[i],
                "title": data.item_titles[i],
                "url": f"https://cdn.example/{data.item_ids[i]}.mp4",
                "tags": data.item_tags[i],
                "creator_id": data.item_creators[i] or None,
                "duration_s": float(durations[i]),
                "created_at": created[i],
            }
            for i in range(data.n_items)
        ]
        for i in range(0, len(rows), CHUNK):
            conn.execute(insert(videos), rows[i : i + CHUNK])
        del rows
        stamps = _ts(data.timestamps)
        for i in range(0, len(data.users), CHUNK):
            sl = range(i, min(i + CHUNK, len(data.users)))
            conn.execute(
                insert(video_actions),
                [
                    {
                        "id": f"e{j}",
                        "user_id": data.user_ids[int(data.users[j])],
                        "video_id": data.item_ids[int(data.items[j])],
                        "action_type": str(kinds[j]),
                        "timestamp": stamps[j],
                        "watch_time_ms": int(watch[j]) if kinds[j] == "view" else None,
                    }
                    for j in sl
                ],
            )
        # Decayed popularity (6 h half-life) as of now, so /trending and top-ups work.
        age_h = (now - data.timestamps) / 3600.0
        pop = np.zeros(data.n_items)
        np.add.at(pop, data.items, data.weights * np.exp2(-age_h / 6.0))
        n_ev = np.bincount(data.items, minlength=data.n_items)
        at = datetime.fromtimestamp(now, UTC).replace(tzinfo=None)
        prow = [
            {
                "video_id": data.item_ids[i],
                "score": float(pop[i]),
                "last_updated": at,
                "n_events": int(n_ev[i]),
            }
            for i in np.flatnonzero(n_ev).tolist()
        ]
        for i in range(0, len(prow), CHUNK):
            conn.execute(insert(video_popularity), prow[i : i + CHUNK])
    return {
        "n_items": data.n_items,
        "n_users": data.n_users,
        "n_events": len(data.users),
        "generate_seconds": round(gen_s, 2),
        "load_seconds": round(time.perf_counter() - t0, 2),
        "user_ids": data.user_ids,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--postgres", metavar="URL", help="load into this PostgreSQL database")
    ap.add_argument("--requests", type=int, default=1000, help="requests per hit/miss series")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="service")
    ap.add_argument(
        "--reuse",
        metavar="PATH",
        help="SQLite file kept between runs: loaded once, reused while scale and seed match",
    )
    ap.add_argument(
        "--cache",
        default="memory://",
        metavar="URL",
        help="cache the precompute job fills; redis://... lets it use worker processes",
    )
    ap.add_argument(
        "--precompute-workers",
        default="0",
        metavar="N[,N...]",
        help="precompute runs, one per worker count (0: one per core; memory:// is always 1)",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    VAR.mkdir(exist_ok=True)
    reused: dict[str, Any] | None = None
    if args.postgres:
        url = args.postgres
    elif args.reuse:
        db = Path(args.reuse)
        marker = db.with_name(db.name + ".load.json")
        if db.exists() and marker.exists():
            saved = json.loads(marker.read_text())
            if saved["scale"] == args.scale and saved["seed"] == args.seed:
                reused = saved["info"]
        if reused is None:
            for p in db.parent.glob(db.name + "*"):
                p.unlink()
        url = f"sqlite:///{db}"
    else:
        db = VAR / "service.db"
        for p in VAR.glob("service.db*"):
            p.unlink()
        url = f"sqlite:///{db}"
    model_dir = VAR / "models"
    for p in sorted(model_dir.glob("**/*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    migrate.upgrade(url)
    engine = make_engine(url)
    figures: dict[str, Any] = {"scale": args.scale, "database": url.split(":", 1)[0]}
    if reused is not None:
        info = dict(reused)
        figures["reused_database"] = True
        logger.info("reusing the database %s", url)
    else:
        info = load(engine, scale=args.scale, seed=args.seed)
        if args.reuse:
            marker = Path(args.reuse).with_name(Path(args.reuse).name + ".load.json")
            doc = {"scale": args.scale, "seed": args.seed, "info": info}
            marker.write_text(json.dumps(doc))
    user_ids: list[str] = info.pop("user_ids")
    figures |= info
    logger.info("loaded %s", info)

    active = int(10_000 * args.scale) or 1
    settings = Settings(
        database_url=url,
        cache_prefix=f"bench-service-{os.getpid()}:",
        cache_url="memory://",
        model_dir=str(model_dir),
        precompute_max_users=active,
        precompute_active_hours=24 * 8,
        train_window_days=0,
    )
    rss0 = rss_mb()
    ctx = JobContext(settings, engine)
    [train] = run_jobs(ctx, ["train"])
    assert train.ok, train.error
    version_dir = model_dir / str(train.summary["version"])
    meta = json.loads((version_dir / "meta.json").read_text())
    sizes = {
        f.name.split(".")[1] if f.name.count(".") == 2 else "hybrid": round(
            f.stat().st_size / 2**20, 1
        )
        for f in version_dir.glob("hybrid*.npz")
    }
    figures["train"] = {
        "job_seconds": round(train.seconds, 2),
        "fit_seconds_by_strategy": meta["fit_seconds"],
        "fit_seconds_total": meta["fit_seconds_total"],
        "model_mb_on_disk_by_strategy": sizes,
        "model_mb_on_disk_total": round(sum(sizes.values()), 1),
        "rss_mb_before_train": round(rss0, 1),
        "rss_mb_after_train": round(rss_mb(), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    logger.info("train %s", figures["train"])

    cache = SafeCache(open_cache(args.cache))
    ranker = ModelRanker.from_settings(settings, background=False)
    assert ranker.loader is not None and ranker.loader.refresh() is not None
    runs = []
    for workers in [int(w) for w in args.precompute_workers.split(",")]:
        cache.backend.delete_prefix(settings.cache_prefix)  # every run starts cold
        run_settings = settings.model_copy(
            update={"cache_url": args.cache, "precompute_workers": workers}
        )
        service = RecommendationService(engine, cache, run_settings, ranker)
        load0, cpu0, child0 = os.getloadavg()[0], time.process_time(), children_cpu()
        [pre] = run_jobs(JobContext(run_settings, engine, service), ["precompute"])
        assert pre.ok, pre.error
        runs.append(
            {
                "cache": args.cache.split("://")[0],
                "workers": pre.summary["workers"],
                "users": pre.summary["users"],
                "seconds": round(pre.seconds, 2),
                # this process (all threads) plus the worker processes it waited for
                "cpu_seconds": round(time.process_time() - cpu0 + children_cpu() - child0, 2),
                "users_per_second": round(pre.summary["users"] / max(pre.seconds, 1e-9), 1),
                "batched": pre.summary["batched"],
                "load_average_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],
            }
        )
        logger.info("precompute %s", runs[-1])
    figures["precompute"] = runs
    cache.backend.delete_prefix(settings.cache_prefix)
    cache.close()
    engine.dispose()

    env = {
        "RECOMIND_DATABASE_URL": url,
        "RECOMIND_CACHE_URL": "memory://",
        "RECOMIND_MODEL_DIR": str(model_dir),
        "RECOMIND_SERVE_CONSUMERS": "none",
        "RECOMIND_JOBS_INTERVAL_MINUTES": "0",
        "RECOMIND_EVENT_BUS_URL": f"sqlite:///{VAR / 'bus.db'}",
    }
    rng = np.random.default_rng(args.seed)
    users = [user_ids[i] for i in rng.choice(len(user_ids), size=args.requests, replace=False)]
    miss: list[float] = []
    hit: list[float] = []
    with server(env) as base, httpx.Client(base_url=base, headers=AUTH, timeout=30) as http:
        http.get(f"/recommendations/{users[0]}")  # load the model, warm the pools
        cpu0 = server_cpu()
        for u in users[1:]:
            t0 = time.perf_counter()
            r = http.get(f"/recommendations/{u}")
            miss.append(time.perf_counter() - t0)
            assert r.status_code == 200 and r.headers["X-Cache"] == "miss", r.headers
        cpu1 = server_cpu()
        for u in users[1:]:
            t0 = time.perf_counter()
            r = http.get(f"/recommendations/{u}")
            hit.append(time.perf_counter() - t0)
            assert r.headers["X-Cache"] == "hit"
        cpu2 = server_cpu()
    figures["load_average_1m_after_requests"] = round(os.getloadavg()[0], 2)
    figures["get_recommendations_miss"] = percentiles(miss)
    figures["get_recommendations_hit"] = percentiles(hit)
    # the server's CPU (all its threads) per request, mean over each series
    figures["server_cpu_ms_per_request"] = {
        "miss": round((cpu1 - cpu0) / max(len(miss), 1) * 1000, 2),
        "hit": round((cpu2 - cpu1) / max(len(hit), 1) * 1000, 2),
    }
    figures["aims"] = {"hit_p99_ms": 5, "miss_p99_ms": 20, "precompute_seconds": 30}
    path = write_results(args.out, figures)
    print(json.dumps(figures, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
