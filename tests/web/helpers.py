"""Catalogues and database checks for the browser tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from sqlalchemy import Engine, select

from recomind.storage.tables import video_actions

TAGS = ["cooking", "travel", "pets", "dance", "gaming", "music"]
T = TypeVar("T")


def load_catalogue(http: httpx.Client, per_tag: int = 12) -> list[dict[str, Any]]:
    """``per_tag`` single-tag videos per tag, interleaved, with local ``/media/demo`` urls."""
    videos = [
        {
            "video_id": f"{tag}-{i}",
            "title": f"{tag.title()} clip {i}",
            "url": f"/media/demo/{tag}-{i}.mp4",
            "tags": [tag],
            "creator_id": f"c{i % 3}",
            "duration_s": 20,
        }
        for i in range(per_tag)
        for tag in TAGS
    ]
    r = http.post("/videos/batch", json={"videos": videos})
    assert r.status_code == 201, r.text
    return videos


def actions(engine: Engine, user_id: str, action_type: str | None = None) -> list[Any]:
    stmt = select(video_actions).where(video_actions.c.user_id == user_id)
    if action_type:
        stmt = stmt.where(video_actions.c.action_type == action_type)
    with engine.connect() as conn:
        return list(conn.execute(stmt))


def eventually(
    check: Callable[[], T], until: Callable[[T], bool] = bool, timeout: float = 10.0
) -> T:
    """Poll ``check`` until ``until`` holds for its result (the browser sends asynchronously,
    and the bus persists an accepted action a moment after the client sees it accepted)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if until(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.05)
