"""Bulk import: events/s from a file into ``video_actions`` through the bus.

    python -m bench.bench_import [--events 200000] [--format csv] [--groups persist]
                                 [--only kafka|embedded]

Writes a file of ``--events`` historical actions (the last 90 days, 20,000 users, 1,000
videos; no ``event_id`` column, so every id is derived from its row), then, on Kafka (a
Tansu broker it starts) + PostgreSQL and on the embedded default (SQLite + the SQLite log):

1. migrates a fresh database and loads the catalogue;
2. starts ``recomind consume --group persist`` (``RECOMIND_CONSUMER_BATCH_SIZE=2000``) and
   waits until it has stored a warm-up event (the group has joined);
3. runs ``recomind import actions FILE`` as a subprocess (its own process, like a user)
   and measures, from its start:

* ``importer_events_per_s``: rows / seconds until the importer exited (every event on the
  bus, acknowledged);
* ``end_to_end_events_per_s``: rows / seconds until ``video_actions`` holds them all (the
  figure the aim of 20,000/s is about);
* ``reimport``: the same file again: seconds until the importer reports every row a
  duplicate;
* ``cpu_ms_per_1000_events``: where the time goes: CPU time of the importer, the consumer
  process, the PostgreSQL backends serving this run's database and the Tansu broker, per
  1,000 events (on N cores, a sum above N x 1,000 / rate ms caps the rate whatever the load).

``--groups all`` runs the five consumer groups instead of ``persist`` alone.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, func, select, text
from tests.utils.stacks import settings_env
from tests.utils.tansu import tansu_broker

from bench.common import write_results
from recomind.config import Settings
from recomind.schemas import VideoCreate
from recomind.storage import migrate
from recomind.storage.engine import make_engine, write_tx
from recomind.storage.tables import video_actions
from recomind.storage.videos import create_videos

N_VIDEOS = 1000
N_USERS = 20_000


def write_file(path: Path, n: int, fmt: str) -> Path:
    rng = random.Random(11)
    start = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=90)
    step = 90 * 86400 / n
    rows = []
    for i in range(n):
        kind = rng.choice(["view", "view", "view", "like", "skip"])
        rows.append(
            {
                "user_id": f"user{rng.randrange(N_USERS)}",
                "video_id": f"v{rng.randrange(N_VIDEOS)}",
                "action_type": kind,
                "timestamp": start + timedelta(seconds=i * step),
                "watch_time_ms": rng.randint(500, 60_000) if kind == "view" else None,
            }
        )
    file = path.with_suffix("." + fmt)
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), file)
    elif fmt == "csv":
        with file.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(list(rows[0]))
            for r in rows:
                ts = r["timestamp"].isoformat(timespec="microseconds") + "Z"
                w.writerow([r["user_id"], r["video_id"], r["action_type"], ts, r["watch_time_ms"]])
    else:
        import orjson

        with file.open("wb") as fh:
            for r in rows:
                r["timestamp"] = r["timestamp"].isoformat(timespec="microseconds") + "Z"
                fh.write(orjson.dumps(r) + b"\n")
    return file


def env_of(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        **settings_env(settings),
        "RECOMIND_LOG_LEVEL": "warning",
        "RECOMIND_CONSUMER_BATCH_SIZE": "2000",
    }


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(video_actions)).scalar_one())


def recomind(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recomind", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux ``/proc``); 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pids_of(needle: str) -> list[int]:
    """Processes whose command line contains ``needle``."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if needle in (d / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    out.append(int(d.name))
            except OSError:
                pass
    return out


def backend_pids(engine: Engine, database: str) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
            {"d": database},
        )
        return [int(r[0]) for r in rows]


@contextmanager
def consumers(env: dict[str, str], groups: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "recomind", "consume", "--group", groups],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def wait_for(engine: Engine, rows: int, timeout_s: float) -> float:
    """Seconds (perf_counter) at which ``video_actions`` held ``rows`` rows."""
    deadline = time.monotonic() + timeout_s
    while stored(engine) < rows:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {stored(engine)} of {rows} rows stored in {timeout_s} s")
        time.sleep(0.05)
    return time.perf_counter()


