"""roster_members: the end of a member's cover (date, reason death / moved_away / correction,
note, who and when); removal keeps the row

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backoffice.store.models

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("roster_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ended_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("end_reason", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("end_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("ended_by", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column(
            "ended_at", backoffice.store.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("roster_members", schema=None) as batch_op:
        batch_op.drop_column("ended_at")
        batch_op.drop_column("ended_by")
        batch_op.drop_column("end_note")
        batch_op.drop_column("end_reason")
        batch_op.drop_column("ended_on")
