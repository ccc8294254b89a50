"""The folds and the decay math are total: no stored value makes them raise or go non-finite.

Property tests (hypothesis) over the decay factor, the popularity fold and its read, the
profile fold (through ``folds.profiles.apply`` on SQLite, with poisoned rows already stored)
and the recency factors; the folds stay order-independent on sane inputs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert

from recomind.config import Settings
from recomind.folds import profiles
from recomind.folds.popularity import fold, score_at
from recomind.folds.states import Term
from recomind.recommend import recency
from recomind.schemas import ActionEvent
from recomind.storage.engine import make_engine, read_tx, write_tx
from recomind.storage.popularity import PopularityRow
from recomind.storage.profiles import get_profile
from recomind.storage.tables import metadata, user_profiles, videos
from recomind.weights import DEFAULT_ACTION_WEIGHTS, action_weight, decay_factor

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
HALF_LIFE = st.floats(min_value=1e-3, max_value=1e9)
#: Every time a row can hold: years 1-9999 (a 2099 row is the issue's case).
ANY_TIME = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))
#: Times in the past: a stored time more than a day ahead of the clock reads as now.
SANE_TIME = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 6, 1))
SANE_WEIGHT = st.floats(min_value=-1e6, max_value=1e6)
SETTINGS = Settings(environment="test")

totality = settings(max_examples=300, deadline=None)


@totality
@given(elapsed=ANY_FLOAT, half_life=HALF_LIFE)
def test_decay_factor_is_finite_and_never_negative(elapsed: float, half_life: float) -> None:
    f = decay_factor(elapsed, half_life)
    assert math.isfinite(f) and f >= 0.0
    if elapsed >= 0:
        assert f <= 1.0


@totality
@given(
    score=ANY_FLOAT,
    last=ANY_TIME,
    at=ANY_TIME,
    weight=ANY_FLOAT,
    now=ANY_TIME,
    half_life=HALF_LIFE,
)
def test_popularity_fold_and_read_are_total(
    score: float, last: datetime, at: datetime, weight: float, now: datetime, half_life: float
) -> None:
    row = PopularityRow("v", score, last, 3)
    out = fold(row, terms=[Term("u", "v", weight, at)], latest=at, events=1, half_life_s=half_life)
    assert math.isfinite(out.score)
    assert out.last_updated == max(at, last) and out.n_events == 4
    for r in (row, out):
        got = score_at(r, now, half_life)
        assert math.isfinite(got)
        assert abs(got) <= abs(r.score) or not math.isfinite(r.score)  # decay never grows


EVENTS = st.lists(st.tuples(SANE_TIME, SANE_WEIGHT), min_size=1, max_size=30)


@totality
@given(events=EVENTS, order=st.randoms(use_true_random=False), half_life=HALF_LIFE)
def test_popularity_fold_is_order_independent_and_exact(
    events: list[tuple[datetime, float]], order: object, half_life: float
) -> None:
    start = PopularityRow("v", 0.0, datetime(1970, 1, 1), 0)
    shuffled = list(events)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    rows = []
    for seq in (events, shuffled):
        row = start
        for at, w in seq:
            row = fold(
                row, terms=[Term("u", "v", w, at)], latest=at, events=1, half_life_s=half_life
            )
        rows.append(row)
    now = max(at for at, _ in events) + timedelta(hours=1)
    scale = 1.0 + sum(abs(w) for _, w in events)
    want = math.fsum(w * 2 ** (-(now - at).total_seconds() / half_life) for at, w in events)
    a, b = (score_at(r, now, half_life) for r in rows)
    assert a == pytest.approx(b, rel=1e-9, abs=1e-12 * scale)
    assert a == pytest.approx(want, rel=1e-9, abs=1e-12 * scale)


@totality
@given(
    positions=st.lists(ANY_FLOAT, max_size=20),
    half_life=st.one_of(st.just(0.0), st.just(math.inf), HALF_LIFE),
    floor=st.floats(min_value=1e-6, max_value=1.0),
)
def test_recency_factors_are_finite_within_floor_and_one(
    positions: list[float], half_life: float, floor: float
) -> None:
    got = recency.factors(positions, half_life, floor)
    assert got.shape == (len(positions),)
    assert np.all(np.isfinite(got))
    assert np.all(got <= 1.0) and np.all(got >= np.float32(floor) * (1 - 1e-6))


@totality
@given(
    stamps=st.lists(st.tuples(st.integers(0, 3), ANY_FLOAT), max_size=25),
)
def test_recency_positions_count_newer_events_for_any_timestamps(
    stamps: list[tuple[int, float]],
) -> None:
    users = np.array([u for u, _ in stamps], dtype=np.int64)
    ts = np.array([t for _, t in stamps], dtype=np.float64)
    got = recency.positions_from_newest(users, ts)
    for u in set(users.tolist()):
        mine = np.sort(got[users == u])
        assert mine.tolist() == list(range(mine.size))  # a permutation of 0..k-1
    assert np.all(np.isfinite(recency.factors(got, 2.0, 0.1)))


@totality
@given(watch=st.one_of(st.none(), st.integers(0, 86_400_000)), duration=ANY_FLOAT)
def test_action_weight_is_finite_for_any_stored_duration(
    watch: int | None, duration: float
) -> None:
    for kind in ("view", "like", "skip"):
        assert math.isfinite(action_weight(kind, watch, duration, weights=DEFAULT_ACTION_WEIGHTS))


# -- profiles, through the fold itself on SQLite ------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("totality") / "t.db"
    engine = make_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


VIDEO_TAGS = [["a", "b"], ["b"], ["c"], []]
STORED_WEIGHT = st.one_of(
    ANY_FLOAT, st.integers(-(10**400), 10**400), st.text(max_size=3), st.none(), st.booleans()
)


def _reset(engine: Engine, durations: list[float]) -> None:
    with write_tx(engine) as conn:
        for table in (user_profiles, videos):
            conn.execute(delete(table))
        conn.execute(
            insert(videos),
            [
                {
                    "video_id": f"v{i}",
                    "title": "t",
                    "url": "u",
                    "tags": tags,
                    "created_at": datetime(2026, 1, 1),
                    "duration_s": durations[i],
                }
                for i, tags in enumerate(VIDEO_TAGS)
            ],
        )


def _events(spec: list[tuple[int, str, datetime, int | None]]) -> list[ActionEvent]:
    return [
        ActionEvent(
            event_id=f"e{i}",
            user_id="u",
            video_id=f"v{v}",
            action_type=kind,  # type: ignore[arg-type]
            timestamp=at,
            watch_time_ms=watch,
        )
        for i, (v, kind, at, watch) in enumerate(spec)
    ]


def event_specs(
    times: st.SearchStrategy[datetime], max_watch_ms: int
) -> st.SearchStrategy[list[tuple[int, str, datetime, int | None]]]:
    """Up to 12 ``(video index, action, time, watch time)`` of one user."""
    return st.lists(
        st.tuples(
            st.integers(0, len(VIDEO_TAGS) - 1),
            st.sampled_from(["view", "like", "skip"]),
            times,
            st.one_of(st.none(), st.integers(0, max_watch_ms)),
        ),
        min_size=1,
        max_size=12,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stored=st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), STORED_WEIGHT, max_size=4),
    updated_at=ANY_TIME,
    durations=st.lists(ANY_FLOAT, min_size=len(VIDEO_TAGS), max_size=len(VIDEO_TAGS)),
    spec=event_specs(ANY_TIME, 86_400_000),
)
def test_profile_fold_is_total_over_poisoned_rows(
    sqlite_engine: Engine,
    stored: dict[str, object],
    updated_at: datetime,
    durations: list[float],
    spec: list[tuple[int, str, datetime, int | None]],
) -> None:
    assume(all(not (isinstance(d, float) and math.isnan(d)) for d in durations))  # NOT NULL
    _reset(sqlite_engine, durations)
    with write_tx(sqlite_engine) as conn:
        conn.execute(
            insert(user_profiles).values(
                user_id="u", top_tags=["a", 7], tag_weights=stored, updated_at=updated_at
            )
        )
    with read_tx(sqlite_engine) as conn:
        before = get_profile(conn, user_id="u")
    assert before is not None and all(math.isfinite(w) for w in before.tag_weights.values())
    with write_tx(sqlite_engine) as conn:
        assert profiles.apply(conn, settings=SETTINGS, events=_events(spec)) == ["u"]
    with read_tx(sqlite_engine) as conn:
        after = get_profile(conn, user_id="u")
    assert after is not None
    assert all(math.isfinite(w) for w in after.tag_weights.values())
    assert all(after.tag_weights[t] > 0 for t in after.top_tags)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=event_specs(SANE_TIME, 120_000),
    order=st.randoms(use_true_random=False),
    cut=st.integers(0, 12),
)
def test_profile_fold_is_order_independent(
    sqlite_engine: Engine,
    spec: list[tuple[int, str, datetime, int | None]],
    order: object,
    cut: int,
) -> None:
    results = []
    events = _events(spec)
    shuffled = list(events)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    for batches in ([events], [shuffled[:cut], shuffled[cut:]]):
        _reset(sqlite_engine, [30.0] * len(VIDEO_TAGS))
        for batch in batches:
            with write_tx(sqlite_engine) as conn:
                profiles.apply(conn, settings=SETTINGS, events=batch)
        with read_tx(sqlite_engine) as conn:
            results.append(get_profile(conn, user_id="u"))
    a, b = results
    assert a is not None and b is not None and a.updated_at == b.updated_at
    for tag in set(a.tag_weights) | set(b.tag_weights):
        wa, wb = a.tag_weights.get(tag, 0.0), b.tag_weights.get(tag, 0.0)
        assert wa == pytest.approx(wb, rel=1e-6, abs=1e-8), tag
