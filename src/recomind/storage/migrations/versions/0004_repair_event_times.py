"""Repair rows written before event times were checked: future times, non-finite scores.

Before issue 11 an action could carry any timestamp (2099, 9999): the popularity fold then
stored a score "as of" that year (trending overflowed on every read), a profile's
``updated_at`` jumped there (every later action decayed to nothing) and the action itself was
stored with it. This migration clamps every such time to the time it runs and sets
non-finite popularity scores to 0. Tag weights that are not finite are dropped by the readers
(``storage/profiles.py``) and the next fold rewrites the row without them. Data only: the
downgrade changes nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from recomind.storage.types import Timestamp

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: Client-given (or derived from client-given) times; the rest are set by the server.
TIMES = [
    ("video_actions", "timestamp"),
    ("video_popularity", "last_updated"),
    ("user_profiles", "updated_at"),
    ("videos", "created_at"),
]


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    for name, column in TIMES:
        table = sa.table(name, sa.column(column, Timestamp))
        bind.execute(sa.update(table).where(table.c[column] > now).values({column: now}))
    # ±inf on PostgreSQL and SQLite (PostgreSQL also sorts NaN above every number; SQLite
    # stores NaN as NULL and MariaDB refuses all three, so nothing else can be there).
    big = sys.float_info.max
    popularity = sa.table("video_popularity", sa.column("score", sa.Double()))
    bind.execute(
        sa.update(popularity)
        .where(sa.or_(popularity.c.score > big, popularity.c.score < -big))
        .values(score=0.0)
    )


def downgrade() -> None:
    """Nothing to undo: the repaired values were wrong."""
