"""Rewrite the lake's files without the rows of erased users (the ``lake-compact`` job).

Tombstones (:mod:`recomind.lake.tombstones`) hide an erased user's rows from every reader at
once; this physically removes them: every event and impression file holding such a row is
rewritten without it (written aside and renamed on ``file://``, one atomic PUT on an object
store), or removed when nothing is left. ``tombstones/compacted.json`` keeps the tombstones'
digest and the files checked against it, so a later run reads only files written since
(a copy of an erased user's event that arrived after the erasure) unless a tombstone was
added. Taken-down videos are not compacted: a takedown is reversible.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from recomind.lake.fs import open_lake
from recomind.lake.impressions import FOLDER as IMPRESSIONS_FOLDER
from recomind.lake.reader import event_files
from recomind.lake.tombstones import FOLDER, load

STATE_FILE = "compacted.json"


@dataclass(frozen=True)
class Compaction:
    files_checked: int
    files_rewritten: int
    files_removed: int
    rows_removed: int


def _write(fs: Any, path: str, table: pa.Table, *, local: bool) -> None:
    if not local:
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        fs.pipe({path: sink.getvalue().to_pybytes()})
        return
    tmp = f"{path.rsplit('/', 1)[0]}/.tmp-{uuid.uuid4().hex}.parquet"
    with fs.open(tmp, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
    fs.mv(tmp, path)


def _impression_files(fs: Any, root: str) -> list[str]:
    home = f"{root}/{IMPRESSIONS_FOLDER}"
    if not fs.exists(home):
        return []
    return [str(p) for p in fs.find(home) if str(p).endswith(".parquet") and "/.tmp-" not in p]


def compact(url: str, *, s3_endpoint_url: str | None = None) -> Compaction:
    """Remove erased users' rows from the lake's files (see the module's docstring)."""
    fs, root = open_lake(url, s3_endpoint_url=s3_endpoint_url)
    local = url.startswith("file://")
    if not fs.exists(root):
        return Compaction(0, 0, 0, 0)
    fs.invalidate_cache(root)
    stones = load(fs, root)
    state_path = f"{root}/{FOLDER}/{STATE_FILE}"
    state: dict[str, Any] = {}
    if fs.exists(state_path):
        with fs.open(state_path, "rb") as fh:
            state = json.loads(fh.read())
    done = set(state.get("files", [])) if state.get("digest") == stones.digest else set()
    files = sorted({*event_files(fs, root), *_impression_files(fs, root)})
    todo = [f for f in files if f not in done] if stones.users else []
    rewritten = removed = rows = 0
    for path in todo:
        table = pq.read_table(fs.open(path, "rb"))
        kept = stones.keep(table)
        if kept.num_rows == table.num_rows:
            continue
        rows += table.num_rows - kept.num_rows
        if kept.num_rows:
            _write(fs, path, kept, local=local)
            rewritten += 1
        else:
            fs.rm(path)
            removed += 1
    if stones.users:
        remaining = sorted(set(files) - {p for p in todo if not fs.exists(p)})
        doc = json.dumps({"digest": stones.digest, "files": remaining}).encode()
        fs.makedirs(f"{root}/{FOLDER}", exist_ok=True)
        if local:
            _put_local(fs, state_path, doc)
        else:
            fs.pipe({state_path: doc})
    return Compaction(len(todo), rewritten, removed, rows)


def _put_local(fs: Any, path: str, data: bytes) -> None:
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    with fs.open(tmp, "wb") as fh:
        fh.write(data)
    fs.mv(tmp, path)
