"""Erasure and takedown: ``DELETE /users/{user_id}``, ``DELETE /videos/{video_id}``,
``POST /videos/{video_id}/restore`` and ``GET /admin/audit`` (admin; docs/erasure.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from recomind.api.deps import StateDep
from recomind.api.principal import principal_of
from recomind.api.responses import errors, id_path
from recomind.errors import NotFoundError
from recomind.schemas import UtcDatetime
from recomind.serving.erasure import erase_user, set_takedown
from recomind.storage.engine import read_tx
from recomind.storage.erasure import list_audit

router = APIRouter(tags=["erasure"])
UserId = Annotated[str, id_path("The client's own user id", "u1")]
VideoId = Annotated[str, id_path("The client's own video id", "v1")]


class Receipt(BaseModel):
    """What an erasure or takedown did."""

    receipt_id: str
    at: UtcDatetime
    action: Literal["erase_user", "takedown_video", "restore_video"]
    target: str = Field(description="The user or video id")
    removed: dict[str, int] = Field(
        description="Rows or keys removed per store: actions, action_states, profile, user, "
        "popularity_videos (videos whose popularity was adjusted), popularity_in_step (1: "
        "n_events exact, docs/erasure.md), cache_keys, "
        "lake_rows_tombstoned; trending_lists for a takedown"
    )
    repeated: bool = Field(description="The user was erased before / the video was already so")
    audit_id: str


class AuditEntry(BaseModel):
    id: str
    at: UtcDatetime
    actor: str
    action: str
    target: str
    summary: dict[str, Any]


def actor_of(request: Request) -> str:
    """Who acts: the principal the auth layer put in the scope (``anonymous`` with auth off)."""
    principal = principal_of(request.scope)
    if principal.kind == "key":
        return f"key:{principal.key_id}"
    if principal.kind == "user":
        return f"user:{principal.user_id}"
    return principal.kind


@router.delete("/users/{user_id}", response_model=Receipt, responses=errors())
def delete_user(user_id: UserId, request: Request, state: StateDep) -> dict[str, Any]:
    """Erase the user from every store: actions, profile, popularity counts, cached lists and
    keys, the lake (tombstoned now, rewritten by ``lake-compact``). Idempotent: a repeat (or
    an id never seen) answers 200 with zero counts; their events still in flight and dated
    at or before the erasure are dropped by the consumers."""
    receipt = erase_user(state.recommendations, user_id=user_id, actor=actor_of(request))
    counters = [
        *state.rate_limiter.counter_keys(user_id),
        *state.request_limiter.counter_keys(user_id),
    ]
    receipt.removed["cache_keys"] += state.cache.delete(*counters) if counters else 0
    return receipt.to_json()


@router.delete("/videos/{video_id}", response_model=Receipt, responses=errors(404))
def take_down_video(video_id: VideoId, request: Request, state: StateDep) -> dict[str, Any]:
    """Take the video down (``active = false``, reversible): within a second it is in no
    list, trending or cache hit, and it is never a candidate or trained on."""
    return _takedown(state, request, video_id, down=True)


@router.post("/videos/{video_id}/restore", response_model=Receipt, responses=errors(404))
def restore_video(video_id: VideoId, request: Request, state: StateDep) -> dict[str, Any]:
    """Undo a takedown: the video is served and trained on again."""
    return _takedown(state, request, video_id, down=False)


def _takedown(state: Any, request: Request, video_id: str, *, down: bool) -> dict[str, Any]:
    receipt = set_takedown(
        state.recommendations, video_id=video_id, down=down, actor=actor_of(request)
    )
    if receipt is None:
        raise NotFoundError("video", "video_id", video_id)
    return receipt.to_json()


@router.get("/admin/audit", response_model=list[AuditEntry], responses=errors())
def audit(
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many, newest first")] = 100,
    action: Annotated[
        Literal["erase_user", "takedown_video", "restore_video"] | None,
        Query(description="Only this action"),
    ] = None,
) -> list[dict[str, Any]]:
    """The audit log of erasures, takedowns and restores, newest first."""
    with read_tx(state.engine) as conn:
        rows = list_audit(conn, limit=limit, action=action)
    return [
        {
            "id": r.id,
            "at": r.at,
            "actor": r.actor,
            "action": r.action,
            "target": r.target,
            "summary": r.summary,
        }
        for r in rows
    ]
