"""The hybrid's blend: each component's scores normalised per row, mixed by cold/warm weights.

:func:`normalise_rows` maps a component's score row to ``[0, 1]``; :class:`BlendWeights`
gives each row its mix, from ``cold`` (no positive interactions) to ``warm``; :class:`Blend`
evaluates the mix densely (every item) or on candidates only (the items whose blend can be
positive, see :mod:`recomind.recommend.candidates`), with the same values where both apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import sparse

from recomind.recommend import candidates as cands
from recomind.recommend._sparse import as_csr
from recomind.recommend.base import FloatArray, IntArray, Recommender
from recomind.recommend.candidates import CandidateRow, ComponentRows
from recomind.recommend.extras import single_threaded_blas

#: The component an empty history gets alone, and whose ranking fills starved pages.
TRENDING = "popularity"
#: Score given by :meth:`Blend.score` to items already in the history row.
HISTORY_SCORE = -1.0

Normalisation = Literal["minmax", "rank"]


def normalise_rows(
    scores: FloatArray, candidates: int, method: Normalisation = "minmax"
) -> FloatArray:
    """Map each row's scores to ``[0, 1]`` using only its ``candidates`` best items.

    ``"minmax"`` maps the row maximum to 1 and the ``candidates``-th best score (and
    anything below it) to 0. ``"rank"`` gives ``1 - rank / candidates`` to the top
    ``candidates`` and 0 elsewhere. Constant rows map to 0. Modifies ``scores`` in place.

    Parameters
    ----------
    scores
        ``(n_rows, n_items)`` raw scores (``-inf`` allowed).
    candidates
        How many top items per row define the scale.
    method
        ``"minmax"`` or ``"rank"``.

    Returns
    -------
    numpy.ndarray
        The normalised ``scores`` array.
    """
    n_rows, n_items = scores.shape
    if n_rows == 0 or n_items == 0:
        return scores
    c = max(1, min(candidates, n_items))
    finite = np.isfinite(scores)
    if not finite.all():
        low = np.where(finite, scores, np.inf).min(axis=1, keepdims=True)
        low = np.where(np.isfinite(low), low, 0.0).astype(np.float32)
        np.copyto(scores, np.broadcast_to(low, scores.shape), where=~finite)
    if method == "rank":
        idx = np.argpartition(-scores, c - 1, axis=1)[:, :c]
        vals = np.take_along_axis(scores, idx, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        idx = np.take_along_axis(idx, order, axis=1)
        vals = np.take_along_axis(vals, order, axis=1)
        level = (1.0 - np.arange(c, dtype=np.float32) / c)[None, :]
        level = np.where(vals > vals[:, -1:], level, 0.0).astype(np.float32)  # ties at floor
        const = vals[:, :1] <= vals[:, -1:]
        level[const[:, 0]] = 0.0
        scores.fill(0.0)
        np.put_along_axis(scores, idx, level, axis=1)
        return scores
    hi = scores.max(axis=1, keepdims=True)
    if c < n_items:
        kth = n_items - c  # the c-th largest value sits at this position once partitioned
        thr = np.partition(scores, kth, axis=1)[:, kth : kth + 1]
    else:
        thr = scores.min(axis=1, keepdims=True)
    span = hi - thr
    inv = np.divide(1.0, span, out=np.zeros_like(span), where=span > 0).astype(np.float32)
    scores -= thr
    scores *= inv
    np.clip(scores, 0.0, 1.0, out=scores)
    return scores


@dataclass(frozen=True)
class BlendWeights:
    """Blend weights per component, interpolated by a row's number of positive events.

    Parameters
    ----------
    cold, warm
        Weight per component name with no positive events / ``warm_after`` or more
        (missing names weigh 0).
    warm_after
        Positive events at which ``warm`` applies fully.
    """

    cold: Mapping[str, float]
    warm: Mapping[str, float]
    warm_after: float

    def per_row(self, histories: sparse.csr_matrix, names: Iterable[str]) -> dict[str, FloatArray]:
        """Each row's weight of each of ``names`` (linear from ``cold`` to ``warm``)."""
        n_pos = np.asarray((histories > 0).sum(axis=1), dtype=np.float32).ravel()
        t = np.clip(n_pos / max(self.warm_after, 1e-9), 0.0, 1.0).astype(np.float32)
        return {
            name: ((1.0 - t) * self.cold.get(name, 0.0) + t * self.warm.get(name, 0.0)).astype(
                np.float32
            )
            for name in names
        }


