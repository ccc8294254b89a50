"""The served-list log in the lake: every page served, one row per item shown.

Impressions live beside the events, under ``{lake_url}/impressions/``, Hive-partitioned the
same way (``dt=YYYY-MM-DD/hour=HH/``, by the time the page was served). Each later view,
like or skip of a shown video joins to its impression on ``user_id`` and ``video_id`` (the
newest impression served before the action), and through ``request_id`` to the whole page.
Files are named by the writing process and a sequence number, so processes never collide;
a file is written aside and renamed on ``file://`` (an object store PUT is atomic).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import count

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from recomind.lake.fs import open_lake
from recomind.lake.tombstones import load

#: Where impressions live under the lake's root (the events' reader skips it).
FOLDER = "impressions"

IMPRESSIONS = pa.schema(
    [
        pa.field("served_at", pa.timestamp("us"), nullable=False),
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("position", pa.int16(), nullable=False),
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("score", pa.float32(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("cache", pa.string(), nullable=False),
        pa.field("variant", pa.string()),
    ]
)


@dataclass(frozen=True, slots=True)
class Impression:
    """One item shown on one page (``served_at`` naive UTC)."""

    served_at: datetime
    request_id: str
    user_id: str
    position: int
    video_id: str
    score: float
    reason: str
    source: str
    cache: str
    variant: str | None = None


class ImpressionWriter:
    """Writes impressions as Parquet files under ``{lake_url}/impressions/``."""

    def __init__(self, url: str, *, s3_endpoint_url: str | None = None) -> None:
        self.url = url
        self.fs, root = open_lake(url, s3_endpoint_url=s3_endpoint_url)
        self.root = f"{root}/{FOLDER}"
        self._name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._seq = count()
        self._local = url.startswith("file://")  # an object store PUT is atomic already

    def write(self, rows: Sequence[Impression]) -> list[str]:
        """Write ``rows`` (one file per hour partition); returns the paths."""
        hours: dict[datetime, list[Impression]] = {}
        for r in rows:
            hours.setdefault(r.served_at.replace(minute=0, second=0, microsecond=0), []).append(r)
        paths = []
        for hour, group in sorted(hours.items()):
            columns = {name: [getattr(r, name) for r in group] for name in IMPRESSIONS.names}
            paths.append(self.write_hour(hour, [pa.Table.from_pydict(columns, schema=IMPRESSIONS)]))
        return paths

    def write_hour(self, hour: datetime, tables: Iterable[pa.Table]) -> str:
        """Write :data:`IMPRESSIONS` rows served within ``hour`` (UTC) into its partition,
        one file with a row group per table (built one at a time by the caller: no long
        stretch of work holds the interpreter); returns the path."""
        directory = f"{self.root}/dt={hour:%Y-%m-%d}/hour={hour:%H}"
        path = f"{directory}/part-{self._name}-{next(self._seq):08d}.parquet"
        self.fs.makedirs(directory, exist_ok=True)
        target = f"{directory}/.tmp-{uuid.uuid4().hex}.parquet" if self._local else path
        with (
            self.fs.open(target, "wb") as fh,
            pq.ParquetWriter(fh, IMPRESSIONS, compression="zstd") as out,
        ):
            for table in tables:
                out.write_table(table)
        if self._local:  # written aside, then renamed: a reader never sees half a file
            self.fs.mv(target, path)
        return path


def read_impressions(url: str, *, s3_endpoint_url: str | None = None) -> pa.Table:
    """Every impression in the lake, ordered by time, request and position (not those of
    erased users: :mod:`recomind.lake.tombstones`)."""
    fs, lake_root = open_lake(url, s3_endpoint_url=s3_endpoint_url)
    root = f"{lake_root}/{FOLDER}"
    if not fs.exists(root):
        return IMPRESSIONS.empty_table()
    files = [p for p in fs.find(root) if p.endswith(".parquet") and "/.tmp-" not in p]
    if not files:
        return IMPRESSIONS.empty_table()
    table = ds.dataset(files, schema=IMPRESSIONS, format="parquet", filesystem=fs).to_table()
    table = load(fs, lake_root).keep(table)
    return table.sort_by(
        [("served_at", "ascending"), ("request_id", "ascending"), ("position", "ascending")]
    )
