"""Erasure and takedown: ``videos.active``, ``erasures`` and ``audit_log`` (issue 15).

``videos.active`` is false for a taken-down video (reversible); ``erasures`` keeps the
SHA-256 of each erased user's id and when, so the consumers drop that user's events still
in flight; ``audit_log`` records every erasure, takedown and restore (docs/erasure.md).

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from recomind.storage.types import Timestamp

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("videos") as batch:
        batch.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        "erasures",
        sa.Column("subject_hash", sa.String(64), nullable=False),
        sa.Column("erased_at", Timestamp, nullable=False),
        sa.Column("receipt_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("subject_hash", name="pk_erasures"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("erasures")
    with op.batch_alter_table("videos") as batch:
        batch.drop_column("active")
