"""Event ids of the bulk paths, and the message of a bulk event."""

from __future__ import annotations

import uuid
from datetime import datetime

import orjson

from recomind.event_ids import NAMESPACE, client_event_id, derived_event_id, uuid5
from recomind.schemas import ActionEvent


def test_uuid5_is_the_standard_one() -> None:
    for name in ["", "a", "row:u1\x1fv1\x1fview\x1f2026-01-01T00:00:00.000000\x1f", "é" * 300]:
        assert uuid5(name) == str(uuid.uuid5(NAMESPACE, name))


def test_client_ids_uuid_kept_others_hashed_stably() -> None:
    u = uuid.uuid4()
    for spelling in [str(u), str(u).upper(), u.hex, u.urn]:
        assert client_event_id(spelling) == str(u)
    assert client_event_id("order-17") == client_event_id("order-17")
    assert client_event_id("order-17") != client_event_id("order-18")
    assert len(client_event_id("x" * 128)) == 36
    assert client_event_id("y" * 36) != "y" * 36  # 36 characters but no UUID


def test_derived_ids_follow_every_field() -> None:
    base = {
        "user_id": "u1",
        "video_id": "v1",
        "action_type": "view",
        "timestamp": datetime(2026, 1, 1, 12),
        "watch_time_ms": 1000,
    }
    same = derived_event_id(**base)  # type: ignore[arg-type]
    assert derived_event_id(**base) == same  # type: ignore[arg-type]
    changed = [
        {**base, "user_id": "u2"},
        {**base, "video_id": "v2"},
        {**base, "action_type": "like"},
        {**base, "timestamp": datetime(2026, 1, 1, 12, 0, 0, 1)},
        {**base, "watch_time_ms": None},
        {**base, "watch_time_ms": 0},
    ]
    ids = {derived_event_id(**c) for c in changed}  # type: ignore[arg-type]
    assert len(ids) == len(changed) and same not in ids


def test_message_of_live_and_bulk_events() -> None:
    live = ActionEvent(
        event_id="e1",
        user_id="u1",
        video_id="v1",
        action_type="like",
        timestamp=datetime(2026, 1, 1, 12),
    )
    assert orjson.loads(live.to_json()) == {
        "event_id": "e1",
        "user_id": "u1",
        "video_id": "v1",
        "action_type": "like",
        "timestamp": "2026-01-01T12:00:00.000000Z",
        "watch_time_ms": None,
    }
    bulk = live.model_copy(update={"bulk": True})
    assert orjson.loads(bulk.to_json())["bulk"] is True
    for event in (live, bulk):  # what the consumers parse is what was sent
        parsed = ActionEvent.model_validate_json(event.to_json())
        assert parsed.bulk is event.bulk and parsed.to_json() == event.to_json()
