"""The experiment statistics: nominal false positives on A/A, real effects found, intervals that
cover the truth, SRM caught, and a fixed horizon that later users cannot move."""

from __future__ import annotations

import numpy as np
import pytest

from recomind.analytics.ab_stats import (
    UserTotals,
    figures,
    ratio_estimate,
    srm_p_value,
    verdict,
)


def _users(rng: np.random.Generator, n: int, like_p: float, skip_p: float = 0.3) -> UserTotals:
    """Users with their own taste (a Beta around ``like_p``) and 1-40 impressions each: the
    clustering that makes impression-level statistics lie."""
    shown = rng.integers(1, 40, size=n).astype(np.float64)
    taste = rng.beta(2.0, 2.0 * (1 - like_p) / like_p, size=n)
    likes = rng.binomial(shown.astype(np.int64), taste).astype(np.float64)
    skips = rng.binomial((shown - likes).astype(np.int64), skip_p).astype(np.float64)
    watch = shown * rng.uniform(0.2, 0.8, size=n)
    return UserTotals(shown, likes, skips, watch)


def test_a_a_false_positive_rate_is_near_nominal() -> None:
    positives, srm = 0, 0
    seeds = 400
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        v = {"control": _users(rng, 300, 0.2), "b": _users(rng, 300, 0.2)}
        out = verdict(v, {"control": 1, "b": 1}, control="control", horizon_users=300)
        assert out.status == "decided"
        positives += any(d.significant for d in out.differences if d.metric == "like_rate")
        srm += out.srm_p_value < 0.05
    rate = positives / seeds
    # 5 % nominal; 400 seeds put 3 sigma at about +-3.3 points.
    assert 0.017 <= rate <= 0.083, rate


def test_a_real_effect_is_found_and_its_interval_covers_the_truth() -> None:
    covered = 0
    for seed in range(50):
        rng = np.random.default_rng(1000 + seed)
        control, treated = _users(rng, 2000, 0.2), _users(rng, 2000, 0.3)
        out = verdict(
            {"control": control, "ranker": treated},
            {"control": 1, "ranker": 1},
            control="control",
            horizon_users=2000,
        )
        assert out.winner == "ranker"
        like = next(d for d in out.differences if d.metric == "like_rate")
        truth = (
            figures("t", treated).metrics["like_rate"].value
            - figures("c", control).metrics["like_rate"].value
        )
        assert like.low > 0 and like.p_value < 0.05
        covered += like.low <= 0.1 <= like.high
        assert like.low <= truth <= like.high
    assert covered >= 44  # a 95 % interval covers the true +0.1 in about 47 of 50


def test_lower_skip_rate_is_the_better_direction() -> None:
    rng = np.random.default_rng(7)
    v = {"control": _users(rng, 3000, 0.2, 0.4), "b": _users(rng, 3000, 0.2, 0.2)}
    out = verdict(
        v, {"control": 1, "b": 1}, control="control", horizon_users=3000, primary="skip_rate"
    )
    assert out.winner == "b"
    worse = verdict(
        {"control": v["b"], "b": v["control"]},
        {"control": 1, "b": 1},
        control="control",
        horizon_users=3000,
        primary="skip_rate",
    )
    assert worse.winner is None
    assert next(d for d in worse.differences if d.metric == "skip_rate").significant


def test_sample_ratio_mismatch_withholds_the_verdict() -> None:
    rng = np.random.default_rng(3)
    v = {"control": _users(rng, 1000, 0.2), "b": _users(rng, 1200, 0.3)}
    out = verdict(v, {"control": 1, "b": 1}, control="control", horizon_users=500)
    assert out.status == "srm" and out.winner is None
    assert "sample-ratio mismatch" in out.caveats[0]
    # The same counts under 45/55 weights are what was asked for.
    assert srm_p_value([1000, 1200], [45, 55]) > 0.05


def test_fixed_horizon_collects_then_later_users_cannot_move_the_verdict() -> None:
    rng = np.random.default_rng(11)
    control, treated = _users(rng, 800, 0.2), _users(rng, 800, 0.26)
    w = {"control": 1.0, "b": 1.0}
    early = verdict(
        {"control": control.first(400), "b": treated.first(399)},
        w,
        control="control",
        horizon_users=400,
    )
    assert early.status == "collecting" and early.differences == []
    at = verdict(
        {"control": control.first(400), "b": treated.first(400)},
        w,
        control="control",
        horizon_users=400,
    )
    # Later users who all hate the treatment: the verdict is the horizon's.
    bad = _users(rng, 400, 0.01)
    later = verdict(
        {
            "control": control,
            "b": UserTotals(
                *(
                    np.concatenate([a, b])
                    for a, b in zip(
                        (
                            treated.first(400).impressions,
                            treated.first(400).likes,
                            treated.first(400).skips,
                            treated.first(400).watch_fraction,
                        ),
                        (bad.impressions, bad.likes, bad.skips, bad.watch_fraction),
                        strict=True,
                    )
                )
            ),
        },
        w,
        control="control",
        horizon_users=400,
    )
    assert later.status == "decided" and later.differences == at.differences


def test_three_variants_are_corrected_and_degenerate_inputs_stay_finite() -> None:
    rng = np.random.default_rng(5)
    v = {n: _users(rng, 300, 0.2) for n in ("control", "b", "c")}
    out = verdict(v, dict.fromkeys(v, 1.0), control="control", horizon_users=300)
    assert any("alpha 0.025" in c for c in out.caveats)
    none = ratio_estimate(np.zeros(0), np.zeros(0))
    assert np.isnan(none.value)
    flat = ratio_estimate(np.ones(5), np.full(5, 2.0))
    assert flat.value == pytest.approx(0.5) and flat.variance == 0.0
