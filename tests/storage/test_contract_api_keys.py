"""The storage contract for API keys: issued, read, listed, revoked and touched the same way
on SQLite, PostgreSQL and MariaDB, and never stored in the clear."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine, select

from recomind.credentials import secret_digest, split_key
from recomind.storage.api_keys import get_key, issue_key, list_keys, revoke_key, touch_key
from recomind.storage.engine import read_tx, write_tx
from recomind.storage.tables import api_keys

T0 = datetime(2026, 1, 1, 12, 0, 0, 123456)


def test_a_key_is_issued_read_and_listed_with_its_scopes(engine: Engine) -> None:
    with write_tx(engine) as conn:
        first, full = issue_key(conn, name="ingest service", scopes=["read", "ingest", "read"])
        second, _ = issue_key(conn, name="ops", scopes=["admin"])
    parts = split_key(full)
    assert parts is not None and parts.key_id == first.key_id
    with read_tx(engine) as conn:
        got = get_key(conn, key_id=first.key_id)
        assert got is not None
        assert got.scopes == frozenset({"ingest", "read"})
        assert got.name == "ingest service"
        assert got.secret_sha256 == secret_digest(parts.secret)
        assert got.active and got.last_used_at is None
        assert get_key(conn, key_id="absent") is None
        assert {k.key_id for k in list_keys(conn)} == {first.key_id, second.key_id}


def test_revoking_marks_the_key_once_and_touch_records_use(engine: Engine) -> None:
    with write_tx(engine) as conn:
        key, _ = issue_key(conn, name="k", scopes=["read"])
    with write_tx(engine) as conn:
        touch_key(conn, key_id=key.key_id, at=T0)
        assert revoke_key(conn, key_id=key.key_id, at=T0)
    with write_tx(engine) as conn:
        assert not revoke_key(conn, key_id=key.key_id)  # revoked before
        assert not revoke_key(conn, key_id="absent")
    with read_tx(engine) as conn:
        got = get_key(conn, key_id=key.key_id)
    assert got is not None and not got.active
    assert got.revoked_at == T0 and got.last_used_at == T0  # microseconds kept everywhere


def test_no_stored_column_holds_the_secret(engine: Engine) -> None:
    with write_tx(engine) as conn:
        _, full = issue_key(conn, name="k", scopes=["ingest"])
    parts = split_key(full)
    assert parts is not None
    with read_tx(engine) as conn:
        values = [str(v) for row in conn.execute(select(api_keys)) for v in row]
    assert values and not any(parts.secret in v or full in v for v in values)


@pytest.mark.parametrize("scopes", [[], ["root"], ["read", "write"]])
def test_unknown_or_no_scopes_are_refused(engine: Engine, scopes: list[str]) -> None:
    with pytest.raises(ValueError, match="scope"), write_tx(engine) as conn:
        issue_key(conn, name="k", scopes=scopes)
    with read_tx(engine) as conn:
        assert list_keys(conn) == []
