"""Run the batch jobs inside ``recomind serve``: all of them every
``RECOMIND_JOBS_INTERVAL_MINUTES``, and ``train`` as soon as a retrain signal is pending
(checked every minute). Jobs run in a worker thread, so serving never waits for them.

Every serve process has a scheduler (``recomind serve --workers N``), but only one runs
the jobs at a time: a run first takes the cache lock ``jobs_lock`` (Redis ``SET NX`` with a
TTL, through redis-py's lock), and a scheduler that finds it held skips that run. A holder
that dies frees the lock after :data:`LOCK_TTL_S`. If the cache is unreachable, the jobs
run unguarded.
"""

from __future__ import annotations

import asyncio
import logging
import time

from prometheus_client import Counter

from recomind.cache import keys
from recomind.jobs.runner import JobContext, JobResult, run_jobs
from recomind.storage.engine import read_tx
from recomind.storage.retrain_signals import pending_signals

logger = logging.getLogger(__name__)

SIGNAL_CHECK_SECONDS = 60.0
LOCK_TTL_S = 3600.0

SKIPPED = Counter(
    "recomind_jobs_skipped_total",
    "Scheduled job runs skipped because another process held the jobs lock",
)


class Scheduler:
    """An asyncio task running the jobs periodically.

    Parameters
    ----------
    ctx
        What the jobs work with.
    interval_s
        Seconds between two runs of every job (the first run is one interval after start).
    check_s
        Seconds between two looks at ``retrain_signals``.
    """

    def __init__(
        self, ctx: JobContext, *, interval_s: float, check_s: float = SIGNAL_CHECK_SECONDS
    ) -> None:
        self.ctx = ctx
        self.interval_s = interval_s
        self.check_s = check_s
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="recomind-jobs")
        logger.info(
            "job scheduler: every job every %.0fs, train on retrain signals", self.interval_s
        )

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    def run_locked(self, names: list[str]) -> list[JobResult] | None:
        """Run ``names`` if no other process is running jobs; ``None`` when skipped."""
        service = self.ctx.service
        if service is None:  # no cache to coordinate through: a single process
            return run_jobs(self.ctx, names)
        key = keys.key(self.ctx.settings.cache_prefix, keys.JOBS_LOCK)
        token = service.cache.try_lock(key, LOCK_TTL_S)
        if token is None:
            SKIPPED.inc()
            logger.info("job scheduler: another process is running the jobs; skipped %s", names)
            return None
        try:
            return run_jobs(self.ctx, names)
        finally:
            if not service.cache.unlock(key, token):
                logger.warning("job scheduler: the jobs lock expired before the run ended")

    def _has_signal(self) -> bool:
        with read_tx(self.ctx.engine) as conn:
            return pending_signals(conn) > 0

    async def _loop(self) -> None:
        next_all = time.monotonic() + self.interval_s
        while not self._stop.is_set():
            timeout = max(0.0, min(self.check_s, next_all - time.monotonic()))
            try:
                await asyncio.wait_for(self._stop.wait(), timeout)
                break
            except TimeoutError:
                pass
            try:
                if time.monotonic() >= next_all:
                    next_all = time.monotonic() + self.interval_s
                    scheduled = [
                        j.strip() for j in self.ctx.settings.jobs_scheduled.split(",") if j.strip()
                    ]
                    await asyncio.to_thread(self.run_locked, scheduled)
                elif await asyncio.to_thread(self._has_signal):
                    await asyncio.to_thread(self.run_locked, ["train", "precompute"])
            except Exception:  # the loop must survive anything a job or the database does
                logger.exception("job scheduler: run failed")


def start_scheduler(ctx: JobContext) -> Scheduler | None:
    """Start the scheduler unless ``RECOMIND_JOBS_INTERVAL_MINUTES`` is 0."""
    minutes = ctx.settings.jobs_interval_minutes
    if minutes <= 0:
        return None
    scheduler = Scheduler(ctx, interval_s=minutes * 60.0)
    scheduler.start()
    return scheduler
