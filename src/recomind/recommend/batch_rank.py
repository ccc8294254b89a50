"""Feeds for many history rows at once, with the hybrid's caps applied per page.

:meth:`HybridRecommender.rank <recomind.recommend.hybrid.HybridRecommender.rank>` serves one
row and caps a whole page of ``n``. Serving caches ``max_n`` items per user and hands them out
``default_n`` at a time, so here the caps hold for every consecutive page of ``page`` items
(:meth:`PagePolicy.paged <recomind.recommend.pages.PagePolicy.paged>`); and scoring is batched
(one pass per component for all rows), which is what makes precomputing thousands of users
affordable. Both go through the same path,
:meth:`~recomind.recommend.hybrid.HybridRecommender.pages`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy.typing as npt
from scipy import sparse

from recomind.recommend.base import Recommendation
from recomind.recommend.candidates import CandidateRow, Rescorer
from recomind.recommend.hybrid import HybridRecommender
from recomind.recommend.pages import PagePolicy


def rank_rows(
    hybrid: HybridRecommender,
    histories: sparse.csr_matrix,
    *,
    n: int,
    page: int,
    excludes: Sequence[npt.ArrayLike] | None = None,
    now: float | None = None,
    rescorer: Rescorer | None = None,
    explain: bool = True,
    rows: Sequence[CandidateRow] | None = None,
) -> list[list[Recommendation]]:
    """Feed of up to ``n`` items for each history row, capped per page of ``page``.

    Parameters
    ----------
    hybrid
        A fitted hybrid.
    histories, excludes, now, rescorer, explain, rows
        As in :meth:`~recomind.recommend.hybrid.HybridRecommender.pages`.
    n
        Items per row.
    page
        Page size the creator / tag caps apply to.

    Returns
    -------
    list of list of Recommendation
        One list per row, best first, each item with a reason and its main source.
    """
    return hybrid.pages(
        histories,
        PagePolicy.paged(n, page),
        excludes=excludes,
        now=now,
        rescorer=rescorer,
        explain=explain,
        rows=rows,
    )
