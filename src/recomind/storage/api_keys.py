"""Data functions over ``api_keys``. Keyword-only; ``None`` when a row is absent.

The secret is never stored: :func:`issue_key` returns the full key once and keeps its digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from recomind.credentials import check_scopes, new_key, secret_digest
from recomind.schemas import utcnow
from recomind.storage.tables import api_keys
from recomind.storage.types import as_datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    name: str
    scopes: frozenset[str]
    secret_sha256: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _key(row: Any) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        name=row.name,
        scopes=frozenset(row.scopes.split()),
        secret_sha256=row.secret_sha256,
        created_at=as_datetime(row.created_at),
        revoked_at=as_datetime(row.revoked_at) if row.revoked_at is not None else None,
        last_used_at=as_datetime(row.last_used_at) if row.last_used_at is not None else None,
    )


def issue_key(conn: Connection, *, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """Store a new key; returns its row and the full ``rmk_...`` string (shown once)."""
    checked = check_scopes(scopes)
    parts, full = new_key()
    key = ApiKey(
        key_id=parts.key_id,
        name=name,
        scopes=frozenset(checked),
        secret_sha256=secret_digest(parts.secret),
        created_at=utcnow(),
    )
    row = {
        "key_id": key.key_id,
        "name": key.name,
        "scopes": " ".join(checked),
        "secret_sha256": key.secret_sha256,
        "created_at": key.created_at,
    }
    conn.execute(api_keys.insert(), row)
    return key, full


def get_key(conn: Connection, *, key_id: str) -> ApiKey | None:
    row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
    return _key(row) if row else None


def list_keys(conn: Connection) -> list[ApiKey]:
    """Every key, revoked ones too, oldest first."""
    stmt = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)
    return [_key(r) for r in conn.execute(stmt)]


def revoke_key(conn: Connection, *, key_id: str, at: datetime | None = None) -> bool:
    """Mark a key revoked; False when there is no such key or it was revoked before."""
    stmt = (
        update(api_keys)
        .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=at or utcnow())
    )
    return conn.execute(stmt).rowcount == 1


def touch_key(conn: Connection, *, key_id: str, at: datetime) -> None:
    """Record that the key was used (at most once per lookup window, not per request)."""
    conn.execute(update(api_keys).where(api_keys.c.key_id == key_id).values(last_used_at=at))
