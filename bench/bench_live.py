"""The live loop: a synthetic audience with hidden topic tastes, browsing over HTTP.

    python -m bench.bench_live [--users 100] [--pairs 400] [--clients 1,8] [--only STACK]

Runs ``recomind serve`` as a subprocess on the embedded default (SQLite, SQLite log,
in-process cache) and on PostgreSQL + Redis + Kafka (a Tansu broker it starts), loads the
audience of :mod:`tests.utils.audience` (24 topics x 25 videos, 300 users with 25 past
actions each, posted through ``POST /video_action``) and measures:

* ``first_like``: brand-new users each get their first page (trending), like the first
  video of a topic they secretly like (or, if the page has none, one of their topic: they
  came by a link), and ask for the next page at once. Figures: the share of that next page
  (10 videos) in the liked video's topic, against the share of the topic in ``/trending``;
  the same for all of the user's hidden topics. Once with no model (the tag-affinity
  ranker), once after ``recomind jobs run train`` (the hybrid).
* ``like_to_next_page``: ``--clients`` concurrent clients (a run per value), each a warm
  user liking a video of their topics they have not acted on yet and asking for their next
  page, ``--pairs`` times in all: p50 / p95 of the time from sending the like to having the
  next page (both answered), and how many of those pages held the liked topic.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

import httpx
from tests.utils.audience import Audience

from bench.bench_stream import drain, env_of
from bench.common import (
    AUTH,
    embedded_settings,
    kafka_stack,
    percentiles,
    server,
    stack_args,
    write_results,
)
from recomind.config import Settings

PAGE = 10


async def _post_all(base: str, bodies: list[dict[str, Any]], concurrency: int = 16) -> None:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=60) as http:

        async def worker() -> None:
            while not queue.empty():
                r = await http.post("/video_action", json=queue.get_nowait())
                if r.status_code != 202:
                    raise RuntimeError(f"{r.status_code}: {r.text}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def load_audience(base: str, aud: Audience, actions_per_user: int) -> dict[str, set[str]]:
    """Post the catalogue and every user's past actions; returns what each user has seen."""
    with httpx.Client(base_url=base, headers=AUTH, timeout=60) as http:
        r = http.post("/videos/batch", json={"videos": aud.videos})
        r.raise_for_status()
    seen: dict[str, set[str]] = {}
    bodies = []
    for user in aud.tastes:
        for vid, kind, ms in aud.history(user, actions_per_user):
            seen.setdefault(user, set()).add(vid)
            bodies.append(
                {"user_id": user, "video_id": vid, "action_type": kind, "watch_time_ms": ms}
            )
    asyncio.run(_post_all(base, bodies))
    drain(base)
    return seen


def _share(items: list[dict[str, Any]], topics: set[str]) -> float:
    return sum(bool(topics & set(i["tags"])) for i in items) / max(1, len(items))


def first_like(base: str, aud: Audience, users: int, label: str) -> dict[str, Any]:
    """Share of a new user's next page in their first like's topic (and their tastes)."""
    topic_share, trending_topic, taste_share, trending_taste = [], [], [], []
    by_link = 0
    answers: dict[str, int] = {}
    with httpx.Client(base_url=base, headers=AUTH, timeout=30) as http:
        trending = http.get("/trending", params={"n": PAGE}).json()
        for i in range(users):
            taste = aud.new_taste()
            user = f"new-{label}-{i}-{uuid.uuid4().hex[:6]}"
            first = http.get(f"/recommendations/{user}", params={"n": PAGE}).json()
            mine = [v["video_id"] for v in first if aud.topic_of[v["video_id"]] in taste]
            liked = mine[0] if mine else None
            if liked is None:
                by_link += 1
                liked = aud.pick(taste[0])
            r = http.post(
                "/video_action", json={"user_id": user, "video_id": liked, "action_type": "like"}
            )
            r.raise_for_status()
            nxt = http.get(f"/recommendations/{user}", params={"n": PAGE})
            answers[nxt.headers["X-Cache"]] = answers.get(nxt.headers["X-Cache"], 0) + 1
            page = nxt.json()
            topic = {aud.topic_of[liked]}
            topic_share.append(_share(page, topic))
            trending_topic.append(_share(trending, topic))
            taste_share.append(_share(page, set(taste)))
            trending_taste.append(_share(trending, set(taste)))

    def mean(xs: list[float]) -> float:
        return round(sum(xs) / len(xs), 3)

    return {
        "users": users,
        "liked_by_link": by_link,
        "next_page_in_liked_topic": mean(topic_share),
        "trending_in_liked_topic": mean(trending_topic),
        "next_page_min_in_liked_topic": min(topic_share),
        "next_page_in_hidden_tastes": mean(taste_share),
        "trending_in_hidden_tastes": mean(trending_taste),
        "x_cache": answers,
    }


def unseen(aud: Audience, topic: str, seen: set[str]) -> str:
    """A video of ``topic`` the user has not acted on (a like of a video liked before
    changes nothing: there is nothing new for the next page to follow)."""
    for _ in range(200):
        video = aud.pick(topic)
        if video not in seen:
            seen.add(video)
            return video
    raise RuntimeError(f"no unseen video left in {topic}")


