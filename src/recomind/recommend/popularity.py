"""Time-decayed, evidence-guarded popularity ("trending"), globally and per tag."""

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
    strings_from_state,
    strings_state,
    tag_matrix,
)
from recomind.recommend.base import FloatArray, IntArray, Interactions, Recommender, top_n

logger = logging.getLogger(__name__)


class PopularityRecommender(Recommender):
    """Trending items: time-decayed sum of event weights, shrunk by distinct-user evidence.

    Every event contributes ``weight * 0.5 ** (age_hours / half_life_hours)`` to its item,
    so skips (negative weights) count against it. The decayed sum is multiplied by
    ``n / (n + min_users)`` where ``n`` is the number of distinct users with positive
    interactions on the item: a single like on a new video cannot top the chart.

    Parameters
    ----------
    half_life_hours
        Half-life of the time decay; ``0`` disables decay.
    min_users
        Shrinkage strength, in distinct users (Bayesian-style evidence guard).
    now
        Reference time (unix seconds) for the decay; ``None`` uses the latest event.
    """

    name = "popularity"

    def __init__(
        self,
        half_life_hours: float = 72.0,
        min_users: float = 5.0,
        now: float | None = None,
    ) -> None:
        super().__init__()
        self.half_life_hours = float(half_life_hours)
        self.min_users = float(min_users)
        self.now = now
        self.scores_ = np.zeros(0, dtype=np.float32)
        self.item_tags_ = sparse.csr_matrix((0, 0), dtype=np.float32)
        self.tags_: list[str] = []
        self._tag_index: dict[str, int] = {}
        self._order: IntArray | None = None

    def order(self) -> IntArray:
        """Every item index, most popular first (ties by index); computed once."""
        if self._order is None or self._order.size != self.scores_.size:
            order = np.argsort(-self.scores_, kind="stable").astype(np.int64)
            order.flags.writeable = False
            self._order = order
        return self._order

    def ranking(self) -> tuple[FloatArray, IntArray]:
        """The trending scores (every history gets them) and :meth:`order`."""
        return self.scores_, self.order()

    def warm(self) -> None:
        """Compute :meth:`order` now."""
        self.order()

    def fit(self, data: Interactions) -> Self:
        """Compute the decayed, shrunk popularity of every item."""
        self.n_items = data.n_items
        now = self.now
        if now is None:
            now = float(data.timestamps.max()) if len(data.timestamps) else 0.0
        age_h = np.maximum(now - data.timestamps, 0.0) / 3600.0
        if self.half_life_hours > 0:
            decay = np.exp2(-age_h / self.half_life_hours)
        else:
            decay = np.ones_like(age_h)
        raw = np.bincount(
            data.items, weights=data.weights.astype(np.float64) * decay, minlength=self.n_items
        )
        pos = data.weights > 0
        pairs = np.unique(data.users[pos] * np.int64(self.n_items) + data.items[pos])
        n_users = np.bincount(pairs % self.n_items, minlength=self.n_items).astype(np.float64)
        shrink = n_users / (n_users + self.min_users) if self.min_users > 0 else 1.0
        # Items with no positive evidence keep their (non-positive) decayed sum.
        self.scores_ = np.where(raw > 0, raw * shrink, raw).astype(np.float32)
        self._order = None
        self.item_tags_, self.tags_ = tag_matrix(data.item_tags)
        self._tag_index = {t: i for i, t in enumerate(self.tags_)}
        self.fitted = True
        logger.info("popularity fitted on %d events, %d items", len(data.items), self.n_items)
        return self

    def score(self, histories: sparse.csr_matrix) -> FloatArray:
        """The same trending scores for every row (history is ignored)."""
        h = as_csr(histories, self.n_items)
        return np.tile(self.scores_, (h.shape[0], 1))

    def trending(self, n: int, exclude: npt.ArrayLike | None = None) -> tuple[IntArray, FloatArray]:
        """Top-``n`` trending items overall."""
        return top_n(self.scores_, n, exclude)

    def trending_in_tag(
        self, tag: str, n: int, exclude: npt.ArrayLike | None = None
    ) -> tuple[IntArray, FloatArray]:
        """Top-``n`` trending items carrying ``tag`` (case-insensitive, ``#`` optional).

        Returns empty arrays for an unknown tag.
        """
        col = self._tag_index.get(tag.lower().lstrip("#"))
        if col is None:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        has_tag = self.item_tags_[:, col].toarray().ravel() > 0
        s = np.where(has_tag, self.scores_, -np.inf).astype(np.float32)
        return top_n(s, n, exclude)

    def state(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "scores": self.scores_,
            **csr_state("item_tags", self.item_tags_),
            **strings_state("tags", self.tags_),
        }

    def set_state(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.scores_ = arrays["scores"].astype(np.float32)
        self._order = None
        self.item_tags_ = csr_from_state("item_tags", arrays)
        self.tags_ = strings_from_state("tags", arrays)
        self._tag_index = {t: i for i, t in enumerate(self.tags_)}
