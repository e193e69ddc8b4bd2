"""conversation messages know whether a user's message was answered (pending, answered, queued
for an agent, left to the agents), and which platform process answers it until when

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from backoffice.store.models import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer_state", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("answerer", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("lease_until", UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_conversation_messages_answer_state"),
                              ["answer_state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_messages_answer_state"))
        batch_op.drop_column("lease_until")
        batch_op.drop_column("answerer")
        batch_op.drop_column("answer_state")
