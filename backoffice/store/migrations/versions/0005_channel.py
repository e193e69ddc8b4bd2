"""channel bindings of parties (bot identification)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backoffice.store.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("user", sa.String(length=128), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("created_at", backoffice.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backoffice.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"],
                                name=op.f("fk_channel_bindings_party_id_parties")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_bindings")),
        sa.UniqueConstraint("channel", "user", name=op.f("uq_channel_bindings_channel")),
    )
    op.create_index(op.f("ix_channel_bindings_party_id"), "channel_bindings", ["party_id"])
    op.create_table(
        "binding_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("user", sa.String(length=128), nullable=False),
        sa.Column("at", backoffice.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_binding_failures")),
    )
    op.create_index(op.f("ix_binding_failures_at"), "binding_failures", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_binding_failures_at"), table_name="binding_failures")
    op.drop_table("binding_failures")
    op.drop_index(op.f("ix_channel_bindings_party_id"), table_name="channel_bindings")
    op.drop_table("channel_bindings")
