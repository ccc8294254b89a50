"""The next page follows the action: what a like leads to, and how the page shows it.

:func:`follow_up` reads what the user's newest positive actions lead to (videos of their
tags, of their creators, and what the newest one's viewers went on to watch), reusing the
reads across requests (:class:`FollowUpReads`). :func:`after_action` then makes a ranked
list follow the user's newest taste action, whatever ranked it:

* after a like, the list leads with :data:`LEAD` videos that follow it (sharing a tag or the
  creator with the liked video, or watched next by its viewers);
* after a skip, no video sharing a tag of the skipped one that the user has no positive
  recent taste for stays among the first :data:`PAGE` places.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection

from recomind.config import Settings
from recomind.schemas import RecommendedVideo, Video, recommended
from recomind.serving.invalidation import TASTE_ACTIONS
from recomind.serving.taste import Taste, evidence_reason, positive_action_types
from recomind.storage.actions import HistoryItem, watched_next
from recomind.storage.videos import get_videos, videos_by_creators, videos_with_tags

#: Follow-up candidates: the newest videos of each of the seeds' three best tags and two
#: best creators, and what the newest seed's viewers went on to watch.
TAG_CANDIDATES = 30
CREATOR_CANDIDATES = 15
WATCHED_NEXT_CANDIDATES = 50
T = TypeVar("T")


@dataclass
class FollowUp:
    """What the user's newest positive actions lead to, read for one request.

    Attributes
    ----------
    videos
        Videos of the seeds' best tags and creators, and what the newest seed's viewers
        went on to watch.
    watched_next
        ``video_id -> viewers of seed`` for the last kind.
    seed
        The newest positively acted video (``None``: none).
    """

    videos: dict[str, Video]
    watched_next: dict[str, int]
    seed: Video | None


@dataclass
class FollowUpReads:
    """The reads :func:`follow_up` makes (videos per tag, per creator, what a seed's viewers
    watched next), reused by every request of this process for ``candidate_pool_ttl_s``
    seconds, as its candidate pool is: many users like the same videos."""

    settings: Settings
    max_entries: int = 10_000
    _built_at: float = field(default_factory=time.monotonic, init=False)
    _entries: dict[tuple[str, str], Any] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def get(self, kind: str, key: str, read: Callable[[], T]) -> T:
        with self._lock:
            now = time.monotonic()
            stale = now - self._built_at > self.settings.candidate_pool_ttl_s
            if stale or len(self._entries) > self.max_entries:
                self._entries, self._built_at = {}, now
            if (kind, key) in self._entries:
                found: T = self._entries[kind, key]
                return found
        value = read()
        with self._lock:
            self._entries[kind, key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _with_tag(conn: Connection, tag: str) -> list[Video]:
    return videos_with_tags(conn, tags=[tag], limit=TAG_CANDIDATES)


def _by_creator(conn: Connection, creator: str) -> list[Video]:
    return videos_by_creators(conn, creator_ids=[creator], limit=CREATOR_CANDIDATES)


def follow_up(
    conn: Connection, *, taste: Taste, settings: Settings, exclude: set[str], reads: FollowUpReads
) -> FollowUp:
    """The candidates a like (or a watched video) leads to; ``exclude`` never among them."""
    tags = sorted((t for t, w in taste.tags.items() if w > 0), key=lambda t: -taste.tags[t])
    creators = sorted(
        (c for c, w in taste.creators.items() if w > 0), key=lambda c: -taste.creators[c]
    )
    found: list[Video] = []
    for tag in tags[:3]:
        found += reads.get("tag", tag, partial(_with_tag, conn, tag))
    for creator in creators[:2]:
        found += reads.get("creator", creator, partial(_by_creator, conn, creator))
    seed = taste.seeds[0] if taste.seeds else None
    after: dict[str, int] = {}
    if seed is not None:

        def read_after(video_id: str = seed.video_id) -> tuple[dict[str, int], list[Video]]:
            counts = watched_next(
                conn,
                video_id=video_id,
                action_types=positive_action_types(settings),
                limit=WATCHED_NEXT_CANDIDATES,
            )  # the user's own later actions are on videos they are never served again
            return counts, list(get_videos(conn, video_ids=list(counts)).values())

        after, rows = reads.get("after", seed.video_id, read_after)
        found += rows
    videos = {v.video_id: v for v in found if v.video_id not in exclude}
    return FollowUp(videos, {v: n for v, n in after.items() if v in videos}, seed)


#: Places a like's follow-ups take at the head of the next page.
LEAD = 3
#: Places a skipped video's tags stay out of.
PAGE = 10


def _weight(settings: Settings, action: HistoryItem, video: Video) -> float:
    try:
        return settings.action_weight(action.action_type, action.watch_time_ms, video.duration_s)
    except KeyError:  # an action type this deployment gives no weight
        return 0.0


def after_action(
    items: list[RecommendedVideo],
    *,
    newest: HistoryItem | None,
    videos: Mapping[str, Video],
    taste: Taste,
    follow: FollowUp,
    pop: Mapping[str, float],
    settings: Settings,
) -> list[RecommendedVideo]:
    """``items`` (best first) made to follow the user's newest action, if a taste action.

    After a like (a taste action with a positive weight) the list leads with the first
    :data:`LEAD` items that follow the liked video, taken from ``items`` in order and then
    from ``follow`` (same tag first, then creator, then watched next); after a skip (a
    negative one) items sharing a tag of the skipped video whose recent weight is not
    positive move just past the first :data:`PAGE` places. The length never changes.
    """
    video = videos.get(newest.video_id) if newest is not None else None
    if newest is None or video is None or newest.action_type not in TASTE_ACTIONS:
        return items
    weight = _weight(settings, newest, video)
    if weight < 0:
        dropped = {t for t in video.tags if taste.tags.get(t, 0.0) <= 0}
        keep = [i for i in items if dropped.isdisjoint(i.tags)]
        moved = [i for i in items if not dropped.isdisjoint(i.tags)]
        return keep[:PAGE] + moved + keep[PAGE:]
    if weight <= 0:
        return items

    def rank(v: Video | RecommendedVideo) -> int | None:  # how it follows; None: it does not
        if set(v.tags) & set(video.tags):
            return 0
        if video.creator_id and v.creator_id == video.creator_id:
            return 1
        seeded = follow.seed is not None and follow.seed.video_id == video.video_id
        return 2 if seeded and v.video_id in follow.watched_next else None

    have = {i.video_id for i in items}
    lead = [i for i in items if rank(i) is not None][:LEAD]
    extra = sorted(
        (v for v in follow.videos.values() if v.video_id not in have and rank(v) is not None),
        key=lambda v: (rank(v), -follow.watched_next.get(v.video_id, 0), v.video_id),
    )
    for v in extra[: LEAD - len(lead)]:
        reason = evidence_reason(v, taste, pop)
        if rank(v) == 2 and follow.seed is not None and not reason.startswith("because"):
            reason = f"viewers of {follow.seed.title} also liked"
        lead.append(recommended(v, items[0].score if items else 0.0, reason))
    chosen = {i.video_id for i in lead}
    return (lead + [i for i in items if i.video_id not in chosen])[: max(len(items), len(lead))]
