"""The runner isolates failures and reports gauges; the CLI and the scheduler drive it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, insert, select

from recomind.cache import Cache, keys
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.jobs import JOBS, JobContext, run_jobs
from recomind.jobs.runner import Job
from recomind.jobs.scheduler import Scheduler
from recomind.recommend.extras import require
from recomind.schemas import ActionEvent, VideoCreate, utcnow
from recomind.serving.service import RecommendationService
from recomind.storage import migrate
from recomind.storage.actions import insert_actions
from recomind.storage.engine import make_engine, write_tx
from recomind.storage.tables import retrain_signals, video_popularity
from recomind.storage.videos import create_videos
from tests.utils.settle import run_sync


def _gauge(name: str, job: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"job": job})


def _seed(engine: Engine, users: int = 6) -> None:
    now = utcnow()
    videos = [
        VideoCreate(
            video_id=f"v{i}",
            title=f"V{i}",
            url="u",
            tags=[["funny"], ["dance"]][i % 2],
            creator_id=f"c{i % 5}",
            duration_s=30,
            created_at=now - timedelta(days=1),
        )
        for i in range(20)
    ]
    events = [
        ActionEvent(
            event_id=f"e{u}-{v}",
            user_id=f"u{u}",
            video_id=f"v{(u + v) % 20}",
            action_type="like" if v % 3 else "view",
            timestamp=now - timedelta(minutes=v),
            watch_time_ms=10_000,
        )
        for u in range(users)
        for v in range(6)
    ]
    with write_tx(engine) as conn:
        create_videos(conn, items=videos)
        insert_actions(conn, events=events)


def test_one_failing_job_does_not_stop_the_others(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _seed(engine)

    def boom(ctx: JobContext) -> dict[str, Any]:
        raise RuntimeError("boom")

    jobs = {"boom": Job("boom", boom, "always fails"), **JOBS}
    monkeypatch.setattr("recomind.jobs.runner.JOBS", jobs)
    ctx = JobContext(Settings(model_dir=str(tmp_path / "m")), engine)
    results = run_jobs(ctx, ["boom", "popularity", "train"])
    assert [(r.name, r.ok) for r in results] == [
        ("boom", False),
        ("popularity", True),
        ("train", True),
    ]
    assert results[0].error == "RuntimeError: boom"
    assert _gauge("recomind_job_last_success", "boom") == 0
    assert _gauge("recomind_job_last_success", "popularity") == 1
    assert (_gauge("recomind_job_last_run_timestamp", "boom") or 0) > 0
    assert (_gauge("recomind_job_last_duration_seconds", "train") or 0) > 0
    with engine.connect() as conn:
        assert conn.execute(select(video_popularity)).first() is not None
    assert (tmp_path / "m" / "LATEST").exists()


def test_a_job_missing_an_extra_fails_with_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    def needs_ml(ctx: JobContext) -> dict[str, Any]:
        require("recomind_no_such_module", extra="ml", strategy="als")
        return {}

    monkeypatch.setattr("recomind.jobs.runner.JOBS", {"fit": Job("fit", needs_ml, "needs ml")})
    ctx = JobContext(Settings(model_dir=str(tmp_path / "m")), make_engine("sqlite://"))
    with caplog.at_level("ERROR", logger="recomind.jobs.runner"):
        [result] = run_jobs(ctx, ["fit"])
    assert not result.ok
    assert result.error == "strategy 'als' needs the 'ml' extra: pip install 'recomind[ml]'"
    assert [r.getMessage() for r in caplog.records] == [f"job fit cannot run: {result.error}"]
    assert "Traceback" not in caplog.text


def test_train_consumes_pending_signals_and_the_scheduler_runs_it(
    engine: Engine, tmp_path: Path
) -> None:
    _seed(engine)
    with write_tx(engine) as conn:
        conn.execute(
            insert(retrain_signals).values(
                created_at=utcnow() - timedelta(seconds=1), reason="events", events=10_000
            )
        )
    settings = Settings(model_dir=str(tmp_path / "m"))
    ctx = JobContext(settings, engine)
    scheduler = Scheduler(ctx, interval_s=3600, check_s=0.05)

    async def run() -> None:
        scheduler.start()
        for _ in range(200):
            await asyncio.sleep(0.05)
            if (tmp_path / "m" / "LATEST").exists():
                break
        await scheduler.stop()

    run_sync(run())
    assert (tmp_path / "m" / "LATEST").exists()
    with engine.connect() as conn:
        assert conn.execute(select(retrain_signals.c.consumed_at)).scalar_one() is not None


def test_only_one_scheduler_runs_the_jobs_at_a_time(
    engine: Engine, cache: Cache, key_prefix: str, tmp_path: Path
) -> None:
    """Two serve processes' schedulers share a cache: while one holds the jobs lock, the
    other's run is skipped (and counted); once it is released, the other runs."""
    _seed(engine)
    settings = Settings(model_dir=str(tmp_path / "m"), cache_prefix=key_prefix)
    shared = SafeCache(cache)
    one, two = (
        Scheduler(
            JobContext(settings, engine, RecommendationService(engine, shared, settings)),
            interval_s=3600,
        )
        for _ in range(2)
    )
    lock = keys.key(key_prefix, keys.JOBS_LOCK)
    token = shared.try_lock(lock, 60)  # process one is running the jobs
    assert token is not None
    skipped = REGISTRY.get_sample_value("recomind_jobs_skipped_total") or 0.0
    assert two.run_locked(["popularity"]) is None
    assert REGISTRY.get_sample_value("recomind_jobs_skipped_total") == skipped + 1
    assert shared.unlock(lock, token)
    results = two.run_locked(["popularity"])
    assert results is not None and [r.ok for r in results] == [True]
    # The run released the lock: the first scheduler can take its turn.
    again = one.run_locked(["popularity"])
    assert again is not None and again[0].ok


def test_cli_jobs_run_and_list(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    migrate.upgrade(url)
    eng = make_engine(url)
    _seed(eng)
    eng.dispose()
    env = {
        **os.environ,
        "RECOMIND_DATABASE_URL": url,
        "RECOMIND_CACHE_URL": "memory://",
        "RECOMIND_MODEL_DIR": str(tmp_path / "models"),
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[2] / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    cmd = [sys.executable, "-m", "recomind", "jobs"]
    listed = subprocess.run([*cmd, "list"], capture_output=True, text=True, env=env, timeout=60)
    assert listed.returncode == 0, listed.stderr
    for name in ("popularity", "profiles", "train", "precompute"):
        assert name in listed.stdout
    ran = subprocess.run(
        [*cmd, "run"], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    for name in ("popularity", "profiles", "train", "precompute"):
        assert f"{name}: ok" in ran.stdout
    assert "'users': 6" in ran.stdout  # precompute refreshed the six active users
    assert (tmp_path / "models" / "LATEST").exists()
    one = subprocess.run([*cmd, "run", "nope"], capture_output=True, text=True, env=env, timeout=60)
    assert one.returncode == 2
