"""``GET /recommendations/{user_id}`` and ``GET /trending``: JSON arrays, cache-first.

Both handlers are coroutines: a cache hit is served on the event loop, without a thread-pool
hop; only a miss computes on a worker thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from recomind.api.deps import PageSizeQuery, page_size_of, state_of
from recomind.schemas import ID_PATTERN, RecommendedVideo
from recomind.serving.service import Served
from recomind.storage.outage import DEGRADED_DATABASE, DEGRADED_HEADER

router = APIRouter(tags=["recommendations"])
VARIANT_HEADER = "X-RecoMind-Variant"

_DEGRADED_DOC = {
    "description": "database: the database did not answer and the page was served from "
    "what the cache holds (absent otherwise)"
}


def _respond(served: Served) -> Response:
    headers = {"X-Cache": served.cache}
    if served.request_id:
        headers["X-Request-Id"] = served.request_id
    if served.degraded:
        headers[DEGRADED_HEADER] = DEGRADED_DATABASE
    if served.variant:
        headers[VARIANT_HEADER] = served.variant
    return Response(content=served.page, media_type="application/json", headers=headers)


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
                DEGRADED_HEADER: _DEGRADED_DOC,
                VARIANT_HEADER: {
                    "description": "<experiment>:<variant> when the user is in a running "
                    "experiment (docs/experiments.md; absent otherwise)"
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
    return _respond(served)


@router.get(
    "/trending",
    response_model=list[RecommendedVideo],
    responses={
        200: {
            "headers": {"X-Cache": {"description": "hit or miss"}, DEGRADED_HEADER: _DEGRADED_DOC}
        }
    },
)
async def trending(request: Request, n: PageSizeQuery = None) -> Response:
    """Globally popular videos now (decayed popularity), cached under ``popular_videos``."""
    state = state_of(request)
    return _respond(await state.recommendations.trending(page_size_of(state.settings, n)))
