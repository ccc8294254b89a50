"""Implicit-feedback matrix factorisation (iALS) via ``implicit``'s CPU solver.

``implicit`` comes with the ``ml`` extra: without it this module imports, and fitting (or
folding in more than :data:`SMALL_BATCH` rows at once) raises
:class:`~recomind.recommend.extras.MissingExtraError`.
"""

from __future__ import annotations

import logging
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scipy import sparse

from recomind.recommend._sparse import as_csr, scale_negatives
from recomind.recommend.base import FloatArray, Interactions, Recommender
from recomind.recommend.extras import require, single_threaded_blas

logger = logging.getLogger(__name__)

#: Batches up to this many rows are folded in with numpy (no thread start-up cost).
SMALL_BATCH = 32


def implicit_als(
    factors: int,
    regularization: float,
    alpha: float,
    iterations: int,
    random_state: int | None,
    num_threads: int,
    *,
    strategy: str = "als",
) -> Any:
    """An unfitted ``implicit`` CPU ALS model (built with BLAS pinned, as implicit wants).

    Raises :class:`~recomind.recommend.extras.MissingExtraError` (naming ``strategy``)
    without the ``ml`` extra.
    """
    solver = require("implicit.cpu.als", extra="ml", strategy=strategy)
    # implicit warns (and runs slowly) unless BLAS is single-threaded while it works.
    with single_threaded_blas():
        return solver.AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            random_state=random_state,
            num_threads=num_threads,
            calculate_training_loss=False,
        )


class ALSRecommender(Recommender):
    """Implicit ALS (Hu, Koren & Volinsky) with fold-in scoring of any history row.

    Positive weights (likes > views) become confidences ``alpha * w``. Skips are kept as
    negative entries, which ``implicit`` treats as *preference 0 with confidence
    ``alpha * |w| * negative_weight``*: they actively push the item down instead of being
    ignored. At scoring time each history row gets its user vector from the exact ALS
    least-squares solve against the fixed item factors, so users unseen at fit time work.

    Parameters
    ----------
    factors, regularization, alpha, iterations, random_state
        As in :class:`implicit.cpu.als.AlternatingLeastSquares`.
    negative_weight
        Multiplier of skip weights before they become negative confidences.
    num_threads
        Solver threads (``0`` = all cores); BLAS is pinned to one thread meanwhile.
    """

    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 4.0,
        iterations: int = 15,
        random_state: int | None = 42,
        negative_weight: float = 1.0,
        num_threads: int = 0,
    ) -> None:
        super().__init__()
        self.factors = int(factors)
        self.regularization = float(regularization)
        self.alpha = float(alpha)
        self.iterations = int(iterations)
        self.random_state = random_state
        self.negative_weight = float(negative_weight)
        self.num_threads = int(num_threads)
        self.item_factors_ = np.zeros((0, self.factors), dtype=np.float32)
        self._model: Any = None
        self._yty: npt.NDArray[np.float64] | None = None

    def _make_model(self) -> Any:
        return implicit_als(
            self.factors,
            self.regularization,
            self.alpha,
            self.iterations,
            self.random_state,
            self.num_threads,
        )

    def _confidence(self, m: sparse.csr_matrix) -> sparse.csr_matrix:
        return scale_negatives(as_csr(m, self.n_items), self.negative_weight)

    def fit(self, data: Interactions) -> Self:
        """Factorise the user x item confidence matrix."""
        self.n_items = data.n_items
        model = self._make_model()
        with single_threaded_blas():
            model.fit(self._confidence(data.matrix()), show_progress=False)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self._model = model
        self._yty = None
        self.fitted = True
        logger.info("als fitted: %d items x %d factors", self.n_items, self.factors)
        return self

    def user_factors(self, histories: sparse.csr_matrix) -> npt.NDArray[np.float32]:
        """ALS least-squares user vectors of each history row (fold-in).

        Solves ``(YᵀY + λI + Yᵀ(Cᵤ - I)Y) xᵤ = YᵀCᵤpᵤ`` against the fixed item factors
        ``Y``, exactly as ``implicit`` does for its own users.
        """
        h = self._confidence(histories)
        n = h.shape[0]
        if n == 0 or h.nnz == 0:
            return np.zeros((n, self.item_factors_.shape[1]), dtype=np.float32)
        if n <= SMALL_BATCH:
            return self._fold_in_numpy(h)
        if self._model is None:
            self._model = self._make_model()
            self._model.item_factors = self.item_factors_
            self._model.user_factors = np.zeros((0, self.factors), dtype=np.float32)
        with single_threaded_blas():
            uf = self._model.recalculate_user(np.arange(n), h)
        return np.asarray(uf, dtype=np.float32).reshape(n, -1)

    def _fold_in_numpy(self, h: sparse.csr_matrix) -> npt.NDArray[np.float32]:
        y = self.item_factors_
        f = y.shape[1]
        if self._yty is None:
            y64 = y.astype(np.float64)
            self._yty = y64.T @ y64
        base = self._yty + self.regularization * np.eye(f)
        out = np.zeros((h.shape[0], f), dtype=np.float32)
        for r in range(h.shape[0]):
            lo, hi = h.indptr[r], h.indptr[r + 1]
            if lo == hi:
                continue
            ys = y[h.indices[lo:hi]].astype(np.float64)
            conf = self.alpha * h.data[lo:hi].astype(np.float64)
            a = base + (ys * (np.abs(conf) - 1.0)[:, None]).T @ ys
            b = ys.T @ np.where(conf > 0, conf, 0.0)
            out[r] = np.linalg.solve(a, b)
        return out

    def score(self, histories: sparse.csr_matrix) -> FloatArray:
        """Dot products of folded-in user vectors with every item factor."""
        uf = self.user_factors(histories)
        if uf.shape[0] <= SMALL_BATCH:
            # A few rows: memory-bound mat-vecs; BLAS threads only add contention.
            with single_threaded_blas():
                return np.asarray(uf @ self.item_factors_.T, dtype=np.float32)
        return np.asarray(uf @ self.item_factors_.T, dtype=np.float32)

    def state(self) -> dict[str, npt.NDArray[Any]]:
        return {"item_factors": self.item_factors_}

    def set_state(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.item_factors_ = np.ascontiguousarray(arrays["item_factors"], dtype=np.float32)
        self._model = None
        self._yty = None
