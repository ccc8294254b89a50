"""The candidate path blends exactly what the dense path blends, where it is positive."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from scipy import sparse

from recomind.recommend import candidates as cands
from recomind.recommend.base import Interactions
from recomind.recommend.batch_rank import rank_rows
from recomind.recommend.hybrid import HybridRecommender

PARAMS = {
    "component_params": {
        "als": {"factors": 8, "iterations": 5, "random_state": 0, "num_threads": 1},
        "itemknn": {"k": 15},
        "userknn": {"k": 10},
    },
    "candidates": 20,
}


@pytest.fixture(scope="module")
def fitted(synthetic: Interactions) -> HybridRecommender:
    return HybridRecommender(**PARAMS).fit(synthetic)  # type: ignore[arg-type]


@pytest.fixture
def candidate_mode(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(cands, "DENSE_CATALOGUE", 0)
    yield


def _histories(data: Interactions) -> sparse.csr_matrix:
    m = data.matrix()
    rows = [m[u] for u in range(0, 60, 3)]
    rows.append(sparse.csr_matrix((1, data.n_items), dtype=np.float32))  # cold: trending
    skips = sparse.csr_matrix(
        (np.array([-1.0, -1.0], dtype=np.float32), ([0, 0], [1, 2])), shape=(1, data.n_items)
    )
    rows.append(skips)
    return sparse.vstack(rows, format="csr")


def test_candidate_parts_equal_the_dense_blend(
    fitted: HybridRecommender, synthetic: Interactions, candidate_mode: None
) -> None:
    h = _histories(synthetic)
    rows = fitted.candidate_rows(h, fill=10)
    dense = list(fitted.blend().parts(h))
    assert any(not r.complete for r in rows)  # the sparse machinery did run
    for i, row in enumerate(rows):
        hist = h[i].indices
        assert not np.isin(row.items, hist).any()
        want_total = np.zeros(synthetic.n_items, dtype=np.float32)
        for _, part in dense:
            want_total += part[i]
        got = dict(row.parts)
        for name, part in dense:
            if name in got:
                np.testing.assert_allclose(got[name], part[i][row.items], atol=1e-5)
            else:
                assert np.allclose(part[i], 0.0)
        outside = np.ones(synthetic.n_items, dtype=bool)
        outside[row.items] = False
        outside[hist] = False
        assert np.all(want_total[outside] <= 1e-6)  # nothing positive was left out


def test_candidate_pages_match_dense_pages(
    fitted: HybridRecommender, synthetic: Interactions, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = _histories(synthetic)
    dense = rank_rows(fitted, h, n=20, page=10, now=fitted.ref_time_)
    monkeypatch.setattr(cands, "DENSE_CATALOGUE", 0)
    fast = rank_rows(fitted, h, n=20, page=10, now=fitted.ref_time_)
    for d, f in zip(dense, fast, strict=True):
        assert len(f) == len(d)
        positive = [r for r in d if r.score > 1e-6]
        # Items with a positive blend come out identically (same score, reason, source).
        got = f[: len(positive)]
        assert [(r.item, r.reason, r.source) for r in got] == [
            (r.item, r.reason, r.source) for r in positive
        ]
        np.testing.assert_allclose([r.score for r in got], [r.score for r in positive], rtol=1e-5)
    single = fitted.rank(h[0], 15)
    assert len(single) == 15
    assert not {r.item for r in single} & set(h[0].indices.tolist())


def test_itemknn_explanations_match_the_dense_contributions(
    fitted: HybridRecommender, synthetic: Interactions
) -> None:
    from recomind.recommend.itemknn import ItemKNNRecommender

    knn = fitted.models["itemknn"]
    assert isinstance(knn, ItemKNNRecommender)
    m = synthetic.matrix()
    items = list(range(0, synthetic.n_items, 7))
    for u in range(0, 40, 4):
        h = knn._weights(m[u])
        hist = h.indices
        got = knn.explain_items(m[u], items)
        contrib = knn.similarity_.toarray()[hist][:, items] * h.data[:, None]
        for j, g in enumerate(got):
            if contrib[:, j].max(initial=0.0) > 0:
                assert g == int(hist[int(contrib[:, j].argmax())])
            else:
                assert g is None
