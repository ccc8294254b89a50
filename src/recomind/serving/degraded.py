"""A user's page when it must be computed and the database does not answer.

:meth:`~recomind.serving.service.RecommendationService.for_user` asks here only then (a miss
whose computation raised :data:`~recomind.storage.outage.DATABASE_DOWN`): what is left of the
user's cached list (it was too short once their recent actions were excluded), else the
cached trending list, less the videos the cache noted they just acted on (their older history
is in the database). A list dropped by a taste action is gone from the cache, so it is never
served here either. Nothing is kept longer for this: with neither list cached, the database's
error stands (the API's 503).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet

from recomind.cache import keys
from recomind.cache.safe import SafeCache
from recomind.serving import list_codec
from recomind.serving.recent_actions import noted_videos

#: Renders positions of a list as a page: ``(page, degraded)``.
Render = Callable[[list_codec.CompactList, list[int]], Awaitable[tuple[bytes, bool]]]


async def cached_instead(
    cache: SafeCache,
    prefix: str,
    user_id: str,
    n: int,
    render: Render,
    hidden: AbstractSet[str] = frozenset(),
) -> tuple[list_codec.CompactList, list[int], bytes] | None:
    """``(list, positions, page)`` from the cache for ``user_id``, without ``hidden`` videos
    (taken down); ``None`` when the cache holds no list with an item left to show."""
    wanted = [
        keys.key(prefix, keys.RECOMMENDATIONS, user_id),
        keys.key(prefix, keys.POPULAR_VIDEOS),
    ]
    cached, recent = await cache.fetch(wanted, keys.key(prefix, keys.RECENT_ACTIONS, user_id))
    seen = noted_videos(recent) | hidden
    for raw in cached:
        listed = list_codec.decode(raw) if raw is not None else None
        if listed is None:
            continue
        positions = [i for i, v in enumerate(listed.ids) if v not in seen][:n]
        page, _ = await render(listed, positions)
        if page != b"[]":
            return listed, positions, page
    return None
