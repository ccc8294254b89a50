"""A quick run on 300 MovieLens users: reports are written and the peers rank sensibly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recomind.evaluation import grids, report
from recomind.evaluation.runner import run


@pytest.fixture
def tiny_grids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        grids.GRIDS,
        "movielens-small",
        {
            "most-popular": [{}],
            "itemknn-cosine": [{"k": 50, "shrink": 10.0}, {"k": 200, "shrink": 10.0}],
            "ease": [{"lam": 200.0}],
            "ials": [{"factors": 16, "iterations": 5}],
            "bpr": [{"factors": 16, "iterations": 20}],
        },
    )


@pytest.mark.usefixtures("tiny_grids")
def test_movielens_sample_end_to_end(movielens_dir: Path, tmp_path: Path) -> None:
    result = run(
        "movielens-small",
        data_dir=movielens_dir,
        models=["peers"],
        sample=300,
        tune_users=None,
        seed=0,
    )
    by = {m.label: m for m in result.models}
    assert set(by) == {"most-popular", "itemknn-cosine", "ease", "ials", "bpr"}
    assert all(m.error is None for m in result.models), [m.error for m in result.models]
    assert result.n_users == 300 and result.n_test_users == 300
    assert len(by["itemknn-cosine"].validation) == 2  # tuned on validation
    pop = by["most-popular"].metrics["NDCG@10"]
    assert by["ease"].metrics["NDCG@10"] > pop
    assert by["itemknn-cosine"].metrics["NDCG@10"] > pop
    for m in result.models:
        assert set(m.metrics) == {
            "Recall@10",
            "NDCG@10",
            "Recall@20",
            "NDCG@20",
            "Coverage@10",
            "Short@10",
        }
        assert 0.0 <= m.metrics["NDCG@10"] <= 1.0

    paths = report.write(result, tmp_path)
    md = paths["markdown"].read_text()
    assert "| ease | lam=200.0 |" in md and "NDCG@10" in md
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    loaded = json.loads(paths["json"].read_text())
    assert loaded["dataset"] == "movielens-small"
    assert loaded["models"][0]["metrics"]["NDCG@10"] == pytest.approx(pop)
    assert "per_user" not in loaded["models"][0]
    # Every model has a bootstrap interval around its test NDCG@10.
    for m in result.models:
        low, high = m.intervals["NDCG@10"]
        assert low <= m.metrics["NDCG@10"] <= high and low < high
    # Peers only: no RecoMind model to set against the best peer.
    assert result.comparisons == [] and "Paired over" not in md


def test_microlens_sample_hybrid_end_to_end(microlens_dir: Path) -> None:
    """1,000 MicroLens users, first grid points: RecoMind's EASE equals the peer, the
    hybrid (recency-weighted, EASE-led) beats popularity, and its reported fit time
    includes the EASE fit it reused from ``recomind:ease``."""
    models = ["most-popular", "ease", "recomind:ease", "recomind:hybrid"]
    result = run(
        "microlens-50k", data_dir=microlens_dir, models=models, sample=1000, fast=True, seed=0
    )
    by = {m.label: m for m in result.models}
    assert all(m.error is None for m in result.models), [m.error for m in result.models]
    assert result.protocol == "leave-last-out" and result.n_test_users == 1000
    assert by["recomind:ease"].metrics == pytest.approx(by["ease"].metrics)
    hybrid = by["recomind:hybrid"]
    assert hybrid.params["recency_half_life"] > 0 and "ease" in hybrid.params["components"]
    assert hybrid.metrics["NDCG@10"] > by["most-popular"].metrics["NDCG@10"]
    assert hybrid.fit_seconds >= by["recomind:ease"].fit_seconds
    assert set(hybrid.metrics) >= {"HR@10", "NDCG@10", "HR@20", "NDCG@20"}
    # The hybrid is set against the best peer, paired over the same 1,000 test users.
    [found] = result.comparisons
    best_peer = max(("most-popular", "ease"), key=lambda k: by[k].metrics["NDCG@10"])
    assert (found["model"], found["baseline"], found["users"]) == (
        "recomind:hybrid",
        best_peer,
        1000,
    )
    gap = hybrid.metrics["NDCG@10"] - by[best_peer].metrics["NDCG@10"]
    assert found["difference"] == pytest.approx(gap)
    assert found["low"] <= found["difference"] <= found["high"]
    assert "Paired over the same 1,000 test users" in report.markdown(result)


def test_movielens_sample_learned_rows(movielens_dir: Path) -> None:
    """200 MovieLens users, first grid points: both learned rows are fitted on every user's
    last fifth of the fitting data and get intervals and paired comparisons."""
    pytest.importorskip("lightgbm")
    models = ["recomind:learned", "recomind:learned+tod"]
    result = run(
        "movielens-small", data_dir=movielens_dir, models=models, sample=200, fast=True, seed=0
    )
    by = {m.label: m for m in result.models}
    assert list(by) == ["recomind:hybrid", *models]
    for label in models:
        row = by[label]
        assert row.error is None, row.error
        assert row.extra["ranker_fit"]["groups"] == 200
        low, high = row.intervals["NDCG@10"]
        assert low <= row.metrics["NDCG@10"] <= high
        assert row.metrics["NDCG@10"] > 0.5 * by["recomind:hybrid"].metrics["NDCG@10"]
    assert {(c["model"], c["baseline"]) for c in result.comparisons} >= {
        ("recomind:learned", "recomind:hybrid"),
        ("recomind:learned+tod", "recomind:learned"),
    }
