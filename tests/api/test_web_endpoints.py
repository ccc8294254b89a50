"""The endpoints the web app added: GET /users, GET /users/{id}/actions, GET /api/stats, and
the app itself at / with its static files and the /media mount (httpx, no browser)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from recomind.config import Settings
from recomind.schemas import utcnow
from recomind.web import STATIC_DIR
from tests.api.helpers import act, load_catalogue
from tests.utils.stacks import Api, running_api


def test_list_users_oldest_first_with_limit(api: Api) -> None:
    for i in range(3):
        assert (
            api.http.post("/users", json={"user_id": f"p{i}", "name": f"P {i}"}).status_code == 201
        )
    r = api.http.get("/users")
    assert r.status_code == 200
    assert [u["user_id"] for u in r.json()] == ["p0", "p1", "p2"]
    assert [u["user_id"] for u in api.http.get("/users?limit=2").json()] == ["p0", "p1"]


@pytest.mark.parametrize("limit", ["0", "101", "x"])
def test_list_users_rejects_bad_limit(api: Api, limit: str) -> None:
    r = api.http.get(f"/users?limit={limit}")
    assert r.status_code == 422
    assert r.json()["field"] == "query.limit"


def test_user_actions_newest_first_filtered_with_videos(api: Api) -> None:
    load_catalogue(api.http, n=5)
    api.http.post("/users", json={"user_id": "a1", "name": "A"})
    hours_ago = [(utcnow() - timedelta(hours=h)).isoformat() + "Z" for h in (3, 2, 1)]
    act(api.http, "a1", "v1", "like", timestamp=hours_ago[0])
    act(api.http, "a1", "v2", "view", timestamp=hours_ago[1], watch_time_ms=1500)
    act(api.http, "a1", "v3", "like", timestamp=hours_ago[2])
    act(api.http, "someone-else", "v4", "like")
    api.settle()

    every = api.http.get("/users/a1/actions").json()
    assert [a["video_id"] for a in every] == ["v3", "v2", "v1"]
    assert [a["timestamp"] for a in every] == hours_ago[::-1]  # as sent, with its zone
    assert every[1]["watch_time_ms"] == 1500
    likes = api.http.get("/users/a1/actions?action_type=like&limit=1").json()
    assert len(likes) == 1
    assert likes[0]["video_id"] == "v3"
    assert likes[0]["action_type"] == "like"
    assert likes[0]["title"] == "Video 3"
    assert likes[0]["tags"] == ["travel"]
    assert likes[0]["url"] == "https://cdn.example/v3.mp4"


def test_user_actions_errors(api: Api) -> None:
    assert api.http.get("/users/nobody/actions").status_code == 404
    api.http.post("/users", json={"user_id": "a2", "name": "B"})
    assert api.http.get("/users/a2/actions").json() == []
    for query, field in (
        ("action_type=share", "query.action_type"),
        ("limit=0", "query.limit"),
        ("limit=1000", "query.limit"),
    ):
        r = api.http.get(f"/users/a2/actions?{query}")
        assert r.status_code == 422, query
        assert r.json()["field"] == field
    assert api.http.get("/users/bad%20id/actions").status_code == 422


def test_stats_document(api: Api) -> None:
    load_catalogue(api.http, n=10)
    act(api.http, "s1", "v1", "like")
    act(api.http, "s1", "v2", "view", watch_time_ms=2000)
    act(api.http, "s2", "v1", "skip")
    api.settle()
    api.http.get("/trending")
    api.http.get("/trending")

    r = api.http.get("/api/stats?minutes=10&top=3")
    assert r.status_code == 200
    s = r.json()
    assert s["totals"] == {"users": 2, "videos": 10, "actions": 3}
    assert s["actions_by_type"] == {"like": 1, "view": 1, "skip": 1}
    assert len(s["events_per_minute"]) == 10
    assert sum(s["events_per_minute"]) == 3
    assert s["events_last_minute"] == s["events_per_minute"][-1]
    assert len(s["trending"]) == 3
    assert s["trending"][0]["video_id"] == "v1"
    cache = s["cache"]
    assert cache["hits"] >= 1  # process-wide counters: other tests add to them too
    assert 0 <= cache["hit_rate"] <= 1
    assert "popular_videos" in cache["by_kind"]
    assert s["process"]["actions_accepted"] >= 3
    # Settled above: every consumer group has applied everything.
    assert s["consumer_lag"] == 0
    assert s["consumer_lag_by_group"] == {
        g: 0 for g in ("persist", "popularity", "profiles", "lake", "retrain-trigger")
    }
    assert s["batch_jobs"] is None  # not built yet: the field is there, empty


@pytest.mark.parametrize("query", ["minutes=0", "minutes=181", "top=0", "top=51"])
def test_stats_rejects_bad_query(embedded_api: Api, query: str) -> None:
    assert embedded_api.http.get(f"/api/stats?{query}").status_code == 422


def test_web_app_is_served_without_external_assets(embedded_api: Api) -> None:
    r = embedded_api.http.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/main.js">' in r.text
    js = embedded_api.http.get("/static/js/main.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert embedded_api.http.get("/static/app.css").status_code == 200
    r = embedded_api.http.get("/dashboard", follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == "/#/dashboard"
    # Offline: nothing is loaded from another origin (SVG's namespace is not a fetch).
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            urls = re.findall(r"https?://[^\s\"'`)]+", path.read_text())
            assert set(urls) <= {"http://www.w3.org/2000/svg"}, (path, urls)
    # Every module the page imports exists.
    for path in STATIC_DIR.rglob("*.js"):
        for name in re.findall(r'from "\./([\w.]+)"', path.read_text()):
            assert (path.parent / name).is_file(), (path, name)


def test_no_media_mount_unless_configured(embedded_api: Api) -> None:
    assert embedded_api.settings.media_dir is None
    assert embedded_api.http.get("/media/demo/v1.mp4").status_code == 404


def test_media_dir_is_served(stack_settings: Callable[..., Settings], tmp_path: Path) -> None:
    media = tmp_path / "media"
    (media / "demo").mkdir(parents=True)
    (media / "demo" / "v1.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    settings = stack_settings("embedded", media_dir=media)
    with running_api(settings) as a:
        r = a.http.get("/media/demo/v1.mp4")
        assert r.status_code == 200
        assert r.headers["content-type"] == "video/mp4"
        assert r.content[4:8] == b"ftyp"
        ranged = a.http.get("/media/demo/v1.mp4", headers={"range": "bytes=0-7"})
        assert ranged.status_code == 206
        assert len(ranged.content) == 8
        assert a.http.get("/media/demo/missing.mp4").status_code == 404
        assert a.http.get("/media/../pyproject.toml").status_code == 404
