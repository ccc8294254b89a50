"""What a feed page needs to know about each item: ids, titles, creators, tags, upload times.

The hybrid keeps one :class:`ItemCatalogue` (index order) for its pages: creators and tags
for the caps, upload times for the freshness boost, titles, ids and tags for the reasons.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from recomind.recommend._sparse import (
    csr_from_state,
    csr_state,
    strings_from_state,
    strings_state,
    tag_matrix,
)
from recomind.recommend.base import FloatArray, IntArray, Interactions
from recomind.recommend.pages import freshness_factor


class ItemCatalogue:
    """Per-item side information, with the per-item values pages reuse cached.

    Parameters
    ----------
    item_ids, titles
        External id and title per item (a title may be empty).
    creators
        Creator code per item; ``-1`` for an unknown creator (never capped).
    created
        Upload time per item, unix seconds (``nan`` when unknown).
    item_tags, tags
        Binary item x tag matrix and the tag vocabulary (without ``#``).
    """

    def __init__(
        self,
        *,
        item_ids: list[str],
        titles: list[str],
        creators: IntArray,
        created: npt.NDArray[np.float64],
        item_tags: sparse.csr_matrix,
        tags: list[str],
    ) -> None:
        self.item_ids = item_ids
        self.titles = titles
        self.creators = creators
        self.created = created
        self.item_tags = item_tags
        self.tags = tags
        self._freshness: tuple[tuple[float, float, float], FloatArray] | None = None
        self._cap_codes: tuple[list[int], list[tuple[int, ...]]] | None = None

    @classmethod
    def empty(cls) -> ItemCatalogue:
        """A catalogue of no items (an unfitted model's)."""
        return cls(
            item_ids=[],
            titles=[],
            creators=np.zeros(0, dtype=np.int64),
            created=np.zeros(0, dtype=np.float64),
            item_tags=sparse.csr_matrix((0, 0), dtype=np.float32),
            tags=[],
        )

    @classmethod
    def from_interactions(cls, data: Interactions) -> ItemCatalogue:
        """The items of ``data``; creators are coded by sorted id, unknown (``""``) as -1."""
        creators = np.asarray(data.item_creators, dtype=object)
        _, codes = np.unique(creators.astype(str), return_inverse=True)
        codes = codes.astype(np.int64)
        codes[creators == ""] = -1  # unknown creator: never capped
        assert data.item_created is not None
        item_tags, tags = tag_matrix(data.item_tags)
        return cls(
            item_ids=list(data.item_ids),
            titles=list(data.item_titles),
            creators=codes,
            created=np.asarray(data.item_created, dtype=np.float64),
            item_tags=item_tags,
            tags=tags,
        )

    def state(self) -> dict[str, npt.NDArray[Any]]:
        """Arrays to save (pickle-free); :meth:`from_state` reads them back."""
        return {
            "creators": self.creators,
            "created": self.created,
            **strings_state("item_ids", self.item_ids),
            **strings_state("titles", self.titles),
            **strings_state("tags", self.tags),
            **csr_state("item_tags", self.item_tags),
        }

    @classmethod
    def from_state(cls, arrays: dict[str, npt.NDArray[Any]]) -> ItemCatalogue:
        """Inverse of :meth:`state`."""
        return cls(
            item_ids=strings_from_state("item_ids", arrays),
            titles=strings_from_state("titles", arrays),
            creators=arrays["creators"].astype(np.int64),
            created=arrays["created"].astype(np.float64),
            item_tags=csr_from_state("item_tags", arrays),
            tags=strings_from_state("tags", arrays),
        )

    def cap_codes(self) -> tuple[list[int], list[tuple[int, ...]]]:
        """Per item, its creator code and tag codes as Python values (for the caps); cached."""
        if self._cap_codes is None:
            indptr, idx = self.item_tags.indptr, self.item_tags.indices.tolist()
            bounds = indptr.tolist()
            tags = [tuple(idx[bounds[i] : bounds[i + 1]]) for i in range(len(bounds) - 1)]
            self._cap_codes = (self.creators.tolist(), tags)
        return self._cap_codes

    def item_tag_codes(self, item: int) -> IntArray:
        """Tag codes (indices into :attr:`tags`) of ``item``."""
        indptr = self.item_tags.indptr
        return np.asarray(self.item_tags.indices[indptr[item] : indptr[item + 1]], dtype=np.int64)

    def freshness(self, ref: float, *, boost: float, half_life_hours: float) -> FloatArray:
        """:func:`~recomind.recommend.pages.freshness_factor` of every item (read-only).

        The last result is cached, so pages at the same reference time share it.
        """
        key = (ref, boost, half_life_hours)
        if self._freshness is not None and self._freshness[0] == key:
            return self._freshness[1]
        factor = freshness_factor(self.created, ref, boost=boost, half_life_hours=half_life_hours)
        factor.flags.writeable = False
        self._freshness = (key, factor)
        return factor

    def freshness_at(
        self, items: IntArray, ref: float, *, boost: float, half_life_hours: float
    ) -> FloatArray:
        """:meth:`freshness` of ``items`` only: from the cache when it holds ``ref``, else
        computed for these items alone (no catalogue-wide work)."""
        if self._freshness is not None and self._freshness[0][0] == ref:
            return self.freshness(ref, boost=boost, half_life_hours=half_life_hours)[items]
        created = self.created[items]
        return freshness_factor(created, ref, boost=boost, half_life_hours=half_life_hours)
