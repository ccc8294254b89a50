"""Actions mean what users think, on SQLite, PostgreSQL and MariaDB: a like is a state per
(user, video), an unlike takes it back, repeated views count less, and popularity counts
distinct users per window. The folds keep per-pair states; in any order and batching they
equal a from-scratch rebuild and the documented rules (tests/utils/pair_reference.py)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from recomind.config import Settings
from recomind.folds.pipeline import apply_events
from recomind.folds.popularity import score_at
from recomind.folds.rebuild import rebuild, stored_events
from recomind.schemas import ActionEvent, VideoCreate
from recomind.serving.trending import compute_trending
from recomind.storage.action_states import clear_states, lock_states, save_states
from recomind.storage.engine import read_tx, write_tx
from recomind.storage.popularity import top_popularity
from recomind.storage.profiles import ProfileRow, get_profile, get_profiles
from recomind.storage.tables import action_states
from recomind.storage.videos import create_videos
from recomind.weights import MAX_REPEATS, REPEAT_RATIO
from tests.storage.helpers import apply_in_random_batches
from tests.storage.helpers import event as _event
from tests.utils.pair_reference import popularity_at, profiles_at

SETTINGS = Settings(database_url="sqlite:///unused.db")
HALF_LIFE = SETTINGS.popularity_half_life_hours * 3600
PROFILE_HALF_LIFE = SETTINGS.profile_half_life_hours * 3600
# A window boundary (6 h windows from the epoch), plus a minute.
T0 = datetime(2026, 1, 1, 12, 1, 0, 123456)
TAGS = [["funny", "pets"], ["dance"], ["cooking"], ["diy", "home"]]
LIKE = SETTINGS.action_weight("like")


def _videos(n: int) -> list[VideoCreate]:
    return [
        VideoCreate(
            video_id=f"v{i}",
            title=f"Video {i}",
            url=f"https://cdn.example/v{i}.mp4",
            tags=TAGS[i % len(TAGS)],
            creator_id=f"c{i}",
            duration_s=20.0,
            created_at=T0 - timedelta(days=1),
        )
        for i in range(n)
    ]


def _seed(engine: Engine, n: int = 4) -> None:
    with write_tx(engine) as conn:
        create_videos(conn, items=_videos(n))


def _popularity(engine: Engine, now: datetime) -> dict[str, float]:
    with read_tx(engine) as conn:
        rows = top_popularity(conn, limit=100)
    return {r.video_id: score_at(r, now, HALF_LIFE) for r in rows}


def _profile(engine: Engine, user: str, now: datetime) -> dict[str, float]:
    """The user's tag weights decayed to ``now`` (empty without a profile)."""
    with read_tx(engine) as conn:
        row = get_profile(conn, user_id=user)
    return _decayed(row, now) if row else {}


def _decayed(row: ProfileRow, now: datetime) -> dict[str, float]:
    f = 2 ** (-(now - row.updated_at).total_seconds() / PROFILE_HALF_LIFE)
    return {t: w * f for t, w in row.tag_weights.items()}


def _weigh(e: ActionEvent) -> float:
    return SETTINGS.action_weight(e.action_type, e.watch_time_ms, 20.0)


def test_states_round_trip_and_clear(engine: Engine) -> None:
    acts = [("like", 1_767_268_800_123_456, 4.0), ("view", 1_767_268_801_000_000, 0.5)]
    with write_tx(engine) as conn:
        got = lock_states(conn, fold="popularity", pairs=[("u1", "v1"), ("u2", "v1")])
        assert got == {("u1", "v1"): [], ("u2", "v1"): []}
        save_states(conn, fold="popularity", states={("u1", "v1"): acts})
    with write_tx(engine) as conn:
        got = lock_states(conn, fold="popularity", pairs=[("u1", "v1")])
        other = lock_states(conn, fold="profiles", pairs=[("u1", "v1")])
    assert got == {("u1", "v1"): acts}  # microseconds and weights exact
    assert other == {("u1", "v1"): []}  # each fold has its own states
    with write_tx(engine) as conn:
        save_states(conn, fold="profiles", states={("u1", "v1"): acts[:1]})
    with write_tx(engine) as conn:
        assert lock_states(conn, fold="profiles", pairs=[("u1", "v1")]) == {("u1", "v1"): acts[:1]}
        clear_states(conn, fold="popularity")
    with read_tx(engine) as conn:
        left = conn.execute(select(action_states.c.fold)).scalars().all()
    assert left == ["profiles"]


