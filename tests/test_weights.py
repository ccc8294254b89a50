"""Action weights: the one definition, its vectorised form and the settings that use it."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recomind import weights
from recomind.config import Settings
from recomind.schemas import ACTION_TYPES

W = weights.DEFAULT_ACTION_WEIGHTS


def test_weights_by_hand() -> None:
    assert weights.action_weight("like", weights=W) == 4.0
    assert weights.action_weight("skip", 3000, 30.0, weights=W) == -1.0  # only views scale
    assert weights.action_weight("view", weights=W) == 1.0  # unknown watch: a full view
    assert weights.action_weight("view", 15_000, 30.0, weights=W) == 0.5
    assert weights.action_weight("view", 0, 30.0, weights=W) == weights.MIN_VIEW_FRACTION
    assert weights.action_weight("view", 600_000, 30.0, weights=W) == weights.MAX_VIEW_FRACTION
    assert weights.action_weight("view", 15_000, 0.0, weights=W) == 1.0  # unknown duration
    with pytest.raises(KeyError):
        weights.action_weight("share", weights=W)


def test_defaults_cannot_be_changed_in_place() -> None:
    with pytest.raises(TypeError):
        W["like"] = 1.0  # type: ignore[index]


def test_vectorised_equals_one_at_a_time() -> None:
    custom = {"like": 3.5, "view": 0.7, "skip": -2.25}
    watch = [None, 0, 1, 999, 15_000, 123_456]
    durations = [None, 0.0, 0.5, 20.0, 33.3]
    cases = list(itertools.product(weights.ACTION_TYPES, watch, durations))
    codes = np.asarray([weights.ACTION_TYPES.index(a) for a, _, _ in cases], dtype=np.int8)
    watch_ms = np.asarray([np.nan if w is None else w for _, w, _ in cases], dtype=np.float64)
    dur = np.asarray([np.nan if d is None else d for _, _, d in cases], dtype=np.float64)
    for table in (W, custom):
        got = weights.action_weights(codes, watch_ms, dur, weights=table)
        want = np.asarray([weights.action_weight(*c, weights=table) for c in cases])
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want.astype(np.float32))


def test_settings_take_defaults_and_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert s.action_weights == dict(W)
    assert s.action_weight("view", 15_000, 30.0) == weights.action_weight(
        "view", 15_000, 30.0, weights=W
    )
    monkeypatch.setenv("RECOMIND_WEIGHT_LIKE", "2.5")
    monkeypatch.setenv("RECOMIND_WEIGHT_SKIP", "-3")
    s = Settings()
    assert s.action_weight("like") == 2.5
    assert s.action_weight("skip") == -3.0
    assert s.action_weight("view") == W["view"]


def test_decay_factor() -> None:
    assert weights.decay_factor(3600.0, 3600.0) == 0.5
    assert weights.decay_factor(-3600.0, 3600.0) == 2.0
    assert weights.decay_factor(0.0, 1.0) == 1.0


# -- one user's actions on one video --------------------------------------------------------

KINDS = weights.ACTION_TYPES


def _acts(*spec: tuple[str, int, float]) -> list[weights.Act]:
    return list(spec)


def test_a_like_is_a_state() -> None:
    like = ("like", 10, 4.0)
    assert weights.counted([like]) == [4.0]
    # Repeated: only the first counts.
    assert weights.counted([("like", 12, 4.0), like, ("like", 11, 4.0)]) == [0.0, 4.0, 0.0]
    # Undone by a later unlike; an unlike without a like counts nothing.
    assert weights.counted([like, ("unlike", 11, 0.0)]) == [0.0, 0.0]
    assert weights.counted([("unlike", 11, 0.0)]) == [0.0]
    # An unlike wins a tie; a like before an unlike stays undone in any arrival order.
    assert weights.counted([("unlike", 10, 0.0), like]) == [0.0, 0.0]
    # Liked again: the first like counts again (restored, not renewed).
    again = [like, ("unlike", 11, 0.0), ("like", 12, 4.0)]
    assert weights.counted(again) == [4.0, 0.0, 0.0]
    assert weights.is_liked(again) and not weights.is_liked(again[:2])
    assert weights.action_weight("unlike", weights=W) == 0.0


def test_repeated_views_count_less_and_less() -> None:
    views = [("view", t, 1.0) for t in (5, 1, 4, 2, 3, 6, 7)]
    assert weights.counted(views) == [1 / 16, 1.0, 1 / 8, 1 / 2, 1 / 4, 0.0, 0.0]
    assert [weights.repeat_factor(k) for k in range(0, 8)] == [0, 1, 0.5, 0.25, 0.125, 0.0625, 0, 0]
    # Skips alike, counted apart from views.
    mixed = [("skip", 1, -1.0), ("view", 2, 1.0), ("skip", 3, -1.0)]
    assert weights.counted(mixed) == [-1.0, 1.0, -0.5]


def test_distinct_users_per_window() -> None:
    # Window of 100: one view per window, the largest weight (the earliest of equals).
    views = [("view", 0, 0.5), ("view", 50, 2.0), ("view", 60, 2.0), ("view", 150, 1.0)]
    assert weights.counted(views, window_us=100) == [0.0, 2.0, 0.0, 0.5]
    likes = [("like", t, 4.0) for t in range(0, 1000, 10)]
    assert sum(weights.counted(likes, window_us=100)) == 4.0


# In the whole suite the session's servers keep running in background threads, which may
# draw from the global ``random`` (a retry's backoff, ids) while a strategy runs; Hypothesis
# then sees the global state move and warns, though these strategies never use it (the
# module alone runs without the warning).
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")

act = st.tuples(
    st.sampled_from(KINDS),
    st.integers(min_value=0, max_value=40),  # few distinct times: ties get exercised
    st.sampled_from([0.1, 0.5, 1.0, 2.0]),
).map(lambda a: (a[0], a[1], weights.action_weight(a[0], weights=W) * a[2]))
acts = st.lists(act, max_size=30)
windows = st.sampled_from([0, 7, 25])


@settings(max_examples=300, deadline=None)
@given(acts, acts, windows, st.randoms())
def test_state_keeps_what_can_still_count(
    a: list[weights.Act], b: list[weights.Act], window: int, rnd: random.Random
) -> None:
    everything = a + b
    want = weights.pair_terms(everything, window_us=window)
    for one in everything:
        assert weights.counted_alone(one) == weights.counted([one], window_us=window)[0]
    # Any arrival order gives the same terms ...
    shuffled = list(everything)
    rnd.shuffle(shuffled)
    assert weights.pair_terms(shuffled, window_us=window) == want
    # ... and so does the compact state of the first part plus the rest.
    state = weights.pair_state(a, window_us=window)
    assert len(state) <= 2 + 2 * weights.MAX_REPEATS
    assert weights.pair_terms(state + b, window_us=window) == want
    assert weights.pair_state(state + b, window_us=window) == weights.pair_state(
        everything, window_us=window
    )


real_act = st.tuples(
    st.sampled_from(KINDS),
    st.integers(min_value=0, max_value=40),
    st.one_of(st.none(), st.integers(min_value=0, max_value=200_000)),
).map(lambda a: (a[0], a[1], weights.action_weight(a[0], a[2], 20.0, weights=W)))


@settings(max_examples=200, deadline=None)
@given(st.lists(real_act, max_size=40))
def test_one_users_total_on_one_video_is_bounded(a: list[weights.Act]) -> None:
    total = sum(weights.counted(a))
    top = W["like"] + (2 - 2 ** (1 - weights.MAX_REPEATS)) * weights.MAX_VIEW_FRACTION * W["view"]
    assert top == 7.875  # what README says
    assert total <= top
    assert total >= (2 - 2 ** (1 - weights.MAX_REPEATS)) * W["skip"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), act), max_size=60))
def test_vectorised_counting_equals_one_pair_at_a_time(
    events: list[tuple[int, weights.Act]],
) -> None:
    pairs = np.asarray([p for p, _ in events], dtype=np.int64)
    codes = np.asarray([KINDS.index(a[0]) for _, a in events], dtype=np.int8)
    stamps = np.asarray([a[1] for _, a in events], dtype=np.float64)
    w = np.asarray([a[2] for _, a in events], dtype=np.float32)
    got = weights.counted_weights(pairs, codes, stamps, w)
    want = np.zeros(len(events), dtype=np.float64)
    for p in set(pairs.tolist()):
        idx = [i for i, (q, _) in enumerate(events) if q == p]
        acts_p = [(events[i][1][0], events[i][1][1], float(w[i])) for i in idx]
        want[idx] = weights.counted(acts_p)
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=1e-6)
    assert got.dtype == np.float32


def test_schema_and_weights_list_the_same_action_types() -> None:
    assert weights.ACTION_TYPES == ACTION_TYPES
