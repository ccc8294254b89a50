"""The closed loop: an audience with hidden tastes browses the running service, round after round.

    python -m bench.bench_loop [--users 100] [--videos 600] [--rounds 9] [--page 10]
        [--train-after 5] [--train-every 0] [--cold-users 5] [--seeds 1,2,3] [--src PATH]

Each seed starts ``recomind serve`` (embedded default, in a temporary folder, no scheduled
jobs, no rate limit) and loads a catalogue of ``--videos`` videos over 20 topics (their tags)
by 60 creators. Every user has hidden tastes: liked topics, visible through tags, and a
latent taste vector that tags do not reveal (each video has a latent vector too). The
chance that a user likes a video is ``sigmoid(2.2·topic + 1.6·latent - 2.4)``: ``topic`` is
1 for a liked topic, ``latent`` the dot product (unit vectors, 4 dimensions).

A round: every user asks ``GET /recommendations/{user}?n=PAGE`` and reacts to each video on
the page through ``POST /video_action``: a like with that chance, otherwise a view of a share
of the video that grows with the chance, or a skip when the chance is low. The figure of a
round is the **expected like rate** of what was shown (the mean chance over the page:
sampling noise left out), against two references computed on the same state:

* the oracle: each user's ``PAGE`` best unseen videos by their true chance;
* trending: ``GET /trending``'s first ``PAGE`` unseen videos.

``--train-after K`` runs ``recomind jobs run train precompute`` after round K (0: never);
``--train-every M`` trains again every M rounds after that. The server's model watcher picks
each published model up.

Once a model is trained, more figures are taken on the same state each round, computed in
this process from the same database through the serving path (``compute_for_user``), with
the newest trained version whether the gate published it or not:

* ``learned_share``: the page of its learned ranker, as a share of the oracle (the same as
  ``share`` when the version was published);
* ``hybrid_share``: the page its fixed-weight hybrid would show
  (``RECOMIND_LEARNED_RANKER=false``);
* ``model_free_share`` (every round): the page of the ranker that serves while no model is
  published (the same database, no model directory);
* ``cold_topic_share``: ``--cold-users`` brand-new users each like one video, then ask for a
  page: the share of that page in the liked video's topic (every round, before and after
  the model). The report gives, per round and seed, the share
of the oracle (``shown / oracle``) for the service and for trending, and their spread over
seeds (the noise). Results go to ``bench/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.bench_stream import drain, env_of
from bench.common import AUTH, embedded_settings, server, write_results
from recomind.serving.model_store import ModelStore
from recomind.serving.stack import ServingStack

TOPICS = 20
CREATORS = 60
DIM = 4


@dataclass
class Audience:
    """Videos and users with hidden tastes; ``chance[u, v]`` is the like probability."""

    video_ids: list[str]
    videos: list[dict[str, Any]]
    users: list[str]
    chance: np.ndarray

    @classmethod
    def make(cls, users: int, videos: int, seed: int) -> Audience:
        rng = np.random.default_rng(seed)
        topic = rng.integers(0, TOPICS, size=videos)
        v_latent = rng.normal(size=(videos, DIM))
        v_latent /= np.linalg.norm(v_latent, axis=1, keepdims=True)
        u_latent = rng.normal(size=(users, DIM))
        u_latent /= np.linalg.norm(u_latent, axis=1, keepdims=True)
        liked = np.zeros((users, TOPICS), dtype=bool)
        for u in range(users):
            liked[u, rng.choice(TOPICS, size=int(rng.integers(2, 4)), replace=False)] = True
        match = liked[:, topic].astype(float)
        chance = 1.0 / (1.0 + np.exp(-(2.2 * match + 1.6 * (u_latent @ v_latent.T) - 2.4)))
        ids = [f"v{i}" for i in range(videos)]
        catalogue = [
            {
                "video_id": ids[i],
                "title": f"Clip {i}",
                "url": f"https://cdn.example/{ids[i]}.mp4",
                "tags": [f"topic{topic[i]}"],
                "creator_id": f"c{rng.integers(0, CREATORS)}",
                "duration_s": float(rng.integers(10, 60)),
            }
            for i in range(videos)
        ]
        return cls(ids, catalogue, [f"u{u}" for u in range(users)], chance)


def _react(aud: Audience, u: int, video: str, rng: np.random.Generator) -> dict[str, Any] | None:
    """The user's action on a shown video: a like, a view of some share, or a skip."""
    v = int(video[1:])
    p = float(aud.chance[u, v])
    body: dict[str, Any] = {"user_id": aud.users[u], "video_id": video}
    if rng.random() < p:
        return {**body, "action_type": "like"}
    if p < 0.15 and rng.random() < 0.6:
        return {**body, "action_type": "skip"}
    duration = aud.videos[v]["duration_s"]
    share = min(1.0, max(0.05, p + rng.normal(0, 0.1)))
    return {**body, "action_type": "view", "watch_time_ms": int(share * duration * 1000)}


