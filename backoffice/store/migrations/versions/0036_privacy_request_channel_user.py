"""Requests of the data subject made in the chat: the channel and channel user who asked

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("privacy_requests") as batch:
        batch.add_column(sa.Column("user_channel", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("channel_user", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("privacy_requests") as batch:
        batch.drop_column("channel_user")
        batch.drop_column("user_channel")
