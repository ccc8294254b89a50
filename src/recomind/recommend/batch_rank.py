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
from recomind.recommend.base import FloatArray, Recommendation
from recomind.recommend.hybrid import HybridRecommender


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
    parts = list(hybrid._iter_parts(h))
    total = np.zeros(h.shape, dtype=np.float32)
    for _, part in parts:
        total += part
    total *= hybrid.freshness(now if now is not None else hybrid.now)[None, :]
    out: list[list[Recommendation]] = []
    for i in range(k):
        row = h[i]
        t = total[i]
        t[row.indices] = -np.inf
        if excludes is not None and i < len(excludes):
            ex = np.asarray(excludes[i], dtype=np.int64).ravel()
            if ex.size:
                t[ex] = -np.inf
        chosen = _paged(hybrid, t, n, max(1, page))
        if not chosen:
            out.append([])
            continue
        sources = _sources(parts, i, chosen)
        reasons = hybrid._reasons(sources, row, chosen)
        out.append(
            [
                Recommendation(item=item, score=float(t[item]), reason=r, source=s)
                for item, s, r in zip(chosen, sources, reasons, strict=True)
            ]
        )
    return out


def _paged(hybrid: HybridRecommender, total: FloatArray, n: int, page: int) -> list[int]:
    """Best-first pick: each consecutive page of ``page`` items respects the caps."""
    finite = int(np.isfinite(total).sum())
    pool = min(finite, max(8 * n, 512))
    if pool <= 0:
        return []
    cand = np.argpartition(-total, pool - 1)[:pool] if pool < total.size else np.arange(total.size)
    cand = cand[np.isfinite(total[cand])]
    order = cand[np.argsort(-total[cand], kind="stable")]
    chosen: list[int] = []
    while len(chosen) < n and order.size:
        picked = hybrid._greedy(order, min(page, n - len(chosen)))
        if not picked:
            break
        chosen += picked
        order = order[~np.isin(order, picked)]
    return chosen


def _sources(parts: list[tuple[str, FloatArray]], row: int, chosen: list[int]) -> list[str]:
    if not parts:
        return ["popularity"] * len(chosen)
    names = [name for name, _ in parts]
    contrib = np.vstack([part[row, chosen] for _, part in parts])
    best = contrib.argmax(axis=0)
    return [
        names[b] if contrib[b, j] > 0 or "popularity" not in names else "popularity"
        for j, b in enumerate(best.tolist())
    ]
