"""EASE: known answers against a float64 reference, the item cap, and its use in the hybrid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from recomind.recommend.base import Interactions, history_row
from recomind.recommend.ease import EASERecommender
from recomind.recommend.hybrid import HybridRecommender
from recomind.recommend.registry import build


def _interactions(
    rows: list[list[int]], n_items: int, weights: list[list[float]] | None = None
) -> Interactions:
    users = np.asarray([u for u, r in enumerate(rows) for _ in r], dtype=np.int64)
    items = np.asarray([i for r in rows for i in r], dtype=np.int64)
    w = (
        np.ones(items.size, dtype=np.float32)
        if weights is None
        else np.asarray([x for r in weights for x in r], dtype=np.float32)
    )
    return Interactions(
        user_ids=[f"u{u}" for u in range(len(rows))],
        item_ids=[f"i{i}" for i in range(n_items)],
        users=users,
        items=items,
        weights=w,
        timestamps=np.arange(items.size, dtype=np.float64),
    )


ROWS = [[0, 1, 2], [0, 1], [1, 2, 3], [2, 3], [0, 3], [0, 1, 3]]


def _reference(x: np.ndarray, lam: float) -> np.ndarray:
    """Steck's closed form in float64 with numpy's general inverse."""
    g = x.T @ x + lam * np.eye(x.shape[1])
    p = np.linalg.inv(g)
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    return b


def test_known_answer_matches_float64_reference() -> None:
    data = _interactions(ROWS, 4)
    model = EASERecommender(lam=2.0).fit(data)
    x = data.matrix().toarray().astype(np.float64)
    b = _reference(x, 2.0)
    np.testing.assert_allclose(model.weights, b, rtol=1e-4, atol=1e-6)
    assert np.all(np.diag(model.weights) == 0)
    # scores are x B, and the history's own items keep their (finite) scores
    np.testing.assert_allclose(model.score(data.matrix()), x @ b, rtol=1e-4, atol=1e-6)


def test_hand_computed_two_items() -> None:
    # Two items always seen together by 3 users: G = [[3, 3], [3, 3]], lambda = 1.
    # P = (G + I)^-1 = [[4, -3], [-3, 4]] / 7, so B[0, 1] = -P01 / P11 = 3 / 4.
    data = _interactions([[0, 1], [0, 1], [0, 1]], 2)
    model = EASERecommender(lam=1.0).fit(data)
    np.testing.assert_allclose(model.weights, [[0.0, 0.75], [0.75, 0.0]], atol=1e-6)
    scores = model.score(history_row([0], None, 2))
    np.testing.assert_allclose(scores, [[0.0, 0.75]], atol=1e-6)


def test_positive_weights_only() -> None:
    # Skips (negative weights) are ignored when fitting and when scoring.
    data = _interactions([[0, 1, 2], [0, 1], [1, 2]], 3, [[1.0, 1.0, -1.0], [1.0, 1.0], [1.0, 1.0]])
    model = EASERecommender(lam=1.0).fit(data)
    clean = EASERecommender(lam=1.0).fit(_interactions([[0, 1], [0, 1], [1, 2]], 3))
    np.testing.assert_allclose(model.weights, clean.weights, atol=1e-6)
    with_skip = model.score(history_row([0, 2], [1.0, -1.0], 3))
    without = model.score(history_row([0], None, 3))
    np.testing.assert_allclose(with_skip, without, atol=1e-6)


def test_max_items_keeps_the_most_popular_and_the_rest_score_minus_inf() -> None:
    # popularity: item 0: 4, item 1: 4, item 3: 4, item 2: 3; item 4 never seen
    data = _interactions(ROWS, 5)
    model = EASERecommender(lam=2.0, max_items=3).fit(data)
    assert model.modelled.tolist() == [0, 1, 3]
    scores = model.score(data.matrix())
    assert np.all(np.isneginf(scores[:, [2, 4]]))
    assert np.all(np.isfinite(scores[:, [0, 1, 3]]))
    x = data.matrix().toarray()[:, [0, 1, 3]].astype(np.float64)
    np.testing.assert_allclose(scores[:, [0, 1, 3]], x @ _reference(x, 2.0), rtol=1e-4, atol=1e-6)
    # unseen items are not modelled even without a cap
    assert EASERecommender(lam=2.0).fit(data).modelled.tolist() == [0, 1, 2, 3]


def test_save_load_keeps_params_and_scores(tmp_path: Path) -> None:
    data = _interactions(ROWS, 5)
    model = EASERecommender(lam=3.0, max_items=3).fit(data)
    path = tmp_path / "ease.npz"
    model.save(path)
    loaded = EASERecommender.load(path)
    assert loaded.get_params() == {"lam": 3.0, "max_items": 3}
    np.testing.assert_array_equal(loaded.score(data.matrix()), model.score(data.matrix()))


def test_bad_params() -> None:
    with pytest.raises(ValueError, match="lam"):
        EASERecommender(lam=0.0)
    with pytest.raises(ValueError, match="max_items"):
        EASERecommender(max_items=0)


def test_hybrid_blends_ease_and_round_trips(synthetic: Interactions, tmp_path: Path) -> None:
    hybrid = build(
        "hybrid",
        components=["popularity", "itemknn", "ease"],
        component_params={"ease": {"lam": 50.0}, "itemknn": {"k": 20}},
        cold_weights={"popularity": 1.0, "itemknn": 0.2, "ease": 0.2},
        warm_weights={"popularity": 0.05, "itemknn": 0.5, "ease": 1.0},
        warm_after=5.0,
    ).fit(synthetic)
    assert isinstance(hybrid, HybridRecommender)
    assert isinstance(hybrid.models["ease"], EASERecommender)
    assert hybrid.models["ease"].lam == 50.0
    hist = synthetic.matrix()[:10]
    scores = hybrid.score(hist)
    assert scores.shape == (10, synthetic.n_items)
    assert np.isfinite(scores).all()
    path = tmp_path / "hybrid.npz"
    hybrid.save(path)
    loaded = HybridRecommender.load(path)
    np.testing.assert_allclose(loaded.score(hist), scores, rtol=1e-5, atol=1e-6)
    page = loaded.rank(sparse.csr_matrix(hist[0]), 10)
    assert len(page) == 10
    by_ease = [r for r in page if r.source == "ease"]
    assert by_ease, "EASE leads this blend, so some items come from it"
    titles = {synthetic.item_titles[i] or synthetic.item_ids[i] for i in hist[0].indices}
    for r in by_ease:
        assert r.reason.startswith("because you watched "), r.reason
        assert r.reason.removeprefix("because you watched ") in titles, r.reason


def test_explain_items_names_the_biggest_contributor() -> None:
    # Items 0 and 1 always go together, 2 and 3 too: 1 is explained by 0, 3 by 2.
    data = _interactions([[0, 1], [0, 1], [0, 1], [2, 3], [2, 3], [2, 3], [0, 2]], 5)
    model = EASERecommender(lam=1.0).fit(data)
    h = history_row([0, 2], [1.0, 1.0], 5)
    assert model.explain_items(h, [1, 3, 4]) == [0, 2, None]  # item 4 is not modelled
    assert model.explain_items(history_row([], None, 5), [1]) == [None]
