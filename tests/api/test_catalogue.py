"""Users and videos over HTTP, on every stack."""

from __future__ import annotations

from tests.api.helpers import counts, load_catalogue
from tests.utils.stacks import Api


def test_create_and_get_user(api: Api) -> None:
    r = api.http.post("/users", json={"user_id": "u1", "name": "Alice"})
    assert r.status_code == 201
    assert r.json()["user_id"] == "u1"
    got = api.http.get("/users/u1")
    assert got.status_code == 200 and got.json()["name"] == "Alice"
    dup = api.http.post("/users", json={"user_id": "u1", "name": "Again"})
    assert dup.status_code == 409 and dup.json()["field"] == "user_id"
    missing = api.http.get("/users/nobody")
    assert missing.status_code == 404 and missing.json()["field"] == "user_id"
    generated = api.http.post("/users", json={"name": "Bob"})
    assert generated.status_code == 201 and len(generated.json()["user_id"]) == 36


def test_create_get_and_batch_videos(api: Api) -> None:
    r = api.http.post(
        "/videos",
        json={
            "video_id": "dog1",
            "title": "Epic Dog Fails",
            "url": "https://x/v1.mp4",
            "tags": ["#Funny", "animals"],
        },
    )
    assert r.status_code == 201
    assert r.json()["tags"] == ["funny", "animals"]
    got = api.http.get("/videos/dog1").json()
    assert got["title"] == "Epic Dog Fails" and got["tags"] == ["funny", "animals"]
    assert api.http.get("/videos/v404").status_code == 404
    load_catalogue(api.http, 10)
    assert counts(api.engine)["videos"] == 11
    again = api.http.post(
        "/videos/batch", json={"videos": [{"video_id": "dog1", "title": "t", "url": "u"}]}
    )
    assert again.status_code == 409 and again.json()["value"] == "dog1"
    assert counts(api.engine)["videos"] == 11


def test_action_creates_first_time_user(api: Api) -> None:
    load_catalogue(api.http, 5)
    r = api.http.post(
        "/video_action",
        json={"user_id": "newbie", "video_id": "v1", "action_type": "view", "watch_time_ms": 1200},
    )
    assert r.status_code == 202
    body = r.json()
    assert body["status"] == "accepted" and len(body["event_id"]) == 36
    api.settle()
    assert api.http.get("/users/newbie").status_code == 200
    assert counts(api.engine)["video_actions"] == 1
    profile = api.http.get("/users/newbie/profile").json()
    assert profile["top_tags"] == ["dance"]
