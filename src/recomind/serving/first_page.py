"""A list just computed, as the bytes a cache hit on it would send (``RecommendationService``)."""

from __future__ import annotations

from collections.abc import Sequence

from recomind.schemas import RecommendedVideo
from recomind.serving import list_codec
from recomind.serving.video_cards import card


def triples(items: Sequence[RecommendedVideo]) -> list[tuple[str, float, str]]:
    return [(i.video_id, i.score, i.reason) for i in items]


def first_page(
    items: Sequence[RecommendedVideo], n: int, source: str, tag: str = ""
) -> tuple[list_codec.CompactList, list[int], bytes]:
    """The first ``n`` of a list just computed, rendered through the compact form, so a miss
    sends the bytes a hit on the cached list would: ``(list, positions, page)``."""
    listed = list_codec.decode(list_codec.encode(triples(items), source=source, tag=tag))
    assert listed is not None
    positions = list(range(min(n, len(items))))
    cards = {i.video_id: card(i) for i in items[:n]}
    return listed, positions, list_codec.render(listed, positions, cards)