@dataclass(frozen=True)
class Blend:
    """The mix of fitted ``models`` over history rows, densely or on candidates.

    Parameters
    ----------
    models
        Fitted components by name, in blend order.
    weights
        Their per-row weights; an empty row gets :data:`TRENDING` alone.
    normalisation
        ``"minmax"`` or ``"rank"`` (see :func:`normalise_rows`).
    candidates
        Top items per row used to normalise each component.
    n_items
        Catalogue size.
    """

    models: Mapping[str, Recommender]
    weights: BlendWeights
    normalisation: Normalisation
    candidates: int
    n_items: int

    def row_weights(self, h: sparse.csr_matrix) -> dict[str, FloatArray]:
        """Per-row weight of each model; an empty row weighs :data:`TRENDING` 1, others 0."""
        weights = self.weights.per_row(h, self.models)
        empty = np.diff(h.indptr) == 0
        return {
            name: np.where(empty, 1.0 if name == TRENDING else 0.0, w).astype(np.float32)
            for name, w in weights.items()
        }

    def parts(self, histories: sparse.csr_matrix) -> Iterator[tuple[str, FloatArray]]:
        """Dense weighted, normalised score of each model (history items masked first)."""
        h = as_csr(histories, self.n_items)
        weights = self.row_weights(h)
        seen_rows = np.repeat(np.arange(h.shape[0]), np.diff(h.indptr))
        for name, model in self.models.items():
            w = weights[name]
            if not np.any(w):
                continue
            s = model.score(h)
            s[seen_rows, h.indices] = -np.inf
            normalise_rows(s, self.candidates, self.normalisation)
            s *= w[:, None]
            yield name, s

    def score(self, histories: sparse.csr_matrix) -> FloatArray:
        """Blended ``[0, sum(weights)]`` scores; history items get :data:`HISTORY_SCORE`."""
        h = as_csr(histories, self.n_items)
        total = np.zeros(h.shape, dtype=np.float32)
        for _, part in self.parts(h):
            total += part
        seen_rows = np.repeat(np.arange(h.shape[0]), np.diff(h.indptr))
        total[seen_rows, h.indices] = HISTORY_SCORE
        return total

    def full_row(self, history: sparse.csr_matrix) -> CandidateRow:
        """Every non-history item of ``history``'s first row as a candidate, scored densely."""
        h = as_csr(history, self.n_items)[:1]
        mask = np.ones(self.n_items, dtype=bool)
        mask[h.indices] = False
        items = np.flatnonzero(mask).astype(np.int64)
        parts = [(name, part[0][items]) for name, part in self.parts(h)]
        return CandidateRow(items, parts, complete=True)

    def candidate_rows(self, histories: sparse.csr_matrix, *, fill: int) -> list[CandidateRow]:
        """Per row, the items whose blend can be positive, and the parts on them.

        The weighted, normalised component scores on the candidates equal those of
        :meth:`parts` (see :mod:`recomind.recommend.candidates`); every other non-history
        item blends to 0. ``fill`` of the :data:`TRENDING` component's best non-history
        items are added as candidates too (what a page falls back to when caps starve it).
        Rows that cannot be done exactly on candidates get :meth:`full_row`.
        """
        h = as_csr(histories, self.n_items)
        h.sort_indices()
        n_rows = h.shape[0]
        if (
            self.normalisation != "minmax"
            or self.n_items <= max(cands.DENSE_CATALOGUE, 4 * self.candidates)
            or n_rows == 0
        ):
            return [self.full_row(h[i]) for i in range(n_rows)]
        rows = self._component_rows(h)
        hist = [h.indices[h.indptr[i] : h.indptr[i + 1]].astype(np.int64) for i in range(n_rows)]
        out: list[CandidateRow] = []
        in_hist = np.zeros(self.n_items, dtype=bool)  # one row's history, reset after it
        for i in range(n_rows):
            in_hist[hist[i]] = True
            row = cands.candidate_row(
                rows, i, hist[i], in_hist, n_items=self.n_items, c=self.candidates, fill=fill
            )
            in_hist[hist[i]] = False
            out.append(row if row is not None else self.full_row(h[i]))
        return out

    def _component_rows(self, h: sparse.csr_matrix) -> ComponentRows:
        """Each model's rows in the cheapest exact form: a ranking, sparse rows or dense."""
        weights = self.row_weights(h)
        dense: dict[str, FloatArray] = {}
        sparse_rows: dict[str, sparse.csr_matrix] = {}
        ranked: dict[str, tuple[FloatArray, IntArray]] = {}
        for name, model in self.models.items():
            ranking = model.ranking()
            if ranking is not None:
                ranked[name] = ranking
                continue
            if not (weights[name] > 0).any():
                continue
            sparse_scores = model.score_sparse(h)
            if sparse_scores is not None:
                sparse_rows[name] = sparse_scores
                continue
            # Serving batches are small (one request, a precompute chunk of 64): BLAS
            # threads mostly spin against other work on the cores (~15% CPU measured).
            with single_threaded_blas():
                dense[name] = np.ascontiguousarray(model.score_rows(h), dtype=np.float32)
        fill_order = ranked[TRENDING][1] if TRENDING in ranked else None
        return ComponentRows(weights, dense, sparse_rows, ranked, fill_order)
