"""Published baselines RecoMind is measured against, behind the same ``Recommender`` API.

Each peer scores from history rows (so the harness treats them exactly like RecoMind's own
strategies) and gives ``-inf`` to items it learnt nothing about, so the short-list metric
shows when a model cannot fill a feed. Hyper-parameters are constructor arguments.

* :class:`MostPopular` -- interaction counts.
* :class:`ItemKNN` -- item-item cosine, top-k neighbours per item (Sarwar et al. 2001).
* :class:`EASE` -- Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data".
* :class:`ImplicitALS` -- iALS (Hu, Koren & Volinsky 2008) from ``implicit``.
* :class:`ImplicitBPR` -- BPR-MF (Rendle et al. 2009) from ``implicit``.
"""

from __future__ import annotations

import logging
import os
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
from scipy import sparse

from recomind.recommend.als import implicit_als
from recomind.recommend.base import FloatArray, Interactions, Recommender
from recomind.recommend.ease import ease_weights
from recomind.recommend.extras import require, single_threaded_blas

logger = logging.getLogger(__name__)


def default_threads() -> int:
    """Threads for ``implicit`` (env ``RECOMIND_EVAL_THREADS``, else every core)."""
    return int(os.environ.get("RECOMIND_EVAL_THREADS", os.cpu_count() or 1))


def binary(m: sparse.spmatrix) -> sparse.csr_matrix:
    """Positive entries as ``1.0`` (skips and zeros dropped), float32 CSR with sorted indices."""
    b = sparse.csr_matrix(m, dtype=np.float32, copy=True)
    b.data = (b.data > 0).astype(np.float32)
    b.eliminate_zeros()
    b.sort_indices()
    return b


def _mask_unknown(scores: FloatArray, known: npt.NDArray[np.bool_]) -> FloatArray:
    scores[:, ~known] = -np.inf
    return scores


