"""The follow-up reads of many users at once: one query per kind, not three to six per user.

:func:`~recomind.serving.follow.follow_up` asks its :class:`FollowUpReads` for the videos of a
taste's best tags and creators and for what its newest seed's viewers watched next, one key
at a time. :func:`prefetch` first runs it against a :class:`Planner` that only notes the keys,
reads those the shared reads do not hold in one batched query per kind
(:func:`~recomind.storage.videos.videos_with_each_tag`,
:func:`~recomind.storage.videos.videos_by_each_creator`,
:func:`~recomind.storage.actions.watched_next_many`: each gives what the single read gives)
and puts them in. ``follow_up`` then finds every read there: the same follow-ups, fewer
round trips.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar, cast

from sqlalchemy import Connection

from recomind.config import Settings
from recomind.schemas import Video
from recomind.serving.follow import (
    CREATOR_CANDIDATES,
    TAG_CANDIDATES,
    WATCHED_NEXT_CANDIDATES,
    FollowUpReads,
    follow_up,
)
from recomind.serving.taste import Taste, positive_action_types
from recomind.storage.actions import watched_next_many
from recomind.storage.videos import videos_by_each_creator, videos_with_each_tag

T = TypeVar("T")
#: Video rows by id (missing ones left out), e.g. ``ModelRanker.videos``.
VideoRows = Callable[[Connection, set[str]], dict[str, Video]]


@dataclass
class Planner(FollowUpReads):
    """Reads that answer nothing and note what was asked: ``kind -> keys`` in order."""

    asked: dict[str, dict[str, None]] = field(default_factory=dict, init=False)

    def get(self, kind: str, key: str, read: Callable[[], T]) -> T:
        self.asked.setdefault(kind, {})[key] = None
        empty: Any = ({}, []) if kind == "after" else []
        return cast(T, empty)


class _Absent(Exception):
    """Raised by the read of a key :func:`missing` probes for."""


def _absent() -> Any:
    raise _Absent


def missing(reads: FollowUpReads, kind: str, keys: Sequence[str]) -> list[str]:
    """Which of ``keys`` ``reads`` does not hold now (nothing is read or stored)."""
    out = []
    for key in keys:
        try:
            reads.get(kind, key, _absent)
        except _Absent:
            out.append(key)
    return out


def _value(value: T) -> T:
    return value


def prefetch(
    conn: Connection,
    reads: FollowUpReads,
    tastes: Sequence[Taste],
    *,
    settings: Settings,
    rows: VideoRows,
) -> None:
    """Put into ``reads`` every read ``follow_up`` will make for ``tastes``.

    ``rows`` gives the rows of the videos watched next (a ranker's reused rows).
    """
    planner = Planner(settings)
    for taste in tastes:
        follow_up(conn, taste=taste, settings=settings, exclude=set(), reads=planner)
    found: dict[str, dict[str, Any]] = {}
    tags = missing(reads, "tag", list(planner.asked.get("tag", {})))
    if tags:
        found["tag"] = dict(videos_with_each_tag(conn, tags=tags, limit=TAG_CANDIDATES))
    creators = missing(reads, "creator", list(planner.asked.get("creator", {})))
    if creators:
        by_creator = videos_by_each_creator(conn, creator_ids=creators, limit=CREATOR_CANDIDATES)
        found["creator"] = dict(by_creator)
    seeds = missing(reads, "after", list(planner.asked.get("after", {})))
    if seeds:
        counts = watched_next_many(
            conn,
            video_ids=seeds,
            action_types=positive_action_types(settings),
            limit=WATCHED_NEXT_CANDIDATES,
        )
        known = rows(conn, {v for c in counts.values() for v in c})
        found["after"] = {
            seed: (c, [known[v] for v in c if v in known]) for seed, c in counts.items()
        }
    for kind, values in found.items():
        for key, value in values.items():
            reads.get(kind, key, partial(_value, value))
