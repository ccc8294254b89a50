"""``retrain-trigger``: count new events per user and overall.

Each user's new actions are counted by the list-invalidation owner
(:meth:`~recomind.serving.invalidation.ListInvalidation.counted`), which refreshes a user's
list after ``refresh_after_interactions`` of them: the design's "after X interactions"
policy. After ``retrain_after_events`` events overall, or ``retrain_after_minutes`` with at
least one new event, a row is written to ``retrain_signals`` for the training job.

It counts each event id once: it is a :class:`DatabaseHandler` whose effect is only its
claims; the counting happens after the claims are committed (a crash in between loses that
batch's counts, a nudge to refresh or retrain, never an event).
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally

from prometheus_client import Counter

from recomind.schemas import ActionEvent
from recomind.storage.engine import write_tx
from recomind.storage.retrain_signals import add_signal
from recomind.stream.consumers.base import Context, DatabaseHandler

logger = logging.getLogger(__name__)

SIGNALS = Counter("recomind_retrain_signals_total", "Retrain signals sent to the training job")


class RetrainTriggerHandler(DatabaseHandler):
    group = "retrain-trigger"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.pending = 0
        self.last_signal = time.monotonic()

    def after_commit(self, events: list[ActionEvent]) -> None:
        self.ctx.recommendations.lists.counted(Tally(e.user_id for e in events))
        self.pending += len(events)
        if self.pending >= self.ctx.settings.retrain_after_events:
            self._signal("events")

    def tick(self) -> dict[int, int]:
        elapsed = time.monotonic() - self.last_signal
        if self.pending and elapsed >= self.ctx.settings.retrain_after_minutes * 60:
            self._signal("interval")
        return super().tick()

    def _signal(self, reason: str) -> None:
        with write_tx(self.ctx.engine) as conn:
            add_signal(conn, reason=reason, events=self.pending)
        logger.info("retrain signal (%s) after %d events", reason, self.pending)
        SIGNALS.inc()
        self.pending = 0
        self.last_signal = time.monotonic()
