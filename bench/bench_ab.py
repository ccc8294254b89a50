"""A/B tests on a simulated audience: is the statistics honest, and does it find a real win?

    python -m bench.bench_ab [--seeds 20] [--users 240] [--page 5] [--horizon 100]

Serves the embedded default in process (the real app under uvicorn: SQLite, in-process cache,
SQLite event log, the lake on disk) to the audience of :mod:`tests.utils.audience` (hidden
topic tastes; each user's history posted first). One *round* of an experiment: it is created
over ``POST /experiments``, every user asks for one page of ``--page`` videos and reacts to
each item by their hidden tastes (a like, a skip or a view, over ``POST /video_action``),
then the results are computed from the lake (:func:`~recomind.serving.experiment_admin.
compute_results`, what ``GET /experiments/{name}/results`` serves) and the experiment stops.

* ``aa``: ``--seeds`` A/A rounds (control and treatment both ``current``; salt = the seed):
  how many seeds show a significant like-rate difference (the false-positive rate, against
  the nominal 5 %) or a sample-ratio mismatch.
* ``trending_vs_personalized``: control ``current`` (the personalized ranker) against
  ``trending``: the verdict at the horizon, the like-rate difference with its interval, and
  the smallest horizon (users per variant) at which the same data would have been decided.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.utils.audience import Audience
from tests.utils.stacks import Api, make_settings, running_api

from bench.common import write_results
from recomind.analytics.experiment_results import experiment_rows, results
from recomind.experiment_spec import Experiment
from recomind.serving.experiment_admin import WINDOW_S, lake_inputs, show
from recomind.storage import migrate

HORIZONS = (10, 20, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300)


def _post(api: Api, bodies: list[dict[str, Any]]) -> None:
    def one(b: dict[str, Any]) -> None:
        r = api.http.post("/video_action", json=b)
        if r.status_code != 202:
            raise RuntimeError(f"{r.status_code}: {r.text}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, bodies))


def load(api: Api, aud: Audience, history: int) -> None:
    r = api.http.post("/videos/batch", json={"videos": aud.videos})
    r.raise_for_status()
    bodies = [
        {"user_id": u, "video_id": v, "action_type": kind, "watch_time_ms": ms}
        for u in aud.tastes
        for v, kind, ms in aud.history(u, history)
    ]
    _post(api, bodies)
    api.settle()


def one_round(
    api: Api,
    aud: Audience,
    name: str,
    variants: list[dict[str, Any]],
    *,
    salt: str,
    page: int,
    horizon: int,
) -> tuple[dict[str, Any], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """An experiment's round (module docstring): ``(results, per-user rows, per-hour rows)``."""
    body = {"name": name, "variants": variants, "salt": salt, "horizon_users": horizon}
    r = api.http.post("/experiments", json=body)
    r.raise_for_status()
    actions: list[dict[str, Any]] = []
    likes = 0
    for user, taste in aud.tastes.items():
        got = api.http.get(f"/recommendations/{user}", params={"n": page})
        got.raise_for_status()
        assert got.headers["x-recomind-variant"].startswith(f"{name}:")
        for item in got.json():
            kind, ms = aud.react(taste, item["video_id"])
            likes += kind == "like"
            actions.append(
                {
                    "user_id": user,
                    "video_id": item["video_id"],
                    "action_type": kind,
                    "watch_time_ms": ms,
                }
            )
    _post(api, actions)
    api.settle()
    service = api.state.recommendations
    assert service.impressions is not None
    service.impressions.flush()
    experiment = show(api.engine, name)
    deadline = time.monotonic() + 30
    while True:  # the lake writer flushes on its own clock: wait for every like to land
        users, hours = _rows(api, experiment)
        if sum(int(row[4]) for row in users) >= likes or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    stopped = api.http.post(f"/experiments/{name}/stop")
    stopped.raise_for_status()
    figures = results(experiment, users, hours, generated_at="")
    return figures, users, hours


def _rows(api: Api, experiment: Experiment) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    impressions, events, durations = lake_inputs(api.settings, api.engine, experiment)
    return experiment_rows(experiment, impressions, events, durations, window_s=WINDOW_S)


def like_difference(figures: dict[str, Any]) -> dict[str, Any]:
    return next(d for d in figures["differences"] if d["metric"] == "like_rate")


