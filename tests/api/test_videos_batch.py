"""``POST /videos/batch`` on every stack: a realistic 5,000-video body fits its body limit,
and ``mode=upsert`` updates stored videos and creates new ones."""

from __future__ import annotations

import json
from typing import Any

from tests.api.helpers import counts, load_catalogue
from tests.utils.stacks import Api

WORDS = ["Epic", "Dog", "Fails", "Compilation", "Street", "Food", "Tour", "Dance", "Challenge"]


def realistic(n: int, start: int = 0) -> list[dict[str, Any]]:
    """Videos as a catalogue export has them: titles, CDN URLs, a few tags, a creator."""
    return [
        {
            "video_id": f"vid_{i:08d}",
            "title": " ".join(WORDS[(i + k) % len(WORDS)] for k in range(6)) + f" #{i}",
            "url": f"https://cdn.example-videos.com/uploads/2026/11/vid_{i:08d}_1080p.mp4",
            "tags": ["funny", "animals", f"topic{i % 40}", f"series{i % 300}"],
            "creator_id": f"creator_{i % 997:05d}",
            "duration_s": 15 + i % 45,
        }
        for i in range(start, start + n)
    ]


def test_a_realistic_5000_video_batch_fits(api: Api) -> None:
    videos = realistic(5000)
    body = json.dumps({"videos": videos}).encode()
    assert len(body) > 1_100_000  # over the 1 MiB limit of every other route
    r = api.http.post("/videos/batch", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text[:500]
    assert r.json()["created"] == 5000
    assert counts(api.engine)["videos"] == 5000
    # The other routes keep the 1 MiB limit; the batch route has its own.
    big_action = {"user_id": "u1", "video_id": "vid_00000001", "action_type": "view"}
    padded = json.dumps(big_action).encode()[:-1] + b"," + b" " * 1_100_000 + b"}"
    r = api.http.post("/video_action", content=padded, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["field"] == "body"
    too_big = b" " * (api.settings.videos_batch_max_body_bytes + 1)
    r = api.http.post(
        "/videos/batch", content=too_big, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert str(api.settings.videos_batch_max_body_bytes) in r.json()["message"]


def test_upsert_updates_stored_and_creates_new(api: Api) -> None:
    load_catalogue(api.http, 5)
    before = api.http.get("/videos/v1").json()
    r = api.http.post(
        "/videos/batch",
        params={"mode": "upsert"},
        json={
            "videos": [
                {"video_id": "v1", "title": "Renamed", "url": "https://x/v1b.mp4", "tags": ["new"]},
                {"video_id": "v9", "title": "Fresh", "url": "https://x/v9.mp4", "tags": ["a"]},
                {"title": "No id", "url": "https://x/anon.mp4"},
            ]
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["updated"]) == (2, 1)
    assert body["video_ids"][:2] == ["v1", "v9"] and len(body["video_ids"][2]) == 36
    v1 = api.http.get("/videos/v1").json()
    assert (v1["title"], v1["url"], v1["tags"]) == ("Renamed", "https://x/v1b.mp4", ["new"])
    assert v1["created_at"] == before["created_at"]  # kept
    assert api.http.get("/videos/v9").json()["title"] == "Fresh"
    assert counts(api.engine)["videos"] == 7
    # The default mode keeps today's all-or-nothing create.
    again = api.http.post(
        "/videos/batch", json={"videos": [{"video_id": "v1", "title": "t", "url": "u"}]}
    )
    assert again.status_code == 409 and again.json()["value"] == "v1"
    assert api.http.get("/videos/v1").json()["title"] == "Renamed"


def test_upsert_rejects_an_id_given_twice_and_bad_modes(api: Api) -> None:
    load_catalogue(api.http, 3)
    twice = {
        "videos": [
            {"video_id": "v1", "title": "a", "url": "u"},
            {"video_id": "v7", "title": "b", "url": "u"},
            {"video_id": "V1", "title": "c", "url": "u"},
        ]
    }
    r = api.http.post("/videos/batch", params={"mode": "upsert"}, json=twice)
    # 409 as in mode=create (a 422 refused a body the schema calls valid: issue 15)
    assert r.status_code == 409 and r.json()["field"] == "body.videos.2.video_id", r.text
    assert r.json()["error"] == "conflict"
    r = api.http.post("/videos/batch", params={"mode": "merge"}, json=twice)
    assert r.status_code == 422 and r.json()["field"] == "query.mode", r.text
    assert counts(api.engine)["videos"] == 3
    assert api.http.get("/videos/v1").json()["title"] == "Video 1"


def test_upsert_of_5000_realistic_videos_half_stored(api: Api) -> None:
    first = api.http.post("/videos/batch", json={"videos": realistic(2500)})
    assert first.status_code == 201, first.text[:300]
    videos = realistic(5000)
    for v in videos[:2500]:
        v["title"] = "Updated " + v["title"]
    r = api.http.post("/videos/batch", params={"mode": "upsert"}, json={"videos": videos})
    assert r.status_code == 200, r.text[:300]
    assert (r.json()["created"], r.json()["updated"]) == (2500, 2500)
    assert api.http.get("/videos/vid_00000007").json()["title"].startswith("Updated ")
    assert not api.http.get("/videos/vid_00004007").json()["title"].startswith("Updated ")
    assert counts(api.engine)["videos"] == 5000
