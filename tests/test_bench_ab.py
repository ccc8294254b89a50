"""``bench/bench_ab.py`` reduced: 3 A/A seeds and one trending-vs-personalized round on a
simulated audience, through the real app (the full run writes bench/results/ab.json)."""

from __future__ import annotations

from bench.bench_ab import run


def test_aa_finds_nothing_and_the_personalized_ranker_beats_trending() -> None:
    figures = run(seeds=3, users=120, page=5, horizon=50, history=20)
    aa = figures["aa"]
    assert aa["srm"] == 0
    assert aa["decided"] == 3  # every A/A round reached its horizon
    # At alpha 5 %, two or more false positives in three seeds happen 0.7 % of the time.
    assert aa["significant_like_rate"] <= 1, aa["rounds"]
    tvp = figures["trending_vs_personalized"]
    assert tvp["verdict"]["status"] == "decided"
    assert tvp["verdict"]["winner"] == "personalized"  # control, better than trending
    assert tvp["personalized_better"]
    diff = tvp["trending_minus_personalized"]
    assert diff["significant"] and diff["high"] < 0  # the interval excludes 0
    assert tvp["first_decided"] is not None
    assert tvp["first_decided"]["horizon_users"] <= 50
