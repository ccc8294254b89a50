"""The train run's stages at scale, in process: dataset, ranker fit, hybrid fit, gate.

    python -m bench.bench_train [--users 50000] [--items 100000] [--events 2000000]
        [--no-ranker] [--name train]

The data are ``tests.utils.synthetic.make_synthetic`` (the catalogue ``bench_service``
loads into a database), with ``bench_service``'s sizes by default. It times what the
``train`` job does after reading the database (``bench_service`` times the whole job):
:func:`~recomind.serving.challenger.fit_challenger` (the past's hybrid, the training
groups and LightGBM, the serving hybrid) and :func:`~recomind.serving.challenger.gate`,
with seconds per stage, CPU seconds and peak memory, to ``bench/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import time

from tests.utils.synthetic import make_synthetic

from bench.common import write_results
from recomind.config import Settings
from recomind.jobs.builtin import summing_fitter
from recomind.serving.challenger import fit_challenger, gate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=50_000)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--no-ranker", action="store_true")
    ap.add_argument("--profile", action="store_true", help="print the top of a cProfile")
    ap.add_argument("--name", default="train")
    args = ap.parse_args()
    t0 = time.perf_counter()
    data = make_synthetic(args.users, args.items, args.events, n_tags=500, seed=7)
    made = time.perf_counter() - t0
    settings = Settings(database_url="sqlite://", learned_ranker=not args.no_ranker)
    seconds: dict[str, float] = {}
    fit = summing_fitter(seconds)

    prof = cProfile.Profile() if args.profile else None
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    challenger = fit_challenger(data, settings, fit)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    decision = gate(challenger, None, settings)
    gate_s = time.perf_counter() - t1
    if prof:
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    out = {
        "args": vars(args),
        "events": int(data.users.size),
        "make_data_s": round(made, 1),
        "fit_s": round(fit_s, 1),
        "gate_s": round(gate_s, 1),
        "total_s": round(fit_s + gate_s, 1),
        "cpu_s": round(time.process_time() - cpu0, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "component_fit_s": seconds,
        "facts": challenger.facts,
        "gate": decision,
    }
    print(out)
    write_results(args.name, out)


if __name__ == "__main__":
    main()
