"""Reasons on plain arrays: the main source of an item and the text it gives."""

from __future__ import annotations

import numpy as np

from recomind.recommend.base import Interactions, history_row
from recomind.recommend.catalogue import ItemCatalogue
from recomind.recommend.popularity import PopularityRecommender
from recomind.recommend.reasons import evidence_reasons, main_sources, popular_reasons, reasons


def _catalogue() -> ItemCatalogue:
    return ItemCatalogue.from_interactions(
        Interactions(
            user_ids=["u"],
            item_ids=["a", "b", "c", "d"],
            users=np.zeros(1, dtype=np.int64),
            items=np.zeros(1, dtype=np.int64),
            weights=np.ones(1, dtype=np.float32),
            timestamps=np.zeros(1),
            item_tags=[["cats", "dogs"], ["dogs"], [], ["cats", "dogs"]],
            item_titles=["A", "", "C", "D"],
            item_creators=["x", "", "x", "y"],
        )
    )


def test_main_source_is_the_largest_positive_part_else_popularity() -> None:
    parts = [
        ("popularity", np.array([0.1, 0.0, 0.0], dtype=np.float32)),
        ("itemknn", np.array([0.5, 0.0, 0.2], dtype=np.float32)),
        ("als", np.array([0.2, 0.0, 0.3], dtype=np.float32)),
    ]
    assert main_sources(parts, [0, 1, 2]) == ["itemknn", "popularity", "als"]
    assert main_sources(parts[1:], [1]) == ["itemknn"]  # no popularity to fall back to
    assert main_sources([], [4, 5]) == ["popularity", "popularity"]


def test_popular_reasons_prefer_the_tag_the_history_likes() -> None:
    cat = _catalogue()
    assert cat.tags == ["cats", "dogs"] and cat.creators.tolist() == [1, -1, 1, 2]
    cold = history_row([], None, 4)
    assert popular_reasons(cold, [0, 2], catalogue=cat) == ["popular in #cats", "trending now"]
    likes_dogs = history_row([1], [4.0], 4)
    assert popular_reasons(likes_dogs, [3], catalogue=cat) == ["popular in #dogs"]


def test_sources_without_evidence_name_a_tag_of_the_item() -> None:
    cat = _catalogue()
    h = history_row([1], [4.0], 4)  # liked b (#dogs)
    got = reasons(["userknn", "als", "popularity"], [0, 2, 3], h, models={}, catalogue=cat)
    # a, d (#cats #dogs): the tag the history liked (no popularity model: d's popularity is
    # unknown, so it is not claimed); c has no tags.
    assert got == ["because you liked #dogs", "picked for you", "because you liked #dogs"]


def test_popular_only_when_the_popularity_model_says_so() -> None:
    cat = _catalogue()
    events = Interactions(
        user_ids=["u"],
        item_ids=["a", "b", "c", "d"],
        users=np.zeros(2, dtype=np.int64),
        items=np.array([3, 3]),
        weights=np.ones(2, dtype=np.float32),
        timestamps=np.zeros(2),
    )
    popularity = PopularityRecommender(half_life_hours=0).fit(events)  # only d is popular
    cold = history_row([], None, 4)
    got = reasons(
        ["popularity"] * 3, [3, 0, 2], cold, models={"popularity": popularity}, catalogue=cat
    )
    assert got == ["popular in #cats", "something different: #cats", "picked for you"]


def test_evidence_reasons_never_claim_a_taste_the_history_lacks() -> None:
    cat = _catalogue()
    skipped_dogs = history_row([1], [-1.0], 4)  # a skip is no evidence of liking
    popular = np.array([0.0, 0.0, 1.0, 2.0], dtype=np.float32)
    got = evidence_reasons(skipped_dogs, [0, 2, 3], catalogue=cat, popular=popular)
    assert got == ["something different: #cats", "trending now", "popular in #cats"]
    assert evidence_reasons(skipped_dogs, [2], catalogue=cat) == ["picked for you"]
