"""Erasure of a user and takedown of a video: every store in one place (docs/erasure.md).

:func:`erase_user` removes the user's rows from the database (actions, per-pair states,
profile, user) and their contribution from ``video_popularity`` (exactly: what the fold
counted of them is taken back), records the erasure by the hash of their id (the consumers
drop their events still in flight), tombstones their lake rows and writes the audit row, all
in one transaction; then deletes every cache key named after them. :func:`set_takedown`
takes a video down (``active = false``) or restores it, with its lake tombstone, its audit
row, and the serving process's takedown set, trending list and video card.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from recomind.cache import keys
from recomind.erasure_ids import subject_hash
from recomind.folds import popularity
from recomind.lake.tombstones import count_user_rows, set_video_tombstone, tombstone_user
from recomind.schemas import utcnow
from recomind.serving.service import RecommendationService
from recomind.storage.engine import retrying, write_tx
from recomind.storage.erasure import (
    delete_user_rows,
    lock_consumers,
    record_erasure,
    set_video_active,
    user_action_counts,
    write_audit,
)

#: How long an erasure waits for a refresh of the user's list already running.
REFRESH_WAIT_S = 5.0
#: How long an erasure waits for ``persist`` and ``popularity`` to have applied the same
#: messages (then the events it takes out of ``n_events`` are exactly those counted).
IN_STEP_WAIT_S = 10.0


class _NotInStep(Exception):
    """``persist`` and ``popularity`` have applied different messages: try again soon."""


def in_step(offsets: dict[tuple[str, str, int], int]) -> bool:
    """Whether ``persist`` and ``popularity`` stand at the same offset on every partition."""
    cut = {(g, t, p): n for (g, t, p), n in offsets.items() if g in ("persist", "popularity")}
    places = {(t, p) for _, t, p in cut}
    return all(cut.get(("persist", t, p), 0) == cut.get(("popularity", t, p), 0) for t, p in places)


@dataclass(frozen=True)
class Receipt:
    """What an erasure or takedown did (the JSON the DELETE routes answer)."""

    receipt_id: str
    at: datetime
    action: str
    target: str
    #: Rows or keys removed per store (``actions``, ``profile``, ``cache_keys``, ...).
    removed: dict[str, int] = field(default_factory=dict)
    #: Whether this repeated an earlier erasure (or the video was down already).
    repeated: bool = False
    audit_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def erase_user(service: RecommendationService, *, user_id: str, actor: str) -> Receipt:
    """Erase ``user_id`` from every store (see the module's docstring). Idempotent: erasing
    again answers a receipt with zero counts (``repeated``)."""
    settings = service.settings
    user_hash = subject_hash(user_id)
    receipt_id = str(uuid.uuid4())
    now = utcnow()
    endpoint = settings.lake_s3_endpoint_url
    lake_rows = count_user_rows(settings.lake_url, user_id=user_id, s3_endpoint_url=endpoint)

    deadline = time.monotonic() + IN_STEP_WAIT_S

    def tx() -> Receipt:
        with write_tx(service.engine) as conn:
            # No group applies a batch meanwhile; and the user's stored events are the ones
            # popularity counted when both groups applied the same messages (else wait).
            exact = in_step(lock_consumers(conn))
            if not exact and time.monotonic() < deadline:
                raise _NotInStep
            per_video = user_action_counts(conn, user_id=user_id)
            adjusted = popularity.forget_user(
                conn, settings=settings, user_id=user_id, events_per_video=per_video
            )
            removed = delete_user_rows(conn, user_id=user_id)
            repeated = record_erasure(
                conn, subject_hash=user_hash, erased_at=now, receipt_id=receipt_id
            )
            # Inside the transaction: if the lake cannot be written, nothing is erased.
            tombstone_user(
                settings.lake_url,
                user_sha256=user_hash,
                erased_at=now,
                receipt_id=receipt_id,
                s3_endpoint_url=endpoint,
            )
            removed["popularity_videos"] = adjusted
            removed["popularity_in_step"] = int(exact)
            removed["lake_rows_tombstoned"] = lake_rows
            removed["cache_keys"] = _purge_cache(service, user_id)
            summary = {"receipt_id": receipt_id, **removed}
            audit_id = write_audit(
                conn,
                at=now,
                actor=actor,
                action="erase_user",
                target=f"user-sha256:{user_hash}",
                summary=summary,
            )
        return Receipt(receipt_id, now, "erase_user", user_id, removed, repeated, audit_id)

    while True:
        try:
            receipt = retrying(tx)
            break
        except _NotInStep:
            time.sleep(0.05)
    _purge_cache(service, user_id)  # again: a request between the two re-created nothing
    return receipt


def _purge_cache(service: RecommendationService, user_id: str) -> int:
    service.refresher.wait_for(user_id, REFRESH_WAIT_S)
    return service.lists.erased(user_id)


def set_takedown(
    service: RecommendationService, *, video_id: str, down: bool, actor: str
) -> Receipt | None:
    """Take ``video_id`` down (``down``) or restore it; ``None`` when there is no such video."""
    settings = service.settings
    receipt_id = str(uuid.uuid4())
    now = utcnow()
    action = "takedown_video" if down else "restore_video"

    def tx() -> Receipt | None:
        with write_tx(service.engine) as conn:
            was_active = set_video_active(conn, video_id=video_id, active=not down)
            if was_active is None:
                return None
            set_video_tombstone(
                settings.lake_url,
                video_id=video_id,
                down=down,
                s3_endpoint_url=settings.lake_s3_endpoint_url,
            )
            audit_id = write_audit(
                conn,
                at=now,
                actor=actor,
                action=action,
                target=f"video:{video_id}",
                summary={"receipt_id": receipt_id, "was_active": was_active},
            )
        return Receipt(receipt_id, now, action, video_id, {}, was_active != down, audit_id)

    receipt = retrying(tx)
    if receipt is None:
        return None
    if down:
        service.takedowns.hide([video_id])
    else:
        service.takedowns.show([video_id])
    # Trending is computed again (with or without it); cards and candidate pools re-read.
    trending = service.cache.delete(keys.key(settings.cache_prefix, keys.POPULAR_VIDEOS))
    service.cards.forget([video_id])
    service.pool.invalidate()
    receipt.removed["trending_lists"] = trending
    return receipt
