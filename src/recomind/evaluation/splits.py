"""Evaluation protocols: which events a model learns from and which it must predict.

Two protocols, one per data set, both cutting each user's own timeline:

* **leave-last-out** (MicroLens-50k): the last item is the test target, the second-to-last the
  validation target, everything before is training. Users with fewer than 3 events stay
  wholly in training.
* **temporal** (MovieLens latest-small): the last 20 % of each user's events (at least one)
  are test targets, the last 10 % of the rest (at least one) validation targets. Users with
  fewer than 3 events stay wholly in training.

Tuning fits on ``train`` and is scored against ``validation``; the reported figures refit on
``train_val`` and are scored against ``test``. A user's history (the rows the model scores
from, and the items excluded from the ranking) is always exactly the fitting data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse

from recomind.recommend.base import IntArray, Interactions

logger = logging.getLogger(__name__)

Protocol = Literal["leave-last-out", "temporal"]

#: The protocol each data set is evaluated with.
PROTOCOLS: dict[str, Protocol] = {
    "microlens-50k": "leave-last-out",
    "movielens-small": "temporal",
}

MIN_EVENTS = 3


@dataclass(frozen=True)
class Targets:
    """Held-out items for the evaluated users.

    Parameters
    ----------
    users
        ``(n,)`` user indices being evaluated.
    matrix
        ``(n, n_items)`` binary CSR: row ``j`` marks the held-out items of ``users[j]``.
    """

    users: IntArray
    matrix: sparse.csr_matrix

    @property
    def n_targets(self) -> IntArray:
        counts: IntArray = np.diff(self.matrix.indptr).astype(np.int64)
        return counts

    def sample(self, n: int | None, seed: int = 0) -> Targets:
        """A seeded random subset of ``n`` users (all of them when ``n`` is ``None`` or larger)."""
        if n is None or n >= self.users.size:
            return self
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(self.users.size, size=n, replace=False))
        return Targets(self.users[rows], self.matrix[rows])


@dataclass(frozen=True)
class Split:
    """Train / validation / test cut of one data set."""

    protocol: Protocol
    train: Interactions
    train_val: Interactions
    validation: Targets
    test: Targets
    test_start: npt.NDArray[np.float64] | None = None
    """Per test user (``test.users`` order), the time of their first test event: when
    their feed is asked for (the learned ranker's hour of the day)."""


def subset(data: Interactions, mask: npt.NDArray[np.bool_]) -> Interactions:
    """The events selected by ``mask``; users, items and item side information unchanged."""
    return replace(
        data,
        users=data.users[mask],
        items=data.items[mask],
        weights=data.weights[mask],
        timestamps=data.timestamps[mask],
    )


def timeline_positions(data: Interactions) -> tuple[IntArray, IntArray, IntArray]:
    """Event order by (user, time, file order), each event's position and its user's count."""
    order = np.lexsort((np.arange(data.users.size), data.timestamps, data.users))
    users = data.users[order]
    counts = np.bincount(users, minlength=data.n_users).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.empty(users.size, dtype=np.int64)
    pos[order] = np.arange(users.size) - starts[users]
    return pos, counts[data.users], counts


def _targets(data: Interactions, mask: npt.NDArray[np.bool_]) -> Targets:
    users = np.unique(data.users[mask])
    row_of = np.full(data.n_users, -1, dtype=np.int64)
    row_of[users] = np.arange(users.size)
    m = sparse.csr_matrix(
        (
            np.ones(int(mask.sum()), dtype=np.float32),
            (row_of[data.users[mask]], data.items[mask]),
        ),
        shape=(users.size, data.n_items),
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return Targets(users.astype(np.int64), m)


def _masks(
    protocol: Protocol, pos: IntArray, n: IntArray
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    evaluable = n >= MIN_EVENTS
    if protocol == "leave-last-out":
        test = evaluable & (pos == n - 1)
        val = evaluable & (pos == n - 2)
    elif protocol == "temporal":
        n_test = np.maximum(1, np.floor(0.2 * n + 0.5)).astype(np.int64)
        rest = n - n_test
        n_val = np.maximum(1, np.floor(0.1 * rest + 0.5)).astype(np.int64)
        test = evaluable & (pos >= rest)
        val = evaluable & (pos >= rest - n_val) & (pos < rest)
    else:
        raise ValueError(f"unknown protocol {protocol!r}")
    return val, test


def split(data: Interactions, protocol: Protocol) -> Split:
    """Cut ``data`` per user along time according to ``protocol``.

    Parameters
    ----------
    data
        All events (any order; ties in time keep file order).
    protocol
        ``"leave-last-out"`` or ``"temporal"`` (see the module docstring).

    Returns
    -------
    Split
        Train and train+validation event sets, validation and test targets.
    """
    pos, n, _ = timeline_positions(data)
    val, test = _masks(protocol, pos, n)
    train = ~(val | test)
    test_targets = _targets(data, test)
    start = np.full(data.n_users, np.inf)
    np.minimum.at(start, data.users[test], data.timestamps[test])
    result = Split(
        protocol=protocol,
        train=subset(data, train),
        train_val=subset(data, ~test),
        validation=_targets(data, val),
        test=test_targets,
        test_start=start[test_targets.users],
    )
    logger.info(
        "%s split: %d train events, %d validation users, %d test users",
        protocol,
        int(train.sum()),
        result.validation.users.size,
        result.test.users.size,
    )
    return result


def sample_users(data: Interactions, n: int, seed: int = 0) -> Interactions:
    """Keep ``n`` random users and only the items they touched, re-indexed densely.

    Used by the quick variant (``--sample-users``); side information follows its items.
    """
    if n >= data.n_users:
        return data
    rng = np.random.default_rng(seed)
    keep_users = np.sort(rng.choice(data.n_users, size=n, replace=False))
    mask = np.isin(data.users, keep_users)
    keep_items = np.unique(data.items[mask])
    user_map = np.full(data.n_users, -1, dtype=np.int64)
    user_map[keep_users] = np.arange(keep_users.size)
    item_map = np.full(data.n_items, -1, dtype=np.int64)
    item_map[keep_items] = np.arange(keep_items.size)
    created = data.item_created
    return Interactions(
        user_ids=[data.user_ids[u] for u in keep_users],
        item_ids=[data.item_ids[i] for i in keep_items],
        users=user_map[data.users[mask]],
        items=item_map[data.items[mask]],
        weights=data.weights[mask],
        timestamps=data.timestamps[mask],
        item_tags=[data.item_tags[i] for i in keep_items],
        item_titles=[data.item_titles[i] for i in keep_items],
        item_created=None if created is None else created[keep_items],
        item_creators=[data.item_creators[i] for i in keep_items],
    )
