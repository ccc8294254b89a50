"""Accepted ``POST /video_action`` per second, two source trees alternately (A/B).

    git archive <base commit> src | tar -x -C /tmp/base
    python -m bench.bench_accepted_ab --before /tmp/base/src --after src [--rounds 2]

Each round starts ``recomind serve`` on the embedded default (consumers in the process) for
the "before" tree and then the "after" one (``PYTHONPATH``), loads 1,000 videos and measures
accepted actions/s with ``wrk`` (``--seconds`` each, 32 connections) for two loads: views
only (``post_action.lua``) and a mix of views, likes and skips (``post_mixed.lua``: half are
taste actions, each of which drops and refreshes the user's list). Alternating rounds
spreads the machine's noise over both trees. Writes ``results/accepted_ab.json``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.bench_stream import catalogue, env_of
from bench.common import AUTH, embedded_settings, server, write_results

SCRIPTS = {
    "views": Path(__file__).with_name("post_action.lua"),
    "mixed": Path(__file__).with_name("post_mixed.lua"),
}


def wrk(base: str, script: Path, seconds: int) -> float:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            "-c32",
            f"-d{seconds}s",
            "-H",
            f"Authorization: {AUTH['Authorization']}",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError(f"requests were not accepted:\n{out}")
    return float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]


def one(src: str, seconds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = embedded_settings(tmp)
        old = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.path.abspath(src)
        try:
            with server(env_of(settings)) as base:
                catalogue(base)
                wrk(base, SCRIPTS["views"], 2)  # warm up
                return {load: wrk(base, script, seconds) for load, script in SCRIPTS.items()}
        finally:
            if old is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = old


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--before", required=True, help="src folder of the base tree")
    ap.add_argument("--after", default="src", help="src folder of the tree under test")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for _ in range(args.rounds):
        for label in ("before", "after"):
            runs[label].append(one(getattr(args, label), args.seconds))
            print(label, runs[label][-1], "load", os.getloadavg())
    figures: dict[str, Any] = {"args": vars(args), "runs": runs}
    for load in SCRIPTS:
        b = sum(r[load] for r in runs["before"]) / len(runs["before"])
        a = sum(r[load] for r in runs["after"]) / len(runs["after"])
        figures[load] = {"before": round(b, 1), "after": round(a, 1), "change": round(a / b - 1, 3)}
        print(f"{load}: before {b:.0f}/s, after {a:.0f}/s ({a / b - 1:+.1%})")
    print(f"written to {write_results('accepted_ab', figures)}")


if __name__ == "__main__":
    main()
