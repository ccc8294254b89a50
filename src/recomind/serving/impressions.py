"""The served-list log: what each user was shown, written to the lake in the background.

Serving a page costs one list append here (the page's list and positions, by reference); a
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

from prometheus_client import Counter

from recomind.lake.impressions import Impression, ImpressionWriter
from recomind.serving.list_codec import CompactList

logger = logging.getLogger(__name__)

IMPRESSIONS = Counter("recomind_impressions_total", "Items shown, written to the lake")
DROPPED = Counter(
    "recomind_impressions_dropped_total", "Pages not logged (the log was full or failed)"
)
IMPRESSIONS_FLUSH_PAGES = 5_000
IMPRESSIONS_MAX_PAGES = 200_000


@dataclass(frozen=True, slots=True)
class ServedPage:
    served_at: float  # unix time
    request_id: str
    user_id: str
    listed: CompactList
    positions: Sequence[int]
    cache: str
    variant: str | None = None

    def rows(self) -> list[Impression]:
        at = datetime.fromtimestamp(self.served_at, UTC).replace(tzinfo=None)
        listed = self.listed
        return [
            Impression(
                served_at=at,
                request_id=self.request_id,
                user_id=self.user_id,
                position=k,
                video_id=listed.ids[i],
                score=float(listed.scores[i]),
                reason=listed.reasons[listed.codes[i]],
                source=listed.source,
                cache=self.cache,
                variant=self.variant,
            )
            for k, i in enumerate(self.positions)
        ]


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
            rows = [row for page in pages for row in page.rows()]
            try:
                self.writer.write(rows)
            except Exception:
                logger.exception("impressions: writing %d rows failed; kept for later", len(rows))
                self._pages[:0] = pages[: max(0, IMPRESSIONS_MAX_PAGES - len(self._pages))]
                return 0
            IMPRESSIONS.inc(len(rows))
            return len(rows)

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
