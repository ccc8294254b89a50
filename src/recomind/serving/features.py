"""Features from the lake at serving: the newest ``videos.parquet`` and ``users.parquet`` of
the ``features`` job (:mod:`recomind.jobs.features`), in memory, looked up by id.

:class:`FeatureStore` reads the manifest (``{lake_url}/features/v1/manifest.json``) at most
every ``check_every_s`` seconds when asked for a feature, and reloads both tables when its
``generated_at`` changed; until the first load (or with no features yet) every lookup is
``None``. A load that finds tables of another run than the manifest's (the job was writing)
keeps the previous snapshot and tries again at the next check.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow.parquet as pq

from recomind.analytics.features import (
    FEATURES_VERSION,
    FOLDER,
    MANIFEST_FILE,
    USERS_FILE,
    VIDEOS_FILE,
)
from recomind.lake.fs import open_lake

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VideoFeatures:
    """One video's features (``docs/features.md``)."""

    video_id: str
    impressions: int
    exposures: int
    likes: int
    skips: int
    views: int
    watched_views: int
    like_rate: float
    skip_rate: float
    mean_watch_fraction: float | None


@dataclass(frozen=True, slots=True)
class UserFeatures:
    """One user's features (``docs/features.md``)."""

    user_id: str
    events: int
    likes: int
    skips: int
    views: int
    first_active_at: datetime
    last_active_at: datetime
    #: Events per hour of the day (UTC), 24 bins.
    active_hours: tuple[int, ...]
    tag_affinity: dict[str, float]
    creator_affinity: dict[str, float]

    def recency_s(self, now: datetime) -> float:
        """Seconds from the user's last action to ``now`` (naive UTC)."""
        return (now - self.last_active_at).total_seconds()


_VIDEO_FIELDS = list(VideoFeatures.__dataclass_fields__)
_USER_FIELDS = list(UserFeatures.__dataclass_fields__)


@dataclass(frozen=True)
class _Snapshot:
    generated_at: str | None = None
    videos: dict[str, int] = field(default_factory=dict)
    video_columns: dict[str, list[Any]] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    user_columns: dict[str, list[Any]] = field(default_factory=dict)


def _columns(path: str, fs: Any, names: list[str]) -> tuple[str | None, dict[str, list[Any]]]:
    with fs.open(path, "rb") as fh:
        table = pq.read_table(fh)
    stamps = table.column("generated_at").unique().to_pylist() if table.num_rows else []
    stamp = stamps[0].isoformat() if len(stamps) == 1 else None
    return stamp, {name: table.column(name).to_pylist() for name in names}


class FeatureStore:
    """The lake's newest features in memory.

    Parameters
    ----------
    url
        The lake (``file://…`` or ``s3://…``).
    s3_endpoint_url
        An S3-compatible endpoint.
    check_every_s
        How often a lookup may look at the manifest (0: at every lookup; ``None``: never,
        the owner calls :meth:`refresh`, e.g. from a worker thread, as a lookup that
        reloads reads the lake on the caller's thread).
    clock
        Monotonic seconds (tests).
    """

    def __init__(
        self,
        url: str,
        *,
        s3_endpoint_url: str | None = None,
        check_every_s: float | None = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fs, root = open_lake(url, s3_endpoint_url=s3_endpoint_url)
        self.home = f"{root}/{FOLDER}"
        self.check_every_s = check_every_s
        self._clock = clock
        self._checked: float | None = None
        self._snapshot = _Snapshot()
        self._lock = threading.Lock()

    @property
    def version(self) -> int:
        return FEATURES_VERSION

    @property
    def generated_at(self) -> datetime | None:
        """When the features in memory were computed; ``None`` before any."""
        stamp = self._snapshot.generated_at
        return None if stamp is None else datetime.fromisoformat(stamp)

    def refresh(self) -> bool:
        """Look at the manifest now; reload when it changed. True if new features loaded."""
        if not self._lock.acquire(blocking=False):
            return False  # another thread is loading
        try:
            self._checked = self._clock()
            return self._reload()
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("features: cannot load from %s: %r", self.home, exc)
            return False
        finally:
            self._lock.release()

    def _reload(self) -> bool:
        self.fs.invalidate_cache(self.home)
        try:
            with self.fs.open(f"{self.home}/{MANIFEST_FILE}", "rb") as fh:
                manifest = json.loads(fh.read())
        except FileNotFoundError:
            return False
        stamp = str(manifest["generated_at"])
        if stamp == self._snapshot.generated_at:
            return False
        v_stamp, videos = _columns(f"{self.home}/{VIDEOS_FILE}", self.fs, _VIDEO_FIELDS)
        u_stamp, users = _columns(f"{self.home}/{USERS_FILE}", self.fs, _USER_FIELDS)
        wanted = datetime.fromisoformat(stamp).isoformat()
        if {v_stamp, u_stamp} - {None, wanted}:
            logger.info("features: tables and manifest disagree (a run is writing); later")
            return False
        self._snapshot = _Snapshot(
            generated_at=stamp,
            videos={v: i for i, v in enumerate(videos["video_id"])},
            video_columns=videos,
            users={u: i for i, u in enumerate(users["user_id"])},
            user_columns=users,
        )
        logger.info(
            "features: loaded %d videos, %d users", len(videos["video_id"]), len(users["user_id"])
        )
        return True

    def _maybe_refresh(self) -> None:
        if self.check_every_s is None:
            return
        if self._checked is None or self._clock() - self._checked >= self.check_every_s:
            self.refresh()

    def video(self, video_id: str) -> VideoFeatures | None:
        """A video's features; ``None`` when it has none (no action or impression yet)."""
        self._maybe_refresh()
        snap = self._snapshot
        i = snap.videos.get(video_id)
        if i is None:
            return None
        return VideoFeatures(**{name: snap.video_columns[name][i] for name in _VIDEO_FIELDS})

    def user(self, user_id: str) -> UserFeatures | None:
        """A user's features; ``None`` when they have none (no action in the lake yet)."""
        self._maybe_refresh()
        snap = self._snapshot
        i = snap.users.get(user_id)
        if i is None:
            return None
        row = {name: snap.user_columns[name][i] for name in _USER_FIELDS}
        row["active_hours"] = tuple(row["active_hours"])
        for name in ("tag_affinity", "creator_affinity"):
            row[name] = {a["key"]: a["score"] for a in row[name]}
        return UserFeatures(**row)
