"""Inserts that skip rows whose key is stored already, in each backend's dialect; new row ids."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, Insert, text
from sqlalchemy.dialects import mysql, postgresql, sqlite

from recomind.storage.types import TagList


def new_id() -> str:
    return str(uuid.uuid4())


def _insert_ignore(conn: Connection, table: Any) -> Insert:
    """``INSERT`` that silently skips rows whose primary key exists, in ``conn``'s dialect."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return mysql.insert(table).prefix_with("IGNORE")


def insert_ignore(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows, silently skipping those whose primary key exists (race-safe)."""
    if rows:
        conn.execute(_insert_ignore(conn, table), rows)


def insert_new(conn: Connection, table: Any, rows: list[dict[str, Any]], key: str) -> set[Any]:
    """Insert rows whose primary key ``key`` is not stored yet; returns the keys inserted.

    One statement, no lookup first (a lookup of many keys can be planned as a scan of the
    whole table). On PostgreSQL the rows travel as one array per column through
    ``unnest``: a short statement that psycopg prepares once, instead of a multi-row
    ``VALUES`` list it would re-parse for every batch.
    """
    if not rows:
        return set()
    cols = list(rows[0])
    # unnest needs one array per column: a column that is itself an array (tags) cannot be.
    if conn.dialect.name != "postgresql" or any(isinstance(table.c[c].type, TagList) for c in cols):
        stmt = _insert_ignore(conn, table).returning(table.c[key])
        return {r[0] for r in conn.execute(stmt, rows)}
    quote = conn.dialect.identifier_preparer.quote
    arrays = ", ".join(
        f"CAST(:c{i} AS {table.c[c].type.compile(dialect=conn.dialect)}[])"
        for i, c in enumerate(cols)
    )
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) "
        f"SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING RETURNING {quote(key)}"
    )
    params = {f"c{i}": [r[c] for r in rows] for i, c in enumerate(cols)}
    return {r[0] for r in conn.execute(text(sql), params)}
