"""Same-window A/B of ``GET /recommendations`` cache hits between two source trees.

Starts ``recomind serve`` from each tree in turn (``PYTHONPATH`` set to its ``src``), on one
shared SQLite catalogue (5,000 videos, 2,000 users, the in-process cache, no model), fills 300
users' lists, then times 1,500 sequential keep-alive hits. The trees alternate ``--rounds``
times, so both see the same machine load; a refactor is checked against its base this way.

    git worktree add /tmp/base <commit>
    python -m bench.bench_hits_ab --before /tmp/base/src --after src [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.bench_api import load
from bench.common import AUTH, free_port, percentiles, wait_up, write_results
from recomind.storage import migrate

USERS = 300
PASSES = 5


def hits(src: str, url: str, work: Path) -> dict[str, Any]:
    """Serve from ``src`` and time ``PASSES`` rounds of hits over ``USERS`` cached lists."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": src,
        "RECOMIND_DATABASE_URL": url,
        "RECOMIND_CACHE_URL": "memory://",
        "RECOMIND_MODEL_DIR": "",
        "RECOMIND_SERVE_CONSUMERS": "none",
        "RECOMIND_JOBS_INTERVAL_MINUTES": "0",
        "RECOMIND_EVENT_BUS_URL": f"sqlite:///{work / 'bus.db'}",
        "RECOMIND_LAKE_URL": f"file://{work / 'lake'}",
        "RECOMIND_LOG_LEVEL": "warning",
    }
    cmd = [sys.executable, "-m", "recomind", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=work, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base, proc, timeout_s=60)
        users = [f"u{i}" for i in range(USERS)]
        latencies: list[float] = []
        with httpx.Client(base_url=base, headers=AUTH, timeout=30) as http:
            for u in users:
                http.get(f"/recommendations/{u}")
            for _ in range(PASSES):
                for u in users:
                    t0 = time.perf_counter()
                    r = http.get(f"/recommendations/{u}")
                    latencies.append(time.perf_counter() - t0)
                    assert r.headers["X-Cache"] == "hit", r.headers
        return percentiles(latencies)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="src folder of the base tree")
    ap.add_argument("--after", required=True, help="src folder of the changed tree")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'catalogue.db'}"
        migrate.upgrade(url)
        load(url, 5000, 2000, 20)
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            for label in ("before", "after"):
                src = str(Path(getattr(args, label)).resolve())
                runs[label].append(hits(src, url, work))
                print(label, runs[label][-1], flush=True)
    write_results("hits_ab", {"before": args.before, "after": args.after, "runs": runs})


if __name__ == "__main__":
    main()
