"""Who looked: the append-only log of unmasked personal data shown to staff; the time a WeChat
user unfollowed on their conversations

The database itself keeps the log append-only: triggers refuse any UPDATE and the DELETE of an
entry younger than 3 years (the retention; the scheduler's `privacy_access_log_expiry` deletes
older ones). A staff member with SQL access cannot quietly edit what they looked at.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

_SQLITE = (
    """CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
       BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END""",
    # times are stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: they compare as text
    """CREATE TRIGGER access_log_kept_3_years BEFORE DELETE ON access_log
       WHEN OLD.at > strftime('%Y-%m-%d %H:%M:%f', 'now', '-3 years')
       BEGIN SELECT RAISE(ABORT, 'access_log entries are kept 3 years'); END""",
)
_POSTGRESQL = (
    """CREATE FUNCTION access_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'UPDATE' THEN
           RAISE EXCEPTION 'access_log is append-only';
         END IF;
         IF OLD.at > now() - interval '3 years' THEN
           RAISE EXCEPTION 'access_log entries are kept 3 years';
         END IF;
         RETURN OLD;
       END $$""",
    """CREATE TRIGGER access_log_guard BEFORE UPDATE OR DELETE ON access_log
       FOR EACH ROW EXECUTE FUNCTION access_log_guard()""",
    """CREATE FUNCTION access_log_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'access_log is append-only'; END $$""",
    """CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
       FOR EACH STATEMENT EXECUTE FUNCTION access_log_no_truncate()""",
)


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff", sa.String(length=60), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("record_kind", sa.String(length=30), nullable=False),
        sa.Column("record_id", sa.String(length=80), nullable=False),
        sa.Column("door", sa.String(length=10), nullable=False),
        sa.Column("purpose", sa.String(length=120), nullable=False),
        sa.Column("with_work", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_log_at"), ["at"], unique=False)
        batch_op.create_index("ix_access_log_staff_at", ["staff", "at"], unique=False)
        batch_op.create_index("ix_access_log_record", ["record_kind", "record_id"],
                              unique=False)
    for statement in _SQLITE if op.get_bind().dialect.name == "sqlite" else _POSTGRESQL:
        op.execute(statement)
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unsubscribed_at", sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("unsubscribed_at")
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TABLE access_log")
        op.execute("DROP FUNCTION access_log_guard()")
        op.execute("DROP FUNCTION access_log_no_truncate()")
    else:
        op.drop_table("access_log")
