"""``POST /video_action``: accept a view / like / skip onto the event stream.

202 means the bus has the event durably (Kafka acks=all, or the embedded log's commit);
the consumers then store it and update popularity, profiles and the lake. If the bus does
not take it, the answer is 503 with ``Retry-After`` and nothing was accepted.
"""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from recomind.api.deps import StateDep
from recomind.api.state import AppState
from recomind.errors import NotFoundError, UnavailableError
from recomind.schemas import ActionAccepted, ActionCreate, ActionEvent, utcnow
from recomind.storage.engine import read_tx
from recomind.storage.inserts import new_id
from recomind.storage.videos import get_video
from recomind.stream.bus import BusUnavailableError

router = APIRouter(tags=["actions"])

ACTIONS = Counter("recomind_actions_total", "Actions accepted, by type", ["action_type"])
KNOWN_VIDEOS_MAX = 1_000_000


def _video_exists(state: AppState, video_id: str) -> bool:
    if video_id in state.known_videos:
        return True
    with read_tx(state.engine) as conn:
        found = get_video(conn, video_id=video_id) is not None
    if found and len(state.known_videos) < KNOWN_VIDEOS_MAX:
        state.known_videos.add(video_id)  # videos are never deleted through the API
    return found


@router.post("/video_action", status_code=202, response_model=ActionAccepted)
async def post_action(body: ActionCreate, state: StateDep) -> ActionAccepted:
    known = body.video_id in state.known_videos  # no thread hop for a video seen before
    if not known and not await run_in_threadpool(_video_exists, state, body.video_id):
        raise NotFoundError("video", "video_id", body.video_id)
    event = ActionEvent(
        event_id=new_id(),
        user_id=body.user_id,
        video_id=body.video_id,
        action_type=body.action_type,
        timestamp=(body.timestamp.replace(tzinfo=None) if body.timestamp else utcnow()),
        watch_time_ms=body.watch_time_ms,
    )
    try:
        await state.producer.publish(
            state.settings.kafka_topic, event.user_id.encode(), event.to_json()
        )
    except BusUnavailableError as exc:
        raise UnavailableError(str(exc)) from exc
    if state.cache.is_local:  # an in-process dict: no I/O, no thread hop
        state.recommendations.note_action(body.user_id, body.video_id, body.action_type)
    else:  # one Redis round trip for every request noting at the same moment
        await state.notes.note(body.user_id, body.video_id, body.action_type)
    ACTIONS.labels(body.action_type).inc()
    return ActionAccepted(event_id=event.event_id)
