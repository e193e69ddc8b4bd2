"""conversations carry the agents' queue they wait in

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queue", sa.String(length=20), server_default="general",
                                      nullable=False))
        batch_op.create_index("ix_conversations_queue", ["queue", "state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_queue")
        batch_op.drop_column("queue")