def _shadow_pages(shadow: Any, aud: Audience, seen: list[set[int]], page: int) -> list[list[int]]:
    """Each user's page by another serving stack, on the same state (no cache)."""
    out = []
    for u, user in enumerate(aud.users):
        items = [int(i.video_id[1:]) for i in shadow.service.compute_for_user(user)]
        out.append([v for v in items if v not in seen[u]][:page])
    return out


async def _cold_start(
    http: httpx.AsyncClient, aud: Audience, k: int, users: int, page: int, rng: np.random.Generator
) -> float:
    """Share of a new user's next page in the topic of the one video they liked."""
    shares = []
    for j in range(users):
        user = f"new{k}x{j}"
        v = int(rng.integers(0, len(aud.video_ids)))
        topic = aud.videos[v]["tags"][0]
        body = {"user_id": user, "video_id": aud.video_ids[v], "action_type": "like"}
        (await http.post("/video_action", json=body)).raise_for_status()
        r = await http.get(f"/recommendations/{user}", params={"n": page})
        r.raise_for_status()
        tags = [i["tags"][0] for i in r.json() if i["tags"]]
        shares.append(sum(t == topic for t in tags) / max(len(tags), 1))
    return round(statistics.fmean(shares), 4) if shares else float("nan")


async def _round(
    base: str,
    aud: Audience,
    seen: list[set[int]],
    page: int,
    rng: np.random.Generator,
    *,
    k: int,
    cold_users: int,
    shadows: dict[str, Any],
) -> dict[str, float]:
    cold_rng = np.random.default_rng([k, len(aud.users), 7])  # the audience's draws stay put
    pages = {
        key: _shadow_pages(stack, aud, seen, page)
        for key, stack in shadows.items()
        if stack is not None
    }
    shown_p: list[float] = []
    oracle_p: list[float] = []
    trending_p: list[float] = []
    bodies: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=60) as http:
        trending = (await http.get("/trending", params={"n": 100})).json()
        for u, user in enumerate(aud.users):
            unseen = np.array([v not in seen[u] for v in range(len(aud.video_ids))])
            best = np.sort(aud.chance[u][unseen])[::-1][:page]
            oracle_p.append(float(best.mean()))
            top = [
                int(i["video_id"][1:]) for i in trending if int(i["video_id"][1:]) not in seen[u]
            ]
            trending_p.append(float(np.mean([aud.chance[u, v] for v in top[:page]] or [0.0])))
            r = await http.get(f"/recommendations/{user}", params={"n": page})
            r.raise_for_status()
            items = [int(i["video_id"][1:]) for i in r.json()]
            shown_p.append(float(np.mean([aud.chance[u, v] for v in items] or [0.0])))
            for v in items:
                seen[u].add(v)
                action = _react(aud, u, aud.video_ids[v], rng)
                if action is not None:
                    bodies.append(action)
        for body in bodies:
            (await http.post("/video_action", json=body)).raise_for_status()
        cold = await _cold_start(http, aud, k, cold_users, page, cold_rng) if cold_users else None
    oracle = statistics.fmean(oracle_p)
    out = {
        "shown": round(statistics.fmean(shown_p), 4),
        "oracle": round(oracle, 4),
        "trending": round(statistics.fmean(trending_p), 4),
        "share": round(statistics.fmean(shown_p) / oracle, 4),
        "trending_share": round(statistics.fmean(trending_p) / oracle, 4),
    }
    if cold is not None:
        out["cold_topic_share"] = cold
    for key, lists in pages.items():
        p = [
            float(np.mean([aud.chance[u, v] for v in items] or [0.0]))
            for u, items in enumerate(lists)
        ]
        out[key] = round(statistics.fmean(p) / oracle, 4)
    return out


def run_seed(args: argparse.Namespace, seed: int) -> list[dict[str, Any]]:
    aud = Audience.make(args.users, args.videos, seed)
    rng = np.random.default_rng(seed + 1000)
    with tempfile.TemporaryDirectory() as tmp:
        settings = embedded_settings(
            tmp,
            model_dir=f"{tmp}/models",
            jobs_interval_minutes=0,
            event_rate_limit="",
            impressions_log=False,
        )
        env = {**env_of(settings), "RECOMIND_EVENT_RATE_LIMIT": ""}
        if args.src:
            env["PYTHONPATH"] = args.src
        with server(env) as base:
            httpx.post(
                base + "/videos/batch", json={"videos": aud.videos}, timeout=60, headers=AUTH
            )
            seen: list[set[int]] = [set() for _ in aud.users]
            rounds = []
            shadows = {
                "model_free_share": ServingStack.open(settings.model_copy(update={"model_dir": ""}))
            }
            newest_dir = Path(tmp) / "newest"
            try:
                for k in range(1, args.rounds + 1):
                    figures = asyncio.run(
                        _round(
                            base,
                            aud,
                            seen,
                            args.page,
                            rng,
                            k=k,
                            cold_users=args.cold_users,
                            shadows=shadows,
                        )
                    )
                    drain(base)
                    figures["round"] = k
                    rounds.append(figures)
                    print(f"seed {seed} round {k}: {figures}", flush=True)
                    if _trains_after(k, args):
                        figures["train"] = _train(env, settings.model_dir, newest_dir)
                        if "hybrid_share" not in shadows:
                            for key, learned in (("hybrid_share", False), ("learned_share", True)):
                                pinned = settings.model_copy(
                                    update={"learned_ranker": learned, "model_dir": str(newest_dir)}
                                )
                                shadows[key] = ServingStack.open(pinned, watch_models=True)
                        for key in ("hybrid_share", "learned_share"):
                            shadows[key].service.ranker.loader.refresh()
            finally:
                for stack in shadows.values():
                    stack.close()
    return rounds


