"""``POST /video_actions/batch`` over HTTP, on every stack: history in, through the bus, each
event counted once however often it is sent."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from recomind.event_ids import client_event_id
from recomind.lake.reader import read_table
from recomind.schemas import ActionEvent
from recomind.storage.tables import video_actions, video_popularity
from recomind.stream import bulk
from recomind.stream.factory import open_producer
from tests.api.helpers import counts, load_catalogue
from tests.stream.helpers import assert_matches_from_scratch
from tests.utils.settle import messages_on_topic, run_sync
from tests.utils.stacks import Api

NOW = datetime.now(UTC).replace(tzinfo=None)


def _iso(ts: datetime, offset: str = "Z") -> str:
    return ts.isoformat(timespec="seconds") + offset


def history(n: int, *, users: int = 6, videos: int = 10, ids: bool = True) -> list[dict[str, Any]]:
    """``n`` actions over the last 60 days, oldest first, each with a client event id."""
    out = []
    for i in range(n):
        item: dict[str, Any] = {
            "user_id": f"h{i % users}",
            "video_id": f"v{(i * 7) % videos}",
            "action_type": ("view", "like", "view", "skip")[i % 4],
            "timestamp": _iso(NOW - timedelta(days=60) + timedelta(hours=i)),
        }
        if item["action_type"] == "view":
            item["watch_time_ms"] = 1000 + 37 * i
        if ids:
            item["event_id"] = f"import-{i}"
        out.append(item)
    return out


def _stored(api: Api) -> dict[str, Any]:
    with api.engine.connect() as conn:
        return {r.id: r for r in conn.execute(select(video_actions))}


def test_history_is_accepted_stored_and_folded(api: Api) -> None:
    load_catalogue(api.http, 10)
    items = history(40)
    items[0]["timestamp"] = "2026-01-01T12:00:00+05:00"  # an offset is converted to UTC
    items[1].pop("event_id")  # no client id: a new one
    items[2]["event_id"] = "6F0C7D5E-2F4B-4D43-9A55-1F0A3C9E8B99"  # a UUID is kept (canonical)
    r = api.http.post("/video_actions/batch", json={"actions": items})
    assert r.status_code == 202, r.text
    body = r.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (40, 0, 0)
    results = body["items"]
    assert [x["index"] for x in results] == list(range(40))
    assert all(x["status"] == "accepted" and len(x["event_id"]) == 36 for x in results)
    assert results[2]["event_id"] == "6f0c7d5e-2f4b-4d43-9a55-1f0a3c9e8b99"
    assert results[5]["event_id"] == client_event_id("import-5")
    api.settle()
    stored = _stored(api)
    assert set(stored) == {x["event_id"] for x in results}
    assert stored[results[0]["event_id"]].timestamp == datetime(2026, 1, 1, 7, 0)
    assert stored[results[9]["event_id"]].timestamp == NOW.replace(microsecond=0) - timedelta(
        days=60, hours=-9
    )
    # Folded by the consumers like live events: first-time users, profiles, popularity.
    assert counts(api.engine)["users"] == 6
    assert api.http.get("/users/h1/profile").json()["top_tags"]
    assert_matches_from_scratch(api.engine, api.settings)


def test_unknown_videos_and_future_times_are_rejected_per_item(api: Api) -> None:
    load_catalogue(api.http, 5)
    items = history(6, videos=5)
    items[1]["video_id"] = "v404"
    items[3]["timestamp"] = _iso(NOW + timedelta(days=365 * 73))  # 2099-ish
    items[4]["timestamp"] = _iso(NOW + timedelta(seconds=60))  # within the 5-minute skew
    r = api.http.post("/video_actions/batch", json={"actions": items})
    assert r.status_code == 202, r.text
    body = r.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (4, 0, 2)
    bad = {x["index"]: x for x in body["items"] if x["status"] == "rejected"}
    assert bad[1]["field"] == "body.actions.1.video_id" and "v404" in bad[1]["message"]
    assert (
        bad[3]["field"] == "body.actions.3.timestamp"
        and "ahead of the server's clock" in bad[3]["message"]
    )
    assert bad[1]["event_id"] is None and bad[3]["event_id"] is None
    api.settle()
    assert counts(api.engine)["video_actions"] == 4
    assert set(_stored(api)) == {x["event_id"] for x in body["items"] if x["event_id"]}


def test_a_resent_batch_counts_once_everywhere(api: Api) -> None:
    load_catalogue(api.http, 10)
    items = history(30)
    items.append(dict(items[3]))  # the same client id twice in one batch
    first = api.http.post("/video_actions/batch", json={"actions": items}).json()
    assert (first["accepted"], first["duplicates"]) == (30, 1)
    assert first["items"][30]["event_id"] == first["items"][3]["event_id"]
    api.settle()
    with api.engine.connect() as conn:
        popularity = sorted(conn.execute(select(video_popularity)).all())
    on_topic = messages_on_topic(api.settings)
    again = api.http.post("/video_actions/batch", json={"actions": items}).json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 31, 0)
    assert messages_on_topic(api.settings) == on_topic  # known duplicates are not published
    api.settle()
    with api.engine.connect() as conn:
        assert sorted(conn.execute(select(video_popularity)).all()) == popularity
    assert counts(api.engine)["video_actions"] == 30


def test_bulk_events_sent_twice_before_they_are_stored_count_once(api: Api) -> None:
    """A retry racing the consumers (the first copy not stored yet when the batch is checked
    again) publishes the same ids twice: persist's primary key, the popularity and profiles
    groups' event claims and the lake's readers each keep one."""
    load_catalogue(api.http, 10)
    events = [
        ActionEvent(
            event_id=str(uuid.uuid4()),
            user_id=f"r{i % 5}",
            video_id=f"v{i % 10}",
            action_type=("view", "like", "skip")[i % 3],
            timestamp=NOW - timedelta(hours=i),
            watch_time_ms=2000 if i % 3 == 0 else None,
            bulk=True,
        )
        for i in range(60)
    ]
    encoded = bulk.messages(events)

    async def publish_twice() -> None:
        producer = open_producer(api.settings)  # the server's is bound to its own loop
        await producer.start()
        await bulk.publish(producer, api.settings.kafka_topic, encoded)
        await bulk.publish(producer, api.settings.kafka_topic, encoded[:30] + encoded[:30])
        await producer.stop()

    run_sync(publish_twice())
    api.settle()
    assert counts(api.engine)["video_actions"] == 60
    with api.engine.connect() as conn:
        n_events = sum(r.n_events for r in conn.execute(select(video_popularity)))
    assert n_events == 60  # not 120
    assert_matches_from_scratch(api.engine, api.settings)
    ours = {e.event_id for e in events}  # the stack's lake also holds earlier tests' events
    in_lake = [e for e in read_table(api.settings.lake_url).column("event_id").to_pylist()]
    assert sorted(e for e in in_lake if e in ours) == sorted(ours)


def test_malformed_items_reject_the_whole_batch(api: Api) -> None:
    load_catalogue(api.http, 5)
    items = history(5, videos=5)
    items[2]["action_type"] = "love"
    items[4]["event_id"] = "has space"
    on_topic = messages_on_topic(api.settings)
    r = api.http.post("/video_actions/batch", json={"actions": items})
    assert r.status_code == 422, r.text
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"body.actions.2.action_type", "body.actions.4.event_id"}
    for body, field in [
        ({"actions": []}, "body.actions"),
        ({"actions": [history(1)[0]] * 10_001}, "body.actions"),
        ({"events": history(1)}, "body.actions"),
    ]:
        r = api.http.post("/video_actions/batch", json=body)
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert messages_on_topic(api.settings) == on_topic
    api.settle()
    assert counts(api.engine)["video_actions"] == 0


def test_a_full_batch_of_10000_realistic_actions_fits_its_body_limit(api: Api) -> None:
    load_catalogue(api.http, 25)
    items = [
        {
            "event_id": str(uuid.uuid4()),
            "user_id": f"user_{i % 20:06d}",
            "video_id": f"v{i % 25}",
            "action_type": ("view", "like", "view", "skip")[i % 4],
            "timestamp": _iso(NOW - timedelta(days=30) + timedelta(seconds=250 * i)),
            "watch_time_ms": 12_345 if i % 2 == 0 else None,
        }
        for i in range(10_000)
    ]
    body = json.dumps({"actions": items}).encode()
    assert len(body) > 1_500_000  # over the 1 MiB of the other routes
    r = api.http.post(
        "/video_actions/batch", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 202, r.text[:300]
    assert r.json()["accepted"] == 10_000
    api.settle()
    assert counts(api.engine)["video_actions"] == 10_000
    r = api.http.post(
        "/video_actions/batch",
        content=b" " * (api.settings.actions_batch_max_body_bytes + 1),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["field"] == "body"


def test_very_old_timestamps_break_nothing_later(api: Api) -> None:
    """History may be old: year 1, the epoch, a leap second's neighbour. Stored and folded,
    they leave every endpoint answering 200 (the 2099 case is rejected above)."""
    load_catalogue(api.http, 5)
    odd = ["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999-12:00"]
    items = [
        {"user_id": "old", "video_id": f"v{i}", "action_type": kind, "timestamp": ts}
        for i, ts in enumerate(odd)
        for kind in ("view", "like")
    ]
    r = api.http.post("/video_actions/batch", json={"actions": items})
    assert r.status_code == 202 and r.json()["accepted"] == 6, r.text
    api.settle()
    assert counts(api.engine)["video_actions"] == 6
    for path in ["/trending", "/api/stats", "/recommendations/old", "/recommendations/new"]:
        assert api.http.get(path).status_code == 200, path
    assert api.http.get("/users/old/profile").status_code == 200
    assert api.http.get("/users/old/actions").status_code == 200
