"""Shared fixtures: the real data sets (skipped with a reason when absent) and a toy data set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recomind.evaluation.datasets import MICROLENS_DIR, MOVIELENS_DIR, default_data_dir
from recomind.recommend.base import Interactions


def _data_dir(sub: str) -> Path:
    root = default_data_dir()
    if not (root / sub).is_dir():
        pytest.skip(
            f"{root / sub} is absent: set RECOMIND_DATA_DIR to the folder holding {sub}/ "
            "(CI has it in ../shared/datasets)"
        )
    return root


@pytest.fixture(scope="session")
def movielens_dir() -> Path:
    return _data_dir(MOVIELENS_DIR)


@pytest.fixture(scope="session")
def microlens_dir() -> Path:
    return _data_dir(MICROLENS_DIR)


def toy_interactions() -> Interactions:
    """Four users, five items, timestamps in watch order; user 3 has only two events."""
    events = [
        (0, 0, 1),
        (0, 1, 2),
        (0, 2, 3),
        (0, 3, 4),
        (1, 1, 5),
        (1, 2, 6),
        (1, 4, 7),
        (2, 0, 8),
        (2, 2, 9),
        (2, 3, 10),
        (2, 4, 11),
        (3, 0, 12),
        (3, 1, 13),
    ]
    u, i, t = (np.asarray(c) for c in zip(*events, strict=True))
    return Interactions(
        user_ids=[f"u{k}" for k in range(4)],
        item_ids=[f"i{k}" for k in range(5)],
        users=u.astype(np.int64),
        items=i.astype(np.int64),
        weights=np.ones(u.size, dtype=np.float32),
        timestamps=t.astype(np.float64),
    )


@pytest.fixture
def toy() -> Interactions:
    return toy_interactions()
