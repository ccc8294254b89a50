"""Trending and personal top-N over HTTP, on every stack."""

from __future__ import annotations

from tests.api.helpers import act, load_catalogue
from tests.utils.stacks import Api

ITEM_FIELDS = {"video_id", "title", "url", "tags", "creator_id", "duration_s", "score", "reason"}


def test_trending_follows_activity_and_is_cached(api: Api) -> None:
    load_catalogue(api.http, 25)
    for u in range(4):
        act(api.http, f"u{u}", "v7", "like")
    act(api.http, "u9", "v3", "view")
    api.settle()
    r = api.http.get("/trending", params={"n": 5})
    assert r.status_code == 200 and r.headers["X-Cache"] == "miss"
    items = r.json()
    assert isinstance(items, list) and len(items) == 5
    assert set(items[0]) == ITEM_FIELDS
    assert [i["video_id"] for i in items[:2]] == ["v7", "v3"]
    again = api.http.get("/trending", params={"n": 3})
    assert again.headers["X-Cache"] == "hit"
    assert [i["video_id"] for i in again.json()] == [i["video_id"] for i in items[:3]]
    assert len(api.http.get("/trending").json()) == 20  # default n


def test_unknown_user_gets_trending(api: Api) -> None:
    load_catalogue(api.http, 25)
    act(api.http, "u1", "v4", "like")
    api.settle()
    r = api.http.get("/recommendations/stranger", params={"n": 10})
    assert r.status_code == 200
    items = r.json()
    assert len(items) == 10 and items[0]["video_id"] == "v4"
    assert items[0]["reason"] == "trending now"


def test_likes_steer_the_feed_and_seen_or_skipped_never_return(api: Api) -> None:
    load_catalogue(api.http, 25)
    # Others make dance and pets videos popular; u1 likes cooking and skips a dance video.
    for u in range(5):
        act(api.http, f"o{u}", "v1", "like")
        act(api.http, f"o{u}", "v4", "like")
    act(api.http, "u1", "v2", "like")  # cooking
    act(api.http, "u1", "v7", "like")  # cooking
    act(api.http, "u1", "v6", "skip")  # dance
    act(api.http, "u1", "v0", "view", watch_time_ms=30000)  # funny/meme
    api.settle()
    r = api.http.get("/recommendations/u1", params={"n": 25})
    assert r.status_code == 200
    items = r.json()
    ids = [i["video_id"] for i in items]
    assert not {"v2", "v7", "v6", "v0"} & set(ids)
    assert len(ids) == len(set(ids)) == 21
    assert items[0]["tags"] == ["cooking"]
    assert items[0]["reason"] == "because you liked #cooking"
    assert all(i["tags"] == ["cooking"] for i in items[:3])
    api.settle()
    cached = api.http.get("/recommendations/u1", params={"n": 5})
    assert cached.headers["X-Cache"] == "hit"
    assert [i["video_id"] for i in cached.json()] == ids[:5]
    # The watched video disappears at once, before any consumer ran (no settle here).
    act(api.http, "u1", ids[0], "view")
    at_once = api.http.get("/recommendations/u1", params={"n": 5})
    assert ids[0] not in [i["video_id"] for i in at_once.json()]
    assert [i["video_id"] for i in at_once.json()] == ids[1:6]
    api.settle()
    later = api.http.get("/recommendations/u1", params={"n": 20})
    assert ids[0] not in [i["video_id"] for i in later.json()]


def test_first_like_personalises_a_new_user(api: Api) -> None:
    load_catalogue(api.http, 25)
    for u in range(3):
        act(api.http, f"o{u}", "v1", "like")
    api.settle()
    before = api.http.get("/recommendations/newbie", params={"n": 5}).json()
    assert before[0]["video_id"] == "v1"
    act(api.http, "newbie", "v3", "like")  # travel
    api.settle()
    after = api.http.get("/recommendations/newbie", params={"n": 5}).json()
    assert after[0]["tags"] == ["travel"]
    assert "v3" not in [i["video_id"] for i in after]
