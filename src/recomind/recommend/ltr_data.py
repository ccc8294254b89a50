"""Training groups for the learned ranker, and the ranker bound to a hybrid for serving.

**Groups** (:func:`training_groups`). The events are split by time: a hybrid fitted on the
*past* proposes candidates for each user who acted in the *label window* after it, from
their past history only (so no feature sees the outcome it is labelled with). A user's group
holds what they acted on in the window, each graded by what they did
(:func:`~recomind.recommend.ltr.grades`: like > long watch > short view > skip), and up to
``negatives`` of the hybrid's candidates they did not act on, graded as a skip: the ranker
learns both which candidates get watched and liked and which of the watched ones get liked.
Items outside a row's candidates have 0 in every component's normalised score (that is how
the candidates are chosen), so an acted item that no strategy proposed still gets exact
features.

**Serving** (:class:`RerankModel`): the fitted :class:`~recomind.recommend.ltr.LearnedRanker`
and the item figures, bound per batch (:meth:`RerankModel.rescorer`) to the rows' users'
histories, scores the hybrid's candidates in place of its fixed-weight blend.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from recomind.recommend import reasons
from recomind.recommend.base import FloatArray, IntArray, Interactions
from recomind.recommend.candidates import CandidateRow
from recomind.recommend.hybrid import HybridRecommender
from recomind.recommend.ltr import LearnedRanker, grades
from recomind.recommend.ltr_features import (
    MODEL_FREE_SHARES,
    Histories,
    ItemStats,
    feature_matrix,
    feature_names,
    hour_of,
)


@dataclass(frozen=True)
class Groups:
    """Feature rows with graded labels, in consecutive groups (one per user)."""

    x: FloatArray
    labels: IntArray
    sizes: IntArray
    features: list[str]

    @property
    def n_groups(self) -> int:
        return int(self.sizes.size)


def user_hours(users: IntArray, timestamps: npt.NDArray[np.float64], n_users: int) -> FloatArray:
    """``(n_users, 24)``: each user's events per hour of the day."""
    out = np.zeros((n_users, 24), dtype=np.float32)
    np.add.at(out, (users, hour_of(timestamps)), 1.0)
    return out


def histories_of(
    hybrid: HybridRecommender, data: Interactions, rows: IntArray, hour: IntArray
) -> Histories:
    """The :class:`Histories` of users ``rows`` of ``data`` (all their events), ranked at
    ``hour``."""
    counted = data.matrix()[rows]
    recent = hybrid.history_matrix(data)[rows]
    hours = user_hours(data.users, data.timestamps, data.n_users)[rows]
    return Histories(counted.tocsr(), recent.tocsr(), hours, hour)


def _with_items(row: CandidateRow, extra: IntArray) -> CandidateRow:
    """``row`` plus ``extra`` items (0 in every part: no strategy put them in its top)."""
    add = np.setdiff1d(extra, row.items)
    if add.size == 0:
        return row
    items = np.concatenate([row.items, add])
    order = np.argsort(items, kind="stable")
    parts = [(n, np.concatenate([p, np.zeros(add.size, np.float32)])[order]) for n, p in row.parts]
    return CandidateRow(items[order], parts, row.complete)


