"""ModelRanker: fallback, live history rows, new uploads, exclusions and page caps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from recomind.config import Settings
from recomind.jobs import JobContext, run_jobs
from recomind.recommend.base import Interactions
from recomind.schemas import RecommendedVideo, VideoCreate, utcnow
from recomind.serving.model_ranker import ModelRanker, UserInput, cap_pages
from recomind.storage.actions import HistoryItem
from recomind.storage.engine import make_engine, read_tx, write_tx
from recomind.storage.profiles import ProfileRow
from recomind.storage.videos import create_videos
from tests.conftest import truncate
from tests.utils.catalogue import store_scene

TAGS = [["funny", "meme"], ["dance"], ["cooking"], ["travel"], ["pets"], ["gaming"]]


@pytest.fixture
def sqlite_engine(_migrated_urls: dict[str, str]) -> Iterator[Engine]:
    eng = make_engine(_migrated_urls["sqlite"])
    truncate(eng)
    yield eng
    eng.dispose()


def _seed(engine: Engine) -> None:
    now = utcnow()
    videos = [
        VideoCreate(
            video_id=f"v{i}",
            title=f"V{i}",
            url="u",
            tags=TAGS[i % 6],
            creator_id=f"c{i % 15}",
            duration_s=30,
            created_at=now - timedelta(days=3),
        )
        for i in range(90)
    ]
    events = []
    for u in range(10):
        for j in range(4):  # funny fans who also like dance
            events.append((f"o{u}", f"v{6 * j}", "like"))
            events.append((f"o{u}", f"v{6 * (j + u % 3) + 1}", "like"))
        events.append((f"k{u}", f"v{6 * (u % 5) + 2}", "like"))
    store_scene(engine, videos, events, at=lambda k: now - timedelta(minutes=k))


def _rank(
    ranker: ModelRanker,
    engine: Engine,
    *,
    history: list[HistoryItem],
    exclude: set[str],
    profile: ProfileRow | None = None,
) -> list[RecommendedVideo]:
    with read_tx(engine) as conn:
        return ranker.rank(
            conn, user_id="x", history=history, profile=profile, exclude=exclude, n=40
        )


@pytest.fixture
def trained(sqlite_engine: Engine, tmp_path: Path) -> Settings:
    _seed(sqlite_engine)
    settings = Settings(model_dir=str(tmp_path / "m"), model_poll_seconds=0)
    [r] = run_jobs(JobContext(settings, sqlite_engine), ["train"])
    assert r.ok, r.error
    return settings


def test_falls_back_without_a_model(sqlite_engine: Engine, tmp_path: Path) -> None:
    _seed(sqlite_engine)
    ranker = ModelRanker.from_settings(Settings(model_dir=str(tmp_path / "none")))
    assert ranker.model() is None
    profile = ProfileRow("x", ["dance"], {"dance": 1.0}, utcnow())
    got = _rank(ranker, sqlite_engine, history=[], exclude={"v1"}, profile=profile)
    with read_tx(sqlite_engine) as conn:
        want = ranker.fallback.rank(
            conn, user_id="x", history=[], profile=profile, exclude={"v1"}, n=40
        )
    assert [i.video_id for i in got] == [i.video_id for i in want]


def test_history_row_from_exclude_alone(sqlite_engine: Engine, trained: Settings) -> None:
    ranker = ModelRanker.from_settings(trained, background=False)
    assert ranker.model() is not None
    empty = _rank(ranker, sqlite_engine, history=[], exclude=set())
    # Just acted on v0 (funny): not stored yet, only in the cache's recently-seen set.
    fresh = _rank(ranker, sqlite_engine, history=[], exclude={"v0"})
    assert "v0" not in {i.video_id for i in fresh}
    assert [i.video_id for i in fresh] != [i.video_id for i in empty]
    assert all(i.reason for i in fresh)


def test_serving_rows_weigh_actions_as_the_evaluation_does(
    sqlite_engine: Engine, trained: Settings
) -> None:
    """The live row equals ``hybrid.history_matrix`` of the same actions as Interactions."""
    ranker = ModelRanker.from_settings(trained, background=False)
    model = ranker.model()
    assert model is not None and model.hybrid.recency_half_life > 0
    t = utcnow()
    history = [  # newest first, as storage returns it
        HistoryItem("v0", "like", t, None),
        HistoryItem("v13", "skip", t - timedelta(minutes=1), None),
        HistoryItem("v7", "view", t - timedelta(minutes=2), 6000),
        HistoryItem("v0", "view", t - timedelta(minutes=3), None),
        HistoryItem("v12", "like", t - timedelta(minutes=4), None),
    ]
    pending = "v30"  # acted on just now, not stored yet: newest of all, counts as a view
    row, _ = ranker.history_rows(
        model, [UserInput("x", history, None, {h.video_id for h in history} | {pending})]
    )
    events = [
        (pending, "view", None, 10.0),
        *[(h.video_id, h.action_type, h.watch_time_ms, -k) for k, h in enumerate(history)],
    ]
    data = Interactions(
        user_ids=["x"],
        item_ids=model.item_ids,
        users=np.zeros(len(events), dtype=np.int64),
        items=np.array([model.item_index[v] for v, *_ in events]),
        weights=np.array(
            [trained.action_weight(a, w, 30.0) for _, a, w, _ in events], dtype=np.float32
        ),
        timestamps=np.array([ts for *_, ts in events]),
    )
    want = model.hybrid.history_matrix(data)
    assert row.shape == want.shape and row.nnz == 5
    assert row.toarray() == pytest.approx(want.toarray())
    assert row[0, model.item_index["v30"]] == pytest.approx(trained.weight_view)  # newest
    assert 0 < row[0, model.item_index["v12"]] < trained.weight_like  # oldest like, decayed


def test_actions_on_unknown_videos_still_take_a_recency_position(
    sqlite_engine: Engine, trained: Settings
) -> None:
    """A new upload the model has never seen has no column, but older actions decay past it."""
    ranker = ModelRanker.from_settings(trained, background=False)
    model = ranker.model()
    assert model is not None and "upload-1" not in model.item_index
    t = utcnow()
    history = [
        HistoryItem("v7", "like", t, None),
        HistoryItem("upload-1", "like", t - timedelta(minutes=1), None),
        HistoryItem("v0", "like", t - timedelta(minutes=2), None),
    ]
    # Pending: one unknown and one known video, acted on after everything stored.
    exclude = {h.video_id for h in history} | {"upload-2", "v30"}
    row, _ = ranker.history_rows(model, [UserInput("x", history, None, exclude)])
    # Pending sort by id: upload-2 (position 0), v30 (1); stored: v7 (2), upload-1 (3), v0 (4).
    f = model.hybrid.recency_factors([1, 2, 4])
    assert row.nnz == 3
    assert row[0, model.item_index["v30"]] == pytest.approx(trained.weight_view * f[0])
    assert row[0, model.item_index["v7"]] == pytest.approx(trained.weight_like * f[1])
    assert row[0, model.item_index["v0"]] == pytest.approx(trained.weight_like * f[2])


def test_live_rows_count_each_pair_by_the_state_rules(
    sqlite_engine: Engine, trained: Settings
) -> None:
    """A like noted twice counts once, an unlike cancels its like, repeated views count
    less: the row equals ``history_matrix`` of only the counted actions, as the training
    data holds them."""
    ranker = ModelRanker.from_settings(trained, background=False)
    model = ranker.model()
    assert model is not None
    t = utcnow()
    history = [  # newest first
        HistoryItem("v0", "like", t, None),  # a repeat
        HistoryItem("v12", "unlike", t - timedelta(minutes=1), None),
        HistoryItem("v0", "like", t - timedelta(minutes=2), None),  # counts
        HistoryItem("v12", "like", t - timedelta(minutes=3), None),  # undone
        *[HistoryItem("v7", "view", t - timedelta(minutes=4 + k), 30_000) for k in range(3)],
    ]
    row, _ = ranker.history_rows(
        model, [UserInput("x", history, None, {h.video_id for h in history})]
    )
    counted = [("v0", trained.weight_like, 0.0)] + [
        ("v7", trained.weight_view * 0.5 ** (2 - k), -4.0 - k) for k in range(3)
    ]  # the oldest view is the first: it counts in full
    data = Interactions(
        user_ids=["x"],
        item_ids=model.item_ids,
        users=np.zeros(len(counted), dtype=np.int64),
        items=np.array([model.item_index[v] for v, _, _ in counted]),
        weights=np.array([w for _, w, _ in counted], dtype=np.float32),
        timestamps=np.array([ts for *_, ts in counted]),
    )
    want = model.hybrid.history_matrix(data)
    assert row.nnz == 2 and row[0, model.item_index["v12"]] == 0
    assert row.toarray() == pytest.approx(want.toarray())


def test_seen_and_skipped_are_never_returned(sqlite_engine: Engine, trained: Settings) -> None:
    ranker = ModelRanker.from_settings(trained, background=False)
    t = utcnow()
    history = [
        HistoryItem("v0", "like", t, None),
        HistoryItem("v1", "skip", t, None),
        HistoryItem("v7", "view", t, 3000),
    ]
    got = {
        i.video_id
        for i in _rank(ranker, sqlite_engine, history=history, exclude={"v0", "v1", "v7", "v12"})
    }
    assert not {"v0", "v1", "v7", "v12"} & got


def test_new_uploads_in_the_users_tags_are_blended_in(
    sqlite_engine: Engine, trained: Settings
) -> None:
    ranker = ModelRanker.from_settings(trained, background=False)
    with write_tx(sqlite_engine) as conn:  # uploaded after the fit: unknown to the model
        create_videos(
            conn,
            items=[
                VideoCreate(video_id="new-dance", title="New", url="u", tags=["dance"]),
                VideoCreate(video_id="new-cooking", title="New", url="u", tags=["cooking"]),
            ],
        )
    profile = ProfileRow("x", ["dance"], {"dance": 2.0, "pets": -1.0}, utcnow())
    t = utcnow()
    got = _rank(
        ranker,
        sqlite_engine,
        history=[HistoryItem("v1", "like", t, None)],
        exclude={"v1"},
        profile=profile,
    )
    by_id = {i.video_id: i for i in got}
    assert "new-dance" in by_id and "new-cooking" not in by_id
    assert by_id["new-dance"].reason == "new upload in #dance"
    assert [i.video_id for i in got].index("new-dance") < 5


def test_cap_pages_holds_caps_per_page() -> None:
    items = [
        RecommendedVideo(
            video_id=f"v{i}",
            title="t",
            url="u",
            tags=[["a"], ["b"]][i % 5 == 0],
            creator_id=f"c{i % 3}",
            score=1.0,
            reason="r",
        )
        for i in range(30)
    ]
    out = cap_pages(items, page=5, max_per_creator=2, max_per_tag=3)
    for p in range(0, len(out), 5):
        page = out[p : p + 5]
        assert max(sum(1 for i in page if i.creator_id == c) for c in ("c0", "c1", "c2")) <= 2
        assert sum(1 for i in page if i.tags == ["a"]) <= 3
    assert len({i.video_id for i in out}) == len(out)
