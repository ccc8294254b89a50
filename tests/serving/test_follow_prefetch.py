"""Prefetched follow-up reads: the same follow-ups as reading key by key, and no read left."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, event

from recomind.config import Settings
from recomind.schemas import ActionEvent, Video, VideoCreate
from recomind.serving.follow import FollowUpReads, follow_up
from recomind.serving.follow_prefetch import prefetch
from recomind.serving.taste import recent_taste
from recomind.storage.actions import HistoryItem, insert_actions, user_actions
from recomind.storage.engine import read_tx, write_tx
from recomind.storage.inserts import new_id
from recomind.storage.videos import create_videos, get_videos

SETTINGS = Settings()
T0 = datetime(2026, 1, 1, 12)
TAGS = [f"t{i}" for i in range(20)]  # enough for SQLite's one-scan tag read
USERS = [f"u{i}" for i in range(6)]


def _seed(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_videos(
            conn,
            items=[
                VideoCreate(
                    video_id=f"v{i}",
                    title=f"Video {i}",
                    url="u",
                    tags=[TAGS[i % 20], TAGS[(i * 7) % 20]],
                    creator_id=f"c{i % 9}",
                    created_at=T0 - timedelta(hours=i),
                )
                for i in range(80)
            ],
        )
        insert_actions(
            conn,
            events=[
                ActionEvent(
                    event_id=new_id(),
                    user_id=u,
                    # each user walks v(k), v(k+1), ...: one's newest video is others' past
                    video_id=f"v{(k + j) % 24}",
                    action_type=("skip", "view", "view", "like")[j % 4],
                    timestamp=T0 + timedelta(minutes=10 * j + k),
                )
                for k, u in enumerate(USERS)
                for j in range(12)
            ],
        )


def _rows(conn: Connection, ids: set[str]) -> dict[str, Video]:
    return get_videos(conn, video_ids=sorted(ids))


def test_prefetched_reads_give_the_same_follow_ups_with_no_query_left(engine: Engine) -> None:
    _seed(engine)
    with read_tx(engine) as conn:
        histories: dict[str, list[HistoryItem]] = user_actions(conn, user_ids=USERS, limit=100)
        videos = get_videos(conn, video_ids=[h.video_id for hs in histories.values() for h in hs])
        tastes = [recent_taste(histories[u], videos, settings=SETTINGS) for u in USERS]
        one_by_one = FollowUpReads(SETTINGS)
        expected = [
            follow_up(conn, taste=t, settings=SETTINGS, exclude=set(), reads=one_by_one)
            for t in tastes
        ]
        assert any(f.watched_next for f in expected) and any(f.videos for f in expected)
        shared = FollowUpReads(SETTINGS)
        # a key the shared reads hold already is taken from them, not read again
        first = follow_up(conn, taste=tastes[0], settings=SETTINGS, exclude=set(), reads=shared)
        assert first == expected[0]
        batch = prefetch(conn, shared, tastes, settings=SETTINGS, rows=_rows, all_tags=TAGS)
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(conn, "before_cursor_execute", count)
        try:
            got = [
                follow_up(conn, taste=t, settings=SETTINGS, exclude=set(), reads=batch)
                for t in tastes
            ]
        finally:
            event.remove(conn, "before_cursor_execute", count)
        assert statements == []
        assert got == expected
        # the shared reads now hold every key, for the next pass or request
        again = [
            follow_up(conn, taste=t, settings=SETTINGS, exclude=set(), reads=shared) for t in tastes
        ]
        assert again == expected
