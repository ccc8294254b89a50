"""Model discovery and selection: peers always, RecoMind strategies through the registry."""

from __future__ import annotations

import numpy as np
import pytest

from recomind.evaluation import runner
from recomind.evaluation.datasets import Dataset
from recomind.evaluation.peers import MostPopular
from recomind.recommend import registry
from recomind.recommend.base import Interactions
from recomind.recommend.hybrid import HybridRecommender

from .conftest import toy_interactions


class Broken(MostPopular):
    name = "broken"

    def fit(self, data: Interactions) -> Broken:
        raise RuntimeError("boom")


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.STRATEGIES, "fakepop", MostPopular)
    monkeypatch.setitem(registry.STRATEGIES, "broken", Broken)


def test_every_registered_strategy_is_evaluated_after_the_peers() -> None:
    specs = runner.available_models("movielens-small")
    labels = list(specs)
    assert labels[:5] == ["most-popular", "itemknn-cosine", "ease", "ials", "bpr"]
    n = len(registry.STRATEGIES)
    assert labels[5 : 5 + n] == [f"recomind:{name}" for name in registry.STRATEGIES]
    assert labels[5 + n :] == ["recomind:learned", "recomind:learned+tod"]
    assert {s.family for s in list(specs.values())[5:]} == {"recomind"}


def test_hybrid_grid_points_share_fitted_components() -> None:
    data = toy_interactions()
    cache = runner.FitCache()
    specs = runner.available_models("movielens-small")
    spec = specs["recomind:hybrid"]
    blend = {"components": ["popularity", "itemknn"], "component_params": {}}
    a = runner.fit(spec, {**blend, "warm_after": 2.0}, data, cache)
    assert cache.reused_seconds == 0.0
    b = runner.fit(spec, {**blend, "warm_after": 9.0, "recency_half_life": 0.0}, data, cache)
    assert isinstance(a, HybridRecommender) and isinstance(b, HybridRecommender)
    assert len(cache.fits) == 2 and cache.reused_seconds > 0
    assert a.models["itemknn"] is b.models["itemknn"]
    # recomind:itemknn with the same params on the same data is the hybrid's component ...
    assert runner.fit(specs["recomind:itemknn"], {}, data, cache) is a.models["itemknn"]
    # ... but other params, other data or a peer are fitted afresh.
    other = {**blend, "component_params": {"itemknn": {"k": 3}}}
    c = runner.fit(spec, other, data, cache)
    assert isinstance(c, HybridRecommender)
    assert c.models["itemknn"] is not a.models["itemknn"] and len(cache.fits) == 3
    d = runner.fit(spec, blend, toy_interactions(), cache)
    assert isinstance(d, HybridRecommender) and d.models["itemknn"] is not a.models["itemknn"]
    assert len(cache.fits) == 5
    runner.fit(specs["most-popular"], {}, data, cache)
    assert len(cache.fits) == 5
    # The same blend fitted without the cache scores the same.
    fresh = runner.fit(spec, {**blend, "warm_after": 2.0}, data)
    h = a.history_matrix(data)
    assert np.allclose(a.score(h), fresh.score(h))


@pytest.mark.usefixtures("fake_registry")
def test_registry_strategies_are_discovered_and_selectable() -> None:
    specs = runner.available_models("movielens-small")
    assert {"recomind:fakepop", "recomind:broken"} <= set(specs)
    chosen = runner.select_models(specs, ["recomind"])
    assert [s.label for s in chosen][-4:] == [
        "recomind:fakepop",
        "recomind:broken",
        "recomind:learned",
        "recomind:learned+tod",
    ]
    assert {s.family for s in chosen} == {"recomind"}
    assert [s.label for s in runner.select_models(specs, ["ease", "fakepop"])] == [
        "ease",
        "recomind:fakepop",
    ]
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        runner.select_models(specs, ["nope"])


@pytest.mark.usefixtures("fake_registry")
def test_a_failing_model_is_reported_not_fatal() -> None:
    ds = Dataset("movielens-small", toy_interactions(), "toy")
    models = ["most-popular", "recomind:fakepop", "recomind:broken"]
    result = runner.run(ds, models=models, tune_users=None)
    by = {m.label: m for m in result.models}
    assert by["recomind:broken"].error is not None and "boom" in by["recomind:broken"].error
    assert by["recomind:fakepop"].metrics == pytest.approx(by["most-popular"].metrics)
