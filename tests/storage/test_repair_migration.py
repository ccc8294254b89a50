"""Migration 0004 repairs what unchecked event times left behind, on every backend."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from recomind.schemas import utcnow
from recomind.storage import migrate
from recomind.storage.engine import make_engine
from recomind.storage.tables import user_profiles, video_actions, video_popularity, videos
from tests.conftest import DATABASES
from tests.utils.services import fresh_database

FUTURE = datetime(2099, 1, 1)
PAST = datetime(2026, 1, 1)


@pytest.fixture(params=DATABASES, ids=DATABASES)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'repair.db'}"
    else:
        with fresh_database(request.param) as url:
            yield url


def test_0004_clamps_future_times_and_zeroes_non_finite_scores(empty_url: str) -> None:
    migrate.upgrade(empty_url, "0002")
    engine = make_engine(empty_url)
    # MariaDB cannot store inf at all; PostgreSQL and SQLite can.
    bad_score = 1e308 if engine.dialect.name == "mysql" else math.inf
    with engine.begin() as conn:
        for vid, created in (("v1", FUTURE), ("v2", PAST)):
            conn.execute(
                insert(videos).values(
                    video_id=vid, title="t", url="u", tags=["x"], created_at=created
                )
            )
        conn.execute(
            insert(video_actions),
            [
                {"id": "e1", "user_id": "u1", "video_id": "v1", "action_type": "like",
                 "timestamp": FUTURE},
                {"id": "e2", "user_id": "u1", "video_id": "v2", "action_type": "view",
                 "timestamp": PAST},
            ],
        )  # fmt: skip
        conn.execute(
            insert(video_popularity),
            [
                {"video_id": "v1", "score": bad_score, "last_updated": FUTURE, "n_events": 1},
                {"video_id": "v2", "score": -bad_score, "last_updated": PAST, "n_events": 1},
                {"video_id": "v3", "score": 2.5, "last_updated": PAST, "n_events": 2},
            ],
        )
        conn.execute(
            insert(user_profiles).values(
                user_id="u1", top_tags=["x"], tag_weights={"x": 1.0}, updated_at=FUTURE
            )
        )
    before = utcnow()
    migrate.upgrade(empty_url)
    after = utcnow()
    with engine.connect() as conn:
        created = dict(conn.execute(select(videos.c.video_id, videos.c.created_at)).all())
        stamps = dict(conn.execute(select(video_actions.c.id, video_actions.c.timestamp)).all())
        pop = {r.video_id: r for r in conn.execute(select(video_popularity))}
        profile_at = conn.execute(select(user_profiles.c.updated_at)).scalar_one()
    engine.dispose()
    slack = timedelta(seconds=1)  # MariaDB/SQLite round-trip microseconds exactly; be lenient
    for clamped in (created["v1"], stamps["e1"], pop["v1"].last_updated, profile_at):
        assert before - slack <= clamped <= after + slack
    assert created["v2"] == PAST and stamps["e2"] == PAST and pop["v2"].last_updated == PAST
    if engine.dialect.name == "mysql":
        assert pop["v1"].score == 1e308  # finite: left alone (the readers cope with it)
    else:
        assert pop["v1"].score == 0.0 and pop["v2"].score == 0.0
    assert pop["v3"].score == 2.5 and pop["v3"].n_events == 2
    assert migrate.current(empty_url) == migrate.head()
