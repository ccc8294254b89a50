"""Action weights: the one definition, its vectorised form and the settings that use it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from recomind import weights
from recomind.config import Settings

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
