"""Write events to the lake as Parquet files, one per hour partition and stream partition.

File names carry the stream partition and the first and last offset, so writing the same
batch again (after a crash before the offset commit) overwrites the same file. A batch cut
differently after a restart can still overlap an older file: readers deduplicate on
``event_id`` (:mod:`recomind.lake.reader`).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from recomind.lake.fs import open_lake
from recomind.lake.schema import EVENTS
from recomind.records import Record
from recomind.schemas import ActionEvent, to_naive_utc

logger = logging.getLogger(__name__)


def partition_dir(root: str, event: ActionEvent) -> str:
    ts = to_naive_utc(event.timestamp)
    return f"{root}/dt={ts:%Y-%m-%d}/hour={ts:%H}"


class LakeWriter:
    def __init__(self, url: str, *, s3_endpoint_url: str | None = None) -> None:
        self.url = url
        self.fs, self.root = open_lake(url, s3_endpoint_url=s3_endpoint_url)

    def write(self, items: Sequence[tuple[Record, ActionEvent]]) -> list[str]:
        """Write ``items`` durably; returns the file paths. Raises if any write fails."""
        groups: dict[tuple[str, str, int], list[tuple[Record, ActionEvent]]] = defaultdict(list)
        for record, event in items:
            groups[(partition_dir(self.root, event), record.topic, record.partition)].append(
                (record, event)
            )
        paths = []
        for (directory, topic, part), group in sorted(groups.items()):
            first = min(r.offset for r, _ in group)
            last = max(r.offset for r, _ in group)
            path = f"{directory}/part-{topic}-p{part}-{first:012d}-{last:012d}.parquet"
            self._write_file(path, group)
            paths.append(path)
        return paths

    def _write_file(self, path: str, group: list[tuple[Record, ActionEvent]]) -> None:
        table = pa.Table.from_pylist(
            [
                {
                    "event_id": e.event_id,
                    "user_id": e.user_id,
                    "video_id": e.video_id,
                    "action_type": e.action_type,
                    "timestamp": to_naive_utc(e.timestamp),
                    "watch_time_ms": e.watch_time_ms,
                    "topic": r.topic,
                    "partition": r.partition,
                    "offset": r.offset,
                }
                for r, e in group
            ],
            schema=EVENTS,
        )
        directory = path.rsplit("/", 1)[0]
        self.fs.makedirs(directory, exist_ok=True)
        if self.url.startswith("file://"):
            # Write aside, then rename: a reader never sees half a file.
            tmp = f"{directory}/.tmp-{uuid.uuid4().hex}.parquet"
            with self.fs.open(tmp, "wb") as fh:
                pq.write_table(table, fh, compression="zstd")
                fh.flush()
            self.fs.mv(tmp, path)
        else:  # an object store PUT is atomic
            with self.fs.open(path, "wb") as fh:
                pq.write_table(table, fh, compression="zstd")
        logger.debug("lake: wrote %d events to %s", len(group), path)
