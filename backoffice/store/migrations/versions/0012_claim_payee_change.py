"""claims carry a payee account change waiting for a second person

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_bank_account", sa.String(length=30),
                                      nullable=True))
        batch_op.add_column(sa.Column("pending_bank_account_by", sa.String(length=60),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("pending_bank_account_by")
        batch_op.drop_column("pending_bank_account")
