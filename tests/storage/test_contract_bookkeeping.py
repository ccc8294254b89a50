"""The storage contract for the service's bookkeeping: consumer offsets, retrain signals,
clearing the derived tables and the readiness ping. Runs on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from recomind.config import Settings
from recomind.folds.pipeline import apply_events
from recomind.schemas import ActionEvent, VideoCreate, utcnow
from recomind.storage.engine import make_engine, ping, read_tx, write_tx
from recomind.storage.offsets import advance_offsets, lock_offsets, stored_offsets
from recomind.storage.popularity import clear_popularity, top_popularity
from recomind.storage.profiles import clear_profiles, get_profile
from recomind.storage.retrain_signals import add_signal, consume_signals, pending_signals
from recomind.storage.videos import create_videos

T0 = datetime(2026, 1, 1, 12, 0, 0)


def test_offsets_start_at_zero_advance_and_stay_per_group_and_topic(engine: Engine) -> None:
    with write_tx(engine) as conn:
        assert lock_offsets(conn, group="g", topic="t", partitions=[0, 2], now=T0) == {0: 0, 2: 0}
        advance_offsets(conn, group="g", topic="t", offsets={0: 5, 2: 7}, now=T0)
    with write_tx(engine) as conn:
        # Existing rows are read as stored; a new partition starts at 0.
        assert lock_offsets(conn, group="g", topic="t", partitions=[0, 1], now=T0) == {0: 5, 1: 0}
        advance_offsets(conn, group="g", topic="t", offsets={1: 3}, now=T0)
    with read_tx(engine) as conn:
        assert stored_offsets(conn, group="g", topic="t") == {0: 5, 1: 3, 2: 7}
        assert stored_offsets(conn, group="other", topic="t") == {}
        assert stored_offsets(conn, group="g", topic="other") == {}


def test_offsets_advanced_in_a_failed_transaction_are_not_stored(engine: Engine) -> None:
    with write_tx(engine) as conn:
        lock_offsets(conn, group="g", topic="t", partitions=[0], now=T0)
    with pytest.raises(RuntimeError), write_tx(engine) as conn:
        advance_offsets(conn, group="g", topic="t", offsets={0: 9}, now=T0)
        raise RuntimeError("the group's effect failed")
    with read_tx(engine) as conn:
        assert stored_offsets(conn, group="g", topic="t") == {0: 0}


def test_retrain_signals_pend_until_consumed(engine: Engine) -> None:
    with read_tx(engine) as conn:
        assert pending_signals(conn) == 0
    with write_tx(engine) as conn:
        add_signal(conn, reason="events", events=500)
        add_signal(conn, reason="interval", events=3)
    with read_tx(engine) as conn:
        assert pending_signals(conn) == 2
    with write_tx(engine) as conn:
        assert consume_signals(conn, before=utcnow() - timedelta(hours=1)) == 0  # none so old
    with write_tx(engine) as conn:
        assert consume_signals(conn, before=utcnow()) == 2
    with write_tx(engine) as conn:
        add_signal(conn, reason="events", events=1)
        assert consume_signals(conn, before=utcnow()) == 1  # consumed ones are not counted
    with read_tx(engine) as conn:
        assert pending_signals(conn) == 0


def test_clearing_popularity_and_profiles_empties_only_them(engine: Engine) -> None:
    with write_tx(engine) as conn:
        create_videos(conn, items=[VideoCreate(video_id="v1", title="t", url="u", tags=["a"])])
    event = ActionEvent(
        event_id="e1", user_id="u1", video_id="v1", action_type="like", timestamp=T0
    )
    apply_events(engine, settings=Settings(), events=[event])
    with write_tx(engine) as conn:
        assert top_popularity(conn, limit=10) != []
        clear_popularity(conn)
        assert top_popularity(conn, limit=10) == []
        assert get_profile(conn, user_id="u1") is not None
        clear_profiles(conn)
        assert get_profile(conn, user_id="u1") is None


def test_ping_answers_and_raises_without_a_database(engine: Engine) -> None:
    ping(engine)
    missing = make_engine("postgresql://nobody@127.0.0.1:1/none")
    try:
        with pytest.raises(OperationalError):
            ping(missing)
    finally:
        missing.dispose()
