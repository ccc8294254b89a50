"""The follow-up reads of many users at once: batched per kind, each read once per pass.

:func:`~recomind.serving.follow.follow_up` asks its :class:`FollowUpReads` for the videos of a
taste's best tags and creators and for what its newest seed's viewers watched next, one key
at a time. :func:`prefetch` first runs it against a :class:`Planner` that only notes the keys,
reads those the shared reads do not hold, batched per kind
(:func:`~recomind.storage.videos.videos_with_each_tag`: one scan for many tags on SQLite;
:func:`~recomind.storage.videos.videos_by_each_creator`: one query;
:func:`~recomind.storage.actions.watched_next_many`: a query per seed, the rows of what they
lead to from the ranker's reused rows; each gives what the single read gives) and puts them
in. ``follow_up`` then finds every read there: the same follow-ups, fewer and cheaper reads.
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


@dataclass
class BatchReads(FollowUpReads):
    """The reads of one ranking pass: those :func:`prefetch` found, else ``shared``'s.

    What was found stays for the whole pass, even if ``shared`` expires meanwhile.
    """

    shared: FollowUpReads | None = None
    found: dict[tuple[str, str], Any] = field(default_factory=dict, init=False)

    def get(self, kind: str, key: str, read: Callable[[], T]) -> T:
        if (kind, key) in self.found:
            return cast(T, self.found[kind, key])
        value = self.shared.get(kind, key, read) if self.shared is not None else read()
        self.found[kind, key] = value
        return value


class _Absent(Exception):
    """Raised by the read of a key :func:`prefetch` probes for."""


def _absent() -> Any:
    raise _Absent


def _value(value: T) -> T:
    return value


def prefetch(
    conn: Connection,
    reads: FollowUpReads,
    tastes: Sequence[Taste],
    *,
    settings: Settings,
    rows: VideoRows,
    all_tags: Sequence[str] = (),
) -> BatchReads:
    """The reads ``follow_up`` will make for ``tastes``, each read at most once here.

    Keys ``reads`` (the process's shared reads) holds are taken from it; the others are
    read in one batched query per kind and put into it. When a tag is missing, the tags of
    ``all_tags`` ``reads`` lacks come along where that costs no more queries (SQLite reads
    them all in one scan: the next requests find theirs). ``rows`` gives the rows of the
    videos watched next (a ranker's reused rows).
    """
    planner = Planner(settings)
    for taste in tastes:
        follow_up(conn, taste=taste, settings=settings, exclude=set(), reads=planner)
    batch = BatchReads(settings, shared=reads)
    absent: dict[str, list[str]] = {}
    for kind, keys in planner.asked.items():
        for key in keys:
            try:
                batch.get(kind, key, _absent)
            except _Absent:
                absent.setdefault(kind, []).append(key)
    found: dict[str, dict[str, Any]] = {}
    if absent.get("tag"):
        also = []
        for tag in dict.fromkeys(all_tags):
            try:
                reads.get("tag", tag, _absent)
            except _Absent:
                also.append(tag)
        found["tag"] = dict(
            videos_with_each_tag(conn, tags=absent["tag"], limit=TAG_CANDIDATES, also=also)
        )
    if absent.get("creator"):
        found["creator"] = dict(
            videos_by_each_creator(conn, creator_ids=absent["creator"], limit=CREATOR_CANDIDATES)
        )
    if absent.get("after"):
        counts = watched_next_many(
            conn,
            video_ids=absent["after"],
            action_types=positive_action_types(settings),
            limit=WATCHED_NEXT_CANDIDATES,
        )
        known = rows(conn, {v for c in counts.values() for v in c})
        found["after"] = {
            seed: (c, [known[v] for v in c if v in known]) for seed, c in counts.items()
        }
    for kind, values in found.items():
        for key, value in values.items():
            batch.found[kind, key] = reads.get(kind, key, partial(_value, value))
    return batch
