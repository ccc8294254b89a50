"""Data functions over ``users``. Keyword-only; ``None`` when a row is absent.

Every function takes a :class:`sqlalchemy.Connection` so callers choose the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select

from recomind.errors import ConflictError
from recomind.schemas import User, utcnow
from recomind.storage.inserts import insert_new, new_id
from recomind.storage.tables import users
from recomind.storage.types import as_datetime


def _user(row: Any) -> User:
    return User(user_id=row.user_id, name=row.name, created_at=as_datetime(row.created_at))


def create_user(conn: Connection, *, user_id: str | None, name: str) -> User:
    uid = user_id or new_id()
    if get_user(conn, user_id=uid) is not None:
        raise ConflictError("user", "user_id", uid)
    row = {"user_id": uid, "name": name, "created_at": utcnow()}
    conn.execute(users.insert(), row)
    return User(**row)


def get_user(conn: Connection, *, user_id: str) -> User | None:
    row = conn.execute(select(users).where(users.c.user_id == user_id)).first()
    return _user(row) if row else None


def ensure_users(conn: Connection, *, user_ids: Iterable[str]) -> int:
    """Create users first seen in an action (named after their id). Returns how many were new."""
    now = utcnow()
    rows = [{"user_id": u, "name": u, "created_at": now} for u in sorted(set(user_ids))]
    return len(insert_new(conn, users, rows, "user_id"))


def list_users(conn: Connection, *, limit: int) -> list[User]:
    """The first ``limit`` users, oldest first (ties by id)."""
    stmt = select(users).order_by(users.c.created_at, users.c.user_id).limit(limit)
    return [_user(r) for r in conn.execute(stmt)]


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())
