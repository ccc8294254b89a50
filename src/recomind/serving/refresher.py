"""Background recomputation of users' lists: one refresh per user at a time, bounded.

:class:`~recomind.serving.service.RecommendationService` hands a user here when their list
went stale or a taste action dropped it; two worker threads run the refreshes. A request
that finds the list dropped while this process is already refreshing it may wait for that
refresh (:meth:`Refresher.wait_for`) instead of computing the list a second time. A refresh
the database does not answer is logged once per outage window, not with a traceback each.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import Counter

from recomind.storage.outage import DATABASE_DOWN, note_outage

logger = logging.getLogger(__name__)

BACKGROUND_REFRESHES = Counter(
    "recomind_background_refreshes_total", "User lists recomputed in the background"
)
SKIPPED_REFRESHES = Counter(
    "recomind_background_refreshes_skipped_total",
    "Background refreshes not queued because too many were waiting",
)
#: Users whose background refresh may wait or run at once (a burst of actions from users who
#: are not reading costs at most this much work; their next request computes their list).
REFRESH_QUEUE_MAX = 256


class Refresher:
    """Runs ``refresh(user_id)`` on worker threads, once per user at a time."""

    def __init__(self, refresh: Callable[[str], object], *, workers: int = 2) -> None:
        self._refresh = refresh
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="refresh")
        self._lock = threading.Lock()
        self._waiting: dict[str, bool] = {}  # user -> run again when done
        self._running: set[str] = set()  # users whose refresh has started (not just queued)
        self._idle = threading.Condition(self._lock)

    def soon(self, user_id: str) -> None:
        """Refresh the user's list in the background.

        At most :data:`REFRESH_QUEUE_MAX` users wait or run; beyond that the refresh is not
        queued (counted in ``recomind_background_refreshes_skipped_total``): a dropped list
        is computed by its next request, a stale one refreshed then.
        """
        with self._lock:
            if user_id in self._waiting:
                self._waiting[user_id] = True  # state changed meanwhile: run once more
                return
            if len(self._waiting) >= REFRESH_QUEUE_MAX:
                SKIPPED_REFRESHES.inc()
                return
            self._waiting[user_id] = False
        self._pool.submit(self._loop, user_id)

    def _loop(self, user_id: str) -> None:
        with self._lock:
            self._running.add(user_id)
        while True:
            try:
                self._refresh(user_id)
                BACKGROUND_REFRESHES.inc()
            except DATABASE_DOWN as exc:  # the cached list stays; one line per outage window
                note_outage(exc, "background refreshes leave cached lists as they are")
            except Exception:  # a failed refresh leaves the stale list; the next request retries
                logger.exception("background refresh of %s failed", user_id)
            with self._lock:
                if not self._waiting.get(user_id):
                    del self._waiting[user_id]
                    self._running.discard(user_id)
                    self._idle.notify_all()
                    return
                self._waiting[user_id] = False

    def queued(self) -> int:
        """How many users' refreshes wait or run."""
        with self._lock:
            return len(self._waiting)

    def running(self, user_id: str) -> bool:
        """Whether the user's refresh has started here (not one still queued)."""
        return user_id in self._running

    def wait_for(self, user_id: str, budget_s: float) -> bool:
        """Block until the refresh of ``user_id`` this process is running (not one still
        queued) ends, at most ``budget_s``; whether it ended."""
        with self._lock:
            if user_id not in self._running or budget_s <= 0:
                return False
            return self._idle.wait_for(lambda: user_id not in self._waiting, budget_s)

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Block until no refresh waits or runs (tests, shutdown). False on timeout."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._waiting, timeout_s)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
