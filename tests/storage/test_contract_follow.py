"""What a like leads to, on SQLite, PostgreSQL and MariaDB: videos of its tags, of its
creator, and what its viewers went on to watch."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from recomind.schemas import ActionEvent, VideoCreate
from recomind.storage.actions import insert_actions, watched_next, watched_next_many
from recomind.storage.engine import read_tx, write_tx
from recomind.storage.inserts import new_id
from recomind.storage.videos import (
    TAG_SCAN_MIN,
    create_videos,
    videos_by_creators,
    videos_by_each_creator,
    videos_with_each_tag,
    videos_with_tags,
)

T0 = datetime(2026, 1, 1, 12, 0, 0)
TAGS = [["diy", "home"], ["cooking"], ["diy"], ["50%_off"], ['quo"te'], ["café"], ["diyx"]]


def _seed_videos(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_videos(
            conn,
            items=[
                VideoCreate(
                    video_id=f"v{i}",
                    title=f"Video {i}",
                    url="u",
                    tags=TAGS[i % len(TAGS)],
                    creator_id=f"c{i % 3}",
                    created_at=T0 - timedelta(hours=i),
                )
                for i in range(21)
            ],
        )


def test_videos_with_tags_newest_first_exact_tags_only(engine: Engine) -> None:
    _seed_videos(engine)
    with read_tx(engine) as conn:
        diy = videos_with_tags(conn, tags=["diy"], limit=10)
        # newest first; "diyx" is another tag, not a match
        assert [v.video_id for v in diy] == ["v0", "v2", "v7", "v9", "v14", "v16"]
        assert [v.video_id for v in videos_with_tags(conn, tags=["diy"], limit=2)] == ["v0", "v2"]
        both = videos_with_tags(conn, tags=["cooking", "home"], limit=20)
        assert [v.video_id for v in both] == ["v0", "v1", "v7", "v8", "v14", "v15"]
        # LIKE wildcards, quotes and non-ASCII are matched literally
        assert [v.video_id for v in videos_with_tags(conn, tags=["50%_off"], limit=9)] == [
            "v3",
            "v10",
            "v17",
        ]
        assert [v.video_id for v in videos_with_tags(conn, tags=['quo"te'], limit=1)] == ["v4"]
        assert [v.video_id for v in videos_with_tags(conn, tags=["café"], limit=1)] == ["v5"]
        assert videos_with_tags(conn, tags=["_"], limit=9) == []
        assert videos_with_tags(conn, tags=[], limit=9) == []


def test_videos_by_creators_newest_first(engine: Engine) -> None:
    _seed_videos(engine)
    with read_tx(engine) as conn:
        got = videos_by_creators(conn, creator_ids=["c1"], limit=3)
        assert [v.video_id for v in got] == ["v1", "v4", "v7"]
        assert videos_by_creators(conn, creator_ids=["C1"], limit=3) == []
        assert videos_by_creators(conn, creator_ids=[], limit=3) == []


def _act(user: str, video: str, kind: str, minutes: int) -> ActionEvent:
    return ActionEvent(
        event_id=new_id(),
        user_id=user,
        video_id=video,
        action_type=kind,
        timestamp=T0 + timedelta(minutes=minutes),
    )


def test_watched_next_counts_distinct_viewers_after_their_action(engine: Engine) -> None:
    _seed_videos(engine)
    events = [
        _act("a", "v5", "view", 0),  # before a's like of v1: not "next"
        _act("a", "v1", "like", 1),
        _act("a", "v2", "like", 2),
        _act("a", "v2", "view", 3),  # the same viewer twice counts once
        _act("a", "v3", "skip", 4),  # not an action that counts
        _act("b", "v1", "view", 1),
        _act("b", "v2", "view", 5),
        _act("b", "v4", "like", 6),
        _act("me", "v1", "like", 1),
        _act("me", "v6", "like", 2),  # the asking user is left out
        _act("c", "v4", "like", 1),  # never acted on v1
    ]
    with write_tx(engine) as conn:
        insert_actions(conn, events=events)
    with read_tx(engine) as conn:
        got = watched_next(
            conn, video_id="v1", action_types=["like", "view"], not_user="me", limit=10
        )
        assert got == {"v2": 2, "v4": 1}
        assert list(got) == ["v2", "v4"]  # most viewers first
        assert watched_next(conn, video_id="v1", action_types=["like", "view"], limit=1) == {
            "v2": 2
        }
        assert "v6" in watched_next(conn, video_id="v1", action_types=["like"], limit=10)
        assert watched_next(conn, video_id="v9", action_types=["like"], limit=10) == {}


def test_the_batched_reads_give_what_each_single_read_gives(engine: Engine) -> None:
    _seed_videos(engine)
    events = [
        _act(u, f"v{(i * 7 + j) % 21}", ("like", "view", "skip")[(i + j) % 3], i * 3 + j)
        for i, u in enumerate(["a", "b", "c", "d", "e"])
        for j in range(9)
    ]
    with write_tx(engine) as conn:
        insert_actions(conn, events=events)
    tags = [*sorted({t for ts in TAGS for t in ts}), "Diy", "none", "_"]
    # enough tags for SQLite's one-scan read (TAG_SCAN_MIN), and a few alone
    many_tags = [*tags, *(f"t{i}" for i in range(TAG_SCAN_MIN))]
    with read_tx(engine) as conn:
        for wanted in (tags[:3], many_tags):
            for limit in (1, 2, 10):
                each = videos_with_each_tag(conn, tags=wanted, limit=limit)
                assert list(each) == list(dict.fromkeys(wanted))
                for t in wanted:
                    assert each[t] == videos_with_tags(conn, tags=[t], limit=limit), (t, limit)
                # tags asked for "also" come only with a scan, and then right
                more = videos_with_each_tag(conn, tags=wanted[:1], limit=limit, also=many_tags)
                assert set(more) in ({wanted[0]}, set(many_tags))
                for t in more:
                    assert more[t] == videos_with_tags(conn, tags=[t], limit=limit), (t, limit)
        creators = ["c0", "c1", "c2", "C1", "nobody"]
        for limit in (1, 3, 20):
            by = videos_by_each_creator(conn, creator_ids=creators, limit=limit)
            assert by == {
                c: videos_by_creators(conn, creator_ids=[c], limit=limit) for c in creators
            }
        seeds = [f"v{i}" for i in range(21)] + ["gone"]
        for kinds, limit in ((["like", "view"], 50), (["like"], 2), (["view"], 1)):
            got = watched_next_many(conn, video_ids=seeds, action_types=kinds, limit=limit)
            for seed in seeds:
                one = watched_next(conn, video_id=seed, action_types=kinds, limit=limit)
                assert list(got[seed].items()) == list(one.items()), (seed, kinds)
        few = watched_next_many(conn, video_ids=seeds, action_types=["view"], viewers=1)
        assert few == {
            s: watched_next(conn, video_id=s, action_types=["view"], viewers=1) for s in seeds
        }
