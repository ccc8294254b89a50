"""What keeps a consumer group alive and stoppable: capped backoff, a worker thread that
never holds up shutdown, and the health figures of a group (progress time, stuck flag).

A group's handler runs blocking database and file work. It runs on a :class:`DaemonWorker`
(one daemon thread per group), not on asyncio's default executor: ``asyncio.run`` joins the
default executor's threads when it ends, so a handler stuck on a database that does not
answer would hold a SIGTERM for as long as the database hangs. A daemon thread is left
behind instead; its batch was not committed, so it is read again and, being claimed by
event id, applied once.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client import Gauge

T = TypeVar("T")

PROGRESS = Gauge(
    "recomind_consumer_progress_timestamp_seconds",
    "When the group last completed a poll and apply (Unix time): a stuck group's stops moving",
    ["group"],
)
STUCK = Gauge(
    "recomind_consumer_stuck",
    "1 while the group has failed for longer than RECOMIND_CONSUMER_STUCK_AFTER_S",
    ["group"],
)
FAILING_FOR = Gauge(
    "recomind_consumer_failing_seconds",
    "How long the group's batches, polls or commits have been failing (0: healthy)",
    ["group"],
)


class Backoff:
    """Pauses that double from ``first_s`` to at most ``cap_s``; :meth:`reset` on success."""

    def __init__(self, *, first_s: float = 0.5, cap_s: float = 30.0) -> None:
        self.first_s = first_s
        self.cap_s = cap_s
        self._next = first_s

    def reset(self) -> None:
        self._next = self.first_s

    def next_pause(self) -> float:
        pause = self._next
        self._next = min(self.cap_s, self._next * 2)
        return pause


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class DaemonWorker:
    """One daemon thread running the calls it is given, one at a time, in order."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], asyncio.Future[Any]] | None]
        self._jobs = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` on the worker thread; cancelling the wait leaves the call running."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, future))
        return await asyncio.shield(future)

    def close(self) -> None:
        """Let the thread end after the call it runs (it does not wait for it)."""
        self._jobs.put(None)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, future = job
            try:
                result, error = fn(), None
            except BaseException as exc:  # handed to the awaiting coroutine
                result, error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
                future.get_loop().call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Health:
    """A group's health figures: progress time, how long it has been failing, stuck."""

    def __init__(self, group: str, *, stuck_after_s: float) -> None:
        self.group = group
        self.stuck_after_s = stuck_after_s
        self.failing_since: float | None = None
        PROGRESS.labels(group).set(time.time())
        STUCK.labels(group).set(0)
        FAILING_FOR.labels(group).set(0)

    def ok(self) -> None:
        self.failing_since = None
        PROGRESS.labels(self.group).set(time.time())
        STUCK.labels(self.group).set(0)
        FAILING_FOR.labels(self.group).set(0)

    def failed(self) -> None:
        now = time.monotonic()
        if self.failing_since is None:
            self.failing_since = now
        failing = now - self.failing_since
        FAILING_FOR.labels(self.group).set(failing)
        STUCK.labels(self.group).set(1 if failing >= self.stuck_after_s else 0)

    @property
    def stuck(self) -> bool:
        since = self.failing_since
        return since is not None and time.monotonic() - since >= self.stuck_after_s
