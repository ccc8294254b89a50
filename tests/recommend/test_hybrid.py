"""The blender: normalisation, cold/warm weighting, the feed page and its reasons."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from recommend_design import A_LIKES, COOKING, DANCE, FUNNY, MEME, N_ITEMS, NEW_VIDEO, NOW
from scipy import sparse

from recomind.recommend.base import Interactions, history_row
from recomind.recommend.blend import HISTORY_SCORE, normalise_rows
from recomind.recommend.hybrid import HybridRecommender
from recomind.weights import DEFAULT_ACTION_WEIGHTS as ACTION_WEIGHTS

FUNNY_OR_MEME = set(FUNNY) | set(MEME)
SMALL: dict[str, Any] = {
    "component_params": {
        "als": {"factors": 8, "iterations": 10, "random_state": 0, "num_threads": 1},
        "itemknn": {"k": 20, "shrinkage": 2.0},
        "userknn": {"k": 5},
    },
    "now": NOW,
}


@pytest.fixture(scope="module")
def hybrid(design: Interactions) -> HybridRecommender:
    return HybridRecommender(max_per_creator=0, max_per_tag=0, **SMALL).fit(design)


def _with(model: HybridRecommender, **params: Any) -> HybridRecommender:
    """A copy of ``model`` with other page parameters, sharing the fitted components."""
    args = {**model.get_params(), **params}
    clone = HybridRecommender(**args)
    clone.models = model.models
    clone.set_state(model.state())
    clone.n_items, clone.fitted = model.n_items, True
    return clone


def test_normalise_minmax_and_rank() -> None:
    s = np.array([[5.0, 1.0, 3.0, -np.inf], [2.0, 2.0, 2.0, 2.0]], dtype=np.float32)
    mm = normalise_rows(s.copy(), candidates=3)
    np.testing.assert_allclose(mm[0], [1.0, 0.0, 0.5, 0.0])
    np.testing.assert_allclose(mm[1], 0.0)
    rk = normalise_rows(s.copy(), candidates=3, method="rank")
    assert rk[0, 0] > rk[0, 2] > rk[0, 1] == 0.0
    np.testing.assert_allclose(rk[1], 0.0)


def test_top_list_mixes_content_and_collaborative(
    hybrid: HybridRecommender, history_a: sparse.csr_matrix
) -> None:
    top, _ = hybrid.recommend(history_a, 10)
    assert set(top.tolist()) & FUNNY_OR_MEME
    assert set(top.tolist()) & set(DANCE)
    assert not set(top.tolist()) & set(A_LIKES)


def test_history_items_score_lowest(
    hybrid: HybridRecommender, history_a: sparse.csr_matrix
) -> None:
    scores = hybrid.score(history_a)[0]
    assert np.all(scores[A_LIKES] == HISTORY_SCORE)
    assert scores.min() == HISTORY_SCORE
    others = np.delete(scores, A_LIKES)
    assert others.min() >= 0.0


def test_cold_and_warm_weights(hybrid: HybridRecommender) -> None:
    h = sparse.vstack(
        [
            sparse.csr_matrix((1, N_ITEMS), dtype=np.float32),
            history_row(range(30), None, N_ITEMS),
        ],
        format="csr",
    )
    w = hybrid.row_weights(h)
    assert w["popularity"][0] == pytest.approx(hybrid.cold_weights["popularity"])
    assert w["itemknn"][1] == pytest.approx(hybrid.warm_weights["itemknn"])
    assert w["popularity"][0] > w["popularity"][1]


def test_empty_history_gets_trending(hybrid: HybridRecommender) -> None:
    empty = sparse.csr_matrix((1, N_ITEMS), dtype=np.float32)
    top, _ = hybrid.recommend(empty, 5)
    pop = hybrid.models["popularity"]
    trending, _ = pop.recommend(empty, 5)
    assert top.tolist() == trending.tolist()
    page = hybrid.rank(empty, 5)
    assert all(r.source == "popularity" for r in page)
    assert all(r.reason.startswith("popular in #") for r in page)


def test_single_like_changes_a_new_users_feed(hybrid: HybridRecommender) -> None:
    empty = sparse.csr_matrix((1, N_ITEMS), dtype=np.float32)
    before = [r.item for r in hybrid.rank(empty, 10)]
    liked = history_row([FUNNY[0]], [ACTION_WEIGHTS["like"]], N_ITEMS)
    after = [r.item for r in hybrid.rank(liked, 10)]
    assert before != after
    assert FUNNY[0] not in after
    assert len(set(after) & FUNNY_OR_MEME) > len(set(before) & FUNNY_OR_MEME)


def test_excluded_and_seen_items_never_come_back(
    hybrid: HybridRecommender, history_a: sparse.csr_matrix
) -> None:
    first = [r.item for r in hybrid.rank(history_a, 10)]
    exclude = first[:5]
    second = [r.item for r in hybrid.rank(history_a, 10, exclude=exclude)]
    assert not set(second) & set(exclude)
    assert not set(second) & set(A_LIKES)
    skipped = history_row([*A_LIKES, DANCE[0]], [4.0] * 4 + [ACTION_WEIGHTS["skip"]], N_ITEMS)
    assert DANCE[0] not in [r.item for r in hybrid.rank(skipped, N_ITEMS)]


@pytest.mark.parametrize(("per_creator", "per_tag"), [(1, 0), (0, 2), (2, 3)])
def test_creator_and_tag_caps_hold(
    hybrid: HybridRecommender,
    design: Interactions,
    history_a: sparse.csr_matrix,
    per_creator: int,
    per_tag: int,
) -> None:
    capped = _with(hybrid, max_per_creator=per_creator, max_per_tag=per_tag)
    page = capped.rank(history_a, 10)
    assert page
    creators = Counter(design.item_creators[r.item] for r in page)
    tags = Counter(t for r in page for t in design.item_tags[r.item])
    if per_creator:
        assert max(creators.values()) <= per_creator
    if per_tag:
        assert max(tags.values()) <= per_tag
    uncapped = hybrid.rank(history_a, 10)
    if per_creator == 1:  # the uncapped page does repeat creators, so the cap did work
        assert max(Counter(design.item_creators[r.item] for r in uncapped).values()) > 1


def test_reasons_are_present_and_sensible(
    hybrid: HybridRecommender, design: Interactions, history_a: sparse.csr_matrix
) -> None:
    page = hybrid.rank(history_a, 15)
    assert len(page) == 15
    assert all(r.reason for r in page)
    assert np.all(np.diff([r.score for r in page]) <= 1e-6)
    for r in page:
        if r.source == "content":
            assert r.reason in {"because you liked #funny", "because you liked #meme"}
        if r.source == "itemknn":
            titles = {design.item_titles[i] for i in A_LIKES}
            assert any(r.reason == f"viewers of {t} also liked" for t in titles), r.reason
        if r.source in ("userknn", "als"):  # no evidence of their own: a tag the item has
            tags = design.item_tags[r.item]
            liked = {t for i in A_LIKES for t in design.item_tags[i]}
            assert any(
                r.reason in (f"because you liked #{t}", f"popular in #{t}")
                or (r.reason == f"something different: #{t}" and t not in liked)
                for t in tags
            ), r.reason
            if r.reason.startswith("because you liked #"):
                assert r.reason.removeprefix("because you liked #") in liked
        if r.source == "popularity":
            assert r.reason.startswith("popular in #")
    assert len({r.source for r in page}) >= 2


def test_freshness_boost_lifts_new_uploads(
    hybrid: HybridRecommender, history_a: sparse.csr_matrix
) -> None:
    boosted = _with(hybrid, freshness_boost=5.0)
    fresh = FUNNY[5]  # uploaded two hours ago, never watched
    plain_rank = [r.item for r in hybrid.rank(history_a, N_ITEMS)].index(fresh)
    boosted_rank = [r.item for r in boosted.rank(history_a, N_ITEMS)].index(fresh)
    assert boosted_rank < plain_rank
    factor = boosted.freshness()
    assert factor[fresh] > factor[COOKING[0]] == pytest.approx(1.0, abs=1e-3)
    assert factor[NEW_VIDEO] > 1.0


def test_recent_likes_lead_the_feed(hybrid: HybridRecommender) -> None:
    """A long-time cooking fan who just liked two funny videos: recency follows the switch."""
    items = FUNNY[:2][::-1] + COOKING[:6]  # newest first
    like = ACTION_WEIGHTS["like"]

    def funny_share(model: HybridRecommender) -> int:
        factors = model.recency_factors(np.arange(len(items)))
        page = model.rank(history_row(items, like * factors, N_ITEMS), 10)
        return sum(r.item in FUNNY_OR_MEME for r in page)

    flat = funny_share(_with(hybrid, recency_half_life=0.0))
    recent = funny_share(_with(hybrid, recency_half_life=1.0, recency_floor=0.05))
    assert recent > flat, (recent, flat)


def test_save_load_keeps_page(
    hybrid: HybridRecommender, history_a: sparse.csr_matrix, tmp_path: Path
) -> None:
    path = tmp_path / "hybrid.npz"
    hybrid.save(path)
    assert (tmp_path / "hybrid.als.npz").exists()
    loaded = HybridRecommender.load(path)
    assert loaded.rank(history_a, 10) == hybrid.rank(history_a, 10)


def test_unknown_component_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown hybrid components"):
        HybridRecommender(components=["popularity", "nope"])
