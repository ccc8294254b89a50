"""``lake``: copy every event into the Parquet data lake, flushing by size or by time."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from recomind.lake.writer import LakeWriter
from recomind.records import Record
from recomind.schemas import ActionEvent
from recomind.stream.consumers.base import Context, Handler, Item, next_offsets

logger = logging.getLogger(__name__)


class LakeHandler(Handler):
    group = "lake"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        s = ctx.settings
        self.writer = LakeWriter(s.lake_url, s3_endpoint_url=s.lake_s3_endpoint_url)
        self._buffer: list[Item] = []
        self._since = 0.0

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
        return {}

    def flush(self) -> dict[int, int]:
        if not self._buffer:
            return {}
        events: list[tuple[Record, ActionEvent]] = [
            (r, e) for r, e in self._buffer if e is not None
        ]
        if events:
            self.writer.write(events)
        done = next_offsets(self._buffer)
        logger.info("lake: flushed %d events", len(events))
        self._buffer = []
        return done
