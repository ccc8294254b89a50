"""Video cards: each video's record as a page shows it, shared by every list.

A cached list holds ids, scores and reason codes only (:mod:`recomind.serving.list_codec`);
a page is rendered from it and these cards. Three tiers:

1. this process's dict (no I/O: a cache hit renders from it without leaving the event loop),
   each card kept ``video_card_local_ttl_s`` (another process's catalogue change shows here
   within that time);
2. the shared cache's ``video_card:{video_id}`` keys (``video_card_ttl_s``), one round trip
   for every card a page lacks;
3. the ``videos`` table.

When the database does not answer (:data:`~recomind.storage.outage.DATABASE_DOWN`), this is
the one place that falls back: a page renders from the cards the first two tiers hold, this
process's expired ones included, and leaves out items with none (:class:`Cards` says it is
degraded); an action's video is checked against its card (:meth:`VideoCards.video_duration`).
Expired cards are used only then.

A catalogue change (``POST /videos/batch?mode=upsert``) drops the changed cards here and in
the shared cache (:meth:`VideoCards.forget`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

import orjson
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from recomind.cache import keys
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.storage.engine import read_tx
from recomind.storage.outage import DATABASE_DOWN, served_from_cache
from recomind.storage.videos import get_video, get_videos

#: Cards this process keeps at most (about 250 bytes each).
LOCAL_MAX = 200_000


class VideoRecord(Protocol):
    """What a card shows: a :class:`~recomind.schemas.Video` or a ranked item."""

    video_id: str
    title: str
    url: str
    tags: list[str]
    creator_id: str | None
    duration_s: float | None


def card(video: VideoRecord) -> bytes:
    """The card of one video: its fields as a page item shows them, in that order, as a JSON
    object left open (no closing brace): a page appends the item's score and reason."""
    return orjson.dumps(
        {
            "video_id": video.video_id,
            "title": video.title,
            "url": video.url,
            "tags": video.tags,
            "creator_id": video.creator_id,
            "duration_s": video.duration_s,
        }
    )[:-1]


class Cards(NamedTuple):
    """Cards by video id; ``degraded``: the database did not answer for some, so they come
    from what the caches held (expired cards of this process included) or are left out."""

    cards: dict[str, bytes]
    degraded: bool = False


class Known(NamedTuple):
    """Whether a video exists and its duration (``None``: unknown); ``degraded``: the
    database did not answer, so its cached card said."""

    found: bool
    duration_s: float | None
    degraded: bool = False


class VideoCards:
    """Cards by video id, from this process, the shared cache, then the database."""

    def __init__(self, engine: Engine, cache: SafeCache, settings: Settings) -> None:
        self.engine = engine
        self.cache = cache
        self.settings = settings
        self._local: dict[str, tuple[bytes, float]] = {}  # id -> (card, expires at)

    def _key(self, video_id: str) -> str:
        return keys.key(self.settings.cache_prefix, keys.VIDEO_CARD, video_id)

    def local(self, video_ids: Iterable[str]) -> tuple[dict[str, bytes], list[str]]:
        """``(cards held here, ids without one)``: no I/O."""
        now = time.monotonic()
        found: dict[str, bytes] = {}
        missing: list[str] = []
        for v in video_ids:
            held = self._local.get(v)
            if held is not None and held[1] > now:
                found[v] = held[0]
            else:
                missing.append(v)
        return found, missing

    async def get(self, video_ids: Sequence[str]) -> Cards:
        """Cards of ``video_ids`` (those of unknown videos left out); waits on I/O only for
        cards this process does not hold."""
        found, missing = self.local(video_ids)
        if not missing:
            return Cards(found)
        if not self.cache.is_local:
            shared, _ = await self.cache.fetch([self._key(v) for v in missing])
            hits = {v: c for v, c in zip(missing, shared, strict=True) if c is not None}
            self._hold(hits)
            found.update(hits)
            missing = [v for v in missing if v not in hits]
            if not missing:
                return Cards(found)
        try:
            found.update(await run_in_threadpool(self._from_database, missing))
        except DATABASE_DOWN as exc:
            served_from_cache(exc, "video_cards")
            found.update(self._expired(missing))
            return Cards(found, degraded=True)
        return Cards(found)

    async def video_duration(self, video_id: str) -> Known:
        """Whether ``video_id`` exists and its duration, from the ``videos`` table; when the
        database does not answer, from the video's card here or in the shared cache (a video
        is never deleted through the API), else the database's error is raised."""
        try:
            video = await run_in_threadpool(self._video, video_id)
        except DATABASE_DOWN as exc:
            held = self._held_card(video_id)
            if held is None and not self.cache.is_local:
                (held,), _ = await self.cache.fetch([self._key(video_id)])
            if held is None:
                raise
            served_from_cache(exc, "video_action")
            duration = orjson.loads(held + b"}").get("duration_s")
            return Known(True, None if duration is None else float(duration), degraded=True)
        if video is None:
            return Known(False, None)
        return Known(True, video.duration_s)

    def remember(self, videos: Iterable[VideoRecord]) -> None:
        """Hold the cards of videos just read from the database (a computed list's items),
        and share those this process did not hold yet."""
        now = time.monotonic()
        fresh = {}
        for v in videos:
            held = self._local.get(v.video_id)
            if held is None or held[1] <= now:
                fresh[v.video_id] = card(v)
        if fresh:
            self._hold(fresh)
            self._share(fresh)

    def forget(self, video_ids: Sequence[str]) -> None:
        """Drop the cards of changed videos, here and in the shared cache."""
        for v in video_ids:
            self._local.pop(v, None)
        if video_ids and not self.cache.is_local:
            self.cache.delete(*(self._key(v) for v in video_ids))

    def clear_local(self) -> None:
        self._local.clear()

    def _video(self, video_id: str) -> VideoRecord | None:
        with read_tx(self.engine) as conn:
            return get_video(conn, video_id=video_id)

    def _held_card(self, video_id: str) -> bytes | None:
        """This process's card of the video, expired or not (only when the database fails)."""
        held = self._local.get(video_id)
        return None if held is None else held[0]

    def _expired(self, video_ids: Iterable[str]) -> dict[str, bytes]:
        """This process's cards of ``video_ids`` past their local TTL (an outage's fallback)."""
        return {v: c for v in video_ids if (c := self._held_card(v)) is not None}

    def _from_database(self, video_ids: list[str]) -> dict[str, bytes]:
        with read_tx(self.engine) as conn:
            videos = get_videos(conn, video_ids=video_ids)
        cards = {v: card(video) for v, video in videos.items()}
        self._hold(cards)
        self._share(cards)
        return cards

    def _hold(self, cards: dict[str, bytes]) -> None:
        if not cards:
            return
        if len(self._local) + len(cards) > LOCAL_MAX:
            self._local.clear()  # rare: a catalogue larger than the cap cycles through
        expires = time.monotonic() + self.settings.video_card_local_ttl_s
        for v, c in cards.items():
            self._local[v] = (c, expires)

    def _share(self, cards: dict[str, bytes]) -> None:
        if self.cache.is_local:
            return
        ttl = self.settings.video_card_ttl_s
        self.cache.set_many({self._key(v): (c, ttl) for v, c in cards.items()})
