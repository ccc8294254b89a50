"""Every event id counted once: claims of live events too, each with an expiry.

Before issue 14 only bulk events were claimed (``event_claims``), and a live event the
producer wrote twice (a retry after a broker restart) was counted twice by popularity and
profiles. Now every database group claims every event id; a live event's claim expires after
``RECOMIND_EVENT_CLAIMS_DAYS`` (longer than the bus keeps a message, so a re-read finds it),
a bulk event's never does (``expires_at`` NULL, as every claim made before this revision).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from recomind.storage.types import Timestamp

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_claims") as batch:
        batch.add_column(sa.Column("expires_at", Timestamp, nullable=True))
    op.create_index("ix_event_claims_expires_at", "event_claims", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_event_claims_expires_at", table_name="event_claims")
    with op.batch_alter_table("event_claims") as batch:
        batch.drop_column("expires_at")
