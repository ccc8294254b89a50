"""``POST /video_action``'s fast path (``ActionRoute``) answers exactly as the declared route.

A body sent as ``application/json`` that pydantic's JSON reader accepts skips FastAPI's request
handling; everything else goes through FastAPI. So: whatever the fast reader accepts, FastAPI's
``json.loads`` + validation must accept with the same values, and both paths must give the same
answers.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from recomind.schemas import ActionCreate, ActionEvent, utcnow
from tests.api.helpers import load_catalogue
from tests.api.test_hostile_actions import cases
from tests.utils.stacks import Api

EXTRA = [
    b'{"user_id":"a","video_id":"v","action_type":"view","watch_time_ms":1e3}',
    b'{"user_id":"a","video_id":"v","action_type":"view","watch_time_ms":-0}',
    b'{"user_id":"a","video_id":"v","action_type":"view","watch_time_ms":1E2}',
    b'{"user_id":" a ","video_id":"v\\t","action_type":"like"}',
    b'{"user_id":"a","video_id":"v","action_type":"view","timestamp":"2026-11-30 14:00:00"}',
    b'{"user_id":"a","video_id":"v","action_type":"view","timestamp":"2026-11-30T14:00:00.1Z"}',
    b'{"user_id":"a","video_id":"v","action_type":"view","timestamp":"2026-11-30T14:00\\ud800"}',
    b' {"user_id":"a","video_id":"v","action_type":"skip","timestamp":null}\n',
    b'{"user_id":"a","video_id":"v","action_type":"unlike","watch_time_ms":null}',
    b'{"user_id":"a","video_id":"v","action_type":"view"}garbage',
]


def _bodies() -> list[bytes]:
    out = list(EXTRA)
    for case in cases(utcnow()):
        body = case.body
        if isinstance(body, dict) and "user_id" not in body:
            body = {**body, "user_id": "h1"}  # as the sweep sends them
        out.append(body if isinstance(body, bytes) else json.dumps(body).encode())
    return out


def test_what_the_fast_reader_accepts_fastapi_accepts_alike() -> None:
    declared = TypeAdapter(ActionCreate)
    accepted = 0
    for body in _bodies():
        try:
            fast = ActionCreate.model_validate_json(body)
        except ValidationError:
            continue  # FastAPI decides, as before
        accepted += 1
        assert declared.validate_python(json.loads(body)) == fast, body[:80]
    assert accepted >= 20  # the sweep's fine cases and most extras take the fast path


def test_message_is_the_events_json() -> None:
    now = utcnow()
    for watch in (None, 0, 1500):
        for at in (now, datetime(2026, 11, 30, 7, 0), now - timedelta(hours=3)):
            fields: dict[str, Any] = {
                "event_id": "e1",
                "user_id": "u1",
                "video_id": "v1",
                "action_type": "like",
                "timestamp": at,
                "watch_time_ms": watch,
            }
            assert ActionEvent.message(**fields) == ActionEvent(**fields).to_json()


def test_fast_and_declared_paths_answer_alike(embedded_api: Api) -> None:
    http = embedded_api.http
    load_catalogue(http, 3)
    fast_type, declared_type = "application/json", "application/json; charset=utf-8"
    answers = {}
    for i, content_type in enumerate((fast_type, declared_type)):
        body = {"user_id": f"fp{i}", "video_id": "v1", "action_type": "view"}
        r = http.post(
            "/video_action", content=json.dumps(body), headers={"content-type": content_type}
        )
        assert r.status_code == 202, r.text
        answers[content_type] = r
    fast, declared = answers[fast_type], answers[declared_type]
    assert fast.headers.keys() == declared.headers.keys()
    assert fast.headers["content-type"] == declared.headers["content-type"]
    assert fast.json().keys() == declared.json().keys() == {"event_id", "status"}
    assert fast.json()["status"] == "accepted"
    assert len(fast.content) == len(declared.content)  # both event ids are uuid4 strings
    refused: list[dict[str, Any]] = [
        {"user_id": "fp9", "video_id": "v404", "action_type": "view"},  # 404 after the checks
        {"user_id": "fp9", "video_id": "v1", "action_type": "view", "watch_time_ms": 10**9},
        {"user_id": "fp9", "video_id": "v1", "action_type": "share"},
        {"user_id": "fp9", "video_id": "v1", "action_type": "view", "timestamp": "2099-01-01"},
    ]
    for body in refused:
        r1, r2 = (
            http.post("/video_action", content=json.dumps(body), headers={"content-type": t})
            for t in (fast_type, declared_type)
        )
        assert (r1.status_code, r1.json()) == (r2.status_code, r2.json()), body
        assert r1.status_code in (404, 422)
    embedded_api.settle()
    metrics = http.get("/metrics/").text
    assert 'recomind_http_requests_total{method="POST",route="/video_action",status="202"}' in (
        metrics
    )
