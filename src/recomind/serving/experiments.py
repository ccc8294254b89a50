"""Serving per variant: which ranker serves a user, and under which cache tag (docs/experiments.md).

Each process keeps the running experiment of each surface and the last shipped one in memory
and re-reads them when they are older than ``experiments_refresh_s`` (in the background: a
cache hit never waits for the database); the process that creates, stops or ships an
experiment reloads at once. So a change takes effect within about a second in every process.

A user's :class:`Arm` is a pure function of the stored experiment and their id
(:func:`~recomind.experiment_spec.assign`): it survives cache expiry and restarts. Its ``tag``
is stored with the user's cached list (``CompactList.tag``): a list cached for another arm
(before the experiment started, stopped or shipped) is never served, but computed anew.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from recomind.config import Settings
from recomind.experiment_spec import Experiment
from recomind.schemas import RecommendedVideo
from recomind.serving.background_read import BackgroundRead
from recomind.serving.fallback import CandidatePool, TagAffinityRanker
from recomind.serving.ranker import Ranker
from recomind.serving.trending import compute_trending
from recomind.storage.actions import HistoryItem
from recomind.storage.engine import read_tx
from recomind.storage.experiments import serving_state
from recomind.storage.profiles import ProfileRow

SURFACE = "recommendations"


class TrendingRanker:
    """The trending list for everyone, minus what the user has seen (a variant's ranker)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def source(self) -> str:
        return "trending"

    def rank(
        self,
        conn: Connection,
        *,
        user_id: str,
        history: list[HistoryItem],
        profile: ProfileRow | None,
        exclude: set[str],
        n: int,
    ) -> list[RecommendedVideo]:
        items = compute_trending(conn, settings=self.settings, limit=n + len(exclude))
        return [i for i in items if i.video_id not in exclude][:n]


@dataclass(frozen=True, slots=True)
class Arm:
    """How one user is served: the ranker, the tag their cached list must carry, and the
    variant the served-list log records (``"<experiment>:<variant>"``; ``None``: no
    experiment)."""

    ranker: Ranker
    tag: str = ""
    variant: str | None = None


def variant_of(tag: str) -> str | None:
    """The variant the served-list log records for a list's tag (``None``: no experiment)."""
    return tag if tag and not tag.startswith("shipped:") else None


class Variants:
    """The experiments serving follows, refreshed every ``refresh_s`` seconds."""

    def __init__(
        self, engine: Engine, settings: Settings, current: Ranker, *, pool: CandidatePool
    ) -> None:
        self.engine = engine
        self.refresh_s = settings.experiments_refresh_s
        self.current = current
        self._rankers: dict[str, Ranker] = {
            "trending": TrendingRanker(settings),
            "tag-affinity": TagAffinityRanker(settings, pool=pool),
        }
        self._running: dict[str, Experiment] = {}
        self._shipped: dict[str, Experiment] = {}
        self._read_at = -float("inf")
        self._background = BackgroundRead(self.refresh, name="experiments", what="the experiments")

    def ranker(self, name: str, surface: str = SURFACE) -> Ranker:
        """The ranker a variant names: ``current`` is what the surface serves without an
        experiment (the shipped variant's ranker, else the service's own)."""
        if name == "current":
            return self.base(surface)
        return self._rankers.get(name, self.current)

    def base(self, surface: str = SURFACE) -> Ranker:
        shipped = self._shipped.get(surface)
        if shipped is not None and shipped.shipped_variant is not None:
            variant = shipped.variant(shipped.shipped_variant)
            if variant is not None and variant.ranker != "current":
                return self._rankers.get(variant.ranker, self.current)
        return self.current

    def arm(self, user_id: str, surface: str = SURFACE) -> Arm:
        """The user's arm now (a dict read and a hash; a stale registry starts a re-read)."""
        if time.monotonic() - self._read_at >= self.refresh_s:
            self._background.start()
        running = self._running.get(surface)
        if running is None:
            shipped = self._shipped.get(surface)
            return Arm(self.base(surface), f"shipped:{shipped.name}" if shipped else "")
        variant = running.assign(user_id)
        tag = f"{running.name}:{variant.name}"
        return Arm(self.ranker(variant.ranker, surface), tag, tag)

    def running(self, surface: str = SURFACE) -> Experiment | None:
        return self._running.get(surface)

    def forget(self) -> None:
        """Drop what was read: the next :meth:`arm` re-reads (tests, admin)."""
        self._running, self._shipped, self._read_at = {}, {}, -float("inf")

    def refresh(self) -> None:
        """Re-read the running and shipped experiments now (blocking)."""
        started = time.monotonic()
        with read_tx(self.engine) as conn:
            running, shipped = serving_state(conn)
        self._running = {e.surface: e for e in running}
        self._shipped = {e.surface: e for e in shipped}
        self._read_at = started
