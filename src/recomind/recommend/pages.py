"""Feed pages from scored candidates: the freshness boost, best-first order, the caps.

Pure functions over arrays and lists. :func:`capped_pages` is the one routine that applies
the per-creator and per-tag caps, for every path: the hybrid's single page
(:meth:`~recomind.recommend.hybrid.HybridRecommender.rank`), its paged lists
(:func:`~recomind.recommend.batch_rank.rank_rows`), and, through :func:`page_order`, a serving
list of videos identified by creator and tag strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recomind.recommend.base import FloatArray, IntArray

#: Trending items added to a paged list's candidates, per requested item (page filler).
FILL_FACTOR = 2


def freshness_factor(
    created: npt.NDArray[np.float64], ref: float, *, boost: float, half_life_hours: float
) -> FloatArray:
    """Multiplicative freshness factor per item: ``1 + boost * 2 ** (-age / half_life)``.

    Parameters
    ----------
    created
        Upload time per item, unix seconds; ``nan`` (unknown) gets no boost.
    ref
        The reference time ("now"); items uploaded after it count as brand new.
    boost
        Relative boost of a just-uploaded item (``0.1`` = +10%).
    half_life_hours
        Hours after which the boost halves.

    Returns
    -------
    numpy.ndarray
        float32 factor per item, in ``[1, 1 + boost]``.
    """
    age_h = np.maximum(ref - created, 0.0) / 3600.0
    hl = max(half_life_hours, 1e-9)
    decay = np.where(np.isfinite(age_h), np.exp2(-np.nan_to_num(age_h) / hl), 0.0)
    return (1.0 + boost * decay).astype(np.float32)


@dataclass(frozen=True)
class PagePolicy:
    """How a list of ``n`` items is picked from a row's candidates.

    Parameters
    ----------
    n
        Items wanted.
    page
        Page size the caps apply to (``n``: one page).
    fill
        Trending items added to the candidates (what pages fall back on when caps bite).
    pool
        Best candidates the caps pick from first.
    grow
        Whether the pool grows (x4) while the caps leave the list short.
    short_page_ends
        Whether a page the caps leave short ends the list (else the next page goes on
        with what is left).
    """

    n: int
    page: int
    fill: int
    pool: int
    grow: bool
    short_page_ends: bool

    @classmethod
    def single_page(cls, n: int) -> PagePolicy:
        """One page of ``n`` under the caps (the hybrid's ``rank``)."""
        wide = max(4 * n, 64)
        return cls(n=n, page=n, fill=wide, pool=wide, grow=True, short_page_ends=True)

    @classmethod
    def paged(cls, n: int, page: int) -> PagePolicy:
        """``n`` items whose every page of ``page`` holds the caps (cached serving lists)."""
        return cls(
            n=n,
            page=max(1, page),
            fill=FILL_FACTOR * n,
            pool=max(8 * n, 512),
            grow=False,
            short_page_ends=False,
        )


def best_first(items: IntArray, total: FloatArray, pool: int) -> IntArray:
    """Positions of the ``pool`` best finite ``total`` values, best first (ties by item)."""
    cand = np.argpartition(-total, pool - 1)[:pool] if pool < total.size else np.arange(total.size)
    cand = cand[np.isfinite(total[cand])]
    order: IntArray = cand[np.lexsort((items[cand], -total[cand]))]
    return order


def capped_pages(
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
    """Positions in ``keys`` (best first) picked page by page under the caps.

    Each page of ``page`` items is a greedy, in-order pick from what earlier pages left:
    an item is skipped while its creator or one of its tags is at its cap on this page,
    and goes on to the next page. So every page respects the caps on its own.

    Parameters
    ----------
    keys
        Candidates, best first, as keys of ``creators`` and ``tags``.
    creators
        Creator code by key; negative: unknown, never capped.
    tags
        Distinct tag codes by key.
    n
        Items wanted in all.
    page
        Page size (at least 1).
    max_per_creator, max_per_tag
        Caps per page; ``0`` disables one.
    short_page_ends
        ``True``: a page that cannot be filled ends the list (later pages stay aligned to
        ``page``). ``False``: the next page starts from what is left.

    Returns
    -------
    list of int
        Positions in ``keys``, in page order.
    """
    remaining = list(range(len(keys)))
    chosen: list[int] = []
    while len(chosen) < n and remaining:
        want = min(page, n - len(chosen))
        per_creator: dict[int, int] = {}
        per_tag: dict[int, int] = {}
        full_creators: set[int] = set()  # creators / tags at their cap on this page
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


def pick(
    items: IntArray,
    total: FloatArray,
    policy: PagePolicy,
    *,
    creators: Sequence[int],
    tags: Sequence[Sequence[int]],
    max_per_creator: int,
    max_per_tag: int,
) -> list[int]:
    """Positions in ``items`` of the list ``policy`` picks by ``total`` under the caps.

    ``creators`` and ``tags`` are indexed by item; non-finite totals are never picked.
    """
    n_finite = int(np.isfinite(total).sum())
    pool = min(n_finite, policy.pool)
    while True:
        if pool <= 0:
            return []
        order = best_first(items, total, pool)
        chosen = capped_pages(
            items[order].tolist(),
            creators,
            tags,
            n=policy.n,
            page=policy.page,
            max_per_creator=max_per_creator,
            max_per_tag=max_per_tag,
            short_page_ends=policy.short_page_ends,
        )
        picked = [int(order[j]) for j in chosen]
        if not policy.grow or len(picked) >= policy.n or pool >= n_finite:
            return picked
        pool = min(n_finite, pool * 4)


def page_order(
    creator_ids: Sequence[str | None],
    tags: Sequence[Sequence[str]],
    *,
    page: int,
    max_per_creator: int,
    max_per_tag: int,
) -> list[int]:
    """Reorder a ranked list so every page of ``page`` respects the caps (``0``: no cap).

    The serving side's form of :func:`capped_pages`: items are described by creator id
    (empty or ``None``: unknown, never capped) and tags, in ranked order. An item that does
    not fit its page moves to the next page it fits; the list ends with the first page that
    cannot be filled (pages stay aligned), the rest is dropped.

    Returns
    -------
    list of int
        Positions of the kept items, in their new order.
    """
    creator_codes: dict[str, int] = {}
    tag_codes: dict[str, int] = {}
    codes = [creator_codes.setdefault(c, len(creator_codes)) if c else -1 for c in creator_ids]
    item_tags = [
        tuple(dict.fromkeys(tag_codes.setdefault(t, len(tag_codes)) for t in ts)) for ts in tags
    ]
    return capped_pages(
        range(len(codes)),
        codes,
        item_tags,
        n=len(codes),
        page=max(1, page),
        max_per_creator=max_per_creator,
        max_per_tag=max_per_tag,
        short_page_ends=True,
    )
