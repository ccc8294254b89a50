"""Quick offline sanity check of ranking quality on synthetic data (not the real evaluation).

Temporal per-user holdout: each user's last ``--holdout`` share of positive events is the
test set; models are fitted on the rest and scored from the training history rows.
Prints NDCG@10 and Recall@20 per strategy (and hybrid variants). Use it to catch
regressions in the blend, not to claim results: the offline-evaluation harness owns that.

Usage::

    PYTHONPATH=src python -m bench.bench_quality --scale 0.02
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from typing import Any

import numpy as np
from scipy import sparse
from tests.utils.synthetic import make_synthetic

from recomind.recommend.base import Interactions, Recommender
from recomind.recommend.hybrid import HybridRecommender
from recomind.recommend.registry import build

logger = logging.getLogger("bench_quality")


def temporal_split(data: Interactions, holdout: float) -> tuple[Interactions, sparse.csr_matrix]:
    """Training interactions and a binary test matrix of each user's latest positives."""
    order = np.lexsort((data.timestamps, data.users))
    users = data.users[order]
    counts = np.bincount(users, minlength=data.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos_in_user = np.arange(len(order)) - starts[users]
    cut = np.floor(counts * (1.0 - holdout)).astype(np.int64)
    is_test = (pos_in_user >= cut[users]) & (counts[users] >= 5)
    test_idx, train_idx = order[is_test], order[~is_test]
    positive = data.weights[test_idx] > 0
    test = sparse.csr_matrix(
        (
            np.ones(int(positive.sum()), dtype=np.float32),
            (data.users[test_idx][positive], data.items[test_idx][positive]),
        ),
        shape=(data.n_users, data.n_items),
    )
    test.data[:] = 1.0
    train = Interactions(
        user_ids=data.user_ids,
        item_ids=data.item_ids,
        users=data.users[train_idx],
        items=data.items[train_idx],
        weights=data.weights[train_idx],
        timestamps=data.timestamps[train_idx],
        item_tags=data.item_tags,
        item_titles=data.item_titles,
        item_created=data.item_created,
        item_creators=data.item_creators,
    )
    return train, test


def evaluate(
    model: Recommender, train: sparse.csr_matrix, test: sparse.csr_matrix, batch: int = 500
) -> dict[str, float]:
    """Mean NDCG@10 and Recall@20 over users with test positives (train items excluded)."""
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    ndcg, recall = [], []
    disc = 1.0 / np.log2(np.arange(2, 12))
    for lo in range(0, len(users), batch):
        u = users[lo : lo + batch]
        h = train[u]
        s = model.score(h)
        rows = np.repeat(np.arange(len(u)), np.diff(h.indptr))
        s[rows, h.indices] = -np.inf
        top = np.argpartition(-s, 19, axis=1)[:, :20]
        vals = np.take_along_axis(s, top, axis=1)
        top = np.take_along_axis(top, np.argsort(-vals, axis=1, kind="stable"), axis=1)
        t = test[u]
        hits = np.asarray(t[np.arange(len(u))[:, None], top].toarray() > 0)
        n_rel = np.diff(t.indptr)
        idcg = np.array([disc[: min(k, 10)].sum() for k in n_rel])
        ndcg.extend((hits[:, :10] @ disc) / idcg)
        recall.extend(hits.sum(axis=1) / np.minimum(n_rel, 20))
    return {"ndcg@10": float(np.mean(ndcg)), "recall@20": float(np.mean(recall))}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--events-per-user", type=float, default=40.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    data = make_synthetic(
        max(200, int(50_000 * args.scale)),
        max(200, int(100_000 * args.scale)),
        max(2_000, int(50_000 * args.scale * args.events_per_user)),
        n_tags=200,
        seed=args.seed,
    )
    train, test = temporal_split(data, args.holdout)
    train_m = train.matrix()
    results: dict[str, Any] = {}
    fitted: dict[str, Recommender] = {}
    for name in ["popularity", "content", "itemknn", "userknn", "als"]:
        t = time.perf_counter()
        fitted[name] = build(name).fit(train)
        results[name] = evaluate(fitted[name], train_m, test)
        results[name]["seconds"] = round(time.perf_counter() - t, 2)
        print(name, results[name], flush=True)
    variants: dict[str, dict[str, Any]] = {
        "hybrid": {},
        "hybrid-rank": {"normalisation": "rank"},
        "hybrid-warm3": {"warm_after": 3.0},
        "hybrid-warm10": {"warm_after": 10.0},
        "hybrid-warm30": {"warm_after": 30.0},
        "hybrid-collab": {
            "warm_weights": {"itemknn": 1.0, "userknn": 0.5, "als": 1.0},
        },
    }
    for label, params in variants.items():
        model = HybridRecommender(**params).set_components(fitted, train)
        results[label] = evaluate(model, train_m, test)
        print(label, results[label], flush=True)
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
