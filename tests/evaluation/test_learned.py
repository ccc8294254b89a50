"""The learned ranker's rows: produced with intervals, over the hybrid's own candidates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recomind.evaluation import grids, learned, report, runner
from recomind.evaluation.datasets import Dataset
from recomind.evaluation.ranking import measure, rank
from recomind.evaluation.splits import split
from recomind.recommend.hybrid import HybridRecommender
from recomind.recommend.ltr_features import TIME_FEATURES

from .conftest import audience_interactions, toy_interactions

pytest.importorskip("lightgbm")

SMALL_HYBRID = {
    "components": ["popularity", "content", "itemknn"],
    "component_params": {"itemknn": {"k": 50}},
    "warm_weights": {"popularity": 0.05, "content": 0.5, "itemknn": 1.0},
    "warm_after": 2.0,
}


@pytest.fixture
def small_hybrid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(grids.RECOMIND_GRIDS["movielens-small"], "hybrid", [SMALL_HYBRID])


@pytest.fixture(scope="module")
def audience() -> Dataset:
    return Dataset("movielens-small", audience_interactions(), "synthetic audience")


@pytest.mark.usefixtures("small_hybrid")
def test_learned_rows_are_produced_with_intervals(audience: Dataset, tmp_path: Path) -> None:
    result = runner.run(audience, models=["learned", "learned+tod"], tune_users=None)
    labels = [m.label for m in result.models]
    # The hybrid is evaluated first: the learned rows re-rank its candidates.
    assert labels == [learned.HYBRID, learned.LEARNED, learned.LEARNED_TOD]
    by = {m.label: m for m in result.models}
    assert all(m.error is None for m in result.models), [m.error for m in result.models]
    for label in (learned.LEARNED, learned.LEARNED_TOD):
        row = by[label]
        assert set(row.metrics) == set(by[learned.HYBRID].metrics)
        low, high = row.intervals["NDCG@10"]
        assert low <= row.metrics["NDCG@10"] <= high and low < high
        assert row.per_user["NDCG@10"].size == result.n_test_users
        fitted = row.extra["ranker_fit"]
        assert "skipped" not in fitted and fitted["groups"] == audience.interactions.n_users
        assert fitted["label_counts"][0] == 10 * fitted["groups"]  # 10 negatives a group
        assert row.metrics["NDCG@10"] > 0.05  # it learnt something on the topics
    assert by[learned.LEARNED].params["time_of_day"] is False
    assert by[learned.LEARNED_TOD].params["time_of_day"] is True
    pairs = {(c["model"], c["baseline"]) for c in result.comparisons}
    assert set(learned.PAIRS) <= pairs
    md = report.markdown(result)
    assert "| recomind:learned | time_of_day=False" in md
    assert "recomind:learned+tod minus recomind:learned on NDCG@10" in md
    paths = report.write(result, tmp_path)
    assert '"ranker_fit"' in paths["json"].read_text()


def test_time_of_day_flag_changes_the_feature_set(audience: Dataset) -> None:
    data = split(audience.interactions, "temporal").train_val
    window = learned.time_split(data, "user", 0.2)
    hybrid = HybridRecommender(**SMALL_HYBRID).fit(window.past)
    fits = {
        tod: learned.fit_ranker(hybrid, window, data, time_of_day=tod, negatives=10)
        for tod in (False, True)
    }
    without, with_tod = (fits[tod].model for tod in (False, True))
    assert without is not None and with_tod is not None
    assert not without.time_of_day and with_tod.time_of_day
    added = set(with_tod.ranker.features) - set(without.ranker.features)
    assert added == set(TIME_FEATURES)
    assert set(without.ranker.features) <= set(with_tod.ranker.features)
    # The same groups, one feature column more or less.
    assert fits[False].figures == fits[True].figures


def test_the_blend_on_candidates_is_the_hybrid_row(audience: Dataset) -> None:
    """Without a ranker the learned row's path ranks exactly as the hybrid's row does, so
    the two rows differ only by the ranker."""
    s = split(audience.interactions, "temporal")
    assert s.test_start is not None and s.test_start.size == s.test.users.size
    hybrid = HybridRecommender(**SMALL_HYBRID).fit(s.train_val)
    dense = rank(hybrid, hybrid.history_matrix(s.train_val), s.test, exclude=s.train_val.matrix())
    ours = learned.rank_candidates(hybrid, None, s.train_val, s.test, s.test_start)
    n = s.train_val.n_items
    assert measure(ours, n, "temporal") == pytest.approx(measure(dense, n, "temporal"))


def test_user_window_is_each_users_last_fifth() -> None:
    data = toy_interactions()  # users with 4, 3, 4 and 2 events
    w = learned.user_window(data, 0.2)
    assert w.past.users.size + w.window.users.size == data.users.size
    assert sorted(w.window.users.tolist()) == [0, 1, 2]  # one each; user 3 has too few
    for u in range(data.n_users):
        past = w.past.timestamps[w.past.users == u]
        later = w.window.timestamps[w.window.users == u]
        assert later.size == 0 or past.max() < later.min()
    glob = learned.time_split(data, "global", 0.2)
    assert glob.past.timestamps.max() < glob.window.timestamps.min()


def test_proposed_window_items_are_a_subset(audience: Dataset) -> None:
    data = audience.interactions
    window = learned.time_split(data, "user", 0.2)
    hybrid = HybridRecommender(**SMALL_HYBRID).fit(window.past)
    kept = learned.candidates_only(hybrid, window, chunk=50)
    assert 0 < kept.window.users.size <= window.window.users.size
    pairs = set(zip(window.window.users.tolist(), window.window.items.tolist(), strict=True))
    assert set(zip(kept.window.users.tolist(), kept.window.items.tolist(), strict=True)) <= pairs


def test_a_learned_row_needs_the_hybrid() -> None:
    specs = runner.available_models("movielens-small")
    chosen = [s.label for s in runner.select_models(specs, ["ease", "recomind:learned"])]
    assert chosen == ["ease", learned.HYBRID, learned.LEARNED]
    s = split(toy_interactions(), "temporal")
    with pytest.raises(ValueError, match="needs a recomind:hybrid result"):
        learned.evaluate(specs[learned.LEARNED], s, [])


def test_too_few_groups_fall_back_to_the_hybrid_blend() -> None:
    data = audience_interactions(users=12, items=60, per_user=10)
    ds = Dataset("movielens-small", data, "tiny")
    result = runner.run(ds, models=["recomind:learned"], fast=True, tune_users=None)
    hybrid, row = result.models
    assert row.error is None and "skipped" in row.extra["ranker_fit"]
    assert row.metrics == pytest.approx(hybrid.metrics)
    assert np.array_equal(row.per_user["NDCG@10"], hybrid.per_user["NDCG@10"])
