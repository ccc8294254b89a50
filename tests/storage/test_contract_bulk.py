"""The storage contract of the bulk paths: the catalogue upsert, stored event ids and event
claims. Runs on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Engine

from recomind.schemas import ActionEvent, VideoCreate
from recomind.storage.actions import insert_actions, stored_event_ids
from recomind.storage.engine import read_tx, write_tx
from recomind.storage.event_claims import claim_event_ids
from recomind.storage.inserts import new_id
from recomind.storage.videos import count_videos, create_videos, get_video, upsert_videos

T0 = datetime(2026, 1, 1, 12, 0, 0, 123456)


def _video(vid: str | None, title: str, **extra: object) -> VideoCreate:
    return VideoCreate(video_id=vid, title=title, url=f"https://cdn.example/{title}.mp4", **extra)


def test_upsert_creates_new_updates_stored_and_keeps_created_at(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_videos(
            conn,
            items=[
                _video("a", "old-a", tags=["x"], creator_id="c1", duration_s=10, created_at=T0),
                _video("b", "old-b", tags=["y"], created_at=T0),
            ],
        )
    moved = datetime(2025, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    with write_tx(engine) as conn:
        ids, created = upsert_videos(
            conn,
            items=[
                _video("a", "new-a", tags=["#Z", "x"]),  # no creator, duration: they go
                _video("b", "new-b", created_at=moved),
                _video("c", "new-c", tags=["q"]),
                _video(None, "anonymous"),
            ],
        )
    assert created == 2 and ids[:3] == ["a", "b", "c"] and len(ids[3]) == 36
    with read_tx(engine) as conn:
        a, b, c = (get_video(conn, video_id=v) for v in "abc")
        assert count_videos(conn) == 4
        anonymous = get_video(conn, video_id=ids[3])
    assert a is not None and b is not None and c is not None and anonymous is not None
    assert (a.title, a.tags, a.creator_id, a.duration_s) == ("new-a", ["z", "x"], None, None)
    assert a.created_at == T0  # kept: the item did not set it
    assert b.title == "new-b" and b.created_at == datetime(2025, 6, 1, 12, 0)  # UTC, not 14:00
    assert c.title == "new-c" and c.tags == ["q"]
    assert anonymous.title == "anonymous"


def test_upsert_of_only_stored_videos_creates_none(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_videos(conn, items=[_video(f"v{i}", f"t{i}") for i in range(3)])
    with write_tx(engine) as conn:
        ids, created = upsert_videos(conn, items=[_video(f"v{i}", f"u{i}") for i in range(3)])
    assert created == 0 and ids == ["v0", "v1", "v2"]
    with read_tx(engine) as conn:
        assert count_videos(conn) == 3
        assert [get_video(conn, video_id=f"v{i}").title for i in range(3)] == ["u0", "u1", "u2"]  # type: ignore[union-attr]


def test_stored_event_ids_finds_exactly_the_stored_ones(engine: Engine) -> None:
    events = [
        ActionEvent(
            event_id=new_id(),
            user_id="u",
            video_id="v",
            action_type="view",
            timestamp=datetime.now(UTC),
        )
        for _ in range(1500)
    ]
    with write_tx(engine) as conn:
        insert_actions(conn, events=events[:1200])
    asked = [e.event_id for e in events] + [events[0].event_id]  # one asked twice
    with read_tx(engine) as conn:
        found = stored_event_ids(conn, event_ids=asked)
        assert stored_event_ids(conn, event_ids=[]) == set()
    assert found == {e.event_id for e in events[:1200]}


def test_event_claims_are_per_group_and_once(engine: Engine) -> None:
    ids = [new_id() for _ in range(6000)]  # more than one insert chunk
    with write_tx(engine) as conn:
        assert claim_event_ids(conn, group="popularity", event_ids=ids[:10]) == set(ids[:10])
    with write_tx(engine) as conn:
        again = claim_event_ids(conn, group="popularity", event_ids=[*ids, ids[-1]])
        other = claim_event_ids(conn, group="profiles", event_ids=ids[:10])
    assert again == set(ids[10:]) and other == set(ids[:10])
