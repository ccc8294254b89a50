"""Catalogue: ``POST /videos``, ``POST /videos/batch``, ``GET /videos/{video_id}``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from recomind.api.deps import EngineDep, StateDep
from recomind.api.errors import FieldError
from recomind.api.responses import errors, id_path
from recomind.errors import NotFoundError
from recomind.schemas import Video, VideoBatch, VideoCreate
from recomind.storage import videos
from recomind.storage.engine import read_tx, write_tx

router = APIRouter(tags=["videos"])


class VideosCreated(BaseModel):
    """``mode=create``: every video of the batch was created (201)."""

    created: int
    video_ids: list[str]


class VideosUpserted(BaseModel):
    """``mode=upsert``: how many were created and updated, every id in batch order (200)."""

    created: int
    updated: int
    video_ids: list[str]


@router.post("/videos", status_code=201, response_model=Video, responses=errors(409, body=True))
def create_video(body: VideoCreate, engine: EngineDep) -> Video:
    with write_tx(engine) as conn:
        return videos.create_videos(conn, items=[body])[0]


@router.post(
    "/videos/batch",
    status_code=201,
    response_model=None,
    responses={
        201: {"model": VideosCreated, "description": "mode=create: all created"},
        200: {"model": VideosUpserted, "description": "mode=upsert: created and updated"},
        **errors(409, body=True),
    },
)
def create_videos(
    body: VideoBatch,
    state: StateDep,
    response: Response,
    mode: Annotated[
        Literal["create", "upsert"],
        Query(
            description="create: all or nothing, an existing id rejects the batch (409); "
            "upsert: existing ids are updated, new ones created (200)"
        ),
    ] = "create",
) -> VideosCreated | VideosUpserted:
    """Bulk catalogue load (up to 5,000 videos).

    ``mode=create`` (default): all or nothing; an id already stored or given twice rejects
    the whole batch with 409. ``mode=upsert``: videos whose id is stored are updated (every
    field given replaces the stored one; ``created_at`` is kept unless given), the others
    created; answers 200 with both counts. An id given twice is a 409 naming the second.
    """
    engine = state.engine
    if mode == "create":
        with write_tx(engine) as conn:
            made = videos.create_videos(conn, items=body.videos)
        return VideosCreated(created=len(made), video_ids=[v.video_id for v in made])
    seen: dict[str, int] = {}
    for i, v in enumerate(body.videos):
        if v.video_id is None:
            continue
        if v.video_id.lower() in seen:  # lower: MariaDB would treat them as one row
            raise FieldError(
                f"body.videos.{i}.video_id",
                f"{v.video_id!r} is also item {seen[v.video_id.lower()]}; expected each id "
                "once per batch (compared case-insensitively, as MariaDB does)",
                status_code=409,  # a conflict, as in mode=create: no schema states it
            )
        seen[v.video_id.lower()] = i
    with write_tx(engine) as conn:
        ids, created = videos.upsert_videos(conn, items=body.videos)
    state.recommendations.cards.forget(ids)  # cached lists show the changed records at once
    response.status_code = 200
    return VideosUpserted(created=created, updated=len(ids) - created, video_ids=ids)


@router.get("/videos/{video_id}", response_model=Video, responses=errors(404))
def get_video(
    video_id: Annotated[str, id_path("The video's id", "v1")], engine: EngineDep
) -> Video:
    with read_tx(engine) as conn:
        video = videos.get_video(conn, video_id=video_id, active_only=True)  # taken down: 404
    if video is None:
        raise NotFoundError("video", "video_id", video_id)
    return video
