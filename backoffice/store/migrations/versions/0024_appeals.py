"""appeals (复核申请) of rejected claims, one open per claim

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backoffice.store.models

revision = "0024"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_no", sa.String(length=30), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("claim_no", sa.String(length=30), nullable=False),
        sa.Column("open_claim_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("channel_user", sa.String(length=80), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.String(length=60), nullable=False),
        sa.Column("filed_at", backoffice.store.models.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("rejected_by", sa.String(length=60), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(length=60), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"],
                                name=op.f("fk_appeals_claim_id_claims")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("appeal_no", name=op.f("uq_appeals_appeal_no")),
        sa.UniqueConstraint("open_claim_id", name=op.f("uq_appeals_open_claim_id")),
    )
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appeals_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appeals_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_appeals_due_on"), ["due_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appeals_due_on"))
        batch_op.drop_index(batch_op.f("ix_appeals_status"))
        batch_op.drop_index(batch_op.f("ix_appeals_claim_id"))
    op.drop_table("appeals")
