"""Separate consent to sensitive personal information, given in the chat

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("channel_user", sa.String(length=128), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=True),
        sa.Column("notice_version", sa.String(length=40), nullable=False),
        sa.Column("notice_sha256", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"],
                                name=op.f("fk_consents_party_id_parties")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index("ix_consents_channel_user", "consents", ["channel", "channel_user", "id"])
    op.create_index(op.f("ix_consents_party_id"), "consents", ["party_id"])


def downgrade() -> None:
    op.drop_table("consents")
