"""The ``recomind`` command, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from recomind.config import Settings
from recomind.folds.popularity import score_at
from recomind.storage import migrate
from recomind.storage.actions import all_events
from recomind.storage.engine import make_engine
from recomind.storage.popularity import top_popularity
from recomind.storage.videos import newest_videos
from tests.utils.pair_reference import popularity_at
from tests.utils.server import free_port

RECOMIND = [sys.executable, "-m", "recomind"]
GENERIC_REASONS = {"trending now", "new upload"}


def _run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RECOMIND, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def test_help_lists_commands() -> None:
    r = _run("--help")
    assert r.returncode == 0
    for cmd in ("serve", "db", "demo"):
        assert cmd in r.stdout


def test_db_upgrade_creates_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    r = _run("db", "upgrade", "--url", url)
    assert r.returncode == 0, r.stderr
    assert migrate.head() in r.stdout
    assert _run("db", "current", "--url", url).stdout.strip() == migrate.head()


def test_bad_database_url_is_explained(tmp_path: Path) -> None:
    r = _run("db", "current", env={"RECOMIND_DATABASE_URL": "oracle://x"}, cwd=tmp_path)
    assert r.returncode != 0
    assert "RECOMIND_DATABASE_URL" in (r.stderr + r.stdout)


def test_demo_serves_trending_and_recommendations(tmp_path: Path) -> None:
    """The README's demo: a server with sample data answering the design's endpoints."""
    port = free_port()
    proc = subprocess.Popen(
        [*RECOMIND, "demo", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "demo did not come up"
            time.sleep(0.2)
        trending = httpx.get(base + "/trending").json()  # public in the demo
        assert len(trending) == 20
        # The keys the demo printed, kept for a rerun; auth is on.
        keys = json.loads((tmp_path / "demo-keys.json").read_text())
        assert httpx.get(base + "/recommendations/u1").status_code == 401
        read = {"Authorization": f"Bearer {keys['read']}"}
        first_time = httpx.get(base + "/recommendations/u1", headers=read).json()  # no history yet
        assert [v["video_id"] for v in first_time] == [v["video_id"] for v in trending]
        personal = httpx.get(base + "/recommendations/u2", headers=read).json()
        assert len(personal) == 20
        # Ranked by the model the demo trained, with personal reasons.
        personal_reasons = [v["reason"] for v in personal if v["reason"] not in GENERIC_REASONS]
        assert len(personal_reasons) >= 10, [v["reason"] for v in personal]
        all_videos = httpx.get(base + "/trending", params={"n": 100}).json()
        assert len({t for v in all_videos for t in v["tags"]}) >= 20
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    out = proc.stdout.read() if proc.stdout else ""
    assert base in out
    assert all(keys[scope] in out for scope in ("admin", "ingest", "read"))


def test_demo_catalogue_size() -> None:
    from recomind import demo

    videos = demo.catalogue()
    assert len(videos) >= 500
    assert len({t for v in videos for t in v.tags}) >= 20
    events = demo.history(videos)
    assert len({e.user_id for e in events}) >= 20


def test_demo_loads_with_repeated_likes_counted_once(tmp_path: Path) -> None:
    from recomind import demo

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    settings = Settings(database_url=url)
    assert demo.seed(engine, settings)
    with engine.connect() as conn:
        events = all_events(conn)
        durations = {v.video_id: v.duration_s for v in newest_videos(conn, limit=10_000)}
        rows = top_popularity(conn, limit=10_000)
    likes = Counter((e.user_id, e.video_id) for e in events if e.action_type == "like")
    assert max(likes.values()) > 1  # the sample history repeats likes ...
    now = max(e.timestamp for e in events)
    half_life = settings.popularity_half_life_hours * 3600
    want = popularity_at(
        events,
        lambda e: settings.action_weight(e.action_type, e.watch_time_ms, durations[e.video_id]),
        now=now,
        half_life_s=half_life,
    )
    got = {r.video_id: score_at(r, now, half_life) for r in rows}
    assert got == pytest.approx(want, rel=1e-6, abs=1e-9)  # ... and each counts once
    engine.dispose()


def test_demo_access_is_made_once_and_again_after_a_reset(tmp_path: Path) -> None:
    from recomind import demo

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    first = demo.provision_access(engine, tmp_path)
    assert {"admin", "ingest", "read", "token_secret"} <= set(first)
    assert (tmp_path / "demo-keys.json").stat().st_mode & 0o777 == 0o600
    assert demo.provision_access(engine, tmp_path) == first  # a rerun shows the same keys
    engine.dispose()
    (tmp_path / "demo.db").unlink()  # --reset: the database forgot them
    migrate.upgrade(url)
    engine = make_engine(url)
    again = demo.provision_access(engine, tmp_path)
    assert again["admin"] != first["admin"]
    engine.dispose()