def test_a_repeated_like_changes_nothing_and_an_unlike_takes_it_back(engine: Engine) -> None:
    _seed(engine)
    apply_events(engine, settings=SETTINGS, events=[_event("u1", "v0", "like", T0)])
    now = T0 + timedelta(minutes=10)
    once = (_popularity(engine, now), _profile(engine, "u1", now))
    assert once[0]["v0"] == pytest.approx(LIKE * 2 ** (-600 / HALF_LIFE))
    assert set(once[1]) == {"funny", "pets"}
    # Liked again, three times, in one batch and alone: nothing changes.
    again = [_event("u1", "v0", "like", T0 + timedelta(minutes=m)) for m in (1, 2, 3)]
    apply_events(engine, settings=SETTINGS, events=again[:2])
    apply_events(engine, settings=SETTINGS, events=again[2:])
    assert _popularity(engine, now) == pytest.approx(once[0], rel=1e-9)
    assert _profile(engine, "u1", now) == pytest.approx(once[1], rel=1e-9)
    # An unlike: the like's weight is gone everywhere.
    apply_events(
        engine, settings=SETTINGS, events=[_event("u1", "v0", "unlike", T0 + timedelta(minutes=4))]
    )
    assert _popularity(engine, now)["v0"] == pytest.approx(0.0, abs=1e-9)
    assert _profile(engine, "u1", now) == {}
    with read_tx(engine) as conn:
        assert get_profiles(conn, user_ids=["u1"])["u1"].top_tags == []
    # Liked again: the first like counts again (restored, not renewed).
    apply_events(
        engine, settings=SETTINGS, events=[_event("u1", "v0", "like", T0 + timedelta(minutes=5))]
    )
    assert _popularity(engine, now) == pytest.approx(once[0], rel=1e-9)
    assert _profile(engine, "u1", now) == pytest.approx(once[1], rel=1e-9)


def test_an_unlike_without_a_like_changes_nothing(engine: Engine) -> None:
    _seed(engine)
    apply_events(engine, settings=SETTINGS, events=[_event("u1", "v1", "view", T0, 20_000)])
    now = T0 + timedelta(minutes=1)
    before = (_popularity(engine, now), _profile(engine, "u1", now))
    apply_events(engine, settings=SETTINGS, events=[_event("u1", "v1", "unlike", T0)])
    apply_events(engine, settings=SETTINGS, events=[_event("u2", "v1", "unlike", T0)])
    assert _popularity(engine, now) == pytest.approx(before[0], rel=1e-9)
    assert _profile(engine, "u1", now) == pytest.approx(before[1], rel=1e-9)
    assert _profile(engine, "u2", now) == {}
    # A like older than the unlike stays undone, whatever order they arrive in.
    apply_events(
        engine, settings=SETTINGS, events=[_event("u2", "v1", "like", T0 - timedelta(seconds=1))]
    )
    assert _profile(engine, "u2", now) == {}


def test_repeated_views_count_less_and_less(engine: Engine) -> None:
    _seed(engine)
    # Seven full views of v1 (#dance), an hour apart: profiles count 1, 1/2, ... 1/16.
    views = [_event("u1", "v1", "view", T0 + timedelta(hours=h), 20_000) for h in range(7)]
    random.Random(1).shuffle(views)
    for e in views:
        apply_events(engine, settings=SETTINGS, events=[e])
    now = T0 + timedelta(hours=6)
    want = sum(
        REPEAT_RATIO**k * 2 ** (-(6 - k) * 3600 / PROFILE_HALF_LIFE) for k in range(MAX_REPEATS)
    )
    assert _profile(engine, "u1", now)["dance"] == pytest.approx(want, rel=1e-6)
    assert want < 2.0  # the documented bound: less than two full views


