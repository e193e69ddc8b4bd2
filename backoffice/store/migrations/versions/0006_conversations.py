"""conversations, transcripts and channel dedupe

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from backoffice.store.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.String(length=80), nullable=False),
        sa.Column("open_key", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("agent", sa.String(length=60), nullable=True),
        sa.Column("handoff_reason", sa.String(length=30), nullable=True),
        sa.Column("handoff_summary", sa.JSON(), nullable=True),
        sa.Column("disposition", sa.String(length=60), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        _at("created_at"), _at("updated_at"), _at("last_user_at", True), _at("closed_at", True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("open_key", name=op.f("uq_conversations_open_key")),
    )
    op.create_index("ix_conversations_state", "conversations", ["state", "updated_at"])
    op.create_index(op.f("ix_conversations_user_id"), "conversations", ["user_id"])
    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("author", sa.String(length=60), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        _at("created_at"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name=op.f("fk_conversation_messages_conversation_id_conversations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_messages")),
    )
    op.create_index(op.f("ix_conversation_messages_conversation_id"), "conversation_messages",
                    ["conversation_id"])
    op.create_table(
        "channel_dedupe",
        sa.Column("key", sa.String(length=160), nullable=False),
        _at("created_at"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_channel_dedupe")),
    )
    op.create_index(op.f("ix_channel_dedupe_created_at"), "channel_dedupe", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_channel_dedupe_created_at"), table_name="channel_dedupe")
    op.drop_table("channel_dedupe")
    op.drop_index(op.f("ix_conversation_messages_conversation_id"),
                  table_name="conversation_messages")
    op.drop_table("conversation_messages")
    op.drop_index(op.f("ix_conversations_user_id"), table_name="conversations")
    op.drop_index("ix_conversations_state", table_name="conversations")
    op.drop_table("conversations")
