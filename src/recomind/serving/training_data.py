"""Build :class:`~recomind.recommend.base.Interactions` from the database.

Rows (read by :mod:`recomind.storage.training`) are streamed in chunks straight into numpy
arrays (no pydantic per row); timestamps are computed as unix seconds by the database itself,
so 2M actions load in seconds. Every video
of the catalogue becomes an item, including videos nobody has acted on yet (the content
strategy can still recommend them).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine

from recomind.config import Settings
from recomind.recommend.base import Interactions
from recomind.schemas import utcnow
from recomind.storage.training import action_rows, item_rows
from recomind.weights import ACTION_TYPES, action_weights, counted_weights

logger = logging.getLogger(__name__)

#: Action type -> its code in :data:`recomind.weights.ACTION_TYPES` (what ``action_weights`` reads).
_ACTION_CODES = {kind: code for code, kind in enumerate(ACTION_TYPES)}


@dataclass(frozen=True)
class ItemMeta:
    """Per-item side information kept next to a fitted model (index order)."""

    item_ids: list[str]
    tags: list[list[str]]
    titles: list[str]
    created: npt.NDArray[np.float64]
    creators: list[str]
    durations: npt.NDArray[np.float64]


def load_items(conn: Connection) -> ItemMeta:
    """Every video, ordered by id: the item index space of a dataset."""
    ids: list[str] = []
    tags: list[list[str]] = []
    titles: list[str] = []
    created: list[float] = []
    creators: list[str] = []
    durations: list[float] = []
    for vid, tg, title, ts, creator, dur in item_rows(conn):
        ids.append(vid)
        tags.append([str(t).lower().lstrip("#") for t in (tg or [])])
        titles.append(title or "")
        created.append(float(ts) if ts is not None else np.nan)
        creators.append(creator or "")
        durations.append(float(dur) if dur is not None else np.nan)
    return ItemMeta(
        ids,
        tags,
        titles,
        np.asarray(created, dtype=np.float64),
        creators,
        np.asarray(durations, dtype=np.float64),
    )


def load_interactions(
    engine: Engine,
    *,
    settings: Settings,
    since: datetime | None = None,
    max_events: int | None = None,
) -> Interactions:
    """Interactions of ``video_actions`` joined with ``videos``, ready to ``fit``.

    Same as :func:`load_dataset` without the item metadata.
    """
    data, _ = load_dataset(engine, settings=settings, since=since, max_events=max_events)
    return data


def load_dataset(
    engine: Engine,
    *,
    settings: Settings,
    since: datetime | None = None,
    max_events: int | None = None,
) -> tuple[Interactions, ItemMeta]:
    """Interactions of ``video_actions`` joined with ``videos``, plus the item metadata.

    Parameters
    ----------
    engine
        The service database.
    settings
        Action weights (like > view by watch share > skip, negative).
    since
        Only actions at or after this naive-UTC time (``None``: all).
    max_events
        Keep at most this many of the newest actions (``None`` or 0: no cap).

    Returns
    -------
    tuple of (Interactions, ItemMeta)
        One event per action that counts by the per-(user, video) rules of
        :mod:`recomind.weights` (a like once, at the first like, and not after an unlike;
        the k-th view of a video with its diminished weight; nothing for an unlike, a
        repeated like or a view past the cap). Users are the users with at least one such
        action (ordered by id); items are
        every video (ordered by id) with tags, titles, upload times and creators. The
        metadata adds durations (for view weights at serving time).
    """
    t0 = time.perf_counter()
    with engine.connect() as conn:
        meta = load_items(conn)
        item_index = {vid: i for i, vid in enumerate(meta.item_ids)}
        user_index: dict[str, int] = {}
        users: list[int] = []
        items: list[int] = []
        codes: list[int] = []
        stamps: list[float] = []
        watch: list[float] = []
        result = action_rows(conn, since=since, max_events=max_events)
        setdefault = user_index.setdefault
        action_codes = _ACTION_CODES
        nan = float("nan")
        for uid, vid, kind, ts, wms in result:
            item = item_index.get(vid)
            code = action_codes.get(kind)
            if item is None or code is None:
                continue  # an action on a video missing from the catalogue
            users.append(setdefault(uid, len(user_index)))
            items.append(item)
            codes.append(code)
            stamps.append(ts)
            watch.append(nan if wms is None else wms)
    item_arr = np.asarray(items, dtype=np.int64)
    code_arr = np.asarray(codes, dtype=np.int8)
    stamp_arr = np.asarray(stamps, dtype=np.float64)
    local_users = np.asarray(users, dtype=np.int64)
    weights = action_weights(
        code_arr,
        np.asarray(watch, dtype=np.float64),
        meta.durations[item_arr],
        weights=settings.action_weights,
    )
    # What each action counts: a like once (an unlike takes it back), views less and less.
    weights = counted_weights(
        local_users * len(meta.item_ids) + item_arr, code_arr, stamp_arr, weights
    )
    kept = weights != 0
    local_users, item_arr, weights, stamp_arr = (
        local_users[kept],
        item_arr[kept],
        weights[kept],
        stamp_arr[kept],
    )
    seen = list(user_index)
    present = np.unique(local_users)  # users with at least one counted action
    user_ids = [seen[i] for i in present.tolist()]
    order = np.argsort(np.asarray(user_ids, dtype=object), kind="stable")
    remap = np.full(len(seen), -1, dtype=np.int64)
    remap[present[order]] = np.arange(len(user_ids), dtype=np.int64)
    data = Interactions(
        user_ids=[user_ids[i] for i in order.tolist()],
        item_ids=meta.item_ids,
        users=remap[local_users],
        items=item_arr,
        weights=weights,
        timestamps=stamp_arr,
        item_tags=meta.tags,
        item_titles=meta.titles,
        item_created=meta.created,
        item_creators=meta.creators,
    )
    logger.info(
        "dataset: %d events, %d users, %d items in %.2fs",
        len(item_arr),
        data.n_users,
        data.n_items,
        time.perf_counter() - t0,
    )
    return data, meta


def training_window(settings: Settings, *, now: datetime | None = None) -> datetime | None:
    """The ``since`` of the train job: ``now - train_window_days`` (``None`` when 0)."""
    if settings.train_window_days <= 0:
        return None
    return (now or utcnow()) - timedelta(days=settings.train_window_days)
