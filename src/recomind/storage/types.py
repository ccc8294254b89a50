"""Column types that differ by backend: tags are ``TEXT[]`` on PostgreSQL, JSON elsewhere."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Text
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class TagList(TypeDecorator[list[str]]):
    """A list of tag strings: ``TEXT[]`` on PostgreSQL (as the design says), JSON elsewhere."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(Text()))
        return dialect.type_descriptor(JSON())

    def process_bind_param(self, value: list[str] | None, dialect: Dialect) -> Any:
        return list(value) if value is not None else []

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str]:
        return list(value) if value else []


#: Naive-UTC timestamp with microseconds on every backend (MySQL's default DATETIME drops them).
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def as_datetime(value: Any) -> datetime:
    """SQLite may hand back strings from raw SQL; ORM columns are already datetimes."""
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
