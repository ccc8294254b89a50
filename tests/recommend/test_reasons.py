"""Reasons on plain arrays: the main source of an item and the text it gives."""

from __future__ import annotations

import numpy as np

from recomind.recommend.base import Interactions, history_row
from recomind.recommend.catalogue import ItemCatalogue
from recomind.recommend.reasons import main_sources, popular_reasons, reasons


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


def test_fixed_and_fallback_texts() -> None:
    cat = _catalogue()
    h = history_row([1], [4.0], 4)
    got = reasons(["userknn", "als", "popularity"], [0, 2, 3], h, models={}, catalogue=cat)
    assert got == ["users like you liked this", "picked for you", "popular in #dogs"]
