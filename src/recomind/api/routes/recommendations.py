"""``GET /recommendations/{user_id}`` and ``GET /trending``: JSON arrays, cache-first."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Response

from recomind.api.deps import PageSizeDep, StateDep
from recomind.schemas import ID_PATTERN, RecommendedVideo

router = APIRouter(tags=["recommendations"])


def _respond(items: list[RecommendedVideo] | bytes, cache: str) -> Response:
    body = (
        items
        if isinstance(items, bytes)
        else orjson.dumps([i.model_dump(mode="json") for i in items])
    )
    return Response(content=body, media_type="application/json", headers={"X-Cache": cache})


@router.get(
    "/recommendations/{user_id}",
    response_model=list[RecommendedVideo],
    responses={
        200: {
            "headers": {
                "X-Cache": {
                    "description": "hit (cached, fresh); stale (cached past its freshness, "
                    "served while a refresh runs; never after a like, skip or unlike); "
                    "refreshed (the list was dropped by a taste action and the request "
                    "waited for its refresh); miss (computed by this request)"
                }
            }
        }
    },
)
def recommendations(
    user_id: Annotated[str, Path(pattern=ID_PATTERN)], n: PageSizeDep, state: StateDep
) -> Response:
    """Top-``n`` videos for the user; trending for unknown users or users with no history."""
    items, cache = state.recommendations.for_user(user_id, n)
    return _respond(items, cache)


@router.get("/trending", response_model=list[RecommendedVideo])
def trending(n: PageSizeDep, state: StateDep) -> Response:
    """Globally popular videos now (decayed popularity), cached under ``popular_videos``."""
    items, hit = state.recommendations.trending(n)
    return _respond(items, "hit" if hit else "miss")
