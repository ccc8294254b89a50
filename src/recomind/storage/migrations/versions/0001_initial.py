"""The design's five tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from recomind.storage.types import TagList, Timestamp

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_users"),
    )
    op.create_table(
        "videos",
        sa.Column("video_id", sa.String(128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("tags", TagList(), nullable=False),
        sa.Column("creator_id", sa.String(128), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("duration_s", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("video_id", name="pk_videos"),
    )
    op.create_index("ix_videos_created_at", "videos", ["created_at"])
    op.create_index("ix_videos_creator_id", "videos", ["creator_id"])
    op.create_table(
        "video_actions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("video_id", sa.String(128), nullable=False),
        sa.Column("action_type", sa.String(8), nullable=False),
        sa.Column("timestamp", Timestamp, nullable=False),
        sa.Column("watch_time_ms", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_video_actions"),
    )
    op.create_index("ix_video_actions_user_id_timestamp", "video_actions", ["user_id", "timestamp"])
    op.create_index("ix_video_actions_video_id", "video_actions", ["video_id"])
    op.create_index("ix_video_actions_timestamp", "video_actions", ["timestamp"])
    op.create_table(
        "user_profiles",
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("top_tags", TagList(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("tag_weights", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_profiles"),
    )
    op.create_table(
        "video_popularity",
        sa.Column("video_id", sa.String(128), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("last_updated", Timestamp, nullable=False),
        sa.Column("n_events", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("video_id", name="pk_video_popularity"),
    )
    op.create_index("ix_video_popularity_score", "video_popularity", ["score"])


def downgrade() -> None:
    op.drop_table("video_popularity")
    op.drop_table("user_profiles")
    op.drop_table("video_actions")
    op.drop_table("videos")
    op.drop_table("users")
