"""The popularity and profile folds: events/s each group applies into the database.

    python -m bench.bench_folds [--events 100000] [--batch 500] [--db postgres,sqlite]

What the ``popularity`` and ``profiles`` consumer groups do per batch, without the bus: one
transaction per batch and group (``folds.popularity.apply``, ``folds.profiles.apply``;
with the per-(user, video) states since revision 0003). The stream is synthetic: 5,000
videos with Zipf-like popularity, 5,000 users, 60 % views, 25 % likes, 15 % skips, so many
(user, video) pairs repeat. The same script runs against an older source tree
(``PYTHONPATH=/tmp/base/src:.``) for a before/after figure; it only uses what both have.
Besides wall time it reports the client's CPU per event (this process: Python, the driver,
SQLite itself), which a busy shared machine disturbs less.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import timedelta
from typing import Any

from tests.utils.services import fresh_database

from bench.common import write_results
from recomind.config import Settings
from recomind.folds import popularity, profiles
from recomind.schemas import ActionEvent, VideoCreate, utcnow
from recomind.storage import migrate
from recomind.storage.engine import make_engine, write_tx
from recomind.storage.videos import create_videos

N_VIDEOS = 5000
N_USERS = 5000
TAGS = [f"t{i}" for i in range(60)]


def stream(n: int, seed: int = 3) -> list[ActionEvent]:
    rng = random.Random(seed)
    start = utcnow() - timedelta(hours=12)
    weights = [1.0 / (i + 1) for i in range(N_VIDEOS)]
    videos = rng.choices(range(N_VIDEOS), weights=weights, k=n)
    out = []
    for k, v in enumerate(videos):
        kind = rng.choices(["view", "like", "skip"], weights=[60, 25, 15])[0]
        out.append(
            ActionEvent(
                event_id=f"e{k}",
                user_id=f"u{rng.randrange(N_USERS)}",
                video_id=f"v{v}",
                action_type=kind,  # type: ignore[arg-type]
                timestamp=start + timedelta(seconds=k * 0.4),
                watch_time_ms=rng.randint(1_000, 40_000) if kind == "view" else None,
            )
        )
    return out


def run(url: str, events: list[ActionEvent], batch: int) -> dict[str, Any]:
    migrate.upgrade(url)
    engine = make_engine(url)
    settings = Settings(database_url=url)
    with write_tx(engine) as conn:
        create_videos(
            conn,
            items=[
                VideoCreate(
                    video_id=f"v{i}",
                    title=f"V{i}",
                    url="u",
                    tags=[TAGS[i % 60], TAGS[(i * 7) % 60]],
                    duration_s=30.0,
                )
                for i in range(N_VIDEOS)
            ],
        )
    out: dict[str, Any] = {}
    for name, fold in (("popularity", popularity.apply), ("profiles", profiles.apply)):
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, len(events), batch):
            with write_tx(engine) as conn:
                fold(conn, settings=settings, events=events[i : i + batch])
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        out[name] = {
            "seconds": round(took, 2),
            "events_per_s": round(len(events) / took),
            "client_cpu_us_per_event": round(cpu / len(events) * 1e6, 1),
        }
        print(
            f"  {name}: {len(events)} events in {took:.1f} s = {len(events) / took:,.0f}/s "
            f"({cpu / len(events) * 1e6:.0f} us client CPU per event)"
        )
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--db", default="postgres,sqlite")
    parser.add_argument("--name", default="folds", help="results/<name>.json")
    args = parser.parse_args()
    events = stream(args.events)
    pairs = len({(e.user_id, e.video_id) for e in events})
    print(f"{len(events)} events, {pairs} distinct (user, video) pairs, batches of {args.batch}")
    figures: dict[str, Any] = {"events": len(events), "pairs": pairs, "batch": args.batch}
    for kind in args.db.split(","):
        print(kind)
        if kind == "sqlite":
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                figures[kind] = run(f"sqlite:///{tmp}/folds.db", events, args.batch)
        else:
            with fresh_database(kind) as url:
                figures[kind] = run(url, events, args.batch)
    print(write_results(args.name, figures))


if __name__ == "__main__":
    main()
