"""Model discovery and selection: peers always, RecoMind strategies through the registry."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from recomind.evaluation import runner
from recomind.evaluation.datasets import Dataset
from recomind.evaluation.peers import MostPopular
from recomind.recommend.base import Interactions, Recommender

from .conftest import toy_interactions


class Broken(MostPopular):
    name = "broken"

    def fit(self, data: Interactions) -> Broken:
        raise RuntimeError("boom")


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("recomind.recommend.registry")
    strategies: dict[str, type[Recommender]] = {"fakepop": MostPopular, "broken": Broken}

    def build(name: str, **params: Any) -> Recommender:
        return strategies[name](**params)

    module.STRATEGIES = strategies  # type: ignore[attr-defined]
    module.build = build  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "recomind.recommend.registry", module)


def test_peers_only_without_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "recomind.recommend.registry", None)  # import fails
    specs = runner.available_models("movielens-small")
    assert list(specs) == ["most-popular", "itemknn-cosine", "ease", "ials", "bpr"]
    assert all(s.family == "peer" for s in specs.values())


@pytest.mark.usefixtures("fake_registry")
def test_registry_strategies_are_discovered_and_selectable() -> None:
    specs = runner.available_models("movielens-small")
    assert {"recomind:fakepop", "recomind:broken"} <= set(specs)
    chosen = runner.select_models(specs, ["recomind"])
    assert [s.label for s in chosen] == ["recomind:fakepop", "recomind:broken"]
    assert [s.label for s in runner.select_models(specs, ["ease", "fakepop"])] == [
        "ease",
        "recomind:fakepop",
    ]
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        runner.select_models(specs, ["nope"])


@pytest.mark.usefixtures("fake_registry")
def test_a_failing_model_is_reported_not_fatal() -> None:
    ds = Dataset("movielens-small", toy_interactions(), "toy")
    result = runner.run(ds, models=["most-popular", "recomind"], tune_users=None)
    by = {m.label: m for m in result.models}
    assert by["recomind:broken"].error is not None and "boom" in by["recomind:broken"].error
    assert by["recomind:fakepop"].metrics == pytest.approx(by["most-popular"].metrics)
