"""work queues: a task about a person (a 回访 sample of the scheme's insureds)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("party_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_tasks_party_id_parties"), "parties",
                                    ["party_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_tasks_party_id"), ["party_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_party_id"))
        batch_op.drop_constraint(batch_op.f("fk_tasks_party_id_parties"), type_="foreignkey")
        batch_op.drop_column("party_id")
