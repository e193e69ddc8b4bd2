"""staff bearer tokens for the API and failed API sign-ins

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backoffice.store.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", backoffice.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", backoffice.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_api_tokens_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_api_tokens")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_tokens_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "staff_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("at", backoffice.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_login_failures")),
    )
    with op.batch_alter_table("staff_login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_login_failures_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_staff_login_failures_username"), ["username"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_login_failures_username"))
        batch_op.drop_index(batch_op.f("ix_staff_login_failures_at"))
    op.drop_table("staff_login_failures")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_staff_id"))
        batch_op.drop_index(batch_op.f("ix_api_tokens_expires_at"))
    op.drop_table("api_tokens")
