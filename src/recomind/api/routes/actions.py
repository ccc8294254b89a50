"""``POST /video_action``: accept a view / like / skip (202 with the event's id)."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import Counter

from recomind.api.deps import EngineDep, StateDep
from recomind.errors import NotFoundError
from recomind.ingest.pipeline import apply_events
from recomind.schemas import ActionAccepted, ActionCreate, ActionEvent, utcnow
from recomind.storage import repository as repo
from recomind.storage.engine import read_tx

router = APIRouter(tags=["actions"])

ACTIONS = Counter("recomind_actions_total", "Actions accepted, by type", ["action_type"])


@router.post("/video_action", status_code=202, response_model=ActionAccepted)
def post_action(body: ActionCreate, state: StateDep, engine: EngineDep) -> ActionAccepted:
    with read_tx(engine) as conn:
        if repo.get_video(conn, video_id=body.video_id) is None:
            raise NotFoundError("video", "video_id", body.video_id)
    event = ActionEvent(
        event_id=repo.new_id(),
        user_id=body.user_id,
        video_id=body.video_id,
        action_type=body.action_type,
        timestamp=(body.timestamp.replace(tzinfo=None) if body.timestamp else utcnow()),
        watch_time_ms=body.watch_time_ms,
    )
    apply_events(engine, settings=state.settings, events=[event])
    state.recommendations.invalidate_user(body.user_id)
    ACTIONS.labels(body.action_type).inc()
    return ActionAccepted(event_id=event.event_id)
