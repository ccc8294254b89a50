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


def audience_interactions(
    users: int = 120, items: int = 240, per_user: int = 30, seed: int = 0
) -> Interactions:
    """Users who each watch mostly 2 of 12 topics (a video's one tag), at their own usual
    hours of the day, weight 1 like the public data sets (a synthetic MovieLens)."""
    rng = np.random.default_rng(seed)
    topics = 12
    topic = rng.integers(0, topics, items)
    by_topic = [np.flatnonzero(topic == t) for t in range(topics)]
    rows: list[tuple[int, int, float]] = []
    for u in range(users):
        liked = rng.choice(topics, 2, replace=False)
        hour = int(rng.integers(0, 24))
        t = 1.6e9 + float(rng.integers(0, 86_400 * 30))
        seen: set[int] = set()
        while len(seen) < per_user:
            pool = by_topic[int(rng.choice(liked))] if rng.random() < 0.8 else np.arange(items)
            v = int(rng.choice(pool))
            if v in seen:
                continue
            seen.add(v)
            t += 86_400.0 if rng.random() < 0.2 else 600.0
            day = np.floor(t / 86_400.0) * 86_400.0
            rows.append((u, v, day + hour * 3600.0 + float(rng.integers(0, 3000))))
    ev = np.asarray(rows)
    order = np.lexsort((ev[:, 2], ev[:, 0]))
    ev = ev[order]
    return Interactions(
        user_ids=[f"u{u}" for u in range(users)],
        item_ids=[f"v{i}" for i in range(items)],
        users=ev[:, 0].astype(np.int64),
        items=ev[:, 1].astype(np.int64),
        weights=np.ones(len(ev), dtype=np.float32),
        timestamps=ev[:, 2],
        item_tags=[[f"t{topic[i]}"] for i in range(items)],
        item_titles=[f"Clip {i}" for i in range(items)],
    )
