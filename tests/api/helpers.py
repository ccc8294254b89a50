"""Small helpers for API tests: a catalogue in a few calls, table counts."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from recomind.storage.tables import metadata
from tests.utils.credentials import admin_headers, bearer

__all__ = ["act", "admin_headers", "bearer", "counts", "load_catalogue"]

TAG_GROUPS = [["funny", "meme"], ["dance"], ["cooking"], ["travel"], ["pets"]]


def load_catalogue(http: httpx.Client, n: int = 25) -> list[dict[str, Any]]:
    videos = [
        {
            "video_id": f"v{i}",
            "title": f"Video {i}",
            "url": f"https://cdn.example/v{i}.mp4",
            "tags": TAG_GROUPS[i % len(TAG_GROUPS)],
            "creator_id": f"c{i % 4}",
            "duration_s": 30,
        }
        for i in range(n)
    ]
    r = http.post("/videos/batch", json={"videos": videos})
    assert r.status_code == 201, r.text
    return videos


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }


def act(http: httpx.Client, user: str, video: str, kind: str, **extra: Any) -> httpx.Response:
    r = http.post(
        "/video_action", json={"user_id": user, "video_id": video, "action_type": kind, **extra}
    )
    assert r.status_code == 202, r.text
    return r