def aa(api: Api, aud: Audience, *, seeds: int, page: int, horizon: int) -> dict[str, Any]:
    both = [
        {"name": "control", "ranker": "current", "weight": 1},
        {"name": "treatment", "ranker": "current", "weight": 1},
    ]
    rows = []
    for seed in range(seeds):
        aud.rng = random.Random(1000 + seed)
        figures, _, _ = one_round(
            api, aud, f"aa-{seed}", both, salt=f"aa-salt-{seed}", page=page, horizon=horizon
        )
        d = like_difference(figures)
        rows.append(
            {
                "seed": seed,
                "users": [v["users"] for v in figures["variants"]],
                "verdict": figures["verdict"]["status"],
                "like_difference": d["difference"],
                "low": d["low"],
                "high": d["high"],
                "p_value": d["p_value"],
                "significant": d["significant"],
                "any_metric_significant": any(x["significant"] for x in figures["differences"]),
                "srm_p_value": figures["srm_p_value"],
            }
        )
        print(f"  A/A seed {seed}: {rows[-1]}", file=sys.stderr)
    significant = sum(r["significant"] for r in rows)
    srm = sum(r["verdict"] == "srm" for r in rows)
    return {
        "seeds": seeds,
        "decided": sum(r["verdict"] == "decided" for r in rows),
        "significant_like_rate": significant,
        "false_positive_rate": significant / seeds,
        "any_metric_significant": sum(r["any_metric_significant"] for r in rows),
        "srm": srm,
        "nominal_alpha": 0.05,
        "rounds": rows,
    }


def trending_vs_personalized(api: Api, aud: Audience, *, page: int, horizon: int) -> dict[str, Any]:
    arms = [
        {"name": "personalized", "ranker": "current", "weight": 1},
        {"name": "trending", "ranker": "trending", "weight": 1},
    ]
    aud.rng = random.Random(7)
    figures, users, hours = one_round(
        api, aud, "trend-vs-pers", arms, salt="tvp", page=page, horizon=horizon
    )
    experiment = show(api.engine, "trend-vs-pers")
    first_decided = None
    smallest = min(v["users"] for v in figures["variants"])
    for h in HORIZONS:
        if h > smallest:
            break
        at = results(
            dataclasses.replace(experiment, horizon_users=h), users, hours, generated_at=""
        )
        d = like_difference(at)
        if at["verdict"]["status"] == "decided" and d["significant"] and d["difference"] < 0:
            first_decided = {
                "horizon_users": h,
                "like_difference": d["difference"],
                "low": d["low"],
                "high": d["high"],
            }
            break
    d = like_difference(figures)
    rates = {v["name"]: v["metrics"]["like_rate"] for v in figures["variants"]}
    return {
        "horizon_users": horizon,
        "users": {v["name"]: v["users"] for v in figures["variants"]},
        "like_rate": rates,
        "verdict": figures["verdict"],
        "trending_minus_personalized": {
            k: d[k] for k in ("difference", "relative", "low", "high", "p_value", "significant")
        },
        "personalized_better": d["significant"] and d["high"] is not None and d["high"] < 0,
        "first_decided": first_decided,
        "srm_p_value": figures["srm_p_value"],
    }


def run(*, seeds: int, users: int, page: int, horizon: int, history: int) -> dict[str, Any]:
    aud = Audience(n_users=users, seed=11)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ab.db'}"
        migrate.upgrade(url)
        settings = make_settings(
            url,
            "memory://",
            f"sqlite:///{Path(tmp) / 'bus.db'}",
            Path(tmp),
            event_rate_limit="100000/second",
        )
        with running_api(settings) as api:
            started = time.perf_counter()
            load(api, aud, history)
            out: dict[str, Any] = {
                "audience": {
                    "users": users,
                    "topics": aud.n_topics,
                    "history": history,
                    "page": page,
                },
                "aa": aa(api, aud, seeds=seeds, page=page, horizon=horizon),
                "trending_vs_personalized": trending_vs_personalized(
                    api, aud, page=page, horizon=horizon
                ),
            }
            out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--users", type=int, default=240)
    parser.add_argument("--page", type=int, default=5)
    parser.add_argument("--horizon", type=int, default=100)
    parser.add_argument("--history", type=int, default=20)
    args = parser.parse_args()
    figures = run(
        seeds=args.seeds,
        users=args.users,
        page=args.page,
        horizon=args.horizon,
        history=args.history,
    )
    print(write_results("ab", figures))


if __name__ == "__main__":
    main()
