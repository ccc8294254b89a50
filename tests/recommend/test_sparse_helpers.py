"""The vectorised sparse helpers and pickle-free persistence helpers."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from tests.utils.synthetic import make_synthetic

from recomind.recommend._sparse import (
    csr_from_state,
    csr_state,
    l2_normalize_rows,
    row_topk_dense,
    strings_from_state,
    strings_state,
    tag_matrix,
    topk_per_row,
)


def test_topk_per_row_matches_a_loop() -> None:
    rng = np.random.default_rng(0)
    dense = rng.random((30, 40)).astype(np.float32)
    dense[dense < 0.5] = 0.0
    m = sparse.csr_matrix(dense)
    kept = topk_per_row(m, 3).toarray()
    for r in range(30):
        nz = np.flatnonzero(dense[r])
        best = nz[np.argsort(-dense[r, nz])[:3]]
        assert set(np.flatnonzero(kept[r])) == set(best)
        np.testing.assert_array_equal(kept[r, best], dense[r, best])


def test_row_topk_dense_keeps_positive_best() -> None:
    s = np.array([[0.1, 0.9, -0.5, 0.3], [-1.0, -2.0, 0.2, -3.0]], dtype=np.float32)
    out = row_topk_dense(s, 2).toarray()
    np.testing.assert_allclose(out[0], [0.0, 0.9, 0.0, 0.3])
    np.testing.assert_allclose(out[1], [0.0, 0.0, 0.2, 0.0])  # negatives dropped


def test_l2_normalize_rows_keeps_zero_rows() -> None:
    m = sparse.csr_matrix(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))
    out = l2_normalize_rows(m).toarray()
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])


def test_state_round_trips() -> None:
    m = sparse.random(20, 15, density=0.2, format="csr", dtype=np.float32, random_state=1)
    back = csr_from_state("m", csr_state("m", m))
    assert (back != m).nnz == 0
    words = ["", "naïve", "#dance", "🎵 music", "a b"]
    assert strings_from_state("w", strings_state("w", words)) == words


def test_tag_matrix() -> None:
    m, vocab = tag_matrix([["b", "a", "b"], [], ["c"]])
    assert vocab == ["a", "b", "c"]
    np.testing.assert_array_equal(m.toarray(), [[1, 1, 0], [0, 0, 0], [0, 0, 1]])


def test_synthetic_catalogue_is_consistent() -> None:
    d = make_synthetic(n_users=200, n_items=300, n_events=5000, n_tags=15, seed=1)
    assert d.items.max() < 300 and d.users.max() < 200
    assert d.item_created is not None
    assert np.all(d.timestamps >= d.item_created[d.items] - 1e-6)
    counts = np.bincount(d.items, minlength=300)
    assert counts.max() > 10 * max(1.0, np.median(counts))  # power-law popularity
    assert {-1.0, 1.0, 4.0} == set(np.unique(d.weights).tolist())
