"""Tombstones: rows of the lake that every reader skips (docs/erasure.md).

An erased user's events and impressions stay in their Parquet files until the ``lake-compact``
job rewrites those files (:mod:`recomind.lake.compaction`); meanwhile, and for any copy that
arrives later (an event still in flight on the bus when the user was erased), a tombstone
under ``{lake_url}/tombstones/users/{hash}.json`` keeps them out: it names the user by the
SHA-256 of their id (:func:`recomind.erasure_ids.subject_hash`), never the id itself. A
taken-down video has ``tombstones/videos/{hash}.json`` (with its id) while it is down: the
readers that feed training (the ``features`` job) skip its rows; a restore removes it.

Every reader of the lake goes through :func:`load` and :meth:`Tombstones.keep`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from recomind.erasure_ids import subject_hash
from recomind.lake.fs import open_lake

FOLDER = "tombstones"
#: The column that dates a row, per table (events, impressions).
_TIME_COLUMNS = ("timestamp", "served_at")


@dataclass(frozen=True)
class Tombstones:
    """What the lake's readers skip: erased users' rows dated at or before their erasure
    (``users``: hash -> erased_at, naive UTC) and taken-down videos."""

    users: Mapping[str, datetime] = field(default_factory=dict)
    videos: frozenset[str] = frozenset()

    @property
    def digest(self) -> str:
        """Changes whenever a tombstone is added or removed (the features job recomputes)."""
        erased = sorted(f"{h}@{at.isoformat()}" for h, at in self.users.items())
        text = "\n".join(erased) + "\0" + "\n".join(sorted(self.videos))
        return hashlib.sha256(text.encode()).hexdigest()

    def keep(self, table: pa.Table, *, taken_down: bool = False) -> pa.Table:
        """``table`` without the rows of erased users dated at or before their erasure (an
        action after it is a new one) and, with ``taken_down``, of taken-down videos; tables
        without a ``user_id``/``video_id`` column pass through."""
        if not table.num_rows:
            return table
        names = table.column_names
        mask = None
        if self.users and "user_id" in names:
            ids = [u for u in pc.unique(table.column("user_id")).to_pylist() if u is not None]
            when = next((c for c in _TIME_COLUMNS if c in names), None)
            for user in ids:
                at = self.users.get(subject_hash(user))
                if at is None:
                    continue
                hit = pc.equal(table.column("user_id"), user)
                if when is not None:
                    stamp = pa.scalar(at, type=table.schema.field(when).type)
                    hit = pc.and_(hit, pc.less_equal(table.column(when), stamp))
                mask = pc.invert(hit) if mask is None else pc.and_(mask, pc.invert(hit))
        if taken_down and self.videos and "video_id" in names:
            hidden = pc.invert(
                pc.is_in(table.column("video_id"), value_set=pa.array(sorted(self.videos)))
            )
            mask = hidden if mask is None else pc.and_(mask, hidden)
        return table if mask is None else table.filter(pc.fill_null(mask, True))


def _name(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _put(fs: Any, path: str, doc: dict[str, Any], *, local: bool) -> None:
    data = json.dumps(doc, sort_keys=True).encode()
    directory = path.rsplit("/", 1)[0]
    fs.makedirs(directory, exist_ok=True)
    if not local:  # an object store PUT is atomic
        fs.pipe({path: data})
        return
    tmp = f"{directory}/.tmp-{uuid.uuid4().hex}"
    with fs.open(tmp, "wb") as fh:
        fh.write(data)
    fs.mv(tmp, path)


def load(fs: Any, root: str) -> Tombstones:
    """Every tombstone of the lake at ``root`` (one listing, one small file each)."""
    home = f"{root}/{FOLDER}"
    if not fs.exists(home):
        return Tombstones()
    users: dict[str, datetime] = {}
    videos: set[str] = set()
    paths = [
        p
        for p in fs.find(home)
        if str(p).endswith(".json") and ("/users/" in str(p) or "/videos/" in str(p))
    ]
    blobs = fs.cat(paths) if paths else {}
    for path in paths:
        doc = json.loads(blobs[path])
        if "/users/" in str(path):
            at = datetime.fromisoformat(str(doc["erased_at"]))
            key = str(doc["user_sha256"])
            users[key] = max(at, users.get(key, at))
        elif "/videos/" in str(path):
            videos.add(str(doc["video_id"]))
    return Tombstones(users, frozenset(videos))


def load_url(url: str, *, s3_endpoint_url: str | None = None) -> Tombstones:
    fs, root = open_lake(url, s3_endpoint_url=s3_endpoint_url)
    fs.invalidate_cache(root)  # an object store's listings are cached per process
    return load(fs, root)


def tombstone_user(
    url: str,
    *,
    user_sha256: str,
    erased_at: datetime,
    receipt_id: str,
    s3_endpoint_url: str | None = None,
) -> None:
    """Hide the user of ``user_sha256`` from every reader (idempotent)."""
    fs, root = open_lake(url, s3_endpoint_url=s3_endpoint_url)
    doc = {
        "user_sha256": user_sha256,
        "erased_at": erased_at.isoformat(),
        "receipt_id": receipt_id,
    }
    _put(fs, f"{root}/{FOLDER}/users/{user_sha256}.json", doc, local=url.startswith("file://"))


def set_video_tombstone(
    url: str, *, video_id: str, down: bool, s3_endpoint_url: str | None = None
) -> None:
    """Hide a taken-down video from the training readers (``down``), or show it again."""
    fs, root = open_lake(url, s3_endpoint_url=s3_endpoint_url)
    path = f"{root}/{FOLDER}/videos/{_name(video_id)}.json"
    if down:
        _put(fs, path, {"video_id": video_id}, local=url.startswith("file://"))
    elif fs.exists(path):
        fs.rm(path)


def count_user_rows(url: str, *, user_id: str, s3_endpoint_url: str | None = None) -> int:
    """Rows of ``user_id`` in the lake's event and impression files, as stored (what a
    tombstone hides and ``lake-compact`` removes); reads only the ``user_id`` column."""
    import pyarrow.parquet as pq

    fs, root = open_lake(url, s3_endpoint_url=s3_endpoint_url)
    if not fs.exists(root):
        return 0
    fs.invalidate_cache(root)
    n = 0
    for path in fs.find(root):
        p = str(path)
        if not p.endswith(".parquet") or "/.tmp-" in p or "/features/" in p:
            continue
        with fs.open(p, "rb") as fh:
            column = pq.read_table(fh, columns=["user_id"]).column("user_id")
        n += int(pc.sum(pc.equal(column, user_id)).as_py() or 0)
    return n
