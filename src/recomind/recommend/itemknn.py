"""Item-to-item collaborative filtering: "viewers of this also watched"."""

from __future__ import annotations

import logging
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scipy import sparse

from recomind.recommend._sparse import (
    as_csr,
    csr_from_state,
    csr_state,
    scale_negatives,
    topk_per_row,
)
from recomind.recommend.base import FloatArray, IntArray, Interactions, Recommender, top_n

logger = logging.getLogger(__name__)


def _blocks(cost: npt.NDArray[np.float64], budget: float) -> list[tuple[int, int]]:
    """Split ``range(len(cost))`` into contiguous blocks whose summed cost fits ``budget``."""
    bounds: list[tuple[int, int]] = []
    start = 0
    csum = np.cumsum(cost)
    n = len(cost)
    while start < n:
        base = csum[start - 1] if start else 0.0
        end = int(np.searchsorted(csum, base + budget, side="right"))
        end = max(end, start + 1)
        bounds.append((start, min(end, n)))
        start = end
    return bounds


class ItemKNNRecommender(Recommender):
    """Sparse top-k item-item cosine similarity from positive co-interactions.

    ``sim[i, j] = <x_i, x_j> / (|x_i| |x_j| + shrinkage)`` over the positive user x item
    weights; each item keeps its ``k`` most similar neighbours (a sparse matrix, so memory
    grows with ``n_items * k``, never ``n_items ** 2``). Scores are ``history @ sim``:
    every history item votes for its neighbours (skips vote against, scaled by
    ``negative_weight``).

    Parameters
    ----------
    k
        Neighbours kept per item.
    shrinkage
        Added to the cosine denominator; damps similarities backed by few users.
    negative_weight
        Multiplier applied to negative history weights (skips) when scoring.
    block_products
        Memory budget of one similarity block, in estimated non-zero products.
    """

    name = "itemknn"

    def __init__(
        self,
        k: int = 100,
        shrinkage: float = 20.0,
        negative_weight: float = 0.5,
        block_products: int = 20_000_000,
    ) -> None:
        super().__init__()
        self.k = int(k)
        self.shrinkage = float(shrinkage)
        self.negative_weight = float(negative_weight)
        self.block_products = int(block_products)
        self.similarity_ = sparse.csr_matrix((0, 0), dtype=np.float32)

    def fit(self, data: Interactions) -> Self:
        """Compute the top-``k`` neighbour matrix, block by block."""
        self.n_items = data.n_items
        x = data.matrix(positive_only=True)  # users x items
        xt = sparse.csr_matrix(x.T)  # items x users
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel()).astype(np.float32)
        # Upper bound of each item's co-occurrence row size: sum of its users' degrees.
        user_deg = np.diff(x.indptr).astype(np.float64)
        cost = np.asarray(xt.astype(bool).astype(np.float64) @ user_deg).ravel() + 1.0
        parts = []
        for start, end in _blocks(cost, float(self.block_products)):
            co = sparse.csr_matrix(xt[start:end] @ x, dtype=np.float32)  # block items x items
            co.sum_duplicates()
            counts = np.diff(co.indptr)
            rows = np.repeat(np.arange(start, end), counts)
            denom = norms[rows] * norms[co.indices] + np.float32(self.shrinkage)
            co.data = np.divide(co.data, denom, out=np.zeros_like(co.data), where=denom > 0)
            co.data[co.indices == rows] = 0.0  # no self-similarity
            co.eliminate_zeros()
            parts.append(topk_per_row(co, self.k))
        if parts:
            sim = sparse.vstack(parts, format="csr", dtype=np.float32)
        else:
            sim = sparse.csr_matrix((self.n_items, self.n_items), dtype=np.float32)
        self.similarity_ = sparse.csr_matrix(sim, dtype=np.float32)
        self.fitted = True
        logger.info(
            "itemknn fitted: %d items, %d neighbour links in %d blocks",
            self.n_items,
            self.similarity_.nnz,
            len(parts),
        )
        return self

    def _weights(self, histories: sparse.csr_matrix) -> sparse.csr_matrix:
        return scale_negatives(as_csr(histories, self.n_items), self.negative_weight)

    def score(self, histories: sparse.csr_matrix) -> FloatArray:
        """``history @ similarity`` as a dense float32 array."""
        h = self._weights(histories)
        return np.asarray((h @ self.similarity_).toarray(), dtype=np.float32)

    def score_sparse(self, histories: sparse.csr_matrix) -> sparse.csr_matrix:
        """:meth:`score` as a sparse matrix (sorted indices): only neighbours are non-zero."""
        out = sparse.csr_matrix(self._weights(histories) @ self.similarity_, dtype=np.float32)
        out.sort_indices()
        return out

    def similar_items(self, item: int, n: int) -> tuple[IntArray, FloatArray]:
        """The ``n`` nearest neighbours of ``item`` and their similarities, best first."""
        row = self.similarity_[item]
        idx = np.asarray(row.indices, dtype=np.int64)
        vals = np.asarray(row.data, dtype=np.float32)
        order, best = top_n(vals, n)
        return idx[order], best

    def explain_items(self, history: sparse.csr_matrix, items: list[int]) -> list[int | None]:
        """For each of ``items``, the history item contributing most (``None`` if none)."""
        h = self._weights(history)[:1]
        hist_items = h.indices
        if hist_items.size == 0 or not items:
            return [None] * len(items)
        # The neighbour rows of the history, restricted to ``items`` without a dense
        # catalogue-wide intermediate: (history x items) contributions.
        sim = self.similarity_
        starts = sim.indptr[hist_items].astype(np.int64)
        lens = sim.indptr[hist_items + 1].astype(np.int64) - starts
        rows = np.repeat(np.arange(hist_items.size), lens)
        offsets = np.cumsum(lens) - lens  # where each history row's run starts
        at = np.arange(int(lens.sum()), dtype=np.int64) - np.repeat(offsets - starts, lens)
        cols, vals = sim.indices[at], sim.data[at]
        want = np.asarray(items, dtype=np.int64)
        uniq, inverse = np.unique(want, return_inverse=True)
        pos_c = np.minimum(np.searchsorted(uniq, cols), uniq.size - 1)
        hit = uniq[pos_c] == cols
        dense = np.zeros((hist_items.size, uniq.size), dtype=np.float32)
        np.add.at(dense, (rows[hit], pos_c[hit]), vals[hit])
        contrib = dense[:, inverse] * h.data[:, None]
        best = contrib.argmax(axis=0)
        return [
            int(hist_items[b]) if contrib[b, j] > 0 else None for j, b in enumerate(best.tolist())
        ]

    def state(self) -> dict[str, npt.NDArray[Any]]:
        return csr_state("sim", self.similarity_)

    def set_state(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.similarity_ = csr_from_state("sim", arrays)