def training_groups(
    hybrid: HybridRecommender,
    past: Interactions,
    window: tuple[IntArray, IntArray, FloatArray, npt.NDArray[np.float64]],
    *,
    like_at: float,
    long_at: float,
    negatives: int = 10,
    time_of_day: bool = True,
    max_users: int | None = None,
    seed: int = 0,
) -> Groups:
    """Groups of the users who acted in ``window``, with ``hybrid`` fitted on ``past``.

    Parameters
    ----------
    hybrid
        Fitted on ``past`` (the same user and item indices as ``window``).
    past
        The events before the window.
    window
        ``(users, items, weights, timestamps)`` of the label window's events.
    like_at, long_at
        Summed weight of a like and of a long watch (:func:`~recomind.recommend.ltr.grades`).
    negatives
        Candidates not acted on added to each group (graded as a skip).
    time_of_day
        Whether the features include the hour of the day.
    max_users
        At most this many of the window's users make groups (a seeded sample).
    seed
        Seed of the sampled users and negatives.
    """
    w_users, w_items, w_weights, w_times = window
    names = feature_names(hybrid.components, time_of_day=time_of_day)
    empty = Groups(
        np.zeros((0, len(names)), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64), names
    )
    if w_users.size == 0:
        return empty
    rng = np.random.default_rng(seed)
    acting = np.unique(w_users)
    if max_users is not None and acting.size > max_users:
        chosen = np.sort(rng.choice(acting, size=max_users, replace=False))
        mask = np.isin(w_users, chosen)
        w_users, w_items = w_users[mask], w_items[mask]
        w_weights, w_times = w_weights[mask], w_times[mask]
    key = w_users.astype(np.int64) * past.n_items + w_items
    keys, inverse = np.unique(key, return_inverse=True)
    summed = np.bincount(inverse, weights=w_weights.astype(np.float64))
    first = np.full(keys.size, np.inf)
    np.minimum.at(first, inverse, w_times)
    pair_users, pair_items = keys // past.n_items, keys % past.n_items
    labels_all = grades(summed.astype(np.float64), like_at=like_at, long_at=long_at)
    users = np.unique(pair_users)
    start = np.full(users.size, np.inf)
    np.minimum.at(start, np.searchsorted(users, pair_users), first)
    hist = histories_of(hybrid, past, users, hour_of(start))
    rows = hybrid.candidate_rows(hist.recent, fill=0)
    kept_rows: list[CandidateRow] = []
    labels: list[IntArray] = []
    bounds = [*np.searchsorted(pair_users, users, side="left").tolist(), pair_users.size]
    seen_rows = hist.counted
    for r, row in enumerate(rows):
        acted = pair_items[bounds[r] : bounds[r + 1]]
        acted_labels = labels_all[bounds[r] : bounds[r + 1]]
        seen = seen_rows.indices[seen_rows.indptr[r] : seen_rows.indptr[r + 1]]
        pool = np.setdiff1d(row.items, np.concatenate([acted, seen]))
        neg = np.asarray(
            rng.choice(pool, size=min(negatives, pool.size), replace=False) if negatives else [],
            dtype=np.int64,
        )
        row = _with_items(row, acted)
        chosen = np.concatenate([acted, neg])
        keep = np.isin(row.items, chosen)
        sub = CandidateRow(row.items[keep], [(n, p[keep]) for n, p in row.parts], row.complete)
        label = np.zeros(sub.items.size, dtype=np.int64)
        label[np.searchsorted(sub.items, acted)] = acted_labels
        kept_rows.append(sub)
        labels.append(label)
    fresh = np.concatenate([hybrid.freshness(None, r.items) for r in kept_rows])
    x = feature_matrix(
        kept_rows,
        hybrid.row_weights(hist.recent),
        hist,
        components=hybrid.components,
        catalogue=hybrid.catalogue,
        stats=ItemStats.from_events(
            past.items, past.weights, past.timestamps, past.n_items, like_at=like_at
        ),
        freshness=fresh,
        ref_time=hybrid.ref_time_,
        time_of_day=time_of_day,
    )
    sizes = np.asarray([r.items.size for r in kept_rows], dtype=np.int64)
    return Groups(x, np.concatenate(labels), sizes, names)


@dataclass
class RerankModel:
    """A fitted learned ranker with the item figures its features read.

    Parameters
    ----------
    ranker
        The fitted LightGBM ranker.
    stats
        Item figures of the events the serving hybrid was fitted on.
    time_of_day
        Whether its features include the hour of the day.
    """

    ranker: LearnedRanker
    stats: ItemStats
    time_of_day: bool

    def rescorer(
        self, hybrid: HybridRecommender, histories: Histories, *, now: float | None
    ) -> BoundRanker:
        """The ranker bound to one batch's rows (``histories``) of ``hybrid``."""
        return BoundRanker(self, hybrid, histories, now)

    def save(self, path: str | Path) -> None:
        flag = np.asarray([1 if self.time_of_day else 0], dtype=np.int8)
        self.ranker.save(path, {**self.stats.state(), "time_of_day": flag})

    @classmethod
    def load(cls, path: str | Path) -> RerankModel:
        arrays = LearnedRanker.read(path)
        return cls(
            LearnedRanker.from_state(arrays),
            ItemStats.from_state(arrays),
            bool(arrays["time_of_day"][0]),
        )

    def describe(self) -> dict[str, Any]:
        """Facts for the model's metadata: features, their gain, the training figures."""
        return {
            "features": self.ranker.features,
            "time_of_day": self.time_of_day,
            "importance": self.ranker.importances(),
            **self.ranker.meta,
        }


