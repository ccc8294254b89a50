"""Feed pages from scored candidates: the freshness boost, best-first order, the caps.

Pure functions over arrays and lists. :func:`capped_pages` is the one routine that applies
the per-creator and per-tag caps, for every path: the hybrid's single page
(:meth:`~recomind.recommend.hybrid.HybridRecommender.rank`), its paged lists
(:func:`~recomind.recommend.batch_rank.rank_rows`), and, through :func:`page_order`, a serving
list of videos identified by creator and tag strings.
"""

from __future__ import annotations

import itertools
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


@dataclass(frozen=True)
class CapCodes:
    """Creator and tag codes by key, as arrays (what :func:`capped_pages` reads).

    Parameters
    ----------
    creators
        Creator code by key; negative: unknown, never capped.
    tag_indptr, tag_indices
        Distinct tag codes of key ``k``: ``tag_indices[tag_indptr[k]:tag_indptr[k + 1]]``
        (the layout of a CSR matrix's rows).
    """

    creators: IntArray
    tag_indptr: IntArray
    tag_indices: IntArray

    @classmethod
    def from_lists(cls, creators: Sequence[int], tags: Sequence[Sequence[int]]) -> CapCodes:
        """Codes from Python lists: a creator code and distinct tag codes per key."""
        lens = np.fromiter((len(t) for t in tags), dtype=np.int64, count=len(tags))
        indptr = np.zeros(len(tags) + 1, dtype=np.int64)
        np.cumsum(lens, out=indptr[1:])
        indices = np.fromiter(
            itertools.chain.from_iterable(tags), dtype=np.int64, count=int(indptr[-1])
        )
        return cls(np.asarray(creators, dtype=np.int64).reshape(-1), indptr, indices)


@dataclass(frozen=True)
class _Uses:
    """Which capped creator / tag ("resource") each candidate uses, grouped by resource.

    ``pos[o]`` is the candidate of use ``o`` and ``cap[o]`` its resource's cap; uses are
    sorted by resource, then candidate, and ``start[o]`` is where ``o``'s resource begins.
    """

    pos: IntArray
    cap: IntArray
    start: IntArray

    @classmethod
    def of(cls, keys: IntArray, codes: CapCodes, max_per_creator: int, max_per_tag: int) -> _Uses:
        m = keys.size
        pos: list[IntArray] = []
        res: list[IntArray] = []
        caps: list[IntArray] = []
        creators = codes.creators[keys]
        offset = int(creators.max()) + 1 if m else 0
        if max_per_creator > 0:
            known = np.flatnonzero(creators >= 0)
            pos.append(known)
            res.append(creators[known])
            caps.append(np.full(known.size, max_per_creator, dtype=np.int64))
        if max_per_tag > 0:
            first = codes.tag_indptr[keys]
            lens = codes.tag_indptr[keys + 1] - first
            total = int(lens.sum())
            at = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lens) - lens - first, lens)
            pos.append(np.repeat(np.arange(m, dtype=np.int64), lens))
            res.append(codes.tag_indices[at].astype(np.int64) + max(offset, 0))
            caps.append(np.full(total, max_per_tag, dtype=np.int64))
        p = np.concatenate(pos) if pos else np.empty(0, dtype=np.int64)
        r = np.concatenate(res) if res else np.empty(0, dtype=np.int64)
        c = np.concatenate(caps) if caps else np.empty(0, dtype=np.int64)
        order = np.lexsort((p, r))
        p, r, c = p[order], r[order], c[order]
        new = np.ones(r.size, dtype=bool)
        new[1:] = r[1:] != r[:-1]
        firsts = np.flatnonzero(new)
        start = np.repeat(firsts, np.diff(np.append(firsts, r.size)))
        return cls(p, c, start)

    def at_cap(self, counted: npt.NDArray[np.bool_], m: int) -> npt.NDArray[np.bool_]:
        """Per candidate: whether one of its resources has ``cap`` ``counted`` candidates
        before it."""
        ind = counted[self.pos].astype(np.int64)
        before = np.cumsum(ind) - ind
        before -= before[self.start]
        out = np.zeros(m, dtype=bool)
        out[self.pos[before >= self.cap]] = True
        return out


def _page(uses: _Uses, alive: npt.NDArray[np.bool_], want: int) -> IntArray:
    """The greedy, in-order pick of ``want`` of the ``alive`` candidates under the caps.

    An alive candidate is picked iff none of its resources already has ``cap`` picked
    candidates before it. That depends on earlier candidates only, so it is settled in
    rounds: a candidate is surely picked once even every still-possible earlier one leaves
    it under every cap, surely skipped once the surely picked ones fill a cap; the first
    unsettled candidate always settles, and most settle in the first two rounds.
    """
    m = alive.size
    # 0: unsettled, 1: picked, 2: skipped, 3: not on this page's list.
    status = np.where(alive, 0, 3).astype(np.int8)
    while True:
        unsettled = status == 0
        if not unsettled.any():
            break
        first = int(np.argmax(unsettled))
        if int(np.count_nonzero(status[:first] == 1)) >= want:
            break  # the page is full before anything still open
        skip = uses.at_cap(status == 1, m)
        maybe = uses.at_cap(status <= 1, m)
        status[unsettled & skip] = 2
        status[unsettled & ~maybe] = 1
    picked: IntArray = np.flatnonzero(status == 1)[:want]
    return picked


def capped_pages(
    keys: npt.ArrayLike,
    creators: Sequence[int] | CapCodes,
    tags: Sequence[Sequence[int]] | None = None,
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
        Creator code by key (negative: unknown, never capped), or the :class:`CapCodes`
        of both (``tags`` then ``None``).
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
    codes = (
        creators if isinstance(creators, CapCodes) else CapCodes.from_lists(creators, tags or [])
    )
    k = np.asarray(keys, dtype=np.int64).reshape(-1)
    m = k.size
    if m == 0 or n <= 0:
        return []
    if max_per_creator <= 0 and max_per_tag <= 0:
        return list(range(min(n, m)))
    uses = _Uses.of(k, codes, max_per_creator, max_per_tag)
    alive = np.ones(m, dtype=bool)
    chosen: list[int] = []
    while len(chosen) < n and alive.any():
        want = min(page, n - len(chosen))
        picked = _page(uses, alive, want)
        if not picked.size:
            break
        chosen += picked.tolist()
        if short_page_ends and picked.size < want:
            break
        alive[picked] = False
    return chosen


def pick(
    items: IntArray,
    total: FloatArray,
    policy: PagePolicy,
    *,
    codes: CapCodes,
    max_per_creator: int,
    max_per_tag: int,
) -> list[int]:
    """Positions in ``items`` of the list ``policy`` picks by ``total`` under the caps.

    ``codes`` are indexed by item; non-finite totals are never picked.
    """
    n_finite = int(np.isfinite(total).sum())
    pool = min(n_finite, policy.pool)
    while True:
        if pool <= 0:
            return []
        order = best_first(items, total, pool)
        chosen = capped_pages(
            items[order],
            codes,
            n=policy.n,
            page=policy.page,
            max_per_creator=max_per_creator,
            max_per_tag=max_per_tag,
            short_page_ends=policy.short_page_ends,
        )
        picked: list[int] = order[np.asarray(chosen, dtype=np.int64)].tolist()
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
