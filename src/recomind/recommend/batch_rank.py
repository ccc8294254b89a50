"""Feed pages for many history rows at once, with the hybrid's caps applied per page.

:meth:`HybridRecommender.rank` serves one row and caps a whole page of ``n``. Serving caches
``max_n`` items per user and hands them out ``default_n`` at a time, so here the caps hold
for every consecutive page of ``page`` items; and scoring is batched (one dense pass per
component for all rows), which is what makes precomputing thousands of users affordable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import sparse

from recomind.recommend._sparse import as_csr
from recomind.recommend.base import FloatArray, IntArray, Recommendation
from recomind.recommend.hybrid import HybridRecommender

#: Trending items added to each row's candidates, per requested item (page filler).
FILL_FACTOR = 2


def rank_rows(
    hybrid: HybridRecommender,
    histories: sparse.csr_matrix,
    *,
    n: int,
    page: int,
    excludes: Sequence[npt.ArrayLike] | None = None,
    now: float | None = None,
) -> list[list[Recommendation]]:
    """Feed of up to ``n`` items for each history row, capped per page of ``page``.

    Parameters
    ----------
    hybrid
        A fitted hybrid.
    histories
        ``(k, n_items)`` history rows; their items are never returned.
    n
        Items per row.
    page
        Page size the creator / tag caps apply to.
    excludes
        Per row, further item indices never to return.
    now
        Reference time of the freshness boost (default: the model's).

    Returns
    -------
    list of list of Recommendation
        One list per row, best first, each item with a reason and its main source.
    """
    h = as_csr(histories, hybrid.n_items)
    k = h.shape[0]
    pool = max(8 * n, 512)
    rows = hybrid.candidate_rows(h, fill=FILL_FACTOR * n)
    at = now if now is not None else hybrid.now
    out: list[list[Recommendation]] = []
    for i in range(k):
        ex = (
            np.asarray(excludes[i], dtype=np.int64).ravel()
            if excludes is not None and i < len(excludes)
            else np.empty(0, dtype=np.int64)
        )
        row = rows[i]
        while True:
            items, total, parts = hybrid._page_inputs(row, ex, at)
            picked = _paged(hybrid, items, total, n, max(1, page), pool)
            if len(picked) >= n or row.complete:
                break
            row = hybrid.full_row(h[i])  # the caps starved the candidates: every item
        if not picked:
            out.append([])
            continue
        chosen = [int(items[j]) for j in picked]
        sources = hybrid.sources(parts, picked)
        reasons = hybrid._reasons(sources, h[i], chosen)
        out.append(
            [
                Recommendation(item=item, score=float(total[j]), reason=r, source=s)
                for item, j, s, r in zip(chosen, picked, sources, reasons, strict=True)
            ]
        )
    return out


def _paged(
    hybrid: HybridRecommender, items: IntArray, total: FloatArray, n: int, page: int, pool: int
) -> list[int]:
    """Best-first pick (positions in ``items``): every page of ``page`` respects the caps."""
    finite = int(np.isfinite(total).sum())
    pool = min(finite, pool)
    if pool <= 0:
        return []
    cand = np.argpartition(-total, pool - 1)[:pool] if pool < total.size else np.arange(total.size)
    cand = cand[np.isfinite(total[cand])]
    order = cand[np.lexsort((items[cand], -total[cand]))]  # best first, ties by item
    picked = hybrid._greedy_pages(items[order].tolist(), n, page)
    return [int(order[j]) for j in picked]
