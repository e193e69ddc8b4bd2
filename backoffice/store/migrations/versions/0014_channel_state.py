"""channel_state: the channels' calls in progress and the answers of phone events, by key,
each with an expiry

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from backoffice.store.models import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_state",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_channel_state")),
    )
    op.create_index(op.f("ix_channel_state_expires_at"), "channel_state", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_channel_state_expires_at"), table_name="channel_state")
    op.drop_table("channel_state")
