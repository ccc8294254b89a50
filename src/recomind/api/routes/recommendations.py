"""``GET /recommendations/{user_id}`` and ``GET /trending``: JSON arrays, cache-first.

Both handlers are coroutines: a cache hit is served on the event loop, without a thread-pool
hop; only a miss computes on a worker thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from recomind.api.deps import PageSizeQuery, page_size_of, state_of
from recomind.schemas import ID_PATTERN, RecommendedVideo

router = APIRouter(tags=["recommendations"])


def _respond(page: bytes, cache: str) -> Response:
    return Response(content=page, media_type="application/json", headers={"X-Cache": cache})


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
                },
                "X-Request-Id": {
                    "description": "the page's id in the served-list log (the lake's "
                    "impressions/): one row per item shown, with its position"
                },
            }
        }
    },
)
async def recommendations(
    request: Request,
    user_id: Annotated[str, Path(pattern=ID_PATTERN)],
    n: PageSizeQuery = None,
) -> Response:
    """Top-``n`` videos for the user; trending for unknown users or users with no history."""
    state = state_of(request)
    served = await state.recommendations.for_user(user_id, page_size_of(state.settings, n))
    response = _respond(served.page, served.cache)
    response.headers["X-Request-Id"] = served.request_id
    return response


@router.get("/trending", response_model=list[RecommendedVideo])
async def trending(request: Request, n: PageSizeQuery = None) -> Response:
    """Globally popular videos now (decayed popularity), cached under ``popular_videos``."""
    state = state_of(request)
    page, hit = await state.recommendations.trending(page_size_of(state.settings, n))
    return _respond(page, "hit" if hit else "miss")
