"""Per (user, video) action states of the popularity and profile folds.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

After upgrading a database that already holds actions, rebuild popularity and profiles once
(``recomind jobs run popularity`` and ``recomind jobs run profiles``, consumers stopped) so
that past repeated likes count once and the states match the scores.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "action_states",
        sa.Column("fold", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("video_id", sa.String(128), nullable=False),
        sa.Column("acts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("fold", "user_id", "video_id", name="pk_action_states"),
    )


def downgrade() -> None:
    op.drop_table("action_states")
