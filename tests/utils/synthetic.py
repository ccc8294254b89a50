"""Synthetic short-video catalogues for tests and benchmarks (vectorised, seeded)."""

from __future__ import annotations

import logging

import numpy as np

from recomind.recommend.base import Interactions
from recomind.weights import DEFAULT_ACTION_WEIGHTS

logger = logging.getLogger(__name__)

_WORDS = [
    "best",
    "fail",
    "cat",
    "dog",
    "trick",
    "easy",
    "quick",
    "epic",
    "funny",
    "wow",
    "new",
    "daily",
    "top",
    "live",
    "mini",
    "challenge",
    "recipe",
    "tutorial",
    "prank",
    "reaction",
    "highlights",
    "vlog",
    "music",
    "remix",
    "cover",
]


def make_synthetic(
    n_users: int = 1000,
    n_items: int = 2000,
    n_events: int = 40_000,
    n_tags: int = 200,
    *,
    taste_share: float = 0.7,
    days: float = 30.0,
    now: float = 1_750_000_000.0,
    seed: int = 0,
) -> Interactions:
    """A catalogue with power-law popularity and users with tag tastes.

    Every item has a primary tag (Zipf-distributed over ``n_tags``) and sometimes a
    second one; item popularity within and across tags follows a power law. Each user
    has one to three favourite tags; a ``taste_share`` of their events hit items of a
    favourite tag, the rest follow global popularity. Events are likes, views or skips
    (skips mostly outside the user's tastes), timestamped after the item's upload.

    Parameters
    ----------
    n_users, n_items, n_events, n_tags
        Sizes.
    taste_share
        Share of events drawn from the user's favourite tags.
    days
        Span of upload and event times before ``now``.
    now
        Reference "current" time, unix seconds.
    seed
        Random seed.

    Returns
    -------
    Interactions
        Events plus tags, titles, creators and upload times.
    """
    rng = np.random.default_rng(seed)
    tag_names = [f"tag{t}" for t in range(n_tags)]
    tag_p = 1.0 / np.arange(1, n_tags + 1) ** 0.8
    tag_p /= tag_p.sum()
    primary = np.sort(rng.choice(n_tags, size=n_items, p=tag_p))
    second = rng.integers(0, n_tags, size=n_items)
    has_second = rng.random(n_items) < 0.4
    pop = (1.0 / (rng.permutation(n_items) + 10.0) ** 1.0).astype(np.float64)

    # Within-tag cumulative popularity: key = tag + cumulative share in (0, 1].
    within = np.zeros(n_items)
    bounds = np.searchsorted(primary, np.arange(n_tags + 1))
    csum = np.cumsum(pop)
    start_sum = np.concatenate([[0.0], csum])[bounds[:-1]]
    end_sum = np.concatenate([[0.0], csum])[bounds[1:]]
    seg_total = np.maximum(end_sum - start_sum, 1e-300)
    within = (csum - start_sum[primary]) / seg_total[primary]
    key = primary + within
    has_items = bounds[1:] > bounds[:-1]
    global_cum = csum / csum[-1]

    # Users: activity is power-law; tastes are 1-3 tags that have items.
    activity = 1.0 / (rng.permutation(n_users) + 5.0) ** 0.6
    activity /= activity.sum()
    tag_with_items = np.flatnonzero(has_items)
    tp = tag_p[tag_with_items] / tag_p[tag_with_items].sum()
    tastes = rng.choice(tag_with_items, size=(n_users, 3), p=tp)
    n_tastes = rng.integers(1, 4, size=n_users)

    users = rng.choice(n_users, size=n_events, p=activity).astype(np.int64)
    by_taste = rng.random(n_events) < taste_share
    slot = (rng.random(n_events) * n_tastes[users]).astype(np.int64)
    ev_tag = tastes[users, slot]
    r = rng.random(n_events)
    taste_items = np.searchsorted(key, ev_tag + np.maximum(r, 1e-12), side="left")
    taste_items = np.minimum(taste_items, n_items - 1)
    global_items = np.minimum(np.searchsorted(global_cum, r, side="left"), n_items - 1)
    items = np.where(by_taste, taste_items, global_items).astype(np.int64)

    in_taste = (tastes[users] == primary[items][:, None]).any(axis=1)
    u = rng.random(n_events)
    like_p = np.where(in_taste, 0.3, 0.05)
    skip_p = np.where(in_taste, 0.05, 0.35)
    weights = np.where(
        u < like_p,
        DEFAULT_ACTION_WEIGHTS["like"],
        np.where(
            u < like_p + skip_p, DEFAULT_ACTION_WEIGHTS["skip"], DEFAULT_ACTION_WEIGHTS["view"]
        ),
    ).astype(np.float32)

    span = days * 86400.0
    created = now - rng.random(n_items) * span
    timestamps = created[items] + rng.random(n_events) * (now - created[items])

    words = np.asarray(_WORDS)
    w1 = words[rng.integers(0, len(words), size=n_items)]
    w2 = words[rng.integers(0, len(words), size=n_items)]
    item_tags = [
        [tag_names[p], tag_names[s]] if hs and s != p else [tag_names[p]]
        for p, s, hs in zip(primary.tolist(), second.tolist(), has_second.tolist(), strict=True)
    ]
    titles = [f"{a} {b} {tag_names[p]}" for a, b, p in zip(w1, w2, primary.tolist(), strict=True)]
    n_creators = max(1, n_items // 20)
    creator_of = rng.integers(0, n_creators, size=n_items)
    logger.info("synthetic: %d users, %d items, %d events", n_users, n_items, n_events)
    return Interactions(
        user_ids=[f"u{i}" for i in range(n_users)],
        item_ids=[f"v{i}" for i in range(n_items)],
        users=users,
        items=items,
        weights=weights,
        timestamps=timestamps.astype(np.float64),
        item_tags=item_tags,
        item_titles=titles,
        item_created=created.astype(np.float64),
        item_creators=[f"c{c}" for c in creator_of.tolist()],
    )
