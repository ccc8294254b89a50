"""Coalesce the cache writes of concurrent ``POST /video_action`` requests.

Each accepted action is noted in the cache before the 202 (``note_actions``: the user's
recently-seen set, and a like drops their list). With Redis that is a blocking round trip,
run on a worker thread. Under load, many requests need one at the same moment: the batcher
sends every note that arrived while the previous write was in flight as *one* pipeline on
*one* thread hop, and each request still waits until its own note is written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

Note = tuple[str, str, str]  # (user_id, video_id, action_type)


class NoteBatcher:
    """``await note(...)`` returns once the note is written, together with its batch.

    Parameters
    ----------
    write
        Writes a batch of notes (blocking); run on the thread pool.
    """

    def __init__(self, write: Callable[[list[Note]], None]) -> None:
        self._write = write
        self._pending: list[Note] = []
        self._written: asyncio.Future[None] | None = None  # resolves when _pending is written
        self._writer: asyncio.Task[None] | None = None  # held: the loop keeps tasks weakly
        self.batches = 0  # batches written (tests and stats)

    async def note(self, user_id: str, video_id: str, action_type: str) -> None:
        loop = asyncio.get_running_loop()
        self._pending.append((user_id, video_id, action_type))
        if self._written is None:
            self._written = loop.create_future()
        written = self._written
        if self._writer is None:
            self._writer = loop.create_task(self._write_all())
        await asyncio.shield(written)

    async def _write_all(self) -> None:
        """Write batches one at a time until none is pending: notes that arrive while a
        write is in flight form the next batch."""
        try:
            await asyncio.sleep(0)  # requests already running this loop turn join the batch
            while self._pending:
                batch, written = self._pending, self._written
                self._pending, self._written = [], None
                assert written is not None
                try:
                    await run_in_threadpool(self._write, batch)
                except Exception as exc:  # every waiter of this batch sees the failure
                    written.set_exception(exc)
                else:
                    written.set_result(None)
                finally:
                    self.batches += 1
        finally:
            self._writer = None
