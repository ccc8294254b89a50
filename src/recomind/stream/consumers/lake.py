"""``lake``: copy every event into the Parquet data lake, flushing by size or by time.

A flush is one transaction of the group (a :class:`DatabaseHandler`): it claims the
buffered events' ids, writes the Parquet files of the new ones, and commits only once the
files are written. So an event the bus delivers twice (a producer retry, a re-read) is filed
once. The one gap: a crash after the files are written and before the commit files that
batch again when it is re-read (maybe cut differently); the lake's readers de-duplicate on
``event_id`` (:mod:`recomind.lake.reader`), so what they return counts each event once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from recomind.lake.writer import LakeWriter
from recomind.records import Record
from recomind.schemas import ActionEvent
from recomind.stream.consumers.base import Context, DatabaseHandler, Item

logger = logging.getLogger(__name__)


class LakeHandler(DatabaseHandler):
    group = "lake"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        s = ctx.settings
        self.writer = LakeWriter(s.lake_url, s3_endpoint_url=s.lake_s3_endpoint_url)
        self._buffer: list[Item] = []
        self._since = 0.0
        self._records: dict[str, Record] = {}

    def handle(self, items: Sequence[Item]) -> dict[int, int]:
        if not self._buffer:
            self._since = time.monotonic()
        self._buffer.extend(items)
        if len(self._buffer) >= self.ctx.settings.lake_flush_events:
            return self.flush()
        return self.tick()

    def tick(self) -> dict[int, int]:
        if self._buffer and time.monotonic() - self._since >= self.ctx.settings.lake_flush_seconds:
            return self.flush()
        if not self._buffer:
            return super().tick()  # prune expired claims
        return {}

    def flush(self) -> dict[int, int]:
        """Claim and file the buffer (kept if that fails: the batch read again joins it,
        and its repeats are claimed once)."""
        if not self._buffer:
            return {}
        self._records = {}
        for record, event in self._buffer:
            if event is not None:
                self._records.setdefault(event.event_id, record)
        done = DatabaseHandler.handle(self, self._buffer)
        self._buffer = []
        self._records = {}
        return done

    def apply_new(
        self, conn: Connection, events: list[ActionEvent], *, now: datetime
    ) -> list[ActionEvent]:
        fresh = super().apply_new(conn, events, now=now)
        if fresh:
            self.writer.write([(self._records[e.event_id], e) for e in fresh])
        logger.info("lake: filed %d events (%d seen before)", len(fresh), len(events) - len(fresh))
        return fresh
