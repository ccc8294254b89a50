"""The miss path and precompute in process, timed (wall and CPU) on a fitted model.

Run it under ``PYTHONPATH=<tree>/src`` of each tree to compare (same database, same model,
alternate the trees: the machine is shared). ``--dump`` writes every list (ids, reasons,
scores) so two trees' lists can be compared item for item; ``--now`` pins the freshness
boost's clock for that.

    python -m bench.bench_service --reuse bench/var/full.db   # the database
    PYTHONPATH=src python bench/profile_miss.py --db bench/var/full.db \
        --models bench/var/prof_models --train                 # a model, once
    PYTHONPATH=src python bench/profile_miss.py --db bench/var/full.db \
        --models bench/var/prof_models --users 120 --chunks 3 --now 1796500000 --dump x.pkl

``compute_for_user`` runs for ``--users`` active users (each a miss), then ``precompute_chunk``
for ``--chunks`` chunks of 64; ``--profile`` writes cProfile stats of one of the two.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pickle
import random
import statistics
import time
from datetime import timedelta
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--chunks", type=int, default=10)
    ap.add_argument("--out")
    ap.add_argument("--profile")
    ap.add_argument("--profile-what", default="miss")
    ap.add_argument("--dump")
    ap.add_argument("--now", type=float, default=None)
    args = ap.parse_args()

    import recomind
    from recomind.cache import open_cache
    from recomind.cache.safe import SafeCache
    from recomind.config import Settings
    from recomind.jobs import JobContext, precompute, run_jobs
    from recomind.schemas import utcnow
    from recomind.serving import model_ranker as mr
    from recomind.serving.model_ranker import ModelRanker
    from recomind.serving.service import RecommendationService
    from recomind.storage.actions import active_users
    from recomind.storage.engine import make_engine, read_tx

    print("recomind from", recomind.__file__)
    url = f"sqlite:///{args.db}"
    settings = Settings(
        database_url=url,
        cache_prefix="harness:",
        cache_url="memory://",
        model_dir=args.models,
        precompute_max_users=10_000,
        precompute_active_hours=24 * 8,
        train_window_days=0,
    )
    engine = make_engine(url)
    if args.train:
        [train] = run_jobs(JobContext(settings, engine), ["train"])
        assert train.ok, train.error
        print("trained", train.seconds)
        return
    if args.now is not None:

        class _T:
            monotonic = staticmethod(time.monotonic)

            @staticmethod
            def time() -> float:
                return float(args.now)

        mr.time = _T  # type: ignore[attr-defined]
    cache = SafeCache(open_cache("memory://"))
    ranker = ModelRanker.from_settings(settings, background=False)
    assert ranker.loader is not None and ranker.loader.refresh() is not None
    service = RecommendationService(engine, cache, settings, ranker)
    since = utcnow() - timedelta(hours=settings.precompute_active_hours)
    with read_tx(engine) as conn:
        active = active_users(conn, since=since, limit=10_000)
    rng = random.Random(7)
    miss_users = rng.sample(active, args.users + 1)
    service.compute_for_user(miss_users[0])  # warm
    dump: dict[str, object] = {"miss": {}, "pre": {}}
    prof = cProfile.Profile() if args.profile else None
    walls, cpus = [], []
    if prof and args.profile_what == "miss":
        prof.enable()
    for u in miss_users[1:]:
        t0, c0 = time.perf_counter(), time.thread_time()
        items = service.compute_for_user(u)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.thread_time() - c0)
        dump["miss"][u] = [(i.video_id, i.reason, i.score) for i in items]  # type: ignore[index]
    if prof and args.profile_what == "miss":
        prof.disable()
    stored: dict[str, list[tuple[str, str, float]]] = {}
    orig = service.store_list

    def capture(user_id, items, generation_before):  # type: ignore[no-untyped-def]
        stored[user_id] = [(i.video_id, i.reason, i.score) for i in items]
        return orig(user_id, items, generation_before)

    service.store_list = capture  # type: ignore[method-assign]
    pre_users = active[: args.chunks * precompute.BATCH]
    chunks = precompute.chunks(pre_users, precompute.BATCH)
    if prof and args.profile_what == "pre":
        prof.enable()
    t0, c0 = time.perf_counter(), time.process_time()
    chunk_walls = []
    for ch in chunks:
        t1 = time.perf_counter()
        precompute.precompute_chunk(settings, service, ranker, ch)
        chunk_walls.append(time.perf_counter() - t1)
    pre_wall, pre_cpu = time.perf_counter() - t0, time.process_time() - c0
    if prof and args.profile_what == "pre":
        prof.disable()
    dump["pre"] = stored
    a = np.asarray(walls) * 1000
    c = np.asarray(cpus) * 1000
    res = {
        "miss_wall_ms": {
            p: round(float(np.percentile(a, q)), 2)
            for p, q in (("p50", 50), ("p90", 90), ("p99", 99))
        },
        "miss_cpu_ms": {
            p: round(float(np.percentile(c, q)), 2)
            for p, q in (("p50", 50), ("p90", 90), ("p99", 99))
        },
        "miss_mean_ms": round(float(a.mean()), 2),
        "pre_users": len(pre_users),
        "pre_wall_s": round(pre_wall, 2),
        "pre_cpu_s": round(pre_cpu, 2),
        "pre_ms_per_user_cpu": round(pre_cpu / len(pre_users) * 1000, 2),
        "chunk_wall_median_s": round(statistics.median(chunk_walls), 3),
    }
    print(json.dumps(res))
    if args.out:
        Path(args.out).write_text(json.dumps(res))
    if prof:
        prof.dump_stats(args.profile)
    if args.dump:
        Path(args.dump).write_bytes(pickle.dumps(dump))


if __name__ == "__main__":
    main()
