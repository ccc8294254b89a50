"""The learned ranker's features: one row per (user, candidate), arrays in, arrays out.

Every strategy of the hybrid contributes candidates (:meth:`HybridRecommender.candidate_rows
<recomind.recommend.hybrid.HybridRecommender.candidate_rows>`: the union of each component's
top items over the whole catalogue, plus trending filler); :func:`feature_matrix` describes
each candidate of each row with the columns of :data:`FEATURES`:

* per component ``c``: ``c:score``, its normalised score (``[0, 1]``, before the blend
  weight) and ``c:rank``, ``log1p`` of its rank among the row's candidates by that score;
* ``blend:score`` and ``blend:rank``: the fixed-weight hybrid's own score and rank;
* the item (:class:`ItemStats`, from the training events): smoothed like and skip rates,
  ``log1p`` of its events, ``log1p`` of its age in hours, its freshness factor;
* the user and the item's tags and creator (from the user's own counted history, not
  recency weighted): the mean over the item's tags of the user's positive weight on the tag
  per action on it (``tag:pos``), of their negative weight (``tag:neg``), ``log1p`` of
  their actions on it (``tag:n``) and of the recency-weighted positive weight
  (``tag:recent``: how recently related history happened); the same for the creator;
* the user's taste as the model-free ranker reads it (:data:`TASTE_FEATURES`): relative to
  their top tag (creator), not per action;
* the user: ``log1p`` of their counted actions, the share of them that are positive;
* time of day (:data:`TIME_FEATURES`, left out when a model is fitted without them): the
  share of the user's actions in the hour of the request, and of the item's positive
  actions (smoothed towards uniform).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from recomind.recommend.base import FloatArray, IntArray
from recomind.recommend.candidates import CandidateRow
from recomind.recommend.catalogue import ItemCatalogue

#: Pseudo-events of the item rates' prior (a Beta prior with the catalogue's mean rate).
PRIOR_EVENTS = 20.0
#: Pseudo-actions of a user's per-tag / per-creator shares.
PRIOR_ACTIONS = 2.0
#: Pseudo-events spread uniformly over the hours of an item's / user's hour histogram.
PRIOR_HOURS = 24.0
TIME_FEATURES = ("user:hour_share", "item:hour_share")
ITEM_FEATURES = ("item:like_rate", "item:skip_rate", "item:events", "item:age", "item:fresh")
PAIR_FEATURES = (
    "tag:pos",
    "tag:neg",
    "tag:n",
    "tag:recent",
    "creator:pos",
    "creator:neg",
    "creator:n",
    "creator:recent",
)
USER_FEATURES = ("user:events", "user:pos_share")
#: The model-free ranker's taste terms (:class:`~recomind.serving.fallback.TagAffinityRanker`):
#: the item's tags' mean signed weight in the user's history over the user's top tag weight
#: (counted, then recency-weighted) and its creator's recency-weighted weight over the top.
TASTE_FEATURES = ("taste:tag", "taste:recent_tag", "taste:creator")
#: The model-free ranker's shares of those terms and of popularity (``popularity:score``).
MODEL_FREE_SHARES = {
    "taste:tag": 0.5,
    "taste:recent_tag": 1.0,
    "taste:creator": 0.5,
    "popularity:score": 0.3,
}


def feature_names(components: Sequence[str], *, time_of_day: bool) -> list[str]:
    """The columns of :func:`feature_matrix` for a hybrid of ``components``."""
    names = [f"{c}:{kind}" for c in components for kind in ("score", "rank")]
    names += ["blend:score", "blend:rank", *ITEM_FEATURES, *PAIR_FEATURES, *TASTE_FEATURES]
    names += USER_FEATURES
    if time_of_day:
        names += list(TIME_FEATURES)
    return names


def hour_of(timestamps: npt.ArrayLike) -> IntArray:
    """Hour of the day (UTC, 0-23) of unix times."""
    t = np.asarray(timestamps, dtype=np.float64)
    return (np.floor(np.nan_to_num(t) / 3600.0) % 24).astype(np.int64)


@dataclass(frozen=True)
class ItemStats:
    """Per-item figures of the events a model was fitted on.

    Parameters
    ----------
    like_rate, skip_rate
        ``(likes + A * mean) / (events + A)`` with ``A =`` :data:`PRIOR_EVENTS`: likes are
        events of at least ``like_at`` weight, skips negative ones.
    events
        Counted events per item.
    hour_share
        ``(n_items, 24)``: share of the item's positive events per hour of the day,
        smoothed towards ``1 / 24``.
    """

    like_rate: FloatArray
    skip_rate: FloatArray
    events: FloatArray
    hour_share: FloatArray

    @classmethod
    def from_events(
        cls,
        items: IntArray,
        weights: FloatArray,
        timestamps: npt.NDArray[np.float64],
        n_items: int,
        *,
        like_at: float,
    ) -> ItemStats:
        """The figures of events ``(items, weights, timestamps)`` over ``n_items`` items."""
        w = np.asarray(weights, dtype=np.float64)
        events = np.bincount(items, minlength=n_items).astype(np.float64)
        likes = np.bincount(items, weights=(w >= like_at).astype(np.float64), minlength=n_items)
        skips = np.bincount(items, weights=(w < 0).astype(np.float64), minlength=n_items)
        total = max(float(events.sum()), 1.0)
        like_rate = (likes + PRIOR_EVENTS * likes.sum() / total) / (events + PRIOR_EVENTS)
        skip_rate = (skips + PRIOR_EVENTS * skips.sum() / total) / (events + PRIOR_EVENTS)
        pos = w > 0
        hours = np.zeros((n_items, 24), dtype=np.float64)
        np.add.at(hours, (items[pos], hour_of(timestamps[pos])), 1.0)
        share = (hours + PRIOR_HOURS / 24.0) / (hours.sum(axis=1, keepdims=True) + PRIOR_HOURS)
        return cls(
            like_rate.astype(np.float32),
            skip_rate.astype(np.float32),
            events.astype(np.float32),
            share.astype(np.float32),
        )

    def state(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "like_rate": self.like_rate,
            "skip_rate": self.skip_rate,
            "events": self.events,
            "hour_share": self.hour_share,
        }

    @classmethod
    def from_state(cls, arrays: dict[str, npt.NDArray[Any]]) -> ItemStats:
        return cls(
            arrays["like_rate"].astype(np.float32),
            arrays["skip_rate"].astype(np.float32),
            arrays["events"].astype(np.float32),
            arrays["hour_share"].astype(np.float32),
        )


@dataclass(frozen=True)
class Histories:
    """What the rows' users did, aligned with the rows of a batch.

    Parameters
    ----------
    counted
        ``(rows, n_items)``: summed counted weight of each user's actions per item (likes
        positive, skips negative; no recency weighting).
    recent
        ``(rows, n_items)``: the recency-weighted rows the hybrid scores.
    hours
        ``(rows, 24)``: each user's actions per hour of the day.
    hour
        The hour of the day (UTC) each row is ranked for.
    """

    counted: sparse.csr_matrix
    recent: sparse.csr_matrix
    hours: FloatArray
    hour: IntArray


@dataclass(frozen=True)
class _PairTables:
    """Per-row sums over tags and creators, looked up per (row, candidate)."""

    pos: sparse.csr_matrix
    neg: sparse.csr_matrix
    n: sparse.csr_matrix
    recent: sparse.csr_matrix


def _tables(h: Histories, item_x: sparse.csr_matrix) -> _PairTables:
    counted = h.counted.tocsr()
    pos = counted.multiply(counted > 0).tocsr()
    neg = (-counted).multiply(counted < 0).tocsr()
    acted = counted.copy()
    acted.data = np.ones_like(acted.data)
    recent = h.recent.tocsr()
    recent = recent.multiply(recent > 0).tocsr()
    return _PairTables(
        sparse.csr_matrix(pos @ item_x),
        sparse.csr_matrix(neg @ item_x),
        sparse.csr_matrix(acted @ item_x),
        sparse.csr_matrix(recent @ item_x),
    )


def _pair_means(
    table: sparse.csr_matrix, rows: IntArray, items: IntArray, item_x: sparse.csr_matrix
) -> FloatArray:
    """Mean over each item's columns (tags) of ``table[row, column]`` per (row, item) pair."""
    if rows.size == 0:
        return np.zeros(0, dtype=np.float32)
    counts = np.diff(item_x.indptr)[items].astype(np.float64)
    sums = np.asarray(table[rows].multiply(item_x[items]).sum(axis=1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(counts > 0, sums / counts, 0.0)
    return out.astype(np.float32)


def _ranks(values: FloatArray, bounds: IntArray) -> FloatArray:
    """``log1p`` of each value's rank (0 = best) within its row's segment."""
    out = np.empty(values.size, dtype=np.float32)
    for s, e in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        order = np.argsort(-values[s:e], kind="stable")
        r = np.empty(e - s, dtype=np.float32)
        r[order] = np.arange(e - s, dtype=np.float32)
        out[s:e] = r
    return np.log1p(out)


def feature_matrix(
    rows: Sequence[CandidateRow],
    weights: dict[str, FloatArray],
    histories: Histories,
    *,
    components: Sequence[str],
    catalogue: ItemCatalogue,
    stats: ItemStats,
    freshness: FloatArray,
    ref_time: float,
    time_of_day: bool,
) -> FloatArray:
    """Features of every candidate of every row, rows after each other (``float32``).

    Parameters
    ----------
    rows
        Each row's candidates and their weighted, normalised component parts.
    weights
        Per component, its blend weight per row (to undo the weighting of the parts).
    histories
        The rows' users' histories.
    components
        The hybrid's components, in :func:`feature_names` order.
    catalogue, stats
        The items' tags and creators; their figures.
    freshness
        Freshness factor per candidate, rows after each other.
    ref_time
        Unix time ages are measured at.
    time_of_day
        Whether to add :data:`TIME_FEATURES`.
    """
    sizes = np.asarray([r.items.size for r in rows], dtype=np.int64)
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(bounds[-1])
    names = feature_names(components, time_of_day=time_of_day)
    out = np.zeros((n, len(names)), dtype=np.float32)
    if n == 0:
        return out
    items = np.concatenate([r.items for r in rows]).astype(np.int64)
    row_of = np.repeat(np.arange(len(rows), dtype=np.int64), sizes)
    col = 0
    blend = np.zeros(n, dtype=np.float32)
    for name in components:
        score = np.zeros(n, dtype=np.float32)
        w_rows = weights.get(name)
        for i, r in enumerate(rows):
            part = dict(r.parts).get(name)
            if part is None or w_rows is None or w_rows[i] <= 0:
                continue
            score[bounds[i] : bounds[i + 1]] = part / w_rows[i]
            blend[bounds[i] : bounds[i + 1]] += part
        out[:, col] = score
        out[:, col + 1] = _ranks(score, bounds)
        col += 2
    out[:, col] = blend
    out[:, col + 1] = _ranks(blend * freshness, bounds)
    col += 2
    created = catalogue.created[items]
    age_h = np.where(np.isfinite(created), np.maximum(ref_time - created, 0.0) / 3600.0, 1e4)
    item_cols = [
        stats.like_rate[items],
        stats.skip_rate[items],
        np.log1p(stats.events[items]),
        np.log1p(age_h),
        freshness,
    ]
    for values in item_cols:
        out[:, col] = values
        col += 1
    tags = catalogue.item_tags.tocsr().astype(np.float32)
    creators = _creator_matrix(catalogue.creators)
    tag_tables = _tables(histories, tags)
    for item_x, t in ((tags, tag_tables), (creators, _tables(histories, creators))):
        n_acted = _pair_means(t.n, row_of, items, item_x)
        pos = _pair_means(t.pos, row_of, items, item_x)
        neg = _pair_means(t.neg, row_of, items, item_x)
        out[:, col] = pos / (n_acted + PRIOR_ACTIONS)
        out[:, col + 1] = neg / (n_acted + PRIOR_ACTIONS)
        out[:, col + 2] = np.log1p(n_acted)
        out[:, col + 3] = np.log1p(_pair_means(t.recent, row_of, items, item_x))
        col += 4
    for values in _taste(histories, tag_tables, row_of, items, tags, creators):
        out[:, col] = values
        col += 1
    counted = histories.counted.tocsr()
    acted = np.diff(counted.indptr).astype(np.float32)
    positive = np.asarray((counted > 0).sum(axis=1), dtype=np.float32).ravel()
    out[:, col] = np.log1p(acted)[row_of]
    out[:, col + 1] = (positive / np.maximum(acted, 1.0))[row_of]
    col += 2
    if time_of_day:
        hours = histories.hours
        hour = histories.hour
        user_share = (hours[np.arange(len(rows)), hour] + 1.0) / (hours.sum(axis=1) + 24.0)
        out[:, col] = user_share[row_of]
        out[:, col + 1] = stats.hour_share[items, hour[row_of]]
    return out


def _relative(
    table: sparse.csr_matrix, row_of: IntArray, items: IntArray, item_x: sparse.csr_matrix
) -> FloatArray:
    """Mean over each item's columns of ``table[row, column]`` (a row's signed sum on the
    column), over the row's largest positive column sum (0 for a row with none)."""
    if item_x.shape[1] == 0 or table.shape[0] == 0:  # e.g. a catalogue without creators
        return np.zeros(row_of.size, dtype=np.float32)
    top = np.maximum(np.asarray(table.max(axis=1).todense(), dtype=np.float64).ravel(), 0.0)
    means = _pair_means(table, row_of, items, item_x).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(top[row_of] > 0, means / top[row_of], 0.0)
    return out.astype(np.float32)


def _taste(
    h: Histories,
    tag_tables: _PairTables,
    row_of: IntArray,
    items: IntArray,
    tags: sparse.csr_matrix,
    creators: sparse.csr_matrix,
) -> list[FloatArray]:
    """The :data:`TASTE_FEATURES` columns (the counted rows' signed tag sums are the tag
    tables' positive minus negative sums)."""
    recent = h.recent.tocsr()
    return [
        _relative(sparse.csr_matrix(tag_tables.pos - tag_tables.neg), row_of, items, tags),
        _relative(sparse.csr_matrix(recent @ tags), row_of, items, tags),
        _relative(sparse.csr_matrix(recent @ creators), row_of, items, creators),
    ]


def _creator_matrix(codes: IntArray) -> sparse.csr_matrix:
    """One-hot item x creator matrix (an unknown creator, ``-1``, has no column)."""
    known = codes >= 0
    n_items = codes.size
    n_creators = int(codes.max()) + 1 if known.any() else 0
    rows = np.flatnonzero(known)
    return sparse.csr_matrix(
        (np.ones(rows.size, dtype=np.float32), (rows, codes[known])),
        shape=(n_items, n_creators),
    )