def test_one_account_moves_a_video_no_more_than_one_honest_viewer(engine: Engine) -> None:
    _seed(engine)
    bot = [_event("bot", "v0", "like", T0 + timedelta(seconds=s)) for s in range(15)]
    bot += [_event("bot", "v0", "view", T0 + timedelta(seconds=s), 20_000) for s in range(15)]
    bot += [_event("bot", "v0", "view", T0 + timedelta(minutes=m), 20_000) for m in range(30)]
    honest = [_event("fan", "v1", "like", T0), _event("fan", "v1", "view", T0, 20_000)]
    crowd = [_event(f"u{i}", "v2", "like", T0 + timedelta(seconds=i)) for i in range(15)]
    rng = random.Random(7)
    everything = bot + honest + crowd
    rng.shuffle(everything)
    for i in range(0, len(everything), 9):
        apply_events(engine, settings=SETTINGS, events=everything[i : i + 9])
    now = T0 + timedelta(hours=1)
    scores = _popularity(engine, now)
    one_viewer = scores["v1"]
    view = SETTINGS.action_weight("view", 20_000, 20.0)
    assert one_viewer == pytest.approx((LIKE + view) * 2 ** (-3600 / HALF_LIFE))
    assert scores["v0"] <= one_viewer * (1 + 1e-9)
    assert scores["v2"] > 10 * scores["v0"]
    with read_tx(engine) as conn:
        trending = [t.video_id for t in compute_trending(conn, settings=SETTINGS, limit=3, now=now)]
    assert trending[0] == "v2"
    # In the next window (from 18:00) the same account counts as a returning viewer: its
    # second counted view, at half weight; its likes still count once.
    later = T0 + timedelta(hours=6)
    apply_events(engine, settings=SETTINGS, events=[_event("bot", "v0", "view", later, 20_000)])
    want = (LIKE + view) * 2 ** (-6 * 3600 / HALF_LIFE) + REPEAT_RATIO * view
    assert _popularity(engine, later)["v0"] == pytest.approx(want)


@pytest.mark.parametrize("seed", [1, 2])
def test_states_in_any_order_and_batching_equal_the_rules_and_a_rebuild(
    engine: Engine, seed: int
) -> None:
    _seed(engine, 4)
    rng = random.Random(seed)
    kinds = ["view", "view", "like", "like", "unlike", "skip"]
    events = [
        _event(
            f"u{rng.randrange(4)}",
            f"v{rng.randrange(4)}",
            rng.choice(kinds),
            T0 + timedelta(minutes=rng.choice([0, 1, 5, 30, 200, 400, 401, 900])),
            rng.choice([None, 2_000, 20_000, 40_000]),
        )
        for _ in range(160)
    ]  # few pairs, equal times on purpose: every rule and tie gets exercised
    rng.shuffle(events)
    apply_in_random_batches(engine, SETTINGS, events, rng, largest=25)
    now = T0 + timedelta(hours=16)
    tags = {f"v{i}": TAGS[i % len(TAGS)] for i in range(4)}
    want_pop = popularity_at(events, _weigh, now=now, half_life_s=HALF_LIFE)
    want_profiles = profiles_at(events, _weigh, tags, now=now, half_life_s=PROFILE_HALF_LIFE)
    streamed = (_popularity(engine, now), _all_profiles(engine, now))
    rebuild(engine, settings=SETTINGS, events=stored_events(engine))
    rebuilt = (_popularity(engine, now), _all_profiles(engine, now))
    for pop, profiles in (streamed, rebuilt):
        assert set(pop) == set(want_pop)
        for vid, w in want_pop.items():
            assert pop[vid] == pytest.approx(w, rel=1e-6, abs=1e-9), vid
        for user in {e.user_id for e in events}:
            got = {t: w for t, w in profiles.get(user, {}).items() if abs(w) > 1e-6}
            want = {t: w for t, w in want_profiles.get(user, {}).items() if abs(w) > 1e-6}
            assert got == pytest.approx(want, rel=1e-6, abs=1e-9), user
    # Applying everything again (a redelivery past the offsets) changes nothing.
    apply_events(engine, settings=SETTINGS, events=events)
    assert _popularity(engine, now) == pytest.approx(rebuilt[0], rel=1e-12, abs=1e-12)


def _all_profiles(engine: Engine, now: datetime) -> dict[str, dict[str, float]]:
    with read_tx(engine) as conn:
        rows = get_profiles(conn, user_ids=[f"u{i}" for i in range(10)])
    return {u: _decayed(r, now) for u, r in rows.items()}


def test_pairs_match_as_the_database_compares_ids(engine: Engine, db_kind: str) -> None:
    acts = [("like", 1_767_268_800_000_000, 4.0)]
    with write_tx(engine) as conn:
        lock_states(conn, fold="profiles", pairs=[("U1", "V1")])
        save_states(conn, fold="profiles", states={("U1", "V1"): acts})
    with write_tx(engine) as conn:
        got = lock_states(conn, fold="profiles", pairs=[("u1", "v1")])
    # MariaDB's collation is case-insensitive: the same user and video there, others apart.
    assert got == {("u1", "v1"): acts if db_kind == "mysql" else []}
