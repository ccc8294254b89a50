"""Bootstrap intervals and paired comparisons, checked against the normal approximation."""

from __future__ import annotations

import numpy as np
import pytest

from recomind.evaluation import significance


def test_interval_of_a_mean_matches_the_normal_approximation() -> None:
    rng = np.random.default_rng(1)
    values = (rng.random(20_000) < 0.1).astype(float)  # a hit rate of about 0.1
    low, high = significance.mean_interval(values, seed=0)
    mean, se = values.mean(), values.std(ddof=1) / np.sqrt(values.size)
    assert low < mean < high
    assert low == pytest.approx(mean - 1.96 * se, abs=0.2 * se)
    assert high == pytest.approx(mean + 1.96 * se, abs=0.2 * se)
    # Four times the users: about half as wide.
    wide = high - low
    low4, high4 = significance.mean_interval(np.tile(values, 4), seed=0)
    assert (high4 - low4) == pytest.approx(wide / 2, rel=0.15)


def test_constant_values_have_a_point_interval() -> None:
    assert significance.mean_interval([0.25, 0.25, 0.25]) == (0.25, 0.25)


def test_a_real_gain_is_found_and_noise_is_not() -> None:
    rng = np.random.default_rng(2)
    base = rng.random(5_000)
    better = base + 0.02 + rng.normal(0, 0.05, base.size)  # a small paired gain
    found = significance.compare("ours", better, "peer", base)
    assert found.difference == pytest.approx(np.mean(better - base))
    assert 0 < found.low < found.difference < found.high
    assert found.p_value < 1e-6 and found.users == 5_000

    same = base + rng.normal(0, 0.05, base.size)  # no gain, only noise
    null = significance.compare("ours", same, "peer", base)
    assert null.low < 0 < null.high
    assert null.p_value > 0.01


def test_paired_is_tighter_than_separate_intervals() -> None:
    rng = np.random.default_rng(3)
    base = rng.random(2_000)  # users differ a lot; the models differ a little
    ours = base + 0.01
    paired = significance.compare("ours", ours, "peer", base)
    separate = significance.mean_interval(ours)
    assert paired.low == pytest.approx(0.01) and paired.high == pytest.approx(0.01)
    assert paired.p_value == 0.0
    assert separate[1] - separate[0] > 0.02


def test_mismatched_or_too_few_users_are_refused() -> None:
    with pytest.raises(ValueError, match="same users"):
        significance.compare("a", [0.1, 0.2, 0.3], "b", [0.1, 0.2])
    with pytest.raises(ValueError, match="at least 2"):
        significance.mean_interval([0.5])