async def _pairs(
    base: str, aud: Audience, seen: dict[str, set[str]], pairs: int, clients: int
) -> dict[str, Any]:
    users = list(aud.tastes)
    latencies: list[float] = []
    reflected = 0
    answers: dict[str, int] = {}
    per_client = pairs // clients
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=AUTH, limits=limits, timeout=60) as http:

        async def client(c: int) -> None:
            nonlocal reflected
            for k in range(per_client):
                user = users[(c * per_client + k) % len(users)]
                taste = aud.tastes[user]
                video = unseen(aud, taste[k % len(taste)], seen.setdefault(user, set()))
                t0 = time.perf_counter()
                r = await http.post(
                    "/video_action",
                    json={"user_id": user, "video_id": video, "action_type": "like"},
                )
                r.raise_for_status()
                page = await http.get(f"/recommendations/{user}", params={"n": PAGE})
                latencies.append(time.perf_counter() - t0)
                answers[page.headers["X-Cache"]] = answers.get(page.headers["X-Cache"], 0) + 1
                reflected += _share(page.json(), {aud.topic_of[video]}) > 0

        t0 = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(clients)))
        seconds = time.perf_counter() - t0
    return {
        "clients": clients,
        "pairs": len(latencies),
        "pairs_per_s": round(len(latencies) / seconds, 1),
        "latency": percentiles(latencies),
        "pages_with_the_liked_topic": reflected,
        "x_cache": answers,
    }


def train(env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "recomind", "jobs", "run", "train"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=600,
    )
    time.sleep(3)  # the server polls the model store every second
    return round(time.perf_counter() - t0, 1)


def run_stack(settings: Settings, args: argparse.Namespace, label: str) -> dict[str, Any]:
    env = env_of(settings)
    aud = Audience(seed=args.seed)
    out: dict[str, Any] = {}
    with server(env) as base:
        if settings.event_bus_url.startswith("kafka"):
            time.sleep(8)  # five consumer groups join
        t0 = time.perf_counter()
        seen = load_audience(base, aud, args.history)
        out["warm_up_actions"] = sum(map(len, seen.values()))
        out["warm_up_s"] = round(time.perf_counter() - t0, 1)
        out["first_like_no_model"] = first_like(base, aud, args.users, f"{label}-a")
        out["like_to_next_page_no_model"] = [
            asyncio.run(_pairs(base, aud, seen, args.pairs, c)) for c in args.clients
        ]
        drain(base)
        out["train_s"] = train(env)
        out["first_like_model"] = first_like(base, aud, args.users, f"{label}-b")
        out["like_to_next_page_model"] = [
            asyncio.run(_pairs(base, aud, seen, args.pairs, c)) for c in args.clients
        ]
    return out


SETTINGS = {
    "model_poll_seconds": 1.0,
    "jobs_interval_minutes": 0,  # no model until this bench trains one
    "serve_consumers": "all",
}


def run_embedded(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = embedded_settings(tmp, model_dir=f"{tmp}/models", **SETTINGS)
        return run_stack(settings, args, "embedded")


def run_kafka(args: argparse.Namespace) -> dict[str, Any]:
    with kafka_stack(
        args, "recomind_live", model_dir="{tmp}/models", lake_flush_seconds=1.0, **SETTINGS
    ) as settings:
        return run_stack(settings, args, "kafka")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--users", type=int, default=100, help="new users for first_like")
    ap.add_argument("--pairs", type=int, default=400, help="like -> next page pairs")
    ap.add_argument(
        "--clients",
        type=lambda v: [int(c) for c in v.split(",")],
        default=[1, 8],
        help="concurrent clients for the pairs, a run per value (default 1,8)",
    )
    ap.add_argument("--history", type=int, default=25, help="past actions per audience user")
    ap.add_argument("--seed", type=int, default=1)
    stack_args(ap)
    args = ap.parse_args()
    figures: dict[str, Any] = {"args": vars(args), "load_average_before": os.getloadavg()}
    if args.only != "kafka":
        figures["embedded"] = run_embedded(args)
    if args.only != "embedded":
        figures["kafka+postgres+redis"] = run_kafka(args)
    figures["load_average_after"] = os.getloadavg()
    path = write_results("live", figures)
    for stack in ("embedded", "kafka+postgres+redis"):
        f = figures.get(stack)
        if not f:
            continue
        for phase in ("no_model", "model"):
            a = f[f"first_like_{phase}"]
            print(
                f"{stack}, {phase}: next page in the first like's topic "
                f"{a['next_page_in_liked_topic']:.0%} "
                f"(trending {a['trending_in_liked_topic']:.0%}); "
                f"in the hidden tastes {a['next_page_in_hidden_tastes']:.0%} "
                f"(trending {a['trending_in_hidden_tastes']:.0%})"
            )
            for b in f[f"like_to_next_page_{phase}"]:
                lat = b["latency"]
                print(
                    f"{stack}, {phase}: like -> next page p50 {lat['p50_ms']} ms, "
                    f"p95 {lat['p95_ms']} ms ({b['clients']} clients, {b['pairs']} pairs, "
                    f"{b['pairs_per_s']} pairs/s, {b['pages_with_the_liked_topic']} pages with "
                    "the liked topic)"
                )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
