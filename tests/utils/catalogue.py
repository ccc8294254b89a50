"""Seed a database with a catalogue and ``(user, video, action)`` actions, as the serving
tests build their scenes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from recomind.config import Settings
from recomind.jobs import JobContext, run_jobs
from recomind.schemas import ActionEvent, VideoCreate
from recomind.storage.actions import insert_actions
from recomind.storage.engine import write_tx
from recomind.storage.videos import create_videos


def store_scene(
    engine: Engine,
    videos: Sequence[VideoCreate],
    actions: Sequence[tuple[str, str, str]],
    *,
    at: Callable[[int], datetime],
) -> None:
    """Store ``videos`` and ``actions`` (the k-th at ``at(k)``, event id ``e{k}``)."""
    with write_tx(engine) as conn:
        create_videos(conn, items=list(videos))
        insert_actions(
            conn,
            events=[
                ActionEvent(event_id=f"e{k}", user_id=u, video_id=v, action_type=a, timestamp=at(k))
                for k, (u, v, a) in enumerate(actions)
            ],
        )


def folded_settings(engine: Engine, url: str, model_dir: Path) -> Settings:
    """Settings of ``url`` with a model directory, after the popularity and profiles folds."""
    settings = Settings(database_url=url, model_dir=str(model_dir), model_poll_seconds=0)
    results = run_jobs(JobContext(settings, engine), ["popularity", "profiles"])
    assert all(r.ok for r in results), [r.error for r in results]
    return settings