@dataclass
class _BatchFeatures:
    """The feature rows of one batch's candidate rows (the batch's blend weights once)."""

    hybrid: HybridRecommender
    histories: Histories
    now: float | None
    stats: ItemStats
    time_of_day: bool
    _weights: dict[str, FloatArray] | None = field(default=None, init=False, repr=False)

    def of(self, rows: Sequence[CandidateRow], positions: Sequence[int]) -> FloatArray:
        if self._weights is None:
            self._weights = self.hybrid.row_weights(self.histories.recent)
        pos = np.asarray(positions, dtype=np.int64)
        h = self.histories
        sub = Histories(h.counted[pos], h.recent[pos], h.hours[pos], h.hour[pos])
        weights = {k: v[pos] for k, v in self._weights.items()}
        fresh = (
            np.concatenate([self.hybrid.freshness(self.now, r.items) for r in rows])
            if rows
            else np.zeros(0, np.float32)
        )
        return feature_matrix(
            rows,
            weights,
            sub,
            components=self.hybrid.components,
            catalogue=self.hybrid.catalogue,
            stats=self.stats,
            freshness=fresh,
            ref_time=self.now if self.now is not None else self.hybrid.ref_time_,
            time_of_day=self.time_of_day,
        )


def _split(scores: FloatArray, rows: Sequence[CandidateRow]) -> list[FloatArray]:
    bounds = np.cumsum([0] + [r.items.size for r in rows]).tolist()
    return [scores[s:e] for s, e in itertools.pairwise(bounds)]


@dataclass
class BoundRanker:
    """:class:`~recomind.recommend.candidates.Rescorer` of one batch (see
    :meth:`RerankModel.rescorer`)."""

    model: RerankModel
    hybrid: HybridRecommender
    histories: Histories
    now: float | None
    _x: _BatchFeatures = field(init=False, repr=False)

    def __post_init__(self) -> None:
        m = self.model
        self._x = _BatchFeatures(self.hybrid, self.histories, self.now, m.stats, m.time_of_day)

    def scores(self, rows: Sequence[CandidateRow], positions: Sequence[int]) -> list[FloatArray]:
        return _split(self.model.ranker.predict(self._x.of(rows, positions)), rows)

    def sources(self, row: CandidateRow, position: int, picked: Sequence[int]) -> list[str]:
        if not picked:
            return []
        idx = np.asarray(picked, dtype=np.int64)
        sub = CandidateRow(row.items[idx], [(n, p[idx]) for n, p in row.parts], row.complete)
        return self.model.ranker.sources(self._x.of([sub], [position]), self.hybrid.components)


@dataclass
class ModelFreeRanker:
    """:class:`~recomind.recommend.candidates.Rescorer` that scores the hybrid's candidates
    with the model-free ranker's formula (:data:`MODEL_FREE_SHARES` of its taste and
    popularity terms): the tag-affinity ranker as the gate can replay it, without the
    follow-ups and exploration serving adds to every ranker alike."""

    hybrid: HybridRecommender
    histories: Histories
    stats: ItemStats
    _x: _BatchFeatures = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._x = _BatchFeatures(self.hybrid, self.histories, None, self.stats, False)

    def scores(self, rows: Sequence[CandidateRow], positions: Sequence[int]) -> list[FloatArray]:
        x = self._x.of(rows, positions)
        names = feature_names(self.hybrid.components, time_of_day=False)
        total = np.zeros(x.shape[0], dtype=np.float64)
        for name, share in MODEL_FREE_SHARES.items():
            if name in names:
                total += share * x[:, names.index(name)]
        return _split(total.astype(np.float32), rows)

    def sources(self, row: CandidateRow, position: int, picked: Sequence[int]) -> list[str]:
        return reasons.main_sources(row.parts, picked)


def counted_rows(rows: Sequence[tuple[IntArray, FloatArray]], n_items: int) -> sparse.csr_matrix:
    """``(len(rows), n_items)`` rows of summed weights from ``(items, weights)`` pairs."""
    indptr = np.cumsum([0] + [items.size for items, _ in rows])
    idx = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0, np.int64)
    val = np.concatenate([w for _, w in rows]) if rows else np.zeros(0, np.float32)
    m = sparse.csr_matrix(
        (val.astype(np.float32), idx.astype(np.int64), indptr), shape=(len(rows), n_items)
    )
    m.sum_duplicates()
    return m
