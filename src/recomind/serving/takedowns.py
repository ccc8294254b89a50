"""Taken-down videos, hidden at serve time (docs/erasure.md).

Each process keeps the ids of the videos with ``active = false`` in memory and re-reads them
when they are older than ``takedown_refresh_s`` (in the background: a cache hit never waits
for the database); the process that takes a video down adds it at once. Every page the
service renders skips them (a cached list, trending, a cache hit), and every list it computes
or stores leaves them out, so a taken-down video is in no list within a second in any process.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TypeVar

from sqlalchemy import Engine

from recomind.schemas import RecommendedVideo
from recomind.serving.background_read import BackgroundRead
from recomind.storage.engine import read_tx
from recomind.storage.erasure import inactive_video_ids

V = TypeVar("V", bound=RecommendedVideo)


class Takedowns:
    """The ids of taken-down videos, refreshed every ``refresh_s`` seconds."""

    def __init__(self, engine: Engine, *, refresh_s: float) -> None:
        self.engine = engine
        self.refresh_s = refresh_s
        self._ids: frozenset[str] = frozenset()
        self._read_at = -float("inf")
        self._background = BackgroundRead(self.refresh, name="takedowns", what="taken-down videos")

    @property
    def ids(self) -> frozenset[str]:
        """The taken-down ids now; starts a background re-read when they are old."""
        if time.monotonic() - self._read_at >= self.refresh_s:
            self._background.start()
        return self._ids

    def refresh(self) -> frozenset[str]:
        """Re-read the taken-down ids now (blocking)."""
        started = time.monotonic()
        with read_tx(self.engine) as conn:
            ids = frozenset(inactive_video_ids(conn))
        self._ids, self._read_at = ids, started
        return ids

    def hide(self, video_ids: Iterable[str]) -> None:
        """These videos were just taken down (this process): hide them at once."""
        self._ids = self._ids | frozenset(video_ids)

    def show(self, video_ids: Iterable[str]) -> None:
        """These videos were just restored (this process)."""
        self._ids = self._ids - frozenset(video_ids)

    def without(self, items: Sequence[V]) -> list[V]:
        """``items`` without the taken-down videos."""
        hidden = self.ids
        if not hidden:
            return list(items)
        return [i for i in items if i.video_id not in hidden]
