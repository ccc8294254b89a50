"""Data functions over ``retrain_signals``: requests to the training job.

The ``retrain-trigger`` consumer group adds them; the ``train`` job consumes them and the
scheduler asks how many are pending. Every function takes a :class:`sqlalchemy.Connection`
so callers choose the transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from recomind.schemas import utcnow
from recomind.storage.tables import retrain_signals


def add_signal(conn: Connection, *, reason: str, events: int) -> None:
    """Ask for a retrain: ``events`` new events since the last signal, for ``reason``."""
    conn.execute(insert(retrain_signals).values(created_at=utcnow(), reason=reason, events=events))


def consume_signals(conn: Connection, *, before: datetime) -> int:
    """Mark retrain signals created up to ``before`` as consumed; returns how many."""
    result = conn.execute(
        update(retrain_signals)
        .where(retrain_signals.c.consumed_at.is_(None), retrain_signals.c.created_at <= before)
        .values(consumed_at=utcnow())
    )
    return int(result.rowcount or 0)


def pending_signals(conn: Connection) -> int:
    """Number of retrain signals the train job has not consumed yet."""
    stmt = select(func.count()).where(retrain_signals.c.consumed_at.is_(None))
    return int(conn.execute(stmt).scalar_one())
