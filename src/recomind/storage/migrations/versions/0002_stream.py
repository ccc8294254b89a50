"""Stream bookkeeping: consumer offsets stored with their effects, retrain signals.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from recomind.storage.types import Timestamp

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consumer_offsets",
        sa.Column("group_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("partition", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("group_id", "topic", "partition", name="pk_consumer_offsets"),
    )
    op.create_table(
        "retrain_signals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("consumed_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_retrain_signals"),
    )
    op.create_index("ix_retrain_signals_consumed_at", "retrain_signals", ["consumed_at"])


def downgrade() -> None:
    op.drop_table("retrain_signals")
    op.drop_table("consumer_offsets")
