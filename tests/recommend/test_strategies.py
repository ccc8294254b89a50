"""Known answers of each single strategy on the design catalogue."""

from __future__ import annotations

import numpy as np
import pytest
from recommend_design import (
    A_LIKES,
    COOKING,
    DANCE,
    FUNNY,
    HOUR,
    MEME,
    N_ITEMS,
    NEW_VIDEO,
    NOW,
    SPORTS,
)
from scipy import sparse

from recomind.recommend.als import ALSRecommender
from recomind.recommend.base import Interactions, history_row
from recomind.recommend.content import ContentRecommender
from recomind.recommend.itemknn import ItemKNNRecommender
from recomind.recommend.popularity import PopularityRecommender
from recomind.recommend.userknn import UserKNNRecommender
from recomind.weights import DEFAULT_ACTION_WEIGHTS as ACTION_WEIGHTS

FUNNY_OR_MEME = set(FUNNY) | set(MEME)


# -- popularity ------------------------------------------------------------------------------


def test_single_like_on_new_video_does_not_top_the_chart(design: Interactions) -> None:
    pop = PopularityRecommender(half_life_hours=72.0, min_users=5.0, now=NOW).fit(design)
    top, _ = pop.trending(5)
    assert NEW_VIDEO not in top.tolist()
    # ... although its raw decayed weight per user is as high as any item's.
    assert pop.scores_[NEW_VIDEO] < pop.scores_[COOKING[1]]


def test_without_guard_the_new_video_would_rank_higher(design: Interactions) -> None:
    guarded = PopularityRecommender(min_users=5.0, now=NOW).fit(design)
    unguarded = PopularityRecommender(min_users=0.0, now=NOW).fit(design)
    rank_g = int(np.sum(guarded.scores_ > guarded.scores_[NEW_VIDEO]))
    rank_u = int(np.sum(unguarded.scores_ > unguarded.scores_[NEW_VIDEO]))
    assert rank_u < rank_g


def _two_items(recent_first: bool) -> Interactions:
    # Item 0: 5 likes long ago; item 1: 5 likes recently (or swapped).
    old, new = NOW - 500 * HOUR, NOW - 2 * HOUR
    t0, t1 = (new, old) if recent_first else (old, new)
    users = np.arange(10, dtype=np.int64)
    return Interactions(
        user_ids=[f"u{u}" for u in range(10)],
        item_ids=["a", "b"],
        users=users,
        items=np.repeat(np.array([0, 1], dtype=np.int64), 5),
        weights=np.full(10, ACTION_WEIGHTS["like"], dtype=np.float32),
        timestamps=np.repeat(np.array([t0, t1]), 5),
    )


@pytest.mark.parametrize("recent_first", [True, False])
def test_decay_makes_recent_activity_outrank_old(recent_first: bool) -> None:
    pop = PopularityRecommender(half_life_hours=24.0, now=NOW).fit(_two_items(recent_first))
    top, _ = pop.trending(1)
    assert top.tolist() == [0 if recent_first else 1]


def test_skips_count_against() -> None:
    data = Interactions(
        user_ids=[f"u{u}" for u in range(12)],
        item_ids=["a", "b"],
        users=np.arange(12, dtype=np.int64),
        items=np.array([0] * 6 + [1] * 6, dtype=np.int64),
        weights=np.array([1.0] * 6 + [1.0] * 4 + [-1.0] * 2, dtype=np.float32),
        timestamps=np.full(12, NOW),
    )
    pop = PopularityRecommender(now=NOW).fit(data)
    assert pop.scores_[0] > pop.scores_[1]


def test_trending_in_tag(design: Interactions) -> None:
    pop = PopularityRecommender(now=NOW).fit(design)
    items, scores = pop.trending_in_tag("#Dance", 5)
    assert len(items) == 5
    assert set(items.tolist()) <= set(DANCE)
    assert np.all(np.diff(scores) <= 0)
    assert len(pop.trending_in_tag("no-such-tag", 5)[0]) == 0


# -- content ---------------------------------------------------------------------------------


def test_content_suggests_funny_and_meme(
    design: Interactions, history_a: sparse.csr_matrix
) -> None:
    content = ContentRecommender().fit(design)
    top, _ = content.recommend(history_a, 6, exclude=A_LIKES)
    assert set(top.tolist()) <= FUNNY_OR_MEME
    assert content.explain_tag(history_a, int(top[0])) in {"funny", "meme"}


