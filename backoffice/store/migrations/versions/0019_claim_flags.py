"""claim_flags (the integrity checks' flags) and the indexes those checks read: documents by
content hash and by invoice, claims by reporter phone

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backoffice.store.models

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.Column("raised_at", backoffice.store.models.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("cleared_by", sa.String(length=60), nullable=True),
        sa.Column("cleared_at", backoffice.store.models.UTCDateTime(timezone=True),
                  nullable=True),
        sa.Column("cleared_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"],
                                name=op.f("fk_claim_flags_claim_id_claims")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_flags")),
    )
    with op.batch_alter_table("claim_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_flags_claim_id"), ["claim_id"], unique=False)
    with op.batch_alter_table("claim_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invoice_key", sa.String(length=60), nullable=True))
        batch_op.create_index(batch_op.f("ix_claim_documents_invoice_key"), ["invoice_key"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_claim_documents_sha256"), ["sha256"], unique=False)
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claims_reporter_phone"), ["reporter_phone"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claims_reporter_phone"))
    with op.batch_alter_table("claim_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_documents_sha256"))
        batch_op.drop_index(batch_op.f("ix_claim_documents_invoice_key"))
        batch_op.drop_column("invoice_key")
    with op.batch_alter_table("claim_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_flags_claim_id"))
    op.drop_table("claim_flags")