class MostPopular(Recommender):
    """Everyone gets the items with the most (positive) interactions.

    Scores are the counts; items never interacted with get ``-inf``.
    """

    name: ClassVar[str] = "most-popular"

    def __init__(self) -> None:
        super().__init__()
        self.counts = np.zeros(0, dtype=np.float32)

    def fit(self, data: Interactions) -> Self:
        x = binary(data.matrix())
        self.counts = np.asarray(x.sum(axis=0), dtype=np.float32).ravel()
        self.n_items = data.n_items
        self.fitted = True
        return self

    def score(self, histories: sparse.csr_matrix) -> FloatArray:
        scores = np.repeat(self.counts[None, :], histories.shape[0], axis=0)
        return _mask_unknown(scores, self.counts > 0)

    def state(self) -> dict[str, npt.NDArray[Any]]:
        return {"counts": self.counts}

    def set_state(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.counts = arrays["counts"]


class ItemKNN(Recommender):
    """Item-based nearest neighbours with cosine similarity.

    ``score(u, j) = sum of sim(i, j)`` over history items ``i`` among the ``k`` most similar
    items of ``j``; ``sim(i, j) = |U_i & U_j| / (sqrt(|U_i| |U_j|) + shrink)``. Items with no
    supporting neighbour in the history get ``-inf``.

    Parameters
    ----------
    k
        Neighbours kept per item.
    shrink
        Added to the cosine denominator; damps similarities of rarely seen items.
    block
        Items per similarity block (bounds memory to ``n_items * block`` floats).
    """

    name: ClassVar[str] = "itemknn-cosine"

    def __init__(self, k: int = 100, shrink: float = 0.0, block: int = 1024) -> None:
        super().__init__()
        self.k = k
        self.shrink = shrink
        self.block = block
        self.sim = sparse.csr_matrix((0, 0), dtype=np.float32)

    def fit(self, data: Interactions) -> Self:
        x = binary(data.matrix()).tocsc()
        n = data.n_items
        norms = np.sqrt(np.asarray(x.sum(axis=0), dtype=np.float64).ravel())
        xt = x.T.tocsr()
        k = min(self.k, max(n - 1, 1))
        rows: list[npt.NDArray[np.int64]] = []
        cols: list[npt.NDArray[np.int64]] = []
        vals: list[npt.NDArray[np.float32]] = []
        for start in range(0, n, self.block):
            stop = min(start + self.block, n)
            co = (xt @ x[:, start:stop]).toarray()  # (n_items, block) co-occurrence counts
            denom = np.outer(norms, norms[start:stop]) + self.shrink
            sim = np.divide(co, denom, out=np.zeros_like(co), where=denom > 0).astype(np.float32)
            sim[np.arange(start, stop), np.arange(stop - start)] = 0.0
            top = np.argpartition(-sim, k - 1, axis=0)[:k] if k < n else np.indices(sim.shape)[0]
            top_vals = np.take_along_axis(sim, top, axis=0)
            keep = top_vals > 0
            col_idx = np.broadcast_to(np.arange(start, stop), top.shape)
            rows.append(top[keep].astype(np.int64))
            cols.append(col_idx[keep].astype(np.int64))
            vals.append(top_vals[keep])
        self.sim = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n, n),
            dtype=np.float32,
        )
        self.n_items = n
        self.fitted = True
        logger.debug("ItemKNN: %d similarities kept for %d items", self.sim.nnz, n)
        return self

    def score(self, histories: sparse.csr_matrix) -> FloatArray:
        scores = np.asarray((binary(histories) @ self.sim).toarray(), dtype=np.float32)
        scores[scores <= 0] = -np.inf
        return scores

    def state(self) -> dict[str, npt.NDArray[Any]]:
        s = self.sim
        return {"indptr": s.indptr, "indices": s.indices, "data": s.data}

    def set_state(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        n = arrays["indptr"].size - 1
        self.sim = sparse.csr_matrix(
            (arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n, n)
        )


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder (Steck 2019), closed form.

    ``P = (X^T X + lambda I)^-1``, ``B = I - P / diag(P)`` with a zero diagonal; a user's
    scores are ``x_u B``. Only items seen at fit time take part (the rest score ``-inf``).
    ``B`` is dense ``n_items x n_items`` float32: about 1.5 GB on
    MicroLens' 19k items (and as much again while inverting), one Cholesky inversion
    (LAPACK ``spotrf`` + ``spotri``) per fit, roughly a minute on 2 cores.

    Parameters
    ----------
    lam
        L2 regularisation ``lambda``.
    """

    name: ClassVar[str] = "ease"

    def __init__(self, lam: float = 500.0) -> None:
        super().__init__()
        self.lam = lam
        self.weights = np.zeros((0, 0), dtype=np.float32)
        self.known = np.zeros(0, dtype=bool)

    def fit(self, data: Interactions) -> Self:
        x = binary(data.matrix())
        self.known = np.asarray(x.sum(axis=0)).ravel() > 0
        self.weights = np.zeros((0, 0), dtype=np.float32)  # free the old model first
        x = x[:, np.flatnonzero(self.known)]  # items nobody interacted with only cost time
        self.weights = ease_weights(x, self.lam)  # the same closed form as RecoMind's EASE
        self.n_items = data.n_items
        self.fitted = True
        return self

    def score(self, histories: sparse.csr_matrix) -> FloatArray:
        known = np.flatnonzero(self.known)
        scores = np.full((histories.shape[0], self.known.size), -np.inf, dtype=np.float32)
        scores[:, known] = binary(histories)[:, known] @ self.weights
        return scores

    def state(self) -> dict[str, npt.NDArray[Any]]:
        return {"weights": self.weights, "known": self.known}

    def set_state(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.weights = arrays["weights"]
        self.known = arrays["known"]


class ImplicitALS(Recommender):
    """iALS from ``implicit``; history rows are folded in with its exact user solve.

    ``recalculate_user`` solves the ALS least-squares step for each history row against the
    learnt item factors, so scoring works for users unseen at fit time.

    Parameters
    ----------
    factors, regularization, alpha, iterations
        As in :class:`implicit.cpu.als.AlternatingLeastSquares` (confidence ``alpha * r``).
    random_state
        Seed.
    num_threads
        Threads for ``implicit`` (``0``: :func:`default_threads`).
    """

    name: ClassVar[str] = "ials"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 15,
        random_state: int = 42,
        num_threads: int = 0,
    ) -> None:
        super().__init__()
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads
        self._model: Any = None
        self.known = np.zeros(0, dtype=bool)

    def _new_model(self) -> Any:
        return implicit_als(
            self.factors,
            self.regularization,
            self.alpha,
            self.iterations,
            self.random_state,
            self.num_threads or default_threads(),
            strategy=self.name,
        )

    def fit(self, data: Interactions) -> Self:
        x = binary(data.matrix())
        self.known = np.asarray(x.sum(axis=0)).ravel() > 0
        self._model = self._new_model()
        with single_threaded_blas():
            self._model.fit(x, show_progress=False)
        self.n_items = data.n_items
        self.fitted = True
        return self

    def score(self, histories: sparse.csr_matrix) -> FloatArray:
        h = binary(histories)
        with single_threaded_blas():
            users = self._model.recalculate_user(np.arange(h.shape[0]), h)
        scores = np.asarray(users @ self._model.item_factors.T, dtype=np.float32)
        return _mask_unknown(scores, self.known)

    def state(self) -> dict[str, npt.NDArray[Any]]:
        return {"item_factors": self._model.item_factors, "known": self.known}

    def set_state(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self._model = self._new_model()
        self._model.item_factors = arrays["item_factors"]
        self.known = arrays["known"]


class ImplicitBPR(Recommender):
    """BPR matrix factorisation from ``implicit``.

    A history row identical to a training user's row gets that user's learnt factors (BPR
    has no exact fold-in); any other row gets the mean factor of its items (an approximate
    fold-in), which keeps scoring a function of the history alone.

    Parameters
    ----------
    factors, learning_rate, regularization, iterations
        As in :class:`implicit.cpu.bpr.BayesianPersonalizedRanking`.
    random_state
        Seed.
    num_threads
        Threads for ``implicit`` (``0``: :func:`default_threads`).
    """

    name: ClassVar[str] = "bpr"

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.05,
        regularization: float = 0.01,
        iterations: int = 100,
        random_state: int = 42,
        num_threads: int = 0,
    ) -> None:
        super().__init__()
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads
        self.user_factors = np.zeros((0, 0), dtype=np.float32)
        self.item_factors = np.zeros((0, 0), dtype=np.float32)
        self.known = np.zeros(0, dtype=bool)
        self._rows: dict[bytes, int] = {}

    def fit(self, data: Interactions) -> Self:
        bpr = require("implicit.cpu.bpr", extra="ml", strategy=self.name)
        x = binary(data.matrix())
        self.known = np.asarray(x.sum(axis=0)).ravel() > 0
        with single_threaded_blas():
            model = bpr.BayesianPersonalizedRanking(
                factors=self.factors,
                learning_rate=self.learning_rate,
                regularization=self.regularization,
                iterations=self.iterations,
                random_state=self.random_state,
                num_threads=self.num_threads or default_threads(),
            )
            model.fit(x, show_progress=False)
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        self._index_rows(x)
        self.n_items = data.n_items
        self.fitted = True
        return self

    def _index_rows(self, x: sparse.csr_matrix) -> None:
        self._rows = {}
        for u in range(x.shape[0]):
            cols = x.indices[x.indptr[u] : x.indptr[u + 1]]
            if cols.size:
                self._rows.setdefault(cols.astype(np.int64).tobytes(), u)

    def _fold_in(self, h: sparse.csr_matrix) -> FloatArray:
        """Mean factor of the history's items (zeros for an empty history)."""
        counts = np.maximum(np.asarray(h.sum(axis=1)).ravel(), 1.0).astype(np.float32)
        users: FloatArray = np.asarray(h @ self.item_factors, dtype=np.float32) / counts[:, None]
        return users

    def score(self, histories: sparse.csr_matrix) -> FloatArray:
        h = binary(histories)
        users = np.zeros((h.shape[0], self.item_factors.shape[1]), dtype=np.float32)
        missing: list[int] = []
        for r in range(h.shape[0]):
            cols = h.indices[h.indptr[r] : h.indptr[r + 1]].astype(np.int64).tobytes()
            u = self._rows.get(cols)
            if u is None:
                missing.append(r)
            else:
                users[r] = self.user_factors[u]
        if missing:
            users[missing] = self._fold_in(h[missing])
        scores = np.asarray(users @ self.item_factors.T, dtype=np.float32)
        return _mask_unknown(scores, self.known)

    def state(self) -> dict[str, npt.NDArray[Any]]:
        return {"item_factors": self.item_factors, "known": self.known}

    def set_state(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.item_factors = arrays["item_factors"]
        self.known = arrays["known"]


#: Peer classes by report name.
PEERS: dict[str, type[Recommender]] = {
    cls.name: cls for cls in (MostPopular, ItemKNN, EASE, ImplicitALS, ImplicitBPR)
}
