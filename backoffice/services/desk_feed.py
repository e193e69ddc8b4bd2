"""What the desk's live pages watch: the newest event of the outbox, which every use case
writes in its own transaction, so any change anywhere moves it; and the newest line of the
conversations' transcripts, which the router writes without outbox events (a handoff, a
customer's message to an agent)."""

from __future__ import annotations

from sqlalchemy import func, select

from backoffice.store.db import Database
from backoffice.store.models import ConversationMessage, OutboxEvent


def latest_change(db: Database) -> int:
    """A number that only grows, and grows on every change (the sum of two growing ids)."""
    with db.read() as s:
        outbox = s.execute(select(func.coalesce(func.max(OutboxEvent.id), 0))).scalar_one()
        lines = s.execute(select(func.coalesce(func.max(ConversationMessage.id), 0))
                          ).scalar_one()
        return int(outbox) + int(lines)
