"""Versioned, pickle-free store of fitted hybrids, published atomically.

Layout of ``RECOMIND_MODEL_DIR``::

    LATEST                      name of the current version (one line)
    registry.jsonl              the journal: saves, rejections, promotions, rollbacks
    20261126T190000Z-1a2b3c/    one directory per version
        meta.json               version, times, sizes, fit seconds per component
        ids.npz                 user ids, item ids, tags, titles, created, creators, durations
        hybrid.npz              the blender (+ hybrid.<component>.npz siblings)
        ranker.npz              the learned ranker and its item figures (when fitted)

A version is written into a hidden ``.tmp-*`` directory, then renamed into place, and only
then is ``LATEST`` replaced (``os.replace``, atomic on POSIX): a reader sees the old model or
the new one, never half of one. :class:`ModelLoader` is what serving processes use: it
checks ``LATEST`` at most every ``poll_seconds`` (one ``stat``) and hot-swaps a newer model,
loading it off the request path.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from recomind.recommend._sparse import strings_from_state, strings_state
from recomind.recommend.base import Interactions
from recomind.recommend.hybrid import HybridRecommender
from recomind.recommend.ltr_data import RerankModel
from recomind.serving.model_journal import Journal

logger = logging.getLogger(__name__)

LATEST = "LATEST"
RANKER_FILE = "ranker.npz"
FORMAT = 1
_TAG_SEP = "\x1f"


def settle_gc() -> None:
    """Take the objects alive now (a just-loaded model) out of the collector's scans.

    A model of 100,000 items holds a few hundred thousand container objects (per-item tag
    lists, ...); a full collection walks them all (about 90 ms), a latency spike for
    whichever request triggers it. Frozen objects are skipped by collections and still freed
    by reference counting once the model is replaced.
    """
    gc.collect()
    gc.freeze()


@dataclass
class LoadedModel:
    """A fitted hybrid with the id maps serving needs.

    Parameters
    ----------
    version
        Directory name of this version.
    hybrid
        The fitted blender.
    user_ids, item_ids
        External ids in index order.
    item_tags, item_titles, item_created, item_creators, item_durations
        Per-item side information (index order).
    meta
        Contents of ``meta.json``.
    rerank
        The learned ranker over the hybrid's candidates (``None``: the blend ranks).
    """

    version: str
    hybrid: HybridRecommender
    user_ids: list[str]
    item_ids: list[str]
    item_tags: list[list[str]]
    item_titles: list[str]
    item_created: npt.NDArray[np.float64]
    item_creators: list[str]
    item_durations: npt.NDArray[np.float64]
    meta: dict[str, Any]
    item_index: dict[str, int] = field(default_factory=dict)
    rerank: RerankModel | None = None

    def __post_init__(self) -> None:
        if not self.item_index:
            self.item_index = {vid: i for i, vid in enumerate(self.item_ids)}

    @property
    def trained_at(self) -> float:
        """Unix time the model was published."""
        return float(self.meta.get("created_at", 0.0))


class ModelStore:
    """Save and load versions under one directory.

    Parameters
    ----------
    root
        The model directory (created on first save).
    keep
        How many versions to keep after a publish (older ones are deleted).
    """

    def __init__(self, root: str | Path, *, keep: int = 3) -> None:
        self.root = Path(root)
        self.keep = max(1, keep)

    @property
    def pointer(self) -> Path:
        return self.root / LATEST

    def save(
        self,
        hybrid: HybridRecommender,
        data: Interactions,
        *,
        durations: npt.NDArray[np.float64] | None = None,
        extra: dict[str, Any] | None = None,
        rerank: RerankModel | None = None,
        publish: bool = True,
        by: str = "train",
        reason: str = "",
    ) -> str:
        """Write ``hybrid`` (fitted on ``data``) as a new version and publish it (or keep it
        unpublished, journaled as rejected: it can be inspected and promoted by hand).

        Parameters
        ----------
        hybrid
            A fitted :class:`HybridRecommender`.
        data
            The interactions it was fitted on (ids and item metadata are stored).
        durations
            Per-item duration in seconds (``nan`` when unknown), for view weights.
        extra
            Further JSON-serialisable facts for ``meta.json`` (fit times, ...).
        rerank
            The learned ranker to serve with it (``ranker.npz``), if any.
        publish
            Whether it serves now (``False``: the gate rejected it).
        by, reason
            Who saved it and why it is (not) published, for the journal.

        Returns
        -------
        str
            The new version's name.
        """
        if not hybrid.fitted:
            raise ValueError("cannot save an unfitted model")
        self.root.mkdir(parents=True, exist_ok=True)
        now = time.time()
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%S%fZ")
        version = f"{stamp}-{uuid.uuid4().hex[:6]}"
        tmp = self.root / f".tmp-{version}"
        tmp.mkdir()
        try:
            hybrid.save(tmp / "hybrid.npz")
            if rerank is not None:
                rerank.save(tmp / RANKER_FILE)
            dur = (
                np.full(data.n_items, np.nan)
                if durations is None
                else np.asarray(durations, dtype=np.float64)
            )
            assert data.item_created is not None
            arrays: dict[str, npt.NDArray[Any]] = {
                **strings_state("user_ids", data.user_ids),
                **strings_state("item_ids", data.item_ids),
                **strings_state("item_tags", [_TAG_SEP.join(t) for t in data.item_tags]),
                **strings_state("item_titles", data.item_titles),
                **strings_state("item_creators", data.item_creators),
                "item_created": np.asarray(data.item_created, dtype=np.float64),
                "item_durations": dur,
            }
            with open(tmp / "ids.npz", "wb") as fh:
                np.savez(fh, allow_pickle=False, **arrays)
            meta = {
                "format": FORMAT,
                "version": version,
                "created_at": now,
                "n_users": data.n_users,
                "n_items": data.n_items,
                "n_events": len(data.users),
                "components": list(hybrid.components),
                "ranker": rerank.describe() if rerank is not None else None,
                **(extra or {}),
            }
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
            _fsync_dir(tmp)
            os.rename(tmp, self.root / version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if publish:
            self.publish(version, action="published", by=by, reason=reason)
        else:
            self.journal.append(action="rejected", version=version, by=by, reason=reason)
            self.prune()
        logger.info(
            "model store: %s %s (%d items)",
            "published" if publish else "kept unpublished",
            version,
            data.n_items,
        )
        return version

    @property
    def journal(self) -> Journal:
        return Journal(self.root)

    def publish(self, version: str, *, action: str, by: str, reason: str) -> None:
        """Make the stored ``version`` the serving one (atomically) and journal it."""
        if not (self.root / version / "meta.json").is_file():
            raise KeyError(version)
        self._publish(version)
        self.journal.append(action=action, version=version, by=by, reason=reason)
        self.prune()

    def _publish(self, version: str) -> None:
        tmp = self.root / f".{LATEST}.{uuid.uuid4().hex[:6]}"
        with open(tmp, "w") as fh:
            fh.write(version + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.pointer)
        _fsync_dir(self.root)

    def latest(self) -> str | None:
        """Name of the published version, or ``None`` when nothing was published."""
        try:
            name = self.pointer.read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def versions(self) -> list[str]:
        """Stored version directories (published or not), oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")
        )

    def prune(self) -> None:
        """Delete all but the newest ``keep`` versions (never the published one, nor the
        champion before it: a rollback's target)."""
        versions = self.versions()
        latest = self.latest()
        keep = set(versions[-self.keep :]) | {latest, self.journal.previous(latest)}
        for v in versions:
            if v in keep:
                continue
            shutil.rmtree(self.root / v, ignore_errors=True)

    def load(self, version: str | None = None) -> LoadedModel | None:
        """Load ``version`` (default: the published one); ``None`` when there is none."""
        version = version or self.latest()
        if version is None:
            return None
        d = self.root / version
        meta = json.loads((d / "meta.json").read_text())
        hybrid = HybridRecommender.load(d / "hybrid.npz")
        rerank = RerankModel.load(d / RANKER_FILE) if (d / RANKER_FILE).exists() else None
        with np.load(d / "ids.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        tags = [t.split(_TAG_SEP) if t else [] for t in strings_from_state("item_tags", arrays)]
        return LoadedModel(
            version=version,
            hybrid=hybrid,
            user_ids=strings_from_state("user_ids", arrays),
            item_ids=strings_from_state("item_ids", arrays),
            item_tags=tags,
            item_titles=strings_from_state("item_titles", arrays),
            item_created=arrays["item_created"].astype(np.float64),
            item_creators=strings_from_state("item_creators", arrays),
            item_durations=arrays["item_durations"].astype(np.float64),
            meta=meta,
            rerank=rerank,
        )


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ModelLoader:
    """The current model of a serving process, hot-swapped when a newer one is published.

    :meth:`current` is cheap: at most every ``poll_seconds`` it ``stat``\\ s ``LATEST``;
    when the pointer changed it loads the new version in a background thread and keeps
    answering with the old one until the new one is ready.

    Parameters
    ----------
    store
        Where versions are published.
    poll_seconds
        Minimum time between two checks of the pointer.
    background
        Load newer versions in a thread (``False``: load inline, for tests and jobs).
    """

    def __init__(
        self, store: ModelStore, *, poll_seconds: float = 5.0, background: bool = True
    ) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.background = background
        self._model: LoadedModel | None = None
        self._checked = -1e18
        self._stamp: tuple[float, int] | None = None
        self._lock = threading.Lock()
        self._loading = False

    def current(self) -> LoadedModel | None:
        """The newest loaded model (``None`` until a version is published and loaded)."""
        now = time.monotonic()
        if now - self._checked >= self.poll_seconds:
            self._checked = now
            self._check(first=self._model is None and self._stamp is None)
        return self._model

    def refresh(self) -> LoadedModel | None:
        """Check the pointer now and load a newer version inline."""
        self._checked = time.monotonic()
        stamp = self._pointer_stamp()
        if stamp is not None and stamp != self._stamp:
            self._load(stamp)
        return self._model

    def _pointer_stamp(self) -> tuple[float, int] | None:
        try:
            st = self.store.pointer.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime, st.st_ino)

    def _check(self, *, first: bool) -> None:
        stamp = self._pointer_stamp()
        if stamp is None or stamp == self._stamp:
            return
        with self._lock:
            if self._loading:
                return
            self._loading = True
        if first or not self.background:
            self._load(stamp)
        else:
            threading.Thread(target=self._load, args=(stamp,), daemon=True).start()

    def _load(self, stamp: tuple[float, int]) -> None:
        try:
            version = self.store.latest()
            if version is None:
                return
            if self._model is not None and self._model.version == version:
                self._stamp = stamp
                return
            t0 = time.perf_counter()
            model = self.store.load(version)
            if model is not None:
                model.hybrid.warm()
                settle_gc()
            self._model = model
            self._stamp = stamp
            logger.info("model %s loaded in %.2fs", version, time.perf_counter() - t0)
        except Exception:
            logger.exception("loading the published model failed; keeping the current one")
            self._stamp = stamp  # don't retry a broken version on every request
        finally:
            with self._lock:
                self._loading = False
