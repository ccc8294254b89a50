"""``retrain-trigger``: count new events per user and overall.

After ``refresh_after_interactions`` new actions of one user, that user's cached list is
refreshed in the background (the stale one is served meanwhile): the design's "after X
interactions" policy. After ``retrain_after_events``
events overall, or ``retrain_after_minutes`` with at least one new event, a row is written
to ``retrain_signals`` for the training job.
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from collections.abc import Sequence

from prometheus_client import Counter

from recomind.cache import keys
from recomind.storage.engine import write_tx
from recomind.storage.retrain_signals import add_signal
from recomind.stream.consumers.base import Context, Handler, Item, next_offsets

logger = logging.getLogger(__name__)

SIGNALS = Counter("recomind_retrain_signals_total", "Retrain signals sent to the training job")
REFRESHES = Counter(
    "recomind_recommendation_refreshes_total", "User lists refreshed after X interactions"
)

COUNTER_KEY = "actions_since_refresh"


class RetrainTriggerHandler(Handler):
    group = "retrain-trigger"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.pending = 0
        self.last_signal = time.monotonic()

    def handle(self, items: Sequence[Item]) -> dict[int, int]:
        events = [e for _, e in items if e is not None]
        x = self.ctx.settings.refresh_after_interactions
        if x > 0:
            per_user = Tally(e.user_id for e in events)
            service = self.ctx.recommendations
            prefix = self.ctx.settings.cache_prefix
            ttl = float(self.ctx.settings.recommendations_ttl_s)
            for user, n in per_user.items():
                key = keys.key(prefix, COUNTER_KEY, user)
                count = None
                for _ in range(n):
                    count = self.ctx.cache.incr(key, ttl)
                if count is not None and count >= x:
                    self.ctx.cache.delete(key)
                    service.mark_stale(user)
                    service.refresh_soon(user)
                    REFRESHES.inc()
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
