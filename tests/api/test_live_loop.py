"""The next page follows the action, on every stack: 100 like -> GET pairs and 50 skip -> GET
pairs, each answered at once (no settle between the action and the request).

"Reflects a like" of video V (tag T, creator C; the user never acted on a T video before):
the next page (10 items) leads with a video of T or C, holds at least three of them, and
never V. "Reflects a skip" of V: the next page holds no video sharing a tag with V, and never
V. (``X-Cache`` may say ``stale`` only when the list was refreshed after the action and then
marked stale by the every-X-actions rule: the checks above tell the lists apart.)
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import act
from tests.utils.stacks import Api

N_TAGS = 110
PER_TAG = 4
HOT = 10  # tags others made popular: what exploration offers first


def _catalogue(http: httpx.Client) -> dict[str, dict[str, Any]]:
    videos = [
        {
            "video_id": f"t{k:03d}-{i}",
            "title": f"Tag {k} clip {i}",
            "url": f"https://cdn.example/t{k}-{i}.mp4",
            "tags": [f"t{k:03d}"],
            "creator_id": f"cr{k:03d}",
            "duration_s": 30,
        }
        for k in range(N_TAGS)
        for i in range(PER_TAG)
    ]
    r = http.post("/videos/batch", json={"videos": videos})
    assert r.status_code == 201, r.text
    return {v["video_id"]: v for v in videos}


def _make_hot(api: Api) -> None:
    """Others like every video of the last ``HOT`` tags, the hottest with the most fans."""
    for rank, k in enumerate(range(N_TAGS - HOT, N_TAGS)):
        for u in range(HOT - rank):
            for i in range(PER_TAG):
                act(api.http, f"fan{u}", f"t{k:03d}-{i}", "like")
    api.settle()
    api.state.recommendations.reset_local_state()  # as after candidate_pool_ttl_s


def _page(api: Api, user: str) -> tuple[list[dict[str, Any]], str]:
    r = api.http.get(f"/recommendations/{user}", params={"n": 10})
    assert r.status_code == 200, r.text
    return r.json(), r.headers["X-Cache"]


def test_every_like_shows_on_the_very_next_page(api: Api) -> None:
    videos = _catalogue(api.http)
    _make_hot(api)
    misses: list[str] = []
    answers: dict[str, int] = {}
    for k in range(100):  # tag t{k} and creator cr{k}: never seen by this user before
        liked = videos[f"t{k:03d}-{k % PER_TAG}"]
        act(api.http, "me", liked["video_id"], "like")
        page, how = _page(api, "me")
        answers[how] = answers.get(how, 0) + 1
        ids = [i["video_id"] for i in page]

        def follows(item: dict[str, Any], v: dict[str, Any] = liked) -> bool:
            return v["tags"][0] in item["tags"] or item["creator_id"] == v["creator_id"]

        ok = (
            liked["video_id"] not in ids
            and len(page) == 10
            and follows(page[0])
            and sum(map(follows, page)) >= 3
        )
        if not ok:
            misses.append(f"like {liked['video_id']}: {how} {ids}")
    assert misses == [], f"{len(misses)} of 100 pages missed their like: {misses[:3]}"
    assert set(answers) <= {"miss", "refreshed", "hit", "stale"}, answers


def test_every_skip_drops_its_tag_from_the_very_next_page(api: Api) -> None:
    videos = _catalogue(api.http)
    _make_hot(api)
    for k in range(3):  # a taste, so exploration has somewhere else to be
        act(api.http, "me", f"t{k:03d}-0", "like")
    page, _ = _page(api, "me")
    misses: list[str] = []
    skipped_tags: set[str] = set()
    offered_again = 0  # skips whose tag still had other popular videos to offer
    for _ in range(50):
        liked_tags = {"t000", "t001", "t002"}
        target = next(i for i in page if not liked_tags & set(i["tags"]))
        tag = target["tags"][0]
        assert tag not in skipped_tags, f"{tag} came back after its skip"
        act(api.http, "me", target["video_id"], "skip")
        skipped_tags.add(tag)
        if int(tag[1:]) >= N_TAGS - HOT:
            offered_again += 1
        page, how = _page(api, "me")
        ids = [i["video_id"] for i in page]
        assert len(page) == 10, how
        if target["video_id"] in ids or any(tag in i["tags"] for i in page):
            misses.append(f"skip {target['video_id']}: {how} {ids}")
        assert all(videos[i]["tags"] for i in ids)
    assert misses == [], f"{len(misses)} of 50 pages kept a skipped tag: {misses[:3]}"
    assert offered_again == HOT  # every hot tag was offered, skipped once and then gone
