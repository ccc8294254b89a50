"""``retrain-trigger``: count new events per user and overall.

Each user's new actions are counted by the list-invalidation owner
(:meth:`~recomind.serving.invalidation.ListInvalidation.counted`), which refreshes a user's
list after ``refresh_after_interactions`` of them: the design's "after X interactions"
policy. After ``retrain_after_events`` events overall, or ``retrain_after_minutes`` with at
least one new event, a row is written to ``retrain_signals`` for the training job.
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from collections.abc import Sequence

from prometheus_client import Counter

from recomind.storage.engine import write_tx
from recomind.storage.retrain_signals import add_signal
from recomind.stream.consumers.base import Context, Handler, Item, next_offsets

logger = logging.getLogger(__name__)

SIGNALS = Counter("recomind_retrain_signals_total", "Retrain signals sent to the training job")


class RetrainTriggerHandler(Handler):
    group = "retrain-trigger"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.pending = 0
        self.last_signal = time.monotonic()

    def handle(self, items: Sequence[Item]) -> dict[int, int]:
        events = [e for _, e in items if e is not None]
        self.ctx.recommendations.lists.counted(Tally(e.user_id for e in events))
        self.pending += len(events)
        if self.pending >= self.ctx.settings.retrain_after_events:
            self._signal("events")
        return next_offsets(items)

    def tick(self) -> dict[int, int]:
        elapsed = time.monotonic() - self.last_signal
        if self.pending and elapsed >= self.ctx.settings.retrain_after_minutes * 60:
            self._signal("interval")
        return {}

    def _signal(self, reason: str) -> None:
        with write_tx(self.ctx.engine) as conn:
            add_signal(conn, reason=reason, events=self.pending)
        logger.info("retrain signal (%s) after %d events", reason, self.pending)
        SIGNALS.inc()
        self.pending = 0
        self.last_signal = time.monotonic()
