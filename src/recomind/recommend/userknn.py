"""User-based collaborative filtering: "users like you liked this"."""

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
    l2_normalize_rows,
    positive_part,
    row_topk_dense,
)
from recomind.recommend.base import FloatArray, Interactions, Recommender

logger = logging.getLogger(__name__)


class UserKNNRecommender(Recommender):
    """Cosine nearest training users of each history row; score = their weighted rows.

    The history row (positive part) is L2-normalised and compared with every training
    user's normalised positive row using sparse products; the ``k`` most similar users
    (similarity raised to ``power``) vote with their normalised rows. Skipped items are
    pushed down by ``negative_weight`` times the history's own skips.

    Parameters
    ----------
    k
        Number of neighbours per row.
    power
        Exponent applied to neighbour similarities (sharpening).
    negative_weight
        Penalty per unit of negative history weight on the skipped item itself.
    batch_rows
        Rows scored per internal batch (bounds the dense user-similarity block).
    """

    name = "userknn"

    def __init__(
        self,
        k: int = 100,
        power: float = 1.0,
        negative_weight: float = 0.0,
        batch_rows: int = 512,
    ) -> None:
        super().__init__()
        self.k = int(k)
        self.power = float(power)
        self.negative_weight = float(negative_weight)
        self.batch_rows = int(batch_rows)
        self.users_ = sparse.csr_matrix((0, 0), dtype=np.float32)
        self._users_t: sparse.csr_matrix | None = None

    def fit(self, data: Interactions) -> Self:
        """Store the L2-normalised positive user x item matrix."""
        self.n_items = data.n_items
        self.users_ = l2_normalize_rows(data.matrix(positive_only=True))
        self._users_t = None
        self.fitted = True
        logger.info("userknn fitted: %d users, %d items", *self.users_.shape)
        return self

    def _neighbours(self, h: sparse.csr_matrix) -> sparse.csr_matrix:
        hn = l2_normalize_rows(positive_part(h))
        if self._users_t is None:  # item x user CSR, built once (transposing is costly)
            self._users_t = sparse.csr_matrix(self.users_.T)
        sims = np.asarray((hn @ self._users_t).toarray(), dtype=np.float32)
        neigh = row_topk_dense(sims, self.k)
        if self.power != 1.0:
            neigh.data = np.power(neigh.data, self.power, dtype=np.float32)
        return neigh

    def _score_block(self, h: sparse.csr_matrix) -> FloatArray:
        scores = np.asarray((self._neighbours(h) @ self.users_).toarray(), dtype=np.float32)
        if self.negative_weight:
            neg = sparse.csr_matrix(h, copy=True)
            neg.data = np.minimum(neg.data, 0.0)
            scores += self.negative_weight * neg.toarray()
        return scores

    def score_sparse(self, histories: sparse.csr_matrix) -> sparse.csr_matrix:
        """:meth:`score` as a sparse matrix (sorted indices): only neighbours' items."""
        h = as_csr(histories, self.n_items)
        blocks = []
        step = max(1, self.batch_rows)
        for start in range(0, h.shape[0], step):
            hb = h[start : start + step]
            out = sparse.csr_matrix(self._neighbours(hb) @ self.users_, dtype=np.float32)
            if self.negative_weight:
                neg = sparse.csr_matrix(hb, copy=True)
                neg.data = np.minimum(neg.data, 0.0)
                out = sparse.csr_matrix(out + self.negative_weight * neg, dtype=np.float32)
            blocks.append(out)
        m = (
            sparse.vstack(blocks, format="csr", dtype=np.float32)
            if blocks
            else sparse.csr_matrix(h.shape, dtype=np.float32)
        )
        m.sort_indices()
        return sparse.csr_matrix(m)

    def score(self, histories: sparse.csr_matrix) -> FloatArray:
        """Weighted sum of the ``k`` nearest training users' rows, batch by batch."""
        h = as_csr(histories, self.n_items)
        out = np.empty(h.shape, dtype=np.float32)
        step = max(1, self.batch_rows)
        for start in range(0, h.shape[0], step):
            out[start : start + step] = self._score_block(h[start : start + step])
        return out

    def state(self) -> dict[str, npt.NDArray[Any]]:
        return csr_state("users", self.users_)

    def set_state(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.users_ = csr_from_state("users", arrays)
        self._users_t = None
