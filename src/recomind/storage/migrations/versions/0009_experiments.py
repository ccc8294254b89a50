"""Experiments: A/B tests of rankers (issue 16, docs/experiments.md).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from recomind.storage.types import Timestamp

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("surface", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("running_on", sa.String(64), nullable=True),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("salt", sa.String(128), nullable=False),
        sa.Column("horizon_users", sa.Integer(), nullable=False),
        sa.Column("primary_metric", sa.String(32), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("stopped_at", Timestamp, nullable=True),
        sa.Column("shipped_variant", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_experiments"),
        sa.UniqueConstraint("running_on", name="uq_experiments_running_on"),
    )


def downgrade() -> None:
    op.drop_table("experiments")
