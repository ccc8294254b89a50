"""Benchmark every strategy on a synthetic short-video catalogue.

Full scale: 100,000 videos (200 tags), 50,000 users, 2,000,000 actions; fits each strategy,
measures the fitted model's array memory, and times scoring + top-20 ranking of 10,000
users in batches. Results are printed and written to ``bench/results/engine.json``.

Usage::

    PYTHONPATH=src python -m bench.bench_engine --scale 0.05
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from tests.utils.synthetic import make_synthetic

from recomind.recommend.base import Interactions, Recommender
from recomind.recommend.hybrid import HybridRecommender
from recomind.recommend.registry import build

logger = logging.getLogger("bench_engine")

COMPONENTS = ["popularity", "content", "itemknn", "userknn", "als"]


def model_bytes(model: Recommender) -> int:
    """Sum of ``nbytes`` of the arrays the model saves (its resident learnt state)."""
    total = sum(int(a.nbytes) for a in model.state().values())
    if isinstance(model, HybridRecommender):
        total += sum(model_bytes(m) for m in model.models.values())
    return total


def rss_mb() -> float:
    """Current resident set size of this process, MiB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score_and_rank(
    model: Recommender, hist: sparse.csr_matrix, batch: int, n: int = 20
) -> tuple[float, np.ndarray]:
    """Seconds to score all rows of ``hist`` in batches and take each row's top ``n``."""
    tops = np.empty((hist.shape[0], n), dtype=np.int64)
    start = time.perf_counter()
    for lo in range(0, hist.shape[0], batch):
        h = hist[lo : lo + batch]
        s = model.score(h)
        rows = np.repeat(np.arange(h.shape[0]), np.diff(h.indptr))
        s[rows, h.indices] = -np.inf
        part = np.argpartition(-s, n - 1, axis=1)[:, :n]
        vals = np.take_along_axis(s, part, axis=1)
        tops[lo : lo + batch] = np.take_along_axis(part, np.argsort(-vals, axis=1), axis=1)
    return time.perf_counter() - start, tops


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of full size")
    parser.add_argument("--batch", type=int, default=500, help="rows scored per batch")
    parser.add_argument("--score-users", type=int, default=10_000, help="users to score")
    parser.add_argument("--pages", type=int, default=200, help="hybrid rank() pages to time")
    parser.add_argument("--strategies", default=",".join([*COMPONENTS, "hybrid"]))
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "engine.json"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    n_items = max(200, int(100_000 * args.scale))
    n_users = max(100, int(50_000 * args.scale))
    n_events = max(2_000, int(2_000_000 * args.scale))
    t0 = time.perf_counter()
    data: Interactions = make_synthetic(n_users, n_items, n_events, n_tags=200, seed=args.seed)
    gen_s = time.perf_counter() - t0
    logger.info("generated %d events in %.1fs", n_events, gen_s)
    rng = np.random.default_rng(args.seed)
    n_score = min(args.score_users, n_users)
    rows = np.sort(rng.choice(n_users, size=n_score, replace=False))
    hist = data.matrix()[rows]

    wanted = [s for s in args.strategies.split(",") if s]
    results: dict[str, Any] = {}
    fitted: dict[str, Recommender] = {}
    for name in wanted:
        t = time.perf_counter()
        if name == "hybrid":
            missing = [c for c in COMPONENTS if c not in fitted]
            for c in missing:
                fitted[c] = build(c).fit(data)
            model: Recommender = HybridRecommender().set_components(fitted, data)
            fit_s = time.perf_counter() - t + sum(results[c]["fit_seconds"] for c in COMPONENTS)
        else:
            model = build(name).fit(data)
            fit_s = time.perf_counter() - t
            fitted[name] = model
        score_s, _ = score_and_rank(model, hist, args.batch)
        entry: dict[str, Any] = {
            "fit_seconds": round(fit_s, 2),
            "model_mb": round(model_bytes(model) / 2**20, 1),
            "rss_mb_after_fit": round(rss_mb(), 1),
            "peak_rss_mb_so_far": round(peak_rss_mb(), 1),
            "score_top20_seconds": round(score_s, 2),
            "score_users": int(n_score),
            "users_per_second": round(n_score / max(score_s, 1e-9), 1),
        }
        if isinstance(model, HybridRecommender):
            entry["fit_seconds_note"] = "sum of component fits (components shared)"
            n_pages = min(args.pages, n_score)
            t = time.perf_counter()
            for r in range(n_pages):
                model.rank(hist[r], 20)
            entry["rank_page_ms"] = round(1000 * (time.perf_counter() - t) / n_pages, 2)
        results[name] = entry
        logger.info("%s: %s", name, entry)

    report = {
        "scale": args.scale,
        "n_items": n_items,
        "n_users": n_users,
        "n_events": n_events,
        "n_tags": 200,
        "batch": args.batch,
        "generate_seconds": round(gen_s, 2),
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "strategies": results,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return report


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
