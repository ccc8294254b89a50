"""The array cap routine picks exactly what the greedy, item-by-item loop it replaced picks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from recomind.recommend.pages import CapCodes, capped_pages


def greedy_pages(
    keys: Sequence[int],
    creators: Sequence[int],
    tags: Sequence[Sequence[int]],
    *,
    n: int,
    page: int,
    max_per_creator: int,
    max_per_tag: int,
    short_page_ends: bool,
) -> list[int]:
    """The former ``capped_pages``: one page at a time, one candidate at a time."""
    remaining = list(range(len(keys)))
    chosen: list[int] = []
    while len(chosen) < n and remaining:
        want = min(page, n - len(chosen))
        per_creator: dict[int, int] = {}
        per_tag: dict[int, int] = {}
        full_creators: set[int] = set()
        full_tags: set[int] = set()
        picked: list[int] = []
        left: list[int] = []
        for k, j in enumerate(remaining):
            if len(picked) >= want:
                left.extend(remaining[k:])
                break
            key = keys[j]
            creator = creators[key]
            item_tags = tags[key]
            if creator in full_creators or not full_tags.isdisjoint(item_tags):
                left.append(j)
                continue
            picked.append(j)
            if creator >= 0 and max_per_creator > 0:
                count = per_creator.get(creator, 0) + 1
                per_creator[creator] = count
                if count >= max_per_creator:
                    full_creators.add(creator)
            if max_per_tag > 0:
                for t in item_tags:
                    count = per_tag.get(t, 0) + 1
                    per_tag[t] = count
                    if count >= max_per_tag:
                        full_tags.add(t)
        if not picked:
            break
        chosen += picked
        if short_page_ends and len(picked) < want:
            break
        remaining = left
    return chosen


@st.composite
def catalogues(draw: st.DrawFn) -> tuple[list[int], list[int], list[tuple[int, ...]]]:
    """A few items with creators (-1: unknown) and distinct tags; keys, some repeated."""
    n_items = draw(st.integers(1, 40))
    n_creators = draw(st.integers(1, 6))
    n_tags = draw(st.integers(1, 6))
    creators = draw(st.lists(st.integers(-1, n_creators - 1), min_size=n_items, max_size=n_items))
    tags = draw(
        st.lists(
            st.sets(st.integers(0, n_tags - 1), max_size=3).map(lambda s: tuple(sorted(s))),
            min_size=n_items,
            max_size=n_items,
        )
    )
    keys = draw(st.lists(st.integers(0, n_items - 1), max_size=60))
    return keys, creators, tags


@settings(max_examples=400, deadline=None)
@given(
    catalogues(),
    st.integers(0, 70),
    st.integers(1, 12),
    st.integers(0, 3),
    st.integers(0, 4),
    st.booleans(),
)
def test_the_array_caps_pick_what_the_greedy_loop_picks(
    catalogue: tuple[list[int], list[int], list[tuple[int, ...]]],
    n: int,
    page: int,
    per_creator: int,
    per_tag: int,
    short_page_ends: bool,
) -> None:
    keys, creators, tags = catalogue
    kw = {
        "n": n,
        "page": page,
        "max_per_creator": per_creator,
        "max_per_tag": per_tag,
        "short_page_ends": short_page_ends,
    }
    expected = greedy_pages(keys, creators, tags, **kw)  # type: ignore[arg-type]
    assert capped_pages(keys, creators, tags, **kw) == expected  # type: ignore[arg-type]
    codes = CapCodes.from_lists(creators, tags)
    assert capped_pages(np.asarray(keys, dtype=np.int64), codes, **kw) == expected  # type: ignore[arg-type]


def test_long_runs_of_one_creator_and_tag_settle() -> None:
    # 300 candidates: creator i // 50, tag i % 7, a long chain of dependent decisions.
    creators = [i // 50 for i in range(300)]
    tags = [(i % 7,) for i in range(300)]
    keys = list(range(300))
    for page, short in ((10, True), (20, False), (300, False)):
        kw = {"n": 120, "page": page, "max_per_creator": 3, "max_per_tag": 2}
        assert capped_pages(keys, creators, tags, short_page_ends=short, **kw) == greedy_pages(
            keys, creators, tags, short_page_ends=short, **kw
        )
