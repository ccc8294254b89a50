"""The one owner of what a database outage is and how it is logged and counted.

A read that the database does not answer (refused, down, dropped, pool timeout) raises one of
:data:`DATABASE_DOWN`. Whoever owns that read either answers from the cache instead
(:func:`served_from_cache`: a degraded answer, ``X-RecoMind-Degraded: database`` on the API)
or lets the error reach the API, which answers a JSON 503 with ``Retry-After``
(:func:`answered_503`). Both log through :func:`note_outage`: one warning per
:data:`OUTAGE_LOG_EVERY_S` of outage, whatever the mix of answers, never a traceback per
request.
"""

from __future__ import annotations

import logging
import threading
import time

from prometheus_client import Counter
from sqlalchemy import exc as sa_exc

logger = logging.getLogger(__name__)

#: The errors of a database that does not answer (not those of a bad statement or row).
DATABASE_DOWN: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
)

#: The response header (and its value) of an answer served from the cache because the
#: database did not answer.
DEGRADED_HEADER = "X-RecoMind-Degraded"
DEGRADED_DATABASE = "database"

DB_UNAVAILABLE = Counter(
    "recomind_database_unavailable_total", "Requests answered 503: the database did not answer"
)
DB_DEGRADED = Counter(
    "recomind_database_degraded_total",
    "Reads the database did not answer, answered from the cache instead, by what was read",
    ["read"],
)

#: One log line per this many seconds of database outage (not a traceback per request).
OUTAGE_LOG_EVERY_S = 30.0


class _OutageLog:
    """When the last outage line was written (one process-wide window)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = -1e18

    def due(self, every_s: float) -> bool:
        """Whether a line is due now; if so, the window starts now."""
        now = time.monotonic()
        with self._lock:
            if now - self._last < every_s:
                return False
            self._last = now
            return True

    def reset(self) -> None:
        """Start afresh: the next outage logs at once (tests)."""
        with self._lock:
            self._last = -1e18


OUTAGE_LOG = _OutageLog()


def note_outage(exc: BaseException, doing: str) -> None:
    """Log that the database does not answer, at most once per :data:`OUTAGE_LOG_EVERY_S`
    (``doing``: what this process does meanwhile), with the error's first line only."""
    if not OUTAGE_LOG.due(OUTAGE_LOG_EVERY_S):
        return
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    logger.warning(
        "database unavailable, %s (next line in %.0fs at most): %s: %s",
        doing,
        OUTAGE_LOG_EVERY_S,
        type(exc).__name__,
        first[:300],
    )


def answered_503(exc: BaseException) -> None:
    """A request the cache could not answer either: counted, logged once per window."""
    DB_UNAVAILABLE.inc()
    note_outage(exc, "answering 503 where the cache cannot answer")


def served_from_cache(exc: BaseException, read: str) -> None:
    """``read`` (``video_cards``, ``recommendations``, ``video_action``) was
    answered from the cache instead: counted, logged once per window."""
    DB_DEGRADED.labels(read).inc()
    note_outage(exc, "serving from the cache where it can answer")
