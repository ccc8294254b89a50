"""``Interactions`` from the database match the stored rows, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine

from recomind.config import Settings
from recomind.schemas import ActionEvent, VideoCreate
from recomind.serving.training_data import load_dataset, load_interactions
from recomind.storage.actions import insert_actions
from recomind.storage.engine import write_tx
from recomind.storage.videos import create_videos
from recomind.weights import action_weights

T0 = datetime(2026, 3, 1, 12, 0, 0, 250000)


def _seed(engine: Engine) -> None:
    videos = [
        VideoCreate(
            video_id="v1",
            title="Dog fails",
            url="u",
            tags=["funny", "pets"],
            creator_id="c1",
            duration_s=20,
            created_at=T0 - timedelta(days=2),
        ),
        VideoCreate(
            video_id="v2",
            title="Dance",
            url="u",
            tags=["dance"],
            creator_id="c2",
            duration_s=None,
            created_at=T0 - timedelta(days=1),
        ),
        VideoCreate(video_id="v3", title="Never watched", url="u", tags=[], created_at=T0),
    ]
    events = [
        ActionEvent(event_id="e1", user_id="ub", video_id="v1", action_type="like", timestamp=T0),
        ActionEvent(
            event_id="e2",
            user_id="ua",
            video_id="v1",
            action_type="view",
            timestamp=T0 + timedelta(seconds=1),
            watch_time_ms=10_000,
        ),
        ActionEvent(
            event_id="e3",
            user_id="ua",
            video_id="v2",
            action_type="skip",
            timestamp=T0 + timedelta(seconds=2),
        ),
        ActionEvent(
            event_id="e4",
            user_id="ub",
            video_id="v2",
            action_type="view",
            timestamp=T0 + timedelta(days=30),
            watch_time_ms=5_000,
        ),
    ]
    with write_tx(engine) as conn:
        create_videos(conn, items=videos)
        insert_actions(conn, events=events)


def _unix(dt: datetime) -> float:
    return dt.replace(tzinfo=UTC).timestamp()


def test_dataset_matches_the_rows(engine: Engine) -> None:
    _seed(engine)
    settings = Settings()
    data, meta = load_dataset(engine, settings=settings)
    assert data.item_ids == ["v1", "v2", "v3"]
    assert data.user_ids == ["ua", "ub"]
    assert data.item_tags == [["funny", "pets"], ["dance"], []]
    assert data.item_titles == ["Dog fails", "Dance", "Never watched"]
    assert data.item_creators == ["c1", "c2", ""]
    assert data.item_created is not None
    np.testing.assert_allclose(
        data.item_created,
        [_unix(T0 - timedelta(days=2)), _unix(T0 - timedelta(days=1)), _unix(T0)],
        atol=1e-3,
    )
    assert meta.durations[0] == 20 and np.isnan(meta.durations[1])
    got = {
        (data.user_ids[u], data.item_ids[i]): (float(w), float(t))
        for u, i, w, t in zip(data.users, data.items, data.weights, data.timestamps, strict=True)
    }
    want = {
        ("ub", "v1"): (settings.action_weight("like"), _unix(T0)),
        ("ua", "v1"): (settings.action_weight("view", 10_000, 20), _unix(T0) + 1),
        ("ua", "v2"): (settings.action_weight("skip"), _unix(T0) + 2),
        ("ub", "v2"): (settings.action_weight("view", 5_000, None), _unix(T0) + 30 * 86400),
    }
    assert set(got) == set(want)
    for k, (w, t) in want.items():
        assert got[k][0] == pytest.approx(w)
        assert got[k][1] == pytest.approx(t, abs=1e-3)
    assert data.matrix().shape == (2, 3)


def test_window_and_cap(engine: Engine) -> None:
    _seed(engine)
    recent = load_interactions(engine, settings=Settings(), since=T0 + timedelta(days=1))
    assert recent.user_ids == ["ub"] and len(recent.users) == 1
    newest = load_interactions(engine, settings=Settings(), max_events=2)
    assert len(newest.users) == 2
    assert sorted(newest.timestamps.tolist())[-1] == pytest.approx(_unix(T0) + 30 * 86400)


def test_vectorised_weights_match_action_weight() -> None:
    s = Settings(weight_like=5.0)
    cases = [
        ("like", None, 10.0),
        ("view", 1000, 10.0),
        ("view", 50_000, 10.0),
        ("view", 1, 10.0),
        ("view", None, 10.0),
        ("view", 3000, None),
        ("skip", 0, 5.0),
    ]
    codes = np.asarray([{"view": 0, "like": 1, "skip": 2}[c[0]] for c in cases], dtype=np.int8)
    watch = np.asarray([np.nan if c[1] is None else c[1] for c in cases], dtype=np.float64)
    dur = np.asarray([np.nan if c[2] is None else c[2] for c in cases], dtype=np.float64)
    got = action_weights(codes, watch, dur, weights=s.action_weights)
    want = [s.action_weight(*c) for c in cases]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_each_pair_counts_by_the_state_rules(engine: Engine) -> None:
    """A like once (at the first), nothing once unliked, the k-th view 1/2**(k-1)."""
    _seed(engine)

    def ev(eid: str, user: str, video: str, kind: str, s: int) -> ActionEvent:
        return ActionEvent(
            event_id=eid,
            user_id=user,
            video_id=video,
            action_type=kind,  # type: ignore[arg-type]
            timestamp=T0 + timedelta(minutes=10, seconds=s),
            watch_time_ms=20_000 if kind == "view" else None,
        )

    more = [
        ev("r1", "ub", "v1", "like", 1),  # ub liked v1 at T0 already: repeats change nothing
        ev("r2", "ub", "v1", "like", 2),
        *[ev(f"w{k}", "uc", "v1", "view", k) for k in range(7)],  # 7 full views of v1
        ev("l1", "ud", "v2", "like", 0),  # liked, then unliked: ud has nothing left
        ev("l2", "ud", "v2", "unlike", 5),
        ev("n1", "ue", "v2", "unlike", 0),  # an unlike alone counts nothing
    ]
    with write_tx(engine) as conn:
        insert_actions(conn, events=more)
    settings = Settings()
    data = load_interactions(engine, settings=settings)
    assert data.user_ids == ["ua", "ub", "uc"]  # ud and ue have no counted action
    rows = sorted(
        (data.user_ids[u], data.item_ids[i], round(float(w), 6), float(t))
        for u, i, w, t in zip(data.users, data.items, data.weights, data.timestamps, strict=True)
    )
    ub_likes = [(w, t) for u, v, w, t in rows if u == "ub" and v == "v1"]
    assert ub_likes == [(settings.weight_like, pytest.approx(_unix(T0), abs=1e-3))]
    uc = [w for u, _, w, _ in rows if u == "uc"]
    assert uc == sorted(settings.weight_view * 0.5**k for k in range(5))
