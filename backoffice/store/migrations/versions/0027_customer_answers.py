"""satisfaction and 回访 answers taken from the customer's channels: where each question was
asked, whether it awaits the customer's reply, and a follow-up task's outcome

Revision ID: 0027
Revises: 0024
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backoffice.store.models

revision = "0027"
down_revision = "0024"
branch_labels = None
depends_on = None

_WHEN = backoffice.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("satisfaction", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_channel", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("recipient", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("awaiting", sa.Boolean(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("claim_no", sa.String(length=30), nullable=True))
        batch_op.create_index(batch_op.f("ix_satisfaction_recipient"), ["recipient"],
                              unique=False)
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_channel", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("recipient", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("asked_at", _WHEN, nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("result", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("done_by", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("done_at", _WHEN, nullable=True))
        batch_op.create_index(batch_op.f("ix_tasks_recipient"), ["recipient"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_recipient"))
        for name in ("done_at", "done_by", "result", "outcome", "asked_at", "recipient",
                     "reply_channel"):
            batch_op.drop_column(name)
    with op.batch_alter_table("satisfaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_satisfaction_recipient"))
        for name in ("claim_no", "awaiting", "recipient", "reply_channel"):
            batch_op.drop_column(name)
