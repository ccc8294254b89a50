"""The served-list log: what each user was shown, written to the lake in the background.

Serving a page costs a few small tuples and one list append here (its shown items); a
thread of its own expands the pages into rows and writes them
(:class:`~recomind.lake.impressions.ImpressionWriter`) every ``impressions_flush_seconds``
or once ``IMPRESSIONS_FLUSH_PAGES`` pages wait. At most ``IMPRESSIONS_MAX_PAGES`` pages wait:
beyond that (a lake that keeps failing) pages are dropped and counted
(``recomind_impressions_dropped_total``) rather than holding memory without end. A page is
logged once it is served, so a process that dies loses at most one flush interval of log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
from prometheus_client import Counter

from recomind.lake.impressions import IMPRESSIONS, ImpressionWriter
from recomind.serving.list_codec import CompactList

logger = logging.getLogger(__name__)

SHOWN = Counter("recomind_impressions_total", "Items shown, written to the lake")
DROPPED = Counter(
    "recomind_impressions_dropped_total", "Pages not logged (the log was full or failed)"
)
IMPRESSIONS_FLUSH_PAGES = 5_000
IMPRESSIONS_MAX_PAGES = 200_000
#: Pages per row group: each conversion to Arrow holds the interpreter for one chunk only
#: (a whole flush at once stalled requests for 100 ms and more at line rate).
CHUNK_PAGES = 200


@dataclass(frozen=True, slots=True)
class ServedPage:
    """One page served: what the log keeps until it is written (the shown items only, as
    tuples of existing strings: a page must not keep its whole decoded list alive, or a
    flush interval's pages make every garbage collection slow)."""

    served_at: float  # unix time
    request_id: str
    user_id: str
    videos: tuple[str, ...]
    scores: tuple[float, ...]
    reasons: tuple[str, ...]
    source: str
    cache: str
    variant: str | None = None

    @classmethod
    def of(
        cls,
        listed: CompactList,
        positions: Sequence[int],
        *,
        served_at: float,
        request_id: str,
        user_id: str,
        cache: str,
        variant: str | None = None,
    ) -> ServedPage:
        ids, scores, codes, reasons = listed.ids, listed.scores, listed.codes, listed.reasons
        return cls(
            served_at,
            request_id,
            user_id,
            tuple([ids[i] for i in positions]),
            tuple([scores[i] for i in positions]),
            tuple([reasons[codes[i]] for i in positions]),
            listed.source,
            cache,
            variant,
        )


def table_of(pages: Sequence[ServedPage]) -> pa.Table:
    """The pages' rows as one :data:`~recomind.lake.impressions.IMPRESSIONS` table, built
    column by column: what repeats on a page is taken once per page (the log's thread shares
    the process with requests, so its cost shows on them)."""
    counts = np.fromiter((len(p.videos) for p in pages), dtype=np.int64, count=len(pages))
    page_of = pa.array(np.repeat(np.arange(len(pages), dtype=np.int32), counts))

    def per_page(values: list[str | None]) -> pa.Array:
        return pa.DictionaryArray.from_arrays(page_of, pa.array(values, pa.string())).cast(
            pa.string()
        )

    videos: list[str] = []
    scores: list[float] = []
    reasons: list[str] = []
    for page in pages:
        videos.extend(page.videos)
        scores.extend(page.scores)
        reasons.extend(page.reasons)
    served_us = np.fromiter(
        (int(p.served_at * 1e6) for p in pages), dtype=np.int64, count=len(pages)
    )
    starts = np.cumsum(counts) - counts
    positions = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)
    return pa.Table.from_arrays(
        [
            pa.array(np.repeat(served_us, counts)).cast(pa.timestamp("us")),
            per_page([p.request_id for p in pages]),
            per_page([p.user_id for p in pages]),
            pa.array(positions.astype(np.int16)),
            pa.array(videos, pa.string()),
            pa.array(scores, pa.float32()),
            pa.array(reasons, pa.string()),
            per_page([p.source for p in pages]),
            per_page([p.cache for p in pages]),
            per_page([p.variant for p in pages]),
        ],
        schema=IMPRESSIONS,
    )


class ImpressionLog:
    """Collects served pages and writes them to the lake on a thread of its own."""

    def __init__(self, writer: ImpressionWriter, *, flush_seconds: float) -> None:
        self.writer = writer
        self.flush_seconds = flush_seconds
        self._pages: list[ServedPage] = []
        self._lock = threading.Lock()  # one flush at a time
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="impressions", daemon=True)
        self._thread.start()

    def served(self, page: ServedPage) -> None:
        """Log a page just served (no I/O: an append)."""
        if len(self._pages) >= IMPRESSIONS_MAX_PAGES:
            DROPPED.inc()
            return
        self._pages.append(page)
        if len(self._pages) >= IMPRESSIONS_FLUSH_PAGES:
            self._wake.set()

    def flush(self) -> int:
        """Write every page logged so far; returns the rows written. A failed write keeps
        the pages for the next flush (within the cap)."""
        with self._lock:
            pages, self._pages = self._pages, []
            if not pages:
                return 0
            hours: dict[int, list[ServedPage]] = {}
            for page in pages:
                hours.setdefault(int(page.served_at // 3600), []).append(page)
            rows = sum(len(p.videos) for p in pages)
            try:
                for hour, group in sorted(hours.items()):
                    chunks = (
                        table_of(group[i : i + CHUNK_PAGES])
                        for i in range(0, len(group), CHUNK_PAGES)
                    )
                    self.writer.write_hour(datetime.fromtimestamp(hour * 3600, UTC), chunks)
            except Exception:
                logger.exception("impressions: writing %d rows failed; kept", rows)
                self._pages[:0] = pages[: max(0, IMPRESSIONS_MAX_PAGES - len(self._pages))]
                return 0
            SHOWN.inc(rows)
            return rows

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        """Write what is left and stop the thread."""
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=30)
        self.flush()
