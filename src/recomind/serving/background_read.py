"""One background re-read at a time: what the takedown set and the experiments registry use
to refresh what they hold from the database without making a request wait."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class BackgroundRead:
    """Runs ``read`` on a thread of its own when :meth:`start` is called and no read is
    running already; a failing read (the database may be down) is logged and the caller keeps
    what it holds."""

    def __init__(self, read: Callable[[], object], *, name: str, what: str) -> None:
        self._read = read
        self._name = name
        self._what = what
        self._lock = threading.Lock()
        self._reading = False

    def start(self) -> None:
        with self._lock:
            if self._reading:
                return
            self._reading = True
        threading.Thread(target=self._run, name=self._name, daemon=True).start()

    def _run(self) -> None:
        try:
            self._read()
        except Exception as exc:  # the database may be down: keep what we have
            logger.warning("%s: could not re-read %s: %r", self._name, self._what, exc)
        finally:
            with self._lock:
                self._reading = False
