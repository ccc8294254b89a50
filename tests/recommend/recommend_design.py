"""A hand-designed catalogue with known answers (shared by the recommend tests)."""

from __future__ import annotations

import numpy as np

from recomind.recommend.base import Interactions
from recomind.weights import DEFAULT_ACTION_WEIGHTS as ACTION_WEIGHTS

NOW = 1_750_000_000.0
HOUR = 3600.0

# Item layout of the design catalogue.
FUNNY = list(range(0, 6))
MEME = list(range(6, 12))
DANCE = list(range(12, 20))
COOKING = list(range(20, 28))
SPORTS = list(range(28, 36))
NEWS = list(range(36, 40))
NEW_VIDEO = 40  # uploaded an hour ago, one like
N_ITEMS = 41

#: User A (never seen at fit time) liked these funny / meme videos.
A_LIKES = [0, 1, 6, 7]


def _tags(i: int) -> list[str]:
    if i in FUNNY:
        return ["funny"]
    if i in MEME:
        return ["meme", "funny"] if i % 2 else ["meme"]
    if i in DANCE:
        return ["dance"]
    if i in COOKING or i == NEW_VIDEO:
        return ["cooking"]
    if i in SPORTS:
        return ["sports"]
    return ["news"]


def make_design() -> Interactions:
    """Catalogue where funny/meme fans also like dance; cooking fans like sports."""
    rng = np.random.default_rng(7)
    users: list[int] = []
    items: list[int] = []
    weights: list[float] = []
    times: list[float] = []

    def add(u: int, i: int, action: str, age_h: float) -> None:
        users.append(u)
        items.append(i)
        weights.append(ACTION_WEIGHTS[action])
        times.append(NOW - age_h * HOUR)

    # Users 0-11: funny + meme + dance fans.
    for u in range(12):
        for i in FUNNY[:4] + MEME[:4] + DANCE:
            if rng.random() < 0.75:
                add(u, i, "like" if rng.random() < 0.6 else "view", rng.uniform(1, 100))
        add(u, COOKING[0], "skip", 5)
    # Users 12-27: cooking + sports fans (the popular crowd).
    for u in range(12, 28):
        for i in COOKING[:6] + SPORTS:
            if rng.random() < 0.75:
                add(u, i, "like" if rng.random() < 0.6 else "view", rng.uniform(1, 100))
    # Users 28-31: news watchers who skip dance.
    for u in range(28, 32):
        for i in NEWS:
            add(u, i, "view", 10)
        add(u, DANCE[0], "skip", 10)
    # A brand-new cooking video with a single like, one hour old.
    add(12, NEW_VIDEO, "like", 1)

    created = np.full(N_ITEMS, NOW - 30 * 24 * HOUR)
    created[NEW_VIDEO] = NOW - HOUR
    created[FUNNY[5]] = NOW - 2 * HOUR  # a fresh, never-watched funny video (cold item)
    return Interactions(
        user_ids=[f"u{u}" for u in range(32)],
        item_ids=[f"v{i}" for i in range(N_ITEMS)],
        users=np.asarray(users, dtype=np.int64),
        items=np.asarray(items, dtype=np.int64),
        weights=np.asarray(weights, dtype=np.float32),
        timestamps=np.asarray(times, dtype=np.float64),
        item_tags=[_tags(i) for i in range(N_ITEMS)],
        item_titles=[f"{_tags(i)[0]} clip number {i}" for i in range(N_ITEMS)],
        item_created=created,
        item_creators=[f"creator{i // 4}" for i in range(N_ITEMS)],
    )
