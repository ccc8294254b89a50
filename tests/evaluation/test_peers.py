"""Peers on synthetic data with a known answer, plus save/load round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from recomind.evaluation.peers import (
    EASE,
    PEERS,
    ImplicitALS,
    ImplicitBPR,
    ItemKNN,
    MostPopular,
)
from recomind.recommend.base import Interactions, Recommender


def blocks(n_users: int = 60, seed: int = 0) -> Interactions:
    """Two taste groups: users 0..n/2 watch items 0-4, the rest items 5-9; item 10 unseen."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(n_users):
        group = range(0, 5) if u < n_users // 2 else range(5, 10)
        for i in group:
            if rng.random() < 0.8:
                users.append(u)
                items.append(i)
    n = len(users)
    return Interactions(
        user_ids=[str(u) for u in range(n_users)],
        item_ids=[str(i) for i in range(11)],
        users=np.asarray(users, dtype=np.int64),
        items=np.asarray(items, dtype=np.int64),
        weights=np.ones(n, dtype=np.float32),
        timestamps=np.arange(n, dtype=np.float64),
    )


def history(items: list[int], n_items: int = 11) -> sparse.csr_matrix:
    return sparse.csr_matrix(
        (np.ones(len(items), dtype=np.float32), ([0] * len(items), items)), shape=(1, n_items)
    )


def _small(cls: type[Recommender]) -> Recommender:
    if cls is ImplicitALS:
        return ImplicitALS(factors=2, regularization=1.0, alpha=1.0, iterations=10, num_threads=1)
    if cls is ImplicitBPR:
        return ImplicitBPR(factors=2, iterations=200, learning_rate=0.05, num_threads=1)
    if cls is ItemKNN:
        return ItemKNN(k=5, block=4)
    if cls is EASE:
        return EASE(lam=1.0)
    return cls()


@pytest.mark.parametrize("cls", [ItemKNN, EASE, ImplicitALS, ImplicitBPR])
def test_personalised_peers_recommend_the_users_group(cls: type[Recommender]) -> None:
    model = _small(cls).fit(blocks(200))
    for seen, group in (([0, 1], set(range(5))), ([6, 7], set(range(5, 10)))):
        scores = model.score(history(seen))
        assert scores.shape == (1, 11) and scores.dtype == np.float32
        assert not np.isnan(scores).any()
        top, _ = model.recommend(history(seen), 2, exclude=seen)
        assert set(top.tolist()) <= group, f"{model.name} recommended {top} for history {seen}"


@pytest.mark.parametrize("cls", list(PEERS.values()))
def test_unknown_item_gets_minus_inf(cls: type[Recommender]) -> None:
    model = _small(cls).fit(blocks())
    assert model.score(history([0]))[0, 10] == -np.inf


def test_most_popular_counts() -> None:
    data = blocks()
    model = MostPopular().fit(data)
    counts = np.bincount(data.items, minlength=11)
    top, _ = model.recommend(history([]), 10)
    assert top[0] == int(np.argmax(counts))
    assert model.score(sparse.csr_matrix((3, 11), dtype=np.float32)).shape == (3, 11)


def test_itemknn_without_support_is_short() -> None:
    model = ItemKNN(k=3, block=3).fit(blocks())
    top, _ = model.recommend(history([0]), 10, exclude=[0])
    assert 0 < len(top) < 10  # only items with item 0 among their neighbours are scored
    assert set(top.tolist()) <= set(range(5))
    top, _ = model.recommend(history([10]), 10)  # an item nobody else watched: nothing
    assert len(top) == 0


def test_ease_weights_have_zero_diagonal() -> None:
    model = EASE(lam=10.0).fit(blocks())
    assert np.allclose(np.diag(model.weights), 0.0)
    assert model.weights.dtype == np.float32


def test_bpr_folds_in_an_unseen_history() -> None:
    model = ImplicitBPR(factors=2, iterations=200, num_threads=1).fit(blocks(200))
    top, _ = model.recommend(history([0, 1, 2]), 2, exclude=[0, 1, 2])  # no user has exactly this
    assert set(top.tolist()) <= set(range(5))


@pytest.mark.parametrize("cls", [MostPopular, ItemKNN, EASE, ImplicitALS, ImplicitBPR])
def test_save_load_round_trip(cls: type[Recommender], tmp_path: Path) -> None:
    model = _small(cls).fit(blocks(200))
    path = tmp_path / f"{model.name}.npz"
    model.save(path)
    loaded = cls.load(path)
    h = history([5, 6])
    if cls is ImplicitBPR:  # loaded BPR has no training rows: it folds in, same top group
        top, _ = loaded.recommend(h, 2, exclude=[5, 6])
        assert set(top.tolist()) <= set(range(5, 10))
    else:
        np.testing.assert_allclose(loaded.score(h), model.score(h), rtol=1e-5)


def test_ease_matches_the_closed_form() -> None:
    data = blocks()
    model = EASE(lam=5.0).fit(data)
    x = (data.matrix().toarray() > 0).astype(np.float64)[:, :10]  # item 10 is unknown
    p = np.linalg.inv(x.T @ x + 5.0 * np.eye(10))
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    np.testing.assert_allclose(model.weights, b, rtol=1e-3, atol=1e-5)
