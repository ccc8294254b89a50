"""``POST /video_action`` times and watch times, end to end: offsets are converted to UTC (they
used to be dropped), the live window and the watch-time bound hold, and every datetime the API
returns carries its zone."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from recomind.schemas import utcnow
from recomind.storage.tables import video_actions
from tests.api.helpers import act, load_catalogue
from tests.utils.stacks import Api

STACKS_HERE = ["embedded", "postgres+redis"]


@pytest.fixture(params=STACKS_HERE, ids=STACKS_HERE)
def stack(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def _zulu(ts: str) -> datetime:
    assert ts.endswith("Z"), f"{ts} has no zone"
    return datetime.fromisoformat(ts.removesuffix("Z"))


def test_offsets_are_stored_as_utc_and_come_back_with_a_zone(api: Api) -> None:
    load_catalogue(api.http, 5)
    assert api.http.post("/users", json={"user_id": "z1", "name": "Z"}).status_code == 201
    utc = (utcnow() - timedelta(hours=2)).replace(microsecond=0)
    sent = {
        "v1": (utc + timedelta(hours=5)).isoformat() + "+05:00",  # the form
        "v2": (utc - timedelta(hours=9, minutes=30)).isoformat() + "-09:30",
        "v3": utc.isoformat() + "Z",  # a zone-less time is a 422 (tests/contract)
    }
    for video, ts in sent.items():  # three spellings of one instant
        act(api.http, "z1", video, "like", timestamp=ts)
    api.settle()
    with api.engine.connect() as conn:
        stored = conn.execute(
            select(video_actions.c.timestamp).where(video_actions.c.user_id == "z1")
        ).scalars()
        assert [t.replace(microsecond=0) for t in stored] == [utc] * 3  # not 12:00 "local"

    listed = api.http.get("/users/z1/actions").json()
    assert [_zulu(a["timestamp"]) for a in listed] == [utc] * 3
    user = api.http.get("/users/z1").json()
    assert abs(_zulu(user["created_at"]) - utcnow()) < timedelta(minutes=5)
    assert all(u["created_at"].endswith("Z") for u in api.http.get("/users").json())
    assert _zulu(api.http.get("/videos/v1").json()["created_at"]) <= utcnow()
    profile = api.http.get("/users/z1/profile").json()
    assert _zulu(profile["updated_at"]) == utc  # the profile is as of the newest action
    cached = api.http.get("/users/z1/profile").json()  # the cached copy keeps its zone too
    assert cached["updated_at"] == profile["updated_at"]
    stats = api.http.get("/api/stats").json()
    assert abs(_zulu(stats["generated_at"]) - utcnow()) < timedelta(minutes=5)


def test_the_live_window_and_the_watch_time_bound(api: Api) -> None:
    load_catalogue(api.http, 3)  # 30 s videos
    r = api.http.post("/videos", json={"video_id": "nodur", "title": "t", "url": "u"})
    assert r.status_code == 201
    settings = api.settings
    now = utcnow()

    def post(**extra: object) -> tuple[int, dict[str, object]]:
        body = {"user_id": "w1", "video_id": "v1", "action_type": "view", **extra}
        r = api.http.post("/video_action", json=body)
        return r.status_code, r.json()

    ahead = timedelta(seconds=settings.event_max_future_s)
    behind = timedelta(seconds=settings.event_max_age_s)
    assert post(timestamp=(now + ahead - timedelta(seconds=30)).isoformat() + "Z")[0] == 202
    status, err = post(timestamp=(now + ahead + timedelta(seconds=30)).isoformat() + "Z")
    assert status == 422 and err["field"] == "body.timestamp" and "ahead" in str(err["message"])
    assert post(timestamp=(now - behind + timedelta(seconds=30)).isoformat() + "Z")[0] == 202
    status, err = post(timestamp=(now - behind - timedelta(seconds=30)).isoformat() + "Z")
    assert status == 422 and err["field"] == "body.timestamp" and "within" in str(err["message"])

    bound = int(settings.event_max_watch_ratio * 30 * 1000)
    assert post(watch_time_ms=bound)[0] == 202
    status, err = post(watch_time_ms=bound + 1)
    assert status == 422 and err["field"] == "body.watch_time_ms"
    assert "30 s" in str(err["message"])
    # Unknown duration: only the one-day bound.
    assert post(video_id="nodur", watch_time_ms=86_400_000)[0] == 202
    assert post(video_id="nodur", watch_time_ms=86_400_001)[0] == 422
