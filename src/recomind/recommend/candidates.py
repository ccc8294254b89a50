"""The hybrid's blend evaluated on candidates only: the items that can score above zero.

:func:`~recomind.recommend.blend.normalise_rows` (``"minmax"``) maps a component's row to
``[0, 1]`` using its maximum and its ``c``-th best score: every item at or below the
``c``-th best gets 0. So the blended score of an item is positive only if it is among the
top ``c`` of at least one weighted component, and the blend over the union of those top
lists equals the dense blend exactly, item for item. This module finds each component's
top ``c`` and its scale without dense, catalogue-wide work where the model allows it:

* a history-independent strategy (popularity): its cached ranking
  (:meth:`~recomind.recommend.base.Recommender.ranking`), walked past the history;
* strategies with sparse scores (item-kNN, user-kNN): their
  :meth:`~recomind.recommend.base.Recommender.score_sparse` rows (only the neighbours'
  items are non-zero);
* the others (content, ALS, EASE): one dense row each, one partition.

Per row, :func:`candidate_row` gives the candidate items (sorted, history removed, a few
trending items added as filler for pages the caps starve) and each component's weighted,
normalised score on them. Rows this cannot handle exactly (tiny catalogues, ``"rank"``
normalisation) get every item as a candidate, scored by the dense path
(:class:`~recomind.recommend.blend.Blend`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy import sparse

from recomind.recommend.base import FloatArray, IntArray

BoolArray = npt.NDArray[np.bool_]

#: Catalogues of at most this many items are always scored densely (exact and cheap).
DENSE_CATALOGUE = 2048


@dataclass
class CandidateRow:
    """One history row's candidates and the weighted, normalised components on them.

    Parameters
    ----------
    items
        Candidate item indices, ascending, never a history item.
    parts
        ``(component, weighted normalised score per candidate)``, blend order.
    complete
        Whether ``items`` holds every non-history item (nothing left to fall back to).
    """

    items: IntArray
    parts: list[tuple[str, FloatArray]]
    complete: bool

    def total(self) -> FloatArray:
        """The blend (before freshness) per candidate."""
        out = np.zeros(self.items.size, dtype=np.float32)
        for _, part in self.parts:
            out += part
        return out

    def without(self, exclude: IntArray) -> CandidateRow:
        """This row less the candidates in ``exclude`` (``complete`` unchanged)."""
        if not exclude.size:
            return self
        keep = ~np.isin(self.items, exclude)
        parts = [(name, p[keep]) for name, p in self.parts]
        return CandidateRow(self.items[keep], parts, self.complete)


class Rescorer(Protocol):
    """Scores candidate rows in place of the blend (the learned ranker, bound to a batch)."""

    def scores(self, rows: Sequence[CandidateRow], positions: Sequence[int]) -> list[FloatArray]:
        """A score per candidate of each row; ``positions`` are the rows' places in the
        batch."""
        ...

    def sources(self, row: CandidateRow, position: int, picked: Sequence[int]) -> list[str]:
        """The reason source of each picked candidate of ``row`` (batch place ``position``)."""
        ...


@dataclass(frozen=True)
class ComponentRows:
    """A batch's component score rows, each in the form the candidate path reads.

    Parameters
    ----------
    weights
        Per component, its blend weight per row.
    dense
        Dense ``(n_rows, n_items)`` scores of the components scored densely.
    sparse_rows
        Sparse scores (sorted indices) of the components whose scores are mostly 0.
    ranked
        ``(scores, order)`` of the history-independent components.
    fill_order
        Items best first that fill starved pages (``None``: no filler).
    """

    weights: dict[str, FloatArray]
    dense: dict[str, FloatArray]
    sparse_rows: dict[str, sparse.csr_matrix]
    ranked: dict[str, tuple[FloatArray, IntArray]]
    fill_order: IntArray | None


@dataclass
class Scale:
    """Top items of one component row and the min-max scale of :func:`normalise_rows`."""

    top: IntArray
    thr: float
    inv: float

    def apply(self, values: FloatArray) -> FloatArray:
        """Normalised values (``[0, 1]``) of raw ``values``; non-finite map to 0."""
        v = np.where(np.isfinite(values), values, np.float32(self.thr)).astype(np.float32)
        v -= np.float32(self.thr)
        v *= np.float32(self.inv)
        np.clip(v, 0.0, 1.0, out=v)
        return v


def _scale_from(top_vals: FloatArray, top: IntArray) -> Scale:
    hi = float(top_vals.max()) if top_vals.size else 0.0
    thr = float(top_vals.min()) if top_vals.size else 0.0
    inv = 1.0 / (hi - thr) if hi > thr else 0.0
    keep = top[top_vals > thr] if inv > 0 else np.empty(0, dtype=np.int64)
    return Scale(keep.astype(np.int64), thr, inv)


def dense_scale(row: FloatArray, hist: IntArray, c: int) -> Scale:
    """Scale of a dense score row (modified in place: history and non-finite set low).

    Exactly what :func:`normalise_rows` computes for the row once history items are
    ``-inf``: maximum and ``c``-th best over all items.
    """
    n = row.size
    c = max(1, min(c, n))
    if hist.size:
        row[hist] = -np.inf
    finite = np.isfinite(row)
    if not finite.all():
        low = float(row[finite].min()) if finite.any() else 0.0
        row[~finite] = low
    top = np.argpartition(row, n - c)[n - c :] if c < n else np.arange(n)
    return _scale_from(row[top], top.astype(np.int64))


def sparse_scale(
    idx: IntArray, vals: FloatArray, hist: IntArray, n_items: int, c: int, in_hist: BoolArray
) -> Scale | None:
    """Scale of a row that is 0 outside ``idx``; ``None`` if too few implicit zeros.

    With at least ``c`` implicit zeros among the non-history items, the ``c``-th best is
    the ``c``-th best positive value (or 0), so only the listed values matter.
    ``in_hist`` flags the history items over the whole catalogue.
    """
    c = max(1, min(c, n_items))
    if hist.size and idx.size:
        keep = ~in_hist[idx]
        idx, vals = idx[keep], vals[keep]
    if n_items - hist.size - idx.size < c or not np.all(np.isfinite(vals)):
        return None
    pos = vals > 0
    p_idx, p_vals = idx[pos], vals[pos]
    if p_vals.size >= c:
        part = np.argpartition(-p_vals, c - 1)[:c]
        p_idx, p_vals = p_idx[part], p_vals[part]
        thr = float(p_vals.min())
    else:
        thr = 0.0
    hi = float(p_vals.max()) if p_vals.size else 0.0
    inv = 1.0 / (hi - thr) if hi > thr else 0.0
    keep_top = p_idx[p_vals > thr] if inv > 0 else np.empty(0, dtype=np.int64)
    return Scale(keep_top.astype(np.int64), thr, inv)


def ranked_scale(
    scores: FloatArray, order: IntArray, hist: IntArray, c: int, in_hist: BoolArray
) -> tuple[Scale, IntArray] | None:
    """Scale of a history-independent row given its descending ``order``.

    Returns the scale and the order without history items (first ``c`` + history entries
    only), or ``None`` when fewer than ``c`` items are left. ``in_hist`` flags the
    history items over the whole catalogue.
    """
    n = scores.size
    c = max(1, min(c, n))
    head = order[: c + hist.size]
    if hist.size:
        head = head[~in_hist[head]]
    if head.size < c:
        return None
    top = head[:c]
    return _scale_from(scores[top], top.astype(np.int64)), head


def values_at(row: sparse.csr_matrix, items: IntArray) -> FloatArray:
    """Values of a one-row CSR matrix (sorted indices) at ``items`` (0 where absent)."""
    idx, data = row.indices, row.data
    out = np.zeros(items.size, dtype=np.float32)
    if idx.size == 0 or items.size == 0:
        return out
    pos = np.searchsorted(idx, items)
    pos_c = np.minimum(pos, idx.size - 1)
    found = idx[pos_c] == items
    out[found] = data[pos_c[found]]
    return out


def candidate_row(
    rows: ComponentRows,
    i: int,
    hist: IntArray,
    in_hist: BoolArray,
    *,
    n_items: int,
    c: int,
    fill: int,
) -> CandidateRow | None:
    """Row ``i``'s candidates and weighted, normalised parts; ``None`` if not exact here.

    Parameters
    ----------
    rows
        The batch's component rows.
    i
        The row.
    hist
        Its history items; ``in_hist`` flags them over the whole catalogue.
    n_items
        Catalogue size.
    c
        Top items per component that define its scale (the blend's ``candidates``).
    fill
        How many of ``rows.fill_order``'s best non-history items to add.
    """
    scales: dict[str, Scale] = {}
    found: list[IntArray] = []
    for name, weight in rows.weights.items():
        if weight[i] <= 0:
            continue
        scale: Scale | None
        if name in rows.dense:
            scale = dense_scale(rows.dense[name][i], hist, c)
        elif name in rows.sparse_rows:
            r = rows.sparse_rows[name][i]
            scale = sparse_scale(r.indices.astype(np.int64), r.data, hist, n_items, c, in_hist)
        elif name in rows.ranked:
            ranked = ranked_scale(*rows.ranked[name], hist, c, in_hist)
            scale = ranked[0] if ranked is not None else None
        else:
            return None
        if scale is None:
            return None
        scales[name] = scale
        found.append(scale.top)
    if rows.fill_order is not None and fill > 0:
        head = rows.fill_order[: fill + hist.size]
        found.append(head[~in_hist[head]][:fill] if hist.size else head)
    items = np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
    if hist.size and items.size:
        items = items[~in_hist[items]]
    items = items.astype(np.int64)
    parts: list[tuple[str, FloatArray]] = []
    for name, scale in scales.items():
        if name in rows.dense:
            raw = rows.dense[name][i][items]
        elif name in rows.sparse_rows:
            raw = values_at(rows.sparse_rows[name][i], items)
        else:
            raw = rows.ranked[name][0][items]
        part = scale.apply(raw)
        part *= rows.weights[name][i]
        parts.append((name, part))
    return CandidateRow(items, parts, complete=items.size + hist.size >= n_items)
