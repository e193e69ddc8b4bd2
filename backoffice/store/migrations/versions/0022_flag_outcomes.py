"""claim_flags: the outcome of the risk review (open, confirmed, cleared) and the amount a
confirmed flag held back; indexed by outcome for the review queue

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claim_flags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=12), nullable=False,
                                      server_default="open"))
        batch_op.add_column(sa.Column("held_back_fen", sa.BigInteger(), nullable=False,
                                      server_default="0"))
        batch_op.create_index(batch_op.f("ix_claim_flags_outcome"), ["outcome"], unique=False)
    op.execute("UPDATE claim_flags SET outcome = 'cleared' WHERE cleared_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("claim_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_flags_outcome"))
        batch_op.drop_column("held_back_fen")
        batch_op.drop_column("outcome")
