"""Protocols: no leakage, validation before test in time, the stated sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recomind.evaluation.datasets import load_microlens, load_movielens
from recomind.evaluation.splits import Split, sample_users, split
from recomind.recommend.base import Interactions


def _pairs(data: Interactions) -> set[tuple[int, int]]:
    return set(zip(data.users.tolist(), data.items.tolist(), strict=True))


def _target_pairs(users: np.ndarray, matrix: object) -> set[tuple[int, int]]:
    coo = matrix.tocoo()  # type: ignore[attr-defined]
    return set(zip(users[coo.row].tolist(), coo.col.tolist(), strict=True))


def _assert_no_leakage(data: Interactions, s: Split) -> None:
    train, train_val = _pairs(s.train), _pairs(s.train_val)
    val = _target_pairs(s.validation.users, s.validation.matrix)
    test = _target_pairs(s.test.users, s.test.matrix)
    assert not test & train_val, "test items leak into train+validation"
    assert not val & train, "validation items leak into train"
    assert train_val == train | val
    assert len(train_val) + len(test) == len(_pairs(data))
    # validation precedes test, and training precedes validation, in each user's time
    last_time: dict[tuple[int, int], float] = {}
    for u, i, t in zip(
        data.users.tolist(), data.items.tolist(), data.timestamps.tolist(), strict=True
    ):
        last_time[(u, i)] = t
    max_train = {}
    for u, i in train:
        max_train[u] = max(max_train.get(u, -np.inf), last_time[(u, i)])
    min_test = {}
    for u, i in test:
        min_test[u] = min(min_test.get(u, np.inf), last_time[(u, i)])
    for u, i in val:
        assert last_time[(u, i)] <= min_test[u]
        assert last_time[(u, i)] >= max_train[u]


def test_leave_last_out_on_toy(toy: Interactions) -> None:
    s = split(toy, "leave-last-out")
    assert s.test.users.tolist() == [0, 1, 2]  # user 3 has 2 events: training only
    assert s.test.matrix.toarray().argmax(axis=1).tolist() == [3, 4, 4]
    assert s.validation.matrix.toarray().argmax(axis=1).tolist() == [2, 2, 3]
    assert s.test.n_targets.tolist() == [1, 1, 1]
    _assert_no_leakage(toy, s)


def test_temporal_on_toy(toy: Interactions) -> None:
    s = split(toy, "temporal")
    # 4 events: 1 test (round(0.8)), 1 validation (at least one) -> 2 train
    assert s.test.matrix[0].indices.tolist() == [3]
    assert s.validation.matrix[0].indices.tolist() == [2]
    _assert_no_leakage(toy, s)


def test_sample_users_reindexes(toy: Interactions) -> None:
    small = sample_users(toy, 2, seed=1)
    assert small.n_users == 2
    assert set(small.items.tolist()) == set(range(small.n_items))
    assert small.users.max() == 1


def test_movielens_temporal_split(movielens_dir: Path) -> None:
    data = load_movielens(movielens_dir).interactions
    s = split(data, "temporal")
    _assert_no_leakage(data, s)
    n = np.bincount(data.users, minlength=data.n_users)
    # last 20 % of each user's events are test targets (every user has >= 20 ratings)
    expected = np.maximum(1, np.floor(0.2 * n + 0.5))
    assert np.array_equal(s.test.n_targets, expected[s.test.users])
    assert s.test.users.size == data.n_users


def test_microlens_leave_last_out(microlens_dir: Path) -> None:
    data = load_microlens(microlens_dir).interactions
    s = split(data, "leave-last-out")
    assert s.test.users.size == s.validation.users.size == 50_000
    assert s.test.matrix.nnz == s.validation.matrix.nnz == 50_000
    # MicroLens has no repeated (user, item): the test item is never in the history
    hist = s.train_val.matrix()
    test = s.test.matrix
    assert hist[s.test.users].multiply(test).nnz == 0
    # user "1" watched 1958 6346 15223 17700 1707: 1707 is test, 17700 validation
    row = 0
    assert data.item_ids[test[row].indices[0]] == "1707"
    assert data.item_ids[s.validation.matrix[row].indices[0]] == "17700"
    assert s.train.matrix()[row].nnz == 3


def test_unknown_protocol(toy: Interactions) -> None:
    with pytest.raises(ValueError, match="unknown protocol"):
        split(toy, "random")  # type: ignore[arg-type]
