"""endorsement requests (保全申请) decided by staff

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backoffice.store.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endorsement_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_no", sa.String(length=30), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("policy_no", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("channel_user", sa.String(length=80), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "submitted_at", backoffice.store.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(length=60), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("endorsement_no", sa.String(length=30), nullable=True),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"],
                                name=op.f("fk_endorsement_requests_policy_id_policies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endorsement_requests")),
        sa.UniqueConstraint("request_no", name=op.f("uq_endorsement_requests_request_no")),
    )
    with op.batch_alter_table("endorsement_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_endorsement_requests_policy_id"), ["policy_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_endorsement_requests_status"), ["status"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_endorsement_requests_due_on"), ["due_on"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("endorsement_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_endorsement_requests_due_on"))
        batch_op.drop_index(batch_op.f("ix_endorsement_requests_status"))
        batch_op.drop_index(batch_op.f("ix_endorsement_requests_policy_id"))

    op.drop_table("endorsement_requests")
