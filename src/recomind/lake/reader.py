"""Read the lake as one table, each event once (deduplicated on ``event_id``), without the
rows its tombstones hide (:mod:`recomind.lake.tombstones`: erased users)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds

from recomind.lake.fs import open_lake
from recomind.lake.schema import EVENTS
from recomind.lake.tombstones import load
from recomind.schemas import ActionEvent


def _is_event_file(root: str, path: str) -> bool:
    """Events sit in ``dt=…`` folders right under the root; other tables of the lake
    (``impressions/``) have folders of their own."""
    return path[len(root) :].lstrip("/").startswith("dt=")


def event_files(fs: Any, root: str) -> list[str]:
    """Every event file of the lake at ``root`` (not impressions, features or tombstones)."""
    return [
        p
        for p in fs.find(root)
        if p.endswith(".parquet") and "/.tmp-" not in p and _is_event_file(root, p)
    ]


def read_raw(url: str, *, s3_endpoint_url: str | None = None) -> pa.Table:
    """Every row of every event file, repeats included (audits: is each event filed once?),
    but not the rows of erased users."""
    fs, root = open_lake(url, s3_endpoint_url=s3_endpoint_url)
    if not fs.exists(root):
        return EVENTS.empty_table()
    files = event_files(fs, root)
    if not files:
        return EVENTS.empty_table()
    table = ds.dataset(files, schema=EVENTS, format="parquet", filesystem=fs).to_table()
    return load(fs, root).keep(table)


def read_table(url: str, *, s3_endpoint_url: str | None = None) -> pa.Table:
    """Every event in the lake once, ordered by time (then event id)."""
    table = read_raw(url, s3_endpoint_url=s3_endpoint_url)
    if not table.num_rows:
        return table
    ids = np.asarray(table.column("event_id").to_numpy(zero_copy_only=False), dtype=object)
    _, first = np.unique(ids.astype(str), return_index=True)
    table = table.take(pa.array(np.sort(first)))
    return table.sort_by([("timestamp", "ascending"), ("event_id", "ascending")])


def iter_events(url: str, *, s3_endpoint_url: str | None = None) -> Iterator[ActionEvent]:
    table = read_table(url, s3_endpoint_url=s3_endpoint_url)
    for row in table.to_pylist():
        yield ActionEvent(
            event_id=row["event_id"],
            user_id=row["user_id"],
            video_id=row["video_id"],
            action_type=row["action_type"],
            timestamp=row["timestamp"],
            watch_time_ms=row["watch_time_ms"],
        )
