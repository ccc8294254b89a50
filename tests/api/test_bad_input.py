"""Every bad input the issue lists: a clear 4xx naming the field, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import counts, load_catalogue
from tests.utils.settle import messages_on_topic
from tests.utils.stacks import Api

GOOD = {"user_id": "u1", "video_id": "v1", "action_type": "like"}


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != key}


ACTION_CASES: list[tuple[str, Any, int, str]] = [
    ("missing user_id", _without("user_id"), 422, "body.user_id"),
    ("missing video_id", _without("video_id"), 422, "body.video_id"),
    ("missing action_type", _without("action_type"), 422, "body.action_type"),
    ("action love", {**GOOD, "action_type": "love"}, 422, "body.action_type"),
    ("id of 129 chars", {**GOOD, "user_id": "u" * 129}, 422, "body.user_id"),
    ("id with a space", {**GOOD, "user_id": "u 1"}, 422, "body.user_id"),
    ("id with a slash", {**GOOD, "video_id": "v/1"}, 422, "body.video_id"),
    ("negative watch time", {**GOOD, "watch_time_ms": -5}, 422, "body.watch_time_ms"),
    ("bad timestamp", {**GOOD, "timestamp": "yesterday"}, 422, "body.timestamp"),
    ("unknown field", {**GOOD, "rating": 5}, 422, "body.rating"),
    ("unknown video", {**GOOD, "video_id": "v999"}, 404, "video_id"),
    ("not an object", [GOOD], 422, "body"),
]


@pytest.fixture
def loaded(api: Api) -> Api:
    load_catalogue(api.http, 5)
    return api


@pytest.mark.parametrize(
    ("case", "body", "status", "field"), ACTION_CASES, ids=[c[0] for c in ACTION_CASES]
)
def test_bad_action(loaded: Api, case: str, body: Any, status: int, field: str) -> None:
    before = counts(loaded.engine)
    on_topic = messages_on_topic(loaded.settings)
    r = loaded.http.post("/video_action", json=body)
    assert r.status_code == status, r.text
    err = r.json()
    assert err["field"] == field
    assert field.split(".")[-1] in err["message"]
    assert messages_on_topic(loaded.settings) == on_topic  # nothing was published
    loaded.settle()
    assert counts(loaded.engine) == before


def test_malformed_json(loaded: Api) -> None:
    before = counts(loaded.engine)
    r = loaded.http.post(
        "/video_action", content=b'{"user_id": "u1", ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["field"] == "body" and "JSON" in r.json()["message"]
    assert counts(loaded.engine) == before


def test_id_of_129_characters_in_path(loaded: Api) -> None:
    r = loaded.http.get("/recommendations/" + "u" * 129)
    assert r.status_code == 422 and r.json()["field"] == "path.user_id"
    assert "128" in r.json()["message"]
    ok = loaded.http.get("/recommendations/" + "u" * 128)
    assert ok.status_code == 200


@pytest.mark.parametrize("n", ["0", "-1", "1000", "abc", "1.5"])
@pytest.mark.parametrize("path", ["/recommendations/u1", "/trending"])
def test_bad_n(loaded: Api, path: str, n: str) -> None:
    r = loaded.http.get(path, params={"n": n})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "query.n"


@pytest.mark.parametrize(
    ("tags", "why"),
    [
        ("funny", "a string, not a list"),
        ([1, 2], "numbers"),
        (["ok", None], "a null"),
        (["#"], "only a hash"),
    ],
)
def test_bad_tags(loaded: Api, tags: Any, why: str) -> None:
    before = counts(loaded.engine)
    r = loaded.http.post("/videos", json={"video_id": "vx", "title": "t", "url": "u", "tags": tags})
    assert r.status_code == 422, why
    assert r.json()["field"].startswith("body.tags")
    assert counts(loaded.engine) == before


def test_body_over_one_mib(loaded: Api) -> None:
    """Every route takes at most 1 MiB but the two batch routes, which have their own limits
    (a realistic 5,000-video batch is over 1 MiB: tests/api/test_videos_batch.py)."""
    before = counts(loaded.engine)
    big = {"video_id": "vx", "title": "x" * 400, "url": "u" * (1024 * 1024), "tags": ["t"]}
    r = loaded.http.post("/videos", json=big)
    assert r.status_code == 413
    assert r.json()["field"] == "body" and "1048576" in r.json()["message"]
    chunked = loaded.http.post(
        "/video_action",
        content=iter([b'{"user_id": "u1",' + b" " * (1024 * 1024) + b"}"]),
        headers={"content-type": "application/json"},
    )
    assert chunked.status_code == 413
    for path, limit in [
        ("/videos/batch", loaded.settings.videos_batch_max_body_bytes),
        ("/video_actions/batch", loaded.settings.actions_batch_max_body_bytes),
    ]:
        chunked = loaded.http.post(
            path,
            content=iter([b'{"videos": [' + b" " * limit + b"]}"]),
            headers={"content-type": "application/json"},
        )
        assert chunked.status_code == 413, path
        assert str(limit) in chunked.json()["message"]
    assert counts(loaded.engine) == before


def test_missing_name_for_user(loaded: Api) -> None:
    r = loaded.http.post("/users", json={"user_id": "u1"})
    assert r.status_code == 422 and r.json()["field"] == "body.name"
