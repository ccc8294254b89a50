"""Catalogue: ``POST /videos``, ``POST /videos/batch``, ``GET /videos/{video_id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from recomind.api.deps import EngineDep
from recomind.errors import NotFoundError
from recomind.schemas import ID_PATTERN, Video, VideoBatch, VideoCreate
from recomind.storage import videos
from recomind.storage.engine import read_tx, write_tx

router = APIRouter(tags=["videos"])


@router.post("/videos", status_code=201, response_model=Video)
def create_video(body: VideoCreate, engine: EngineDep) -> Video:
    with write_tx(engine) as conn:
        return videos.create_videos(conn, items=[body])[0]


@router.post("/videos/batch", status_code=201)
def create_videos(body: VideoBatch, engine: EngineDep) -> dict[str, object]:
    """Bulk catalogue load: all or nothing (a duplicate id rejects the whole batch)."""
    with write_tx(engine) as conn:
        created = videos.create_videos(conn, items=body.videos)
    return {"created": len(created), "video_ids": [v.video_id for v in created]}


@router.get("/videos/{video_id}", response_model=Video)
def get_video(video_id: Annotated[str, Path(pattern=ID_PATTERN)], engine: EngineDep) -> Video:
    with read_tx(engine) as conn:
        video = videos.get_video(conn, video_id=video_id)
    if video is None:
        raise NotFoundError("video", "video_id", video_id)
    return video
