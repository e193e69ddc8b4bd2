"""the scheme year to year: a renewal's link and per-head premium, enrollment notices sent

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("premium_per_insured_fen", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("renewal_of_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_policies_renewal_of_id_policies"),
                                    "policies", ["renewal_of_id"], ["id"])
        batch_op.create_unique_constraint(batch_op.f("uq_policies_renewal_of_id"),
                                          ["renewal_of_id"])
    with op.batch_alter_table("roster_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notified_on", sa.Date(), nullable=True))
        batch_op.create_index("ix_roster_members_policy_id_notified_on",
                              ["policy_id", "notified_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("roster_members", schema=None) as batch_op:
        batch_op.drop_index("ix_roster_members_policy_id_notified_on")
        batch_op.drop_column("notified_on")
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_policies_renewal_of_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_policies_renewal_of_id_policies"),
                                 type_="foreignkey")
        batch_op.drop_column("renewal_of_id")
        batch_op.drop_column("premium_per_insured_fen")
