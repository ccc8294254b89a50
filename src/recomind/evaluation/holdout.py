"""Scoring ranked lists against a deployment's newest events (the gate's holdout).

The holdout is the newest slice of events (:func:`recomind.recommend.ltr_fit.split_by_time`).
For each user who acted in it, a contestant ranks the catalogue from the user's history
before it; its list is scored against what the user then did:

* ``ndcg@10`` and ``recall@20``: the targets are the videos the user liked or watched long
  (summed weight at least ``long_at``);
* ``like_rate@10``: the share of the first 10 the user liked (a like-rate proxy: what the
  page would have earned had it been the page shown);
* ``coverage@10``: distinct videos over every user's first 10, over the catalogue.

Only users with at least one target count, so every contestant is scored on the same users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from recomind.evaluation.metrics import coverage, ndcg_at_k, recall_at_k
from recomind.recommend.base import IntArray, Interactions


@dataclass(frozen=True)
class HoldoutTruth:
    """Per holdout user (``users``, indices of the data set): targets and likes."""

    users: IntArray
    targets: sparse.csr_matrix
    likes: sparse.csr_matrix
    n_items: int


def holdout_truth(holdout: Interactions, *, like_at: float, long_at: float) -> HoldoutTruth:
    """The users of ``holdout`` with a target, and their targets and likes."""
    n_items = holdout.n_items
    summed = sparse.csr_matrix(
        (holdout.weights.astype(np.float64), (holdout.users, holdout.items)),
        shape=(holdout.n_users, n_items),
    )
    summed.sum_duplicates()
    targets = (summed >= long_at).astype(np.float32).tocsr()
    targets.eliminate_zeros()
    likes = (summed >= like_at).astype(np.float32).tocsr()
    likes.eliminate_zeros()
    users = np.flatnonzero(np.diff(targets.indptr) > 0).astype(np.int64)
    return HoldoutTruth(users, targets[users], likes[users], n_items)


def sampled(truth: HoldoutTruth, *, max_users: int, seed: int = 0) -> HoldoutTruth:
    """At most ``max_users`` of ``truth``'s users (a seeded sample, in index order)."""
    if truth.users.size <= max_users:
        return truth
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(truth.users.size, size=max_users, replace=False))
    return HoldoutTruth(truth.users[keep], truth.targets[keep], truth.likes[keep], truth.n_items)


def score_lists(top: IntArray, truth: HoldoutTruth) -> dict[str, float]:
    """Figures of ``top`` (one row of item indices per truth user, best first, ``-1``
    padding) against ``truth``."""
    if truth.users.size == 0:
        return {"users": 0}
    rows = np.arange(top.shape[0])[:, None]
    valid = top >= 0
    safe = np.where(valid, top, 0)
    hits = np.asarray(truth.targets[rows, safe].todense()).astype(bool) & valid
    liked = np.asarray(truth.likes[rows, safe].todense()).astype(bool) & valid
    n_targets = np.diff(truth.targets.indptr)
    k10 = min(10, top.shape[1])
    return {
        "users": int(truth.users.size),
        "ndcg@10": round(ndcg_at_k(hits, n_targets, k10), 5),
        "recall@20": round(recall_at_k(hits, n_targets, min(20, top.shape[1])), 5),
        "like_rate@10": round(float(liked[:, :k10].mean()), 5),
        "coverage@10": round(coverage(np.where(valid, top, -1)[:, :k10], truth.n_items, k10), 5),
    }


def padded(lists: list[list[int]], k: int) -> IntArray:
    """Lists of item indices as one ``(len(lists), k)`` array, ``-1`` past each list."""
    out = np.full((len(lists), k), -1, dtype=np.int64)
    for r, items in enumerate(lists):
        out[r, : min(k, len(items))] = items[:k]
    return out
