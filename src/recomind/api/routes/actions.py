"""``POST /video_action``: accept a view / like / skip onto the event stream.

Before anything is published: the timestamp must lie within ``RECOMIND_EVENT_MAX_AGE_S``
behind and ``RECOMIND_EVENT_MAX_FUTURE_S`` ahead of the server's clock (422
``body.timestamp``), the user must be within ``RECOMIND_EVENT_RATE_LIMIT`` (429 with
``Retry-After``), the video must exist (404) and the watch time must be at most
``RECOMIND_EVENT_MAX_WATCH_RATIO`` times its duration (422 ``body.watch_time_ms``).

202 means the bus has the event durably (Kafka acks=all, or the embedded log's commit);
the consumers then store it and update popularity, profiles and the lake. If the bus does
not take it, the answer is 503 with ``Retry-After`` and nothing was accepted.

If the database does not answer, a video this process has seen, or whose card the cache
holds, is still checked (its card gives its duration) and the action accepted, with
``X-RecoMind-Degraded: database``; any other video is a 503 ``database_unavailable``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from typing import Any, NamedTuple

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.routing import APIRoute
from prometheus_client import Counter
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY

from recomind.api.access import check_acting_user
from recomind.api.deps import StateDep
from recomind.api.errors import UNREADABLE_BODY, FieldError, RateLimitedError
from recomind.api.responses import errors
from recomind.api.state import AppState
from recomind.errors import NotFoundError, UnavailableError
from recomind.event_time import check_event_time
from recomind.schemas import ACTION_TYPES, ActionAccepted, ActionCreate, ActionEvent, utcnow
from recomind.storage.inserts import new_id
from recomind.storage.outage import DEGRADED_DATABASE, DEGRADED_HEADER
from recomind.stream.bus import BusUnavailableError

ACTIONS = Counter("recomind_actions_total", "Actions accepted, by type", ["action_type"])
_ACCEPTED = {a: ACTIONS.labels(a) for a in ACTION_TYPES}  # labels() costs a lock and a lookup
KNOWN_VIDEOS_MAX = 1_000_000


class Accepted(NamedTuple):
    """An action on the bus: its event id, and whether the database failed its video check
    (the video's cached card answered instead)."""

    event_id: str
    degraded: bool = False


async def _video_duration(state: AppState, video_id: str) -> tuple[float | None, bool]:
    """The video's duration (``None``: unknown) and whether its cached card said it (the
    database did not answer); 404 for an unknown video."""
    known = await state.recommendations.cards.video_duration(video_id)
    if not known.found:
        raise NotFoundError("video", "video_id", video_id)
    if not known.degraded and len(state.known_videos) < KNOWN_VIDEOS_MAX:
        state.known_videos[video_id] = known.duration_s  # never deleted through the API
    return known.duration_s, known.degraded


def _check_watch_time(state: AppState, watch_time_ms: int | None, duration_s: float | None) -> None:
    """422 for a watch time longer than ``event_max_watch_ratio`` times the video."""
    if watch_time_ms is None or duration_s is None or not 0 < duration_s < math.inf:
        return  # unknown duration: the schema's one-day bound applies
    ratio = state.settings.event_max_watch_ratio
    if watch_time_ms > ratio * duration_s * 1000.0:
        raise FieldError(
            "body.watch_time_ms",
            f"expected at most {ratio:g} times the video's duration of {duration_s:g} s "
            f"({int(ratio * duration_s * 1000)} ms), got {watch_time_ms}",
        )


async def accept(body: ActionCreate, state: AppState) -> Accepted:
    """Check, publish and note one action: its event id (the 202's)."""
    settings = state.settings
    try:
        at = check_event_time(
            body.timestamp,
            now=utcnow(),
            max_future_s=settings.event_max_future_s,
            max_age_s=settings.event_max_age_s,
        )
    except ValueError as exc:
        raise FieldError("body.timestamp", str(exc)) from None
    limited = await state.rate_limiter.retry_after(body.user_id)
    if limited is not None:
        seconds, item = limited
        raise RateLimitedError(
            "body.user_id",
            f"more than {item.amount} actions per {item.multiples} {item.GRANULARITY.name} "
            f"for user {body.user_id!r}; retry in {seconds} s",
            retry_after_s=seconds,
        )
    if body.video_id in state.known_videos:  # no I/O, no thread hop for a video seen before
        duration, degraded = state.known_videos[body.video_id], False
    else:
        duration, degraded = await _video_duration(state, body.video_id)
    _check_watch_time(state, body.watch_time_ms, duration)
    event_id = new_id()
    message = ActionEvent.message(
        event_id=event_id,
        user_id=body.user_id,
        video_id=body.video_id,
        action_type=body.action_type,
        timestamp=at,
        watch_time_ms=body.watch_time_ms,
    )
    try:
        await state.producer.publish(settings.kafka_topic, body.user_id.encode(), message)
    except BusUnavailableError as exc:
        raise UnavailableError(str(exc)) from exc
    if state.cache.is_local:  # an in-process dict: no I/O, no thread hop
        state.recommendations.note_action(body.user_id, body.video_id, body.action_type)
    else:  # one Redis round trip for every request noting at the same moment
        await state.notes.note(body.user_id, body.video_id, body.action_type)
    _ACCEPTED[body.action_type].inc()
    return Accepted(event_id, degraded)


def _is_plain_json(request: Request) -> bool:
    """The body is declared ``application/json`` exactly (anything else: FastAPI decides)."""
    for name, value in request.scope["headers"]:
        if name == b"content-type":
            return bool(value == b"application/json")
    return False


class ActionRoute(APIRoute):
    """``POST /video_action`` with a fast path for a well-formed body.

    FastAPI's own request handling (content-type parsing, ``json.loads``, validating the dict,
    solving the dependencies, serialising the response model) cost about as much CPU as the
    rest of an accepted action. A body declared ``application/json`` that
    ``ActionCreate.model_validate_json`` accepts goes straight to :func:`accept` (pydantic
    reads the bytes; a body it accepts, ``json.loads`` and FastAPI's validation accept too,
    with the same values: ``tests/api/test_action_fast_path.py``). Anything else, before any
    side effect, takes FastAPI's route as declared, so every error body stays as it was
    (so does a body FastAPI would read under its own size limit); the OpenAPI description is
    the declared route's.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        declared = super().get_route_handler()

        async def handler(request: Request) -> Response:
            if MAX_BODY_SIZE_SCOPE_KEY in request.scope or not _is_plain_json(request):
                return await declared(request)
            try:
                raw = await request.body()
            except Exception as exc:  # as FastAPI answers a body it cannot read
                raise HTTPException(status_code=400, detail=UNREADABLE_BODY) from exc
            try:
                body = ActionCreate.model_validate_json(raw)
            except ValueError:  # FastAPI reads the cached body again and says why
                return await declared(request)
            check_acting_user(request.scope, body.user_id, "body.user_id")
            done = await accept(body, request.app.state.recomind)
            headers = {DEGRADED_HEADER: DEGRADED_DATABASE} if done.degraded else None
            return Response(
                accepted_json(done.event_id), status_code=202, media_type=JSON, headers=headers
            )

        return handler


router = APIRouter(tags=["actions"], route_class=ActionRoute)
JSON = "application/json"


def accepted_json(event_id: str) -> bytes:
    """The 202's body, as FastAPI writes ``ActionAccepted``."""
    return b'{"event_id":"' + event_id.encode() + b'","status":"accepted"}'


@router.post(
    "/video_action",
    status_code=202,
    response_model=ActionAccepted,
    responses=errors(
        404,
        body=True,
        success={
            202: {
                "headers": {
                    DEGRADED_HEADER: {
                        "description": "database: the database did not answer and the video "
                        "was checked against its cached card (absent otherwise)"
                    }
                }
            }
        },
    ),
)
async def post_action(
    body: ActionCreate, state: StateDep, request: Request, response: Response
) -> ActionAccepted:
    check_acting_user(request.scope, body.user_id, "body.user_id")
    done = await accept(body, state)
    if done.degraded:
        response.headers[DEGRADED_HEADER] = DEGRADED_DATABASE
    return ActionAccepted(event_id=done.event_id)
