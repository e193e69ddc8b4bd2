"""What the desk's live pages watch: the newest event of the outbox, which every use case
writes in its own transaction, so any change anywhere moves it."""

from __future__ import annotations

from sqlalchemy import func, select

from backoffice.store.db import Database
from backoffice.store.models import OutboxEvent


def latest_change(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.coalesce(func.max(OutboxEvent.id), 0))).scalar_one())