def _trains_after(k: int, args: argparse.Namespace) -> bool:
    if args.train_after <= 0 or k < args.train_after:
        return False
    if k == args.train_after:
        return True
    return args.train_every > 0 and (k - args.train_after) % args.train_every == 0


def _train(env: dict[str, str], model_dir: str, newest_dir: Path) -> dict[str, Any]:
    """Run the train and precompute jobs; the new version's gate and ranker facts.

    ``newest_dir`` gets a model directory whose ``LATEST`` is the version just trained,
    published or not (the shadow stacks serve it: the learned ranker and its blend are
    measured even when the gate keeps the model from the audience).
    """
    for job in ("train", "precompute"):
        subprocess.run(
            [sys.executable, "-m", "recomind", "jobs", "run", job],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
    versions = ModelStore(model_dir).versions()
    if not versions:
        return {"version": None}
    newest = versions[-1]
    newest_dir.mkdir(exist_ok=True)
    if not (newest_dir / newest).exists():
        (newest_dir / newest).symlink_to(Path(model_dir) / newest)
    (newest_dir / "LATEST").write_text(newest + "\n")
    meta = json.loads((Path(model_dir) / newest / "meta.json").read_text())
    gate = meta.get("gate") or {}
    ranker = meta.get("ranker") or {}
    return {
        "version": meta.get("version"),
        "published": ModelStore(model_dir).latest() == newest,
        "gate": gate.get("reason"),
        "figures": gate.get("figures"),
        "ranker": ranker.get("training"),
        "top_features": list(ranker.get("importance", {}))[:8],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--videos", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--page", type=int, default=10)
    ap.add_argument("--train-after", type=int, default=5, help="0: never train")
    ap.add_argument("--train-every", type=int, default=0, help="train again every M rounds")
    ap.add_argument("--cold-users", type=int, default=5, help="new users per round (0: none)")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--src", default="", help="serve from another source tree")
    ap.add_argument("--name", default="loop")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = {seed: run_seed(args, seed) for seed in seeds}
    summary = []
    for k in range(args.rounds):
        shares = [runs[s][k]["share"] for s in seeds]
        row: dict[str, Any] = {
            "round": k + 1,
            "share_mean": round(statistics.fmean(shares), 3),
            "share_spread": round(max(shares) - min(shares), 3),
            "trending_share_mean": round(
                statistics.fmean(runs[s][k]["trending_share"] for s in seeds), 3
            ),
        }
        for key in ("learned_share", "hybrid_share", "model_free_share", "cold_topic_share"):
            values = [runs[s][k][key] for s in seeds if key in runs[s][k]]
            if values:
                row[f"{key}_mean"] = round(statistics.fmean(values), 3)
                row[f"{key}_min_gain"] = (
                    round(min(runs[s][k]["learned_share"] - runs[s][k][key] for s in seeds), 3)
                    if key in ("hybrid_share", "model_free_share")
                    and len(values) == len(seeds)
                    and all("learned_share" in runs[s][k] for s in seeds)
                    else None
                )
        summary.append(row)

    def line(label: str, key: str) -> str:
        cells = [f"{r[key]:.2f}" if r.get(key) is not None else "" for r in summary]
        return f"| {label} | " + " | ".join(cells) + " |"

    print("| round | " + " | ".join(str(r["round"]) for r in summary) + " |")
    print("| --- |" + " --- |" * len(summary))
    print(line("RecoMind / oracle", "share_mean"))
    print(line("learned ranker of the new model / oracle (same state)", "learned_share_mean"))
    print(line("fixed-weight hybrid / oracle (same state)", "hybrid_share_mean"))
    print(line("model-free ranker / oracle (same state)", "model_free_share_mean"))
    print(line("trending / oracle", "trending_share_mean"))
    print(line("new user's page in the liked topic", "cold_topic_share_mean"))
    noise = max(r["share_spread"] for r in summary)
    print(f"spread across seeds (max over rounds): {noise:.3f}; trained after {args.train_after}")
    write_results(
        args.name,
        {"args": vars(args), "runs": {str(s): r for s, r in runs.items()}, "summary": summary},
    )


if __name__ == "__main__":
    main()