def test_content_reaches_cold_items(design: Interactions, history_a: sparse.csr_matrix) -> None:
    content = ContentRecommender().fit(design)
    cold = FUNNY[5]  # no interactions at all
    assert not np.isin(design.items, [cold]).any()
    scores = content.score(history_a)[0]
    assert scores[cold] > scores[DANCE].max()


def test_content_skips_push_down(design: Interactions) -> None:
    content = ContentRecommender().fit(design)
    likes = history_row([0], [ACTION_WEIGHTS["like"]], N_ITEMS)
    with_skips = history_row(
        [0, *DANCE[:3]], [ACTION_WEIGHTS["like"]] + [ACTION_WEIGHTS["skip"]] * 3, N_ITEMS
    )
    d_before = content.score(likes)[0][DANCE[5]]
    d_after = content.score(with_skips)[0][DANCE[5]]
    assert d_after < d_before


# -- collaborative ---------------------------------------------------------------------------


def test_itemknn_brings_dance(design: Interactions, history_a: sparse.csr_matrix) -> None:
    knn = ItemKNNRecommender(k=20, shrinkage=2.0).fit(design)
    top, _ = knn.recommend(history_a, 10, exclude=A_LIKES)
    assert set(top.tolist()) & set(DANCE)
    assert not set(top.tolist()) & (set(COOKING) | set(SPORTS))
    assert knn.explain(history_a, int(DANCE[1])) in A_LIKES


def test_itemknn_similar_items_and_sparsity(design: Interactions) -> None:
    knn = ItemKNNRecommender(k=5).fit(design)
    assert np.diff(knn.similarity_.indptr).max() <= 5
    assert knn.similarity_.diagonal().max() == 0.0
    items, sims = knn.similar_items(DANCE[0], 3)
    assert len(items) == 3
    assert DANCE[0] not in items.tolist()
    assert set(items.tolist()) <= FUNNY_OR_MEME | set(DANCE)
    assert np.all(np.diff(sims) <= 0)


def test_itemknn_small_blocks_match_one_block(design: Interactions) -> None:
    one = ItemKNNRecommender(k=10).fit(design)
    many = ItemKNNRecommender(k=10, block_products=50).fit(design)
    np.testing.assert_allclose(one.similarity_.toarray(), many.similarity_.toarray(), atol=1e-6)


def test_userknn_brings_dance(design: Interactions, history_a: sparse.csr_matrix) -> None:
    knn = UserKNNRecommender(k=5).fit(design)
    top, _ = knn.recommend(history_a, 10, exclude=A_LIKES)
    assert set(top.tolist()) & set(DANCE)
    assert not set(top.tolist()) & (set(COOKING) | set(SPORTS))


def test_als_brings_dance_for_unseen_user(
    design: Interactions, history_a: sparse.csr_matrix
) -> None:
    als = ALSRecommender(factors=8, iterations=10, random_state=0, num_threads=1).fit(design)
    scores = als.score(history_a)[0]
    assert scores[DANCE].mean() > scores[COOKING].mean()
    assert scores[DANCE].mean() > scores[SPORTS].mean()


def test_als_skips_push_down(design: Interactions) -> None:
    als = ALSRecommender(factors=8, iterations=10, random_state=0, num_threads=1).fit(design)
    base = history_row(A_LIKES, None, N_ITEMS)
    skipped = history_row(
        [*A_LIKES, DANCE[2]], [1.0] * len(A_LIKES) + [ACTION_WEIGHTS["skip"] * 5], N_ITEMS
    )
    assert als.score(skipped)[0][DANCE[2]] < als.score(base)[0][DANCE[2]]


def test_als_numpy_fold_in_matches_implicit(synthetic: Interactions) -> None:
    als = ALSRecommender(factors=8, iterations=5, random_state=0, num_threads=1).fit(synthetic)
    hist = synthetic.matrix()[:40]  # > SMALL_BATCH rows: implicit's solver
    batch = als.user_factors(hist)
    one_by_one = np.vstack([als.user_factors(hist[r]) for r in range(40)])  # numpy path
    np.testing.assert_allclose(batch, one_by_one, rtol=1e-3, atol=1e-4)
    # Fold-in of a training user lands near the vector ALS learnt for it.
    assert als._model is not None
    learnt = als._model.user_factors[:40]
    cos = np.sum(batch * learnt, axis=1) / (
        np.linalg.norm(batch, axis=1) * np.linalg.norm(learnt, axis=1) + 1e-9
    )
    assert np.median(cos) > 0.9
