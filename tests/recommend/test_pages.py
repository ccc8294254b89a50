"""Page building on plain arrays: freshness, best-first order and the one cap routine."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from tests.utils.synthetic import make_synthetic

from recomind.recommend.hybrid import HybridRecommender
from recomind.recommend.pages import (
    PagePolicy,
    best_first,
    capped_pages,
    freshness_factor,
    page_order,
)

# Ten candidates, best first: creators (-1 unknown) and tag codes by key.
CREATORS = [0, 0, 0, 1, -1, -1, -1, 1, 2, 2]
TAGS = [(0,), (0,), (1,), (0,), (0, 1), (2,), (2,), (), (1,), (2,)]
KEYS = list(range(10))


def _caps(**kw: int | bool) -> list[int]:
    args = {"n": 10, "page": 10, "max_per_creator": 2, "max_per_tag": 2, "short_page_ends": True}
    args.update(kw)
    return capped_pages(KEYS, CREATORS, TAGS, **args)  # type: ignore[arg-type]


def test_one_page_skips_items_over_a_cap_and_unknown_creators_are_free() -> None:
    # 2: creator 0 full after 0, 1; 3: tag 0 full after 0, 1; 4: tag 0 full; 5, 6: unknown
    # creator, tag 2 (now full); 7: creator 1 once; 8: tag 1 (2nd); 9: tag 2 full.
    assert _caps() == [0, 1, 5, 6, 7, 8]
    assert _caps(max_per_creator=0, max_per_tag=0) == KEYS
    assert _caps(max_per_creator=1, max_per_tag=0) == [0, 3, 4, 5, 6, 8]
    assert _caps(n=3) == [0, 1, 5]


def test_every_page_holds_the_caps_on_its_own() -> None:
    paged = _caps(page=4, short_page_ends=False)
    assert paged == [0, 1, 5, 6, 2, 3, 4, 7, 8, 9]
    for p in range(0, len(paged), 4):
        page = paged[p : p + 4]
        for creator in {CREATORS[k] for k in page} - {-1}:
            assert sum(CREATORS[k] == creator for k in page) <= 2
        for tag in {t for k in page for t in TAGS[k]}:
            assert sum(tag in TAGS[k] for k in page) <= 2


def test_a_short_page_ends_the_list_only_when_asked() -> None:
    # Tags at most once per page of 4: page 1 is 0, 2, 5, 7; page 2 gets 1, 6, 8 and no
    # fourth (3, 4 carry tag 0 and 9 tag 2, taken), so it is short.
    kw = {"page": 4, "max_per_creator": 0, "max_per_tag": 1}
    assert _caps(short_page_ends=True, **kw) == [0, 2, 5, 7, 1, 6, 8]
    # Otherwise page 3 goes on from what is left: 3, 9 (4 has tag 0 again), then 4.
    assert _caps(short_page_ends=False, **kw) == [0, 2, 5, 7, 1, 6, 8, 3, 9, 4]


def test_page_order_pins_the_serving_caps() -> None:
    # The serving list of tests/serving/test_model_ranker.py: creators c0..c2 in turn,
    # tag "a" on every fifth video, "b" on the others; expected orders are those of
    # ModelRanker's cap_pages on the same list.
    creators = [f"c{i % 3}" for i in range(30)]
    tags = [["a"] if i % 5 == 0 else ["b"] for i in range(30)]

    def order(page: int, per_creator: int, per_tag: int) -> list[int]:
        return page_order(
            creators, tags, page=page, max_per_creator=per_creator, max_per_tag=per_tag
        )

    assert order(5, 2, 3) == [0, 1, 2, 3, 5, 4, 6, 7, 15, 20, 8, 9, 10, 11, 25, 12, 13, 14]
    assert order(5, 1, 0) == [0, 1, 2]
    assert order(4, 0, 1) == [0, 1]
    assert order(10, 2, 3) == [0, 1, 2, 3, 5, 10]
    assert order(5, 0, 0) == list(range(30))


def test_page_order_counts_a_repeated_tag_once_and_never_caps_unknown_creators() -> None:
    creators = [None, "", None, "x", "x", "x"]
    tags = [["a", "a"], ["b"], ["c"], ["d"], ["e"], ["f"]]
    assert page_order(creators, tags, page=6, max_per_creator=2, max_per_tag=1) == [
        0,
        1,
        2,
        3,
        4,
    ]


def test_best_first_breaks_ties_by_item_and_drops_non_finite() -> None:
    items = np.array([9, 4, 7, 1, 3], dtype=np.int64)
    total = np.array([0.5, 0.9, 0.5, -np.inf, 0.9], dtype=np.float32)
    assert best_first(items, total, 5).tolist() == [4, 1, 2, 0]
    assert best_first(items, total, 2).tolist() == [4, 1]


def test_freshness_factor_by_hand() -> None:
    created = np.array([1000.0, 1000.0 - 7200.0, np.nan, 5000.0])
    got = freshness_factor(created, 1000.0, boost=0.5, half_life_hours=2.0)
    assert got.dtype == np.float32
    assert got.tolist() == pytest.approx([1.5, 1.25, 1.0, 1.5])


def test_policies() -> None:
    assert PagePolicy.single_page(10) == PagePolicy(10, 10, 64, 64, True, True)
    assert PagePolicy.single_page(30) == PagePolicy(30, 30, 120, 120, True, True)
    assert PagePolicy.paged(100, 20) == PagePolicy(100, 20, 200, 800, False, False)
    assert PagePolicy.paged(10, 0).page == 1


def test_rank_is_the_single_page_policy() -> None:
    data = make_synthetic(n_users=80, n_items=60, n_events=1500, n_tags=6, seed=2)
    model = HybridRecommender(components=["popularity", "itemknn"]).fit(data)
    h = sparse.csr_matrix(np.eye(1, model.n_items, 3, dtype=np.float32))
    [page] = model.pages(h, PagePolicy.single_page(7), excludes=[[5, 6]])
    assert model.rank(h, 7, exclude=[5, 6]) == page
    # Three creators, at most two videos each: the caps cut the page to six.
    assert len(set(data.item_creators)) == 3
    assert len(page) == 6 and not {3, 5, 6} & {r.item for r in page}
