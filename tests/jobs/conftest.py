"""Fixtures for the jobs: a served app with its own model directory, and a design catalogue."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from recomind.api.app import create_app
from recomind.api.state import AppState
from recomind.cache import CacheError
from recomind.config import Settings
from recomind.jobs import JobContext, run_jobs
from recomind.storage.engine import make_engine
from tests.conftest import truncate
from tests.utils.credentials import admin_headers
from tests.utils.server import live_server
from tests.utils.settle import settle

#: Tag groups of the design catalogue; video i has group i % 6 and creator c{i % 15}.
GROUPS = [["funny", "meme"], ["dance"], ["cooking"], ["travel"], ["pets"], ["gaming"]]
N_VIDEOS = 90


@dataclass
class Served:
    http: httpx.Client
    settings: Settings
    engine: Engine
    state: AppState
    posted: int = 0

    def act(self, user: str, video: str, kind: str, **extra: Any) -> None:
        body = {"user_id": user, "video_id": video, "action_type": kind, **extra}
        r = self.http.post("/video_action", json=body)
        assert r.status_code == 202, r.text
        self.posted += 1

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every consumer group has applied every posted action."""
        settle(self.settings, timeout_s=timeout)
        assert self.state.recommendations.wait_for_refreshes(timeout)

    def run(self, *names: str) -> None:
        ctx = JobContext(self.settings, self.engine, self.state.recommendations)
        results = run_jobs(ctx, list(names))
        assert all(r.ok for r in results), [r.error for r in results]

    def feed(self, user: str, n: int = 20) -> list[dict[str, Any]]:
        r = self.http.get(f"/recommendations/{user}", params={"n": n})
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()
        return items


def group_of(video_id: str) -> list[str]:
    return GROUPS[int(video_id[1:]) % len(GROUPS)]


def videos_in(group: int) -> list[str]:
    return [f"v{i}" for i in range(N_VIDEOS) if i % len(GROUPS) == group]


def load_design(served: Served) -> None:
    videos = [
        {
            "video_id": f"v{i}",
            "title": f"Video {i} #{GROUPS[i % len(GROUPS)][0]}",
            "url": f"https://cdn.example/v{i}.mp4",
            "tags": GROUPS[i % len(GROUPS)],
            "creator_id": f"c{i % 15}",
            "duration_s": 30,
        }
        for i in range(N_VIDEOS)
    ]
    r = served.http.post("/videos/batch", json={"videos": videos})
    assert r.status_code == 201, r.text
    funny, dance, cooking, travel = (videos_in(g) for g in range(4))
    # The design: others who liked the same funny/meme videos also liked dance videos.
    for u in range(8):
        for v in funny[:4]:
            served.act(f"o{u}", v, "like")
        for v in dance[u % 3 : u % 3 + 5]:
            served.act(f"o{u}", v, "like")
    for u in range(6):  # a separate crowd: cooking and travel
        for v in cooking[:5] + travel[u % 2 : u % 2 + 3]:
            served.act(f"k{u}", v, "like")
        served.act(f"k{u}", funny[-1], "view", watch_time_ms=3000)
    # User A liked two of the same funny/meme videos.
    served.act("A", funny[0], "like")
    served.act("A", funny[1], "like")
    served.settle()


SERVED_STACKS = ["embedded", "postgres+redis"]


@pytest.fixture(params=SERVED_STACKS, ids=SERVED_STACKS)
def served(
    request: pytest.FixtureRequest, tmp_path: Path, stack_settings: Callable[..., Settings]
) -> Iterator[Served]:
    """The engine over HTTP on the embedded default and on PostgreSQL + Redis + Kafka, with
    a model directory of its own."""
    settings = stack_settings(
        request.param, model_dir=str(tmp_path / "models"), model_poll_seconds=0
    )
    eng = make_engine(settings.database_url)
    truncate(eng)
    eng.dispose()
    app = create_app(settings)
    state: AppState = app.state.recomind
    try:
        with (
            live_server(app) as base,
            httpx.Client(base_url=base, timeout=30, headers=admin_headers()) as http,
        ):
            yield Served(http, settings, state.engine, state)
    finally:
        with suppress(CacheError):
            state.cache.backend.delete_prefix(settings.cache_prefix)
