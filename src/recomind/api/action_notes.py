"""Coalesce the cache writes of concurrent ``POST /video_action`` requests.

Each accepted action is noted in the cache before the 202 (``note_actions``: the user's
recently-seen set, and a like drops their list). With Redis that is a blocking round trip,
run on a worker thread. Under load, many requests need one at the same moment: the batcher
sends every note that arrived while the previous write was in flight as *one* pipeline on
*one* thread hop, and each request still waits until its own note is written.

The hop goes to one thread of the batcher's own (writes are one at a time anyway) through
``loop.run_in_executor``: about half the Python of anyio's ``run_in_threadpool``. Each request
waits on a future of its own (no ``asyncio.shield`` per request), all answered by one callback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

Note = tuple[str, str, str]  # (user_id, video_id, action_type)


class NoteBatcher:
    """``await note(...)`` returns once the note is written, together with its batch.

    Parameters
    ----------
    write
        Writes a batch of notes (blocking); run on the batcher's thread.
    """

    def __init__(self, write: Callable[[list[Note]], None]) -> None:
        self._write = write
        self._pending: list[Note] = []
        self._waiters: list[asyncio.Future[None]] = []  # one per pending note
        self._writer: asyncio.Task[None] | None = None  # held: the loop keeps tasks weakly
        self._thread: ThreadPoolExecutor | None = None  # started on the first write; it
        # ends when the batcher is collected (the executor's own weak reference)
        self.batches = 0  # batches written (tests and stats)

    async def note(self, user_id: str, video_id: str, action_type: str) -> None:
        loop = asyncio.get_running_loop()
        written: asyncio.Future[None] = loop.create_future()
        self._pending.append((user_id, video_id, action_type))
        self._waiters.append(written)
        if self._writer is None:
            self._writer = loop.create_task(self._write_all())
        await written

    async def _write_all(self) -> None:
        """Write batches one at a time until none is pending: notes that arrive while a
        write is in flight form the next batch."""
        try:
            await asyncio.sleep(0)  # requests already running this loop turn join the batch
            loop = asyncio.get_running_loop()
            while self._pending:
                batch, waiters = self._pending, self._waiters
                self._pending, self._waiters = [], []
                if self._thread is None:
                    self._thread = ThreadPoolExecutor(1, thread_name_prefix="action-notes")
                failure: BaseException | None = None
                try:
                    await loop.run_in_executor(self._thread, self._write, batch)
                except Exception as exc:  # every waiter of this batch sees the failure
                    failure = exc
                finally:
                    self.batches += 1
                _answer(waiters, failure)
        finally:
            self._writer = None


def _answer(waiters: list[asyncio.Future[None]], failure: BaseException | None) -> None:
    for written in waiters:
        if written.done():  # its request was cancelled; the note is written all the same
            continue
        if failure is None:
            written.set_result(None)
        else:
            written.set_exception(failure)
