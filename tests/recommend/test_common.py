"""The contract every strategy honours (parametrised over the registry)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy import sparse

from recomind.recommend.base import Interactions, Recommender, history_row
from recomind.recommend.registry import STRATEGIES, build
from recomind.weights import DEFAULT_ACTION_WEIGHTS as ACTION_WEIGHTS

#: Small, fast settings per strategy.
PARAMS: dict[str, dict[str, Any]] = {
    "popularity": {"half_life_hours": 48.0},
    "content": {},
    "itemknn": {"k": 20},
    "userknn": {"k": 10, "batch_rows": 64},
    "als": {"factors": 8, "iterations": 5, "random_state": 0, "num_threads": 1},
    "ease": {"lam": 50.0},
    "hybrid": {
        "component_params": {
            "als": {"factors": 8, "iterations": 5, "random_state": 0, "num_threads": 1},
            "itemknn": {"k": 20},
            "userknn": {"k": 10},
        }
    },
}

_CACHE: dict[str, Recommender] = {}


def test_registry_lists_every_strategy() -> None:
    assert set(STRATEGIES) == {
        "popularity",
        "content",
        "itemknn",
        "userknn",
        "als",
        "ease",
        "hybrid",
    }
    with pytest.raises(KeyError, match="unknown strategy"):
        build("nope")


@pytest.fixture(params=sorted(PARAMS))
def fitted(request: pytest.FixtureRequest, synthetic: Interactions) -> Recommender:
    name = request.param
    if name not in _CACHE:
        _CACHE[name] = build(name, **PARAMS[name]).fit(synthetic)
    return _CACHE[name]


def test_score_shape_dtype_finite(fitted: Recommender, synthetic: Interactions) -> None:
    hist = synthetic.matrix()[:40]
    scores = fitted.score(hist)
    assert scores.shape == (40, synthetic.n_items)
    assert scores.dtype == np.float32
    assert not np.isnan(scores).any()
    assert np.isfinite(scores).any(axis=1).all()


def test_score_rows_are_independent(fitted: Recommender, synthetic: Interactions) -> None:
    hist = synthetic.matrix()[:20]
    together = fitted.score(hist)
    alone = fitted.score(hist[7])
    np.testing.assert_allclose(together[7], alone[0], rtol=1e-4, atol=1e-5)


def test_recommend_excludes(fitted: Recommender, synthetic: Interactions) -> None:
    hist = synthetic.matrix()[3]
    top, _ = fitted.recommend(hist, 10)
    exclude = top[:5]
    again, scores = fitted.recommend(hist, 10, exclude=exclude)
    assert len(again) == 10
    assert not set(again.tolist()) & set(exclude.tolist())
    assert np.all(np.diff(scores) <= 0)


def test_save_load_round_trip(fitted: Recommender, synthetic: Interactions, tmp_path: Path) -> None:
    path = tmp_path / f"{fitted.name}.npz"
    fitted.save(path)
    loaded = type(fitted).load(path)
    assert loaded.get_params() == fitted.get_params()
    hist = synthetic.matrix()[:25]
    np.testing.assert_allclose(loaded.score(hist), fitted.score(hist), rtol=1e-5, atol=1e-6)


def test_load_rejects_other_strategy(fitted: Recommender, tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    fitted.save(path)
    other = next(c for n, c in STRATEGIES.items() if n != fitted.name)
    with pytest.raises(ValueError, match="holds a"):
        other.load(path)


def test_unseen_user_history(fitted: Recommender, synthetic: Interactions) -> None:
    items = [1, 5, 9, 14]
    hist = history_row(items, [ACTION_WEIGHTS["like"]] * 3 + [ACTION_WEIGHTS["skip"]], 250)
    scores = fitted.score(hist)
    assert scores.shape == (1, synthetic.n_items)
    assert not np.isnan(scores).any()
    top, _ = fitted.recommend(hist, 10, exclude=items)
    assert len(top) == 10
    assert not set(top.tolist()) & set(items)


def test_empty_history_rows(fitted: Recommender, synthetic: Interactions) -> None:
    empty = sparse.csr_matrix((3, synthetic.n_items), dtype=np.float32)
    scores = fitted.score(empty)
    assert scores.shape == (3, synthetic.n_items)
    assert not np.isnan(scores).any()


def test_wrong_width_is_rejected(fitted: Recommender) -> None:
    with pytest.raises(ValueError, match="columns"):
        fitted.score(sparse.csr_matrix((1, 3), dtype=np.float32))


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_params_are_the_constructor_arguments(name: str) -> None:
    cls = STRATEGIES[name]
    model = cls(**PARAMS.get(name, {}))
    params = model.get_params()
    assert list(params) == list(inspect.signature(cls.__init__).parameters)[1:]
    assert cls(**params).get_params() == params
    assert json.loads(json.dumps(params)) == params  # what save writes


def test_params_stored_under_another_name_are_refused() -> None:
    class Misnamed(Recommender):
        name = "misnamed"

        def __init__(self, k: int = 3) -> None:
            super().__init__()
            self.neighbours = k

        def fit(self, data: Interactions) -> Misnamed:
            return self

        def score(self, histories: sparse.csr_matrix) -> npt.NDArray[np.float32]:
            return np.zeros(histories.shape, dtype=np.float32)

    with pytest.raises(TypeError, match=r"\['k'\]"):
        Misnamed().get_params()


def test_optional_abilities_keep_their_one_meaning(
    fitted: Recommender, synthetic: Interactions
) -> None:
    hist = synthetic.matrix()[:6]
    scores = fitted.score(hist)
    np.testing.assert_allclose(fitted.score_rows(hist), scores, rtol=1e-5, atol=1e-6)
    as_sparse = fitted.score_sparse(hist)
    if as_sparse is not None:
        assert as_sparse.has_sorted_indices
        np.testing.assert_allclose(as_sparse.toarray(), scores, rtol=1e-5, atol=1e-6)
    ranking = fitted.ranking()
    if ranking is not None:
        values, order = ranking
        np.testing.assert_array_equal(scores, np.tile(values, (hist.shape[0], 1)))
        assert np.array_equal(order, np.argsort(-values, kind="stable"))
    items = [0, 3, 7]
    by_item = fitted.explain_items(hist[0], items)
    by_tag = fitted.explain_tags(hist[0], items)
    assert len(by_item) == len(by_tag) == len(items)
    assert all(i is None or i in set(hist[0].indices.tolist()) for i in by_item)
    assert all(
        t is None or t in synthetic.item_tags[item] for t, item in zip(by_tag, items, strict=True)
    )
    fitted.warm()
