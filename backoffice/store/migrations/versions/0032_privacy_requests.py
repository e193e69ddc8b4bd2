"""Requests of the data subject (查阅、复制、更正、删除)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_no", sa.String(length=30), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("verified_by", sa.String(length=20), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("received_by", sa.String(length=60), nullable=False),
        sa.Column("handler", sa.String(length=60), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("link_revision", sa.Integer(), server_default="0", nullable=False),
        sa.Column("link_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"],
                                name=op.f("fk_privacy_requests_party_id_parties")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
        sa.UniqueConstraint("request_no", name=op.f("uq_privacy_requests_request_no")),
    )
    op.create_index(op.f("ix_privacy_requests_party_id"), "privacy_requests", ["party_id"])
    op.create_index(op.f("ix_privacy_requests_status"), "privacy_requests", ["status"])
    op.create_index(op.f("ix_privacy_requests_due_on"), "privacy_requests", ["due_on"])
    op.create_index(op.f("ix_privacy_requests_handler"), "privacy_requests", ["handler"])


def downgrade() -> None:
    op.drop_table("privacy_requests")
