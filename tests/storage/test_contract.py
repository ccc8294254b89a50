"""The storage contract: every test here runs on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select

from recomind.config import Settings
from recomind.errors import ConflictError
from recomind.folds.pipeline import apply_events
from recomind.folds.popularity import score_at
from recomind.schemas import ActionEvent, VideoCreate
from recomind.storage import migrate
from recomind.storage.actions import (
    ActionRow,
    HistoryItem,
    active_users,
    all_events,
    count_actions,
    insert_actions,
    user_actions,
    user_history,
)
from recomind.storage.engine import read_tx, write_tx
from recomind.storage.popularity import top_popularity
from recomind.storage.profiles import get_profile, get_profiles
from recomind.storage.tables import metadata, video_actions
from recomind.storage.users import count_users, create_user, ensure_users, get_user, list_users
from recomind.storage.videos import count_videos, create_videos, get_video, newest_videos
from tests.storage.helpers import apply_in_random_batches
from tests.storage.helpers import event as _event
from tests.utils.pair_reference import popularity_at

SETTINGS = Settings(database_url="sqlite:///unused.db")
T0 = datetime(2026, 1, 1, 12, 0, 0, 123456)


def _videos(n: int, tags: list[list[str]] | None = None) -> list[VideoCreate]:
    return [
        VideoCreate(
            video_id=f"v{i}",
            title=f"Video {i}",
            url=f"https://cdn.example/v{i}.mp4",
            tags=(tags[i % len(tags)] if tags else ["funny"]),
            creator_id=f"c{i % 3}",
            duration_s=20.0,
            created_at=T0 - timedelta(hours=i),
        )
        for i in range(n)
    ]


def test_migrations_match_the_table_definitions(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    # SQLite reports no index/type drift we care about; anything listed is a real mismatch.
    assert diff == []
    names = set(inspect(engine).get_table_names())
    assert {"users", "videos", "video_actions", "user_profiles", "video_popularity"} <= names


def test_tags_are_text_array_on_postgres(engine: Engine, db_kind: str) -> None:
    cols = {c["name"]: c for c in inspect(engine).get_columns("videos")}
    type_name = type(cols["tags"]["type"]).__name__.upper()
    if db_kind == "postgres":
        assert type_name == "ARRAY"
    else:
        assert type_name in {"JSON", "LONGTEXT", "TEXT"}  # MariaDB shows JSON as LONGTEXT


def test_user_create_get_and_conflict(engine: Engine) -> None:
    with write_tx(engine) as conn:
        u = create_user(conn, user_id="u1", name="Alice")
    assert u.user_id == "u1"
    with read_tx(engine) as conn:
        got = get_user(conn, user_id="u1")
        assert got is not None and got.name == "Alice"
        assert get_user(conn, user_id="nobody") is None
    with pytest.raises(ConflictError), write_tx(engine) as conn:
        create_user(conn, user_id="u1", name="Again")
    with write_tx(engine) as conn:
        generated = create_user(conn, user_id=None, name="Bob")
    assert len(generated.user_id) == 36


def test_ensure_users_creates_only_missing(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_user(conn, user_id="u1", name="Alice")
        assert ensure_users(conn, user_ids=["u1", "u2", "u2", "u3"]) == 2
    with read_tx(engine) as conn:
        assert get_user(conn, user_id="u1").name == "Alice"  # type: ignore[union-attr]
        assert get_user(conn, user_id="u3") is not None


def test_videos_round_trip_tags_and_timestamps(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_videos(conn, items=_videos(3, [["funny", "meme"], ["dance"], []]))
    with read_tx(engine) as conn:
        v0 = get_video(conn, video_id="v0")
        v2 = get_video(conn, video_id="v2")
        assert get_video(conn, video_id="missing") is None
        assert count_videos(conn) == 3
        newest = newest_videos(conn, limit=2)
    assert v0 is not None and v0.tags == ["funny", "meme"]
    assert v0.created_at == T0  # microseconds survive on every backend
    assert v2 is not None and v2.tags == []
    assert [v.video_id for v in newest] == ["v0", "v1"]


def test_video_batch_with_duplicate_inserts_nothing(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_videos(conn, items=_videos(1))
    batch = _videos(3)  # v0 already stored
    with pytest.raises(ConflictError), write_tx(engine) as conn:
        create_videos(conn, items=batch[1:] + batch[:1])
    with read_tx(engine) as conn:
        assert count_videos(conn) == 1
    with pytest.raises(ConflictError), write_tx(engine) as conn:
        create_videos(conn, items=[batch[1], batch[1]])
    with read_tx(engine) as conn:
        assert count_videos(conn) == 1


def test_actions_are_idempotent_on_event_id(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_videos(conn, items=_videos(2))
    e1 = _event("u1", "v0", "like", T0)
    e2 = _event("u1", "v1", "view", T0 + timedelta(seconds=5), 3000)
    assert len(apply_events(engine, settings=SETTINGS, events=[e1, e2])) == 2
    assert apply_events(engine, settings=SETTINGS, events=[e1, e2, e1]) == []
    # A stored and a new event, the new one twice: only the new one is applied, once.
    e3 = _event("u2", "v0", "view", T0 + timedelta(seconds=9))
    fresh = apply_events(engine, settings=SETTINGS, events=[e1, e3, e3])
    assert [e.event_id for e in fresh] == [e3.event_id]
    with read_tx(engine) as conn:
        assert count_actions(conn) == 3
        pop = {r.video_id: r for r in top_popularity(conn, limit=10)}
        rows = conn.execute(select(video_actions.c.watch_time_ms)).scalars().all()
    assert pop["v0"].n_events == 2 and pop["v1"].n_events == 1
    assert sorted(r for r in rows if r is not None) == [3000]


def test_history_is_newest_first(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_videos(conn, items=_videos(3))
    events = [_event("u1", f"v{i}", "view", T0 + timedelta(minutes=i)) for i in (2, 0, 1)]
    apply_events(engine, settings=SETTINGS, events=events)
    with read_tx(engine) as conn:
        hist = user_history(conn, user_id="u1")
        assert user_history(conn, user_id="nobody") == []
    assert [h.video_id for h in hist] == ["v2", "v1", "v0"]


def test_user_actions_per_user_newest_first_with_limit_kind_and_video(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_videos(conn, items=_videos(3, [["funny", "meme"], ["dance"], []]))
        insert_actions(
            conn,
            events=[
                _event("u1", "v0", "like", T0, 1000),
                _event("u1", "v1", "view", T0 + timedelta(minutes=1), 2000),
                _event("u1", "gone", "like", T0 + timedelta(minutes=2)),  # no such video
                _event("u2", "v2", "skip", T0),
            ],
        )
        # Equal timestamps come back in event-id order.
        insert_actions(
            conn,
            events=[
                ActionEvent(
                    event_id=eid, user_id="u3", video_id=v, action_type="view", timestamp=T0
                )
                for eid, v in (("b", "v1"), ("c", "v2"), ("a", "v0"))
            ],
        )
    with read_tx(engine) as conn:
        got = user_actions(conn, user_ids=["u3", "u1", "nobody", "u1"], limit=2)
        one = user_actions(conn, user_ids=["u1"], limit=5, action_type="like", with_video=True)
        many = user_actions(conn, user_ids=["u1", "u2"], limit=5, with_video=True)
    assert list(got) == ["u3", "u1", "nobody"]
    assert [h.video_id for h in got["u1"]] == ["gone", "v1"]
    assert [h.video_id for h in got["u3"]] == ["v0", "v1"]  # ids a, b
    assert got["nobody"] == []
    assert got["u1"][1] == HistoryItem("v1", "view", T0 + timedelta(minutes=1), 2000)
    assert [(r.video_id, r.title, r.tags) for r in one["u1"]] == [
        ("gone", None, []),
        ("v0", "Video 0", ["funny", "meme"]),
    ]
    assert one["u1"][1].url == "https://cdn.example/v0.mp4" and one["u1"][1].timestamp == T0
    assert [r.video_id for r in many["u1"]] == ["gone", "v1", "v0"]
    assert [(r.action_type, r.tags) for r in many["u2"]] == [("skip", [])]
    v1_url = "https://cdn.example/v1.mp4"
    at = T0 + timedelta(minutes=1)
    assert many["u1"][1] == ActionRow("v1", "view", at, 2000, "Video 1", v1_url, ["dance"])


def test_profiles_of_several_users(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_videos(conn, items=_videos(2, [["funny"], ["dance"]]))
    events = [_event("u1", "v0", "like", T0), _event("u2", "v1", "like", T0)]
    apply_events(engine, settings=SETTINGS, events=events)
    with read_tx(engine) as conn:
        got = get_profiles(conn, user_ids=["u2", "nobody", "u1", "u2"])
        want = {u: get_profile(conn, user_id=u) for u in ("u1", "u2")}
    assert got == want
    assert got["u1"].top_tags == ["funny"] and got["u2"].top_tags == ["dance"]


def test_users_list_oldest_first_and_count(engine: Engine) -> None:
    for uid in ("b", "a", "c"):
        with write_tx(engine) as conn:
            create_user(conn, user_id=uid, name=uid.upper())
        time.sleep(0.002)  # distinct creation times
    with read_tx(engine) as conn:
        assert count_users(conn) == 3
        listed = [u.user_id for u in list_users(conn, limit=2)]
    assert listed == ["b", "a"]  # creation order, not id order


def test_all_events_oldest_first_and_active_users_newest_first(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_videos(conn, items=_videos(2))
    events = [
        _event("u1", "v0", "like", T0, 1000),
        _event("u2", "v1", "view", T0 + timedelta(minutes=2)),
        _event("u3", "v0", "skip", T0 - timedelta(minutes=5)),
        _event("u1", "v1", "view", T0 + timedelta(minutes=3)),
    ]
    apply_events(engine, settings=SETTINGS, events=events)
    with read_tx(engine) as conn:
        stored = all_events(conn)
        recent = active_users(conn, since=T0, limit=0)
        newest = active_users(conn, since=T0, limit=1)
        assert active_users(conn, since=T0 + timedelta(hours=1), limit=0) == []
    by_time = sorted(events, key=lambda e: e.timestamp)
    assert [e.event_id for e in stored] == [e.event_id for e in by_time]
    assert stored[1] == by_time[1]  # every field round-trips
    assert recent == ["u1", "u2"] and newest == ["u1"]  # u3 acted before T0 only


def test_popularity_in_any_batching_equals_from_scratch(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_videos(conn, items=_videos(5))
    rng = random.Random(3)
    events = [
        _event(
            f"u{rng.randrange(7)}",
            f"v{rng.randrange(5)}",
            rng.choice(["view", "like", "skip", "unlike"]),
            T0 + timedelta(minutes=rng.uniform(0, 600)),
            rng.choice([None, 5000, 20000]),
        )
        for _ in range(120)
    ]
    rng.shuffle(events)  # out of time order on purpose
    apply_in_random_batches(engine, SETTINGS, events, rng, largest=17)
    now = T0 + timedelta(hours=12)
    half_life = SETTINGS.popularity_half_life_hours * 3600
    expected = popularity_at(
        events,
        lambda e: SETTINGS.action_weight(e.action_type, e.watch_time_ms, 20.0),
        now=now,
        half_life_s=half_life,
    )
    with read_tx(engine) as conn:
        rows = {r.video_id: r for r in top_popularity(conn, limit=10)}
    assert set(rows) == set(expected)
    for vid, exp in expected.items():
        assert score_at(rows[vid], now, half_life) == pytest.approx(exp, rel=1e-6, abs=1e-9)
    assert sum(r.n_events for r in rows.values()) == len(events)


def test_profiles_follow_likes_and_skips(engine: Engine) -> None:
    tags = [["funny", "meme"], ["dance"], ["cooking"]]
    with write_tx(engine) as conn:
        create_videos(conn, items=_videos(6, tags))
    events = [
        _event("u1", "v0", "like", T0),
        _event("u1", "v3", "like", T0 + timedelta(seconds=1)),
        _event("u1", "v1", "skip", T0 + timedelta(seconds=2)),
        _event("u1", "v2", "view", T0 + timedelta(seconds=3), 20_000),
    ]
    apply_events(engine, settings=SETTINGS, events=events)
    with read_tx(engine) as conn:
        profile = get_profile(conn, user_id="u1")
        assert get_profile(conn, user_id="u2") is None
    assert profile is not None
    assert profile.top_tags[:2] == ["funny", "meme"]
    assert "cooking" in profile.top_tags
    assert "dance" not in profile.top_tags
    assert profile.tag_weights["dance"] < 0


def test_concurrent_writers_lose_no_update(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_videos(conn, items=_videos(2))
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for j in range(10):
                e = _event(f"u{k}", f"v{j % 2}", "like", T0 + timedelta(seconds=j))
                apply_events(engine, settings=SETTINGS, events=[e])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with read_tx(engine) as conn:
        rows = top_popularity(conn, limit=10)
        assert count_actions(conn) == 60
    assert sorted(r.n_events for r in rows) == [30, 30]


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    migrate.downgrade(db_url, "base")
    assert migrate.current(db_url) is None
    migrate.upgrade(db_url)
    assert migrate.current(db_url) == migrate.head()
