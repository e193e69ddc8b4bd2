"""attempt_limits: failures counted per key (source, account at a source, ID number); the
per-username and per-channel-user failure logs it replaces are dropped

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from backoffice.store.models import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attempt_limits",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=30), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_attempt_limits")),
    )
    with op.batch_alter_table("attempt_limits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attempt_limits_last_failure_at"),
                              ["last_failure_at"], unique=False)
    op.drop_index(op.f("ix_binding_failures_at"), table_name="binding_failures")
    op.drop_table("binding_failures")
    op.drop_index(op.f("ix_staff_login_failures_username"), table_name="staff_login_failures")
    op.drop_index(op.f("ix_staff_login_failures_at"), table_name="staff_login_failures")
    op.drop_table("staff_login_failures")


def downgrade() -> None:
    op.create_table(
        "staff_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_login_failures")),
    )
    op.create_index(op.f("ix_staff_login_failures_at"), "staff_login_failures", ["at"])
    op.create_index(op.f("ix_staff_login_failures_username"), "staff_login_failures",
                    ["username"])
    op.create_table(
        "binding_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("user", sa.String(length=128), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_binding_failures")),
    )
    op.create_index(op.f("ix_binding_failures_at"), "binding_failures", ["at"])
    with op.batch_alter_table("attempt_limits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempt_limits_last_failure_at"))
    op.drop_table("attempt_limits")
