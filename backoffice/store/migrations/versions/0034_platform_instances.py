"""platform processes keep a lease on the messages they answer (platform_instances): a live
process renews it every few seconds, another takes over a dead one's pending messages

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from backoffice.store.models import UTCDateTime

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "platform_instances",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("lease_until", UTCDateTime(timezone=True), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_platform_instances")),
    )
    op.create_index(op.f("ix_platform_instances_lease_until"), "platform_instances",
                    ["lease_until"], unique=False)
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        # the takeover looks up a dead process's pending messages by answerer
        batch_op.create_index(batch_op.f("ix_conversation_messages_answerer"), ["answerer"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_messages_answerer"))
    op.drop_index(op.f("ix_platform_instances_lease_until"), table_name="platform_instances")
    op.drop_table("platform_instances")
