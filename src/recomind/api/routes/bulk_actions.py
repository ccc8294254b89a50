"""``POST /video_actions/batch``: load many actions at once, historical ones included.

Each item is a ``POST /video_action`` body plus an optional client ``event_id``. A
malformed body (schema errors, more than 10,000 items) is a 422 naming every bad field and
publishes nothing. Otherwise each item is judged on its own (:mod:`recomind.stream.bulk`):
accepted, duplicate (its event id was accepted before: it counts once) or rejected (a
timestamp beyond now + ``event_max_future_s``, an unknown video), and the accepted ones go
onto the bus together: 202 once the bus has them all, with one result per item. If the bus
does not take them, 503 with ``Retry-After``; resending the batch is safe for items that
carry an ``event_id``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from recomind.api.access import check_acting_user
from recomind.api.deps import StateDep
from recomind.api.responses import errors
from recomind.errors import UnavailableError
from recomind.schemas import ActionBatch, BatchAccepted, BatchItemResult, utcnow
from recomind.storage.engine import read_tx
from recomind.stream import bulk
from recomind.stream.bus import BusUnavailableError

router = APIRouter(tags=["actions"])

BULK_ITEMS = Counter(
    "recomind_bulk_actions_total", "Items of POST /video_actions/batch, by outcome", ["status"]
)


@router.post(
    "/video_actions/batch",
    status_code=202,
    response_model=BatchAccepted,
    responses=errors(body=True),
)
async def post_actions_batch(body: ActionBatch, state: StateDep, request: Request) -> BatchAccepted:
    for i, item in enumerate(body.actions):  # a user token posts only its own actions
        check_acting_user(request.scope, item.user_id, f"body.actions.{i}.user_id")
    settings = state.settings

    def check() -> tuple[bulk.Prepared, list[tuple[bytes, bytes]]]:
        with read_tx(state.engine) as conn:
            prepared = bulk.prepare(
                conn,
                items=body.actions,
                now=utcnow(),
                max_future_s=settings.event_max_future_s,
                derive_ids=False,
            )
        return prepared, bulk.messages(prepared.events)

    prepared, encoded = await run_in_threadpool(check)
    try:
        await bulk.publish(state.producer, settings.kafka_topic, encoded)
    except BusUnavailableError as exc:
        raise UnavailableError(str(exc)) from exc
    items = [
        BatchItemResult(
            index=i,
            status=o.status,
            event_id=o.event_id,
            field=f"body.actions.{i}.{o.field}" if o.field else None,
            message=o.message,
        )
        for i, o in enumerate(prepared.outcomes)
    ]
    counts = {s: prepared.count(s) for s in ("accepted", "duplicate", "rejected")}
    for status, n in counts.items():
        BULK_ITEMS.labels(status).inc(n)
    return BatchAccepted(
        accepted=counts["accepted"],
        duplicates=counts["duplicate"],
        rejected=counts["rejected"],
        items=items,
    )