def measure(settings: Settings, file: Path, n: int, groups: str, tmp: Path) -> dict[str, Any]:
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with write_tx(engine) as conn:
        create_videos(
            conn,
            items=[
                VideoCreate(video_id=f"v{i}", title=f"Video {i}", url=f"https://x/v{i}.mp4")
                for i in range(N_VIDEOS)
            ],
        )
    env = env_of(settings)
    warm = tmp / "warm.csv"
    warm.write_text(
        f"user_id,video_id,action_type,timestamp\nwarm,v1,view,{datetime.now(UTC).isoformat()}\n"
    )
    broker = settings.event_bus_url.removeprefix("kafka://")
    tansu = pids_of(f"tcp://{broker}") if settings.event_bus_url.startswith("kafka") else []
    postgres = engine.dialect.name == "postgresql"
    try:
        with consumers(env, "all" if groups == "all" else "persist") as consumer:
            r = recomind(env, "import", "actions", str(warm), "--no-progress")
            assert r.returncode == 0, r.stderr
            wait_for(engine, 1, 120)  # the group has joined and applies events
            cpu0 = {
                "consumer": cpu_s(consumer.pid),
                "tansu": sum(cpu_s(p) for p in tansu),
            }
            database = engine.url.database or ""
            pg0 = {p: cpu_s(p) for p in backend_pids(engine, database)} if postgres else {}
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "recomind", "import", "actions", str(file)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            assert proc.stdout is not None
            out = proc.stdout.read().decode()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            t_imported = time.perf_counter()
            assert proc.returncode == 0, out
            t_stored = wait_for(engine, n + 1, 1200)
            cpu = {
                "importer": usage.ru_utime + usage.ru_stime,
                "consumer": cpu_s(consumer.pid) - cpu0["consumer"],
            }
            if postgres:
                pg1 = {p: cpu_s(p) for p in backend_pids(engine, database)}
                cpu["postgres_backends"] = sum(c - pg0.get(p, 0.0) for p, c in pg1.items())
            if tansu:
                cpu["tansu"] = sum(cpu_s(p) for p in tansu) - cpu0["tansu"]
            t1 = time.perf_counter()
            again = recomind(env, "import", "actions", str(file), "--no-progress")
            reimport_s = time.perf_counter() - t1
            assert f"0 accepted, {n} duplicates" in again.stdout, again.stdout
    finally:
        engine.dispose()
    per_1000 = {k: round(v * 1e6 / n, 1) for k, v in cpu.items()}
    per_1000["total"] = round(sum(per_1000.values()), 1)
    return {
        "events": n,
        "importer_seconds": round(t_imported - t0, 3),
        "importer_events_per_s": round(n / (t_imported - t0), 1),
        "end_to_end_seconds": round(t_stored - t0, 3),
        "end_to_end_events_per_s": round(n / (t_stored - t0), 1),
        "cpu_ms_per_1000_events": per_1000,
        "reimport": {"seconds": round(reimport_s, 3), "all_duplicates": True},
        "importer_summary": out.strip().splitlines()[0],
    }


def run_kafka(args: argparse.Namespace, file: Path, tmp: Path) -> dict[str, Any]:
    admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT")
    name = f"recomind_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    db_url = args.postgres.rsplit("/", 1)[0] + "/" + name
    try:
        with tansu_broker() as broker_url:
            settings = Settings(
                database_url=db_url,
                event_bus_url=broker_url,
                kafka_topic=f"{name}.actions",
                kafka_group_prefix=f"{name}-",
                cache_url=args.redis,
                cache_prefix=f"{name}:",
                lake_url=f"file://{tmp}/lake-kafka",
                model_dir="",
            )
            return measure(settings, file, args.events, args.groups, tmp)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def run_embedded(args: argparse.Namespace, file: Path, tmp: Path) -> dict[str, Any]:
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'r.db'}",
        event_bus_url=f"sqlite:///{tmp / 'bus.db'}",
        lake_url=f"file://{tmp}/lake-embedded",
        lake_flush_seconds=1.0,
        model_dir="",
    )
    return measure(settings, file, args.events, args.groups, tmp)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--format", choices=["csv", "jsonl", "parquet"], default="csv")
    ap.add_argument("--groups", choices=["persist", "all"], default="persist")
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--only", choices=["kafka", "embedded"], default=None)
    args = ap.parse_args()
    figures: dict[str, Any] = {"args": vars(args), "load_average_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        file = write_file(tmp / "history", args.events, args.format)
        figures["file_bytes"] = file.stat().st_size
        if args.only != "embedded":
            figures["kafka+postgres"] = run_kafka(args, file, tmp)
        if args.only != "kafka":
            figures["embedded"] = run_embedded(args, file, tmp)
    figures["load_average_after"] = os.getloadavg()
    path = write_results("import", figures)
    for stack in ("kafka+postgres", "embedded"):
        f = figures.get(stack)
        if f:
            print(
                f"{stack}: importer {f['importer_events_per_s']} events/s, end to end "
                f"(stored in video_actions) {f['end_to_end_events_per_s']} events/s; "
                f"re-import {f['reimport']['seconds']} s, all duplicates"
            )
            print(f"{stack}: CPU ms per 1,000 events: {f['cpu_ms_per_1000_events']}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
