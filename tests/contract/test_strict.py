"""Strict types and bounds, in the schema and in what the server accepts (issue 15: the fuzz
found ``watch_time_ms: true`` and ``created_at: 0`` coerced, and ``n`` unbounded)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from recomind.schemas import ID_PATTERN, NOT_BLANK, TAG_PATTERN
from tests.contract.conftest import auth_headers
from tests.utils.stacks import Api

NOW = datetime.now(UTC).isoformat()


def _refused(api: Api, path: str, body: dict[str, Any], field: str) -> str:
    r = api.http.post(path, json=body, headers=auth_headers())
    assert r.status_code == 422, (body, r.text)
    err = r.json()
    assert err["error"] == "validation_error" and err["field"] == field, err
    return str(err["message"])


ACTION = {"user_id": "u2", "video_id": "v1", "action_type": "view"}


@pytest.mark.parametrize("value", [True, False, "1500", "", [], {}])
def test_watch_time_is_a_json_number(contract_api: Api, value: object) -> None:
    body = {**ACTION, "watch_time_ms": value}
    _refused(contract_api, "/video_action", body, "body.watch_time_ms")
    batch = {"actions": [body]}
    _refused(contract_api, "/video_actions/batch", batch, "body.actions.0.watch_time_ms")


@pytest.mark.parametrize("value", [0, 1764000000, True, "1764000000", "2026-11-30"])
def test_created_at_is_an_iso_time_not_a_number(contract_api: Api, value: object) -> None:
    video = {"title": "t", "url": "https://cdn.example/t.mp4", "created_at": value}
    _refused(contract_api, "/videos", video, "body.created_at")


@pytest.mark.parametrize("value", [True, "30", "30.5"])
def test_duration_is_a_json_number(contract_api: Api, value: object) -> None:
    video = {"title": "t", "url": "https://cdn.example/t.mp4", "duration_s": value}
    _refused(contract_api, "/videos", video, "body.duration_s")


def test_a_time_without_a_zone_is_refused_and_one_with_a_zone_taken(contract_api: Api) -> None:
    naive = datetime.now(UTC).replace(tzinfo=None).isoformat()
    message = _refused(
        contract_api, "/video_action", {**ACTION, "timestamp": naive}, "body.timestamp"
    )
    assert "zone" in message
    video = {"title": "t", "url": "https://cdn.example/t.mp4", "created_at": "2026-01-01T00:00:00"}
    _refused(contract_api, "/videos", video, "body.created_at")
    ok = contract_api.http.post(
        "/video_action", json={**ACTION, "timestamp": NOW}, headers=auth_headers()
    )
    assert ok.status_code == 202, ok.text


@pytest.mark.parametrize("text", ["", "   ", "\u0085", "\ufeff"])
def test_blank_text_is_refused_by_the_schema_and_the_server(contract_api: Api, text: str) -> None:
    assert re.search(NOT_BLANK, text) is None  # what a JSON Schema validator sees
    _refused(contract_api, "/users", {"name": text}, "body.name")
    _refused(contract_api, "/videos", {"title": text, "url": "u"}, "body.title")


@pytest.mark.parametrize("tag", ["#", " # ", "\x1f", "x" * 65])
def test_a_tag_without_content_is_refused_by_both(contract_api: Api, tag: str) -> None:
    if len(tag) <= 64:
        assert re.search(TAG_PATTERN, tag) is None
    video = {"title": "t", "url": "u", "tags": [tag]}
    _refused(contract_api, "/videos", video, "body.tags.0")


def test_an_id_is_not_stripped(contract_api: Api) -> None:
    """``" u2"`` fails the id pattern in the schema: the server must refuse it too."""
    assert re.fullmatch(ID_PATTERN, " u2") is None
    _refused(contract_api, "/video_action", {**ACTION, "user_id": " u2"}, "body.user_id")


def _parameters(doc: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in doc["paths"][path]["get"]["parameters"]}


def test_the_schema_states_the_bounds(contract_api: Api) -> None:
    doc = contract_api.http.get("/openapi.json", headers=auth_headers()).json()
    max_n, default_n = contract_api.settings.max_n, contract_api.settings.default_n
    for path in ["/trending", "/recommendations/{user_id}"]:
        n = _parameters(doc, path)["n"]["schema"]
        assert (n["type"], n["minimum"], n["maximum"], n["default"]) == (
            "integer",
            1,
            max_n,
            default_n,
        )
    user_id = _parameters(doc, "/users/{user_id}")["user_id"]["schema"]
    assert (user_id["pattern"], user_id["maxLength"]) == (ID_PATTERN, 128)
    action = doc["components"]["schemas"]["ActionCreate"]["properties"]
    watch = action["watch_time_ms"]["anyOf"][0]
    assert (watch["type"], watch["minimum"], watch["maximum"]) == ("integer", 0, 86_400_000)
    for r in ("/trending?n=0", f"/trending?n={max_n + 1}", "/recommendations/u2?n=0"):
        got = contract_api.http.get(r, headers=auth_headers())
        assert (got.status_code, got.json()["field"]) == (422, "query.n"), r


def test_every_operation_documents_its_errors_in_the_error_model(contract_api: Api) -> None:
    """Each route declares ``responses=errors(...)`` (:mod:`recomind.api.responses`): a new
    route without it fails here."""
    doc = contract_api.http.get("/openapi.json", headers=auth_headers()).json()
    error_ref = "#/components/schemas/ErrorBody"
    for path, item in doc["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert "429" in codes, (method, path)
            public = path in ("/healthz", "/readyz") or op.get("security") == []
            if not public:
                assert {"401", "403"} <= codes, (method, path)
            if op.get("parameters") or op.get("requestBody"):
                assert "422" in codes, (method, path)
            if op.get("requestBody"):
                assert "413" in codes, (method, path)
            for code, response in op["responses"].items():
                if code.startswith(("4", "5")) and not (path == "/readyz" and code == "503"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": error_ref}, (method, path, code)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
