"""Helpers for the notification tests: queue a notification, read it back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from backoffice.services.notifications import queue
from backoffice.store.db import Database
from backoffice.store.models import Notification

T0 = datetime(2026, 9, 28, 1, 0, tzinfo=UTC)  # 09:00 in Beijing


def add(db: Database, key: str, channel: str = "sms", recipient: str = "13912345678",
        text: str = "【小保】测试通知", **payload: Any) -> int:
    with db.transaction() as s:
        note = queue(s, key, channel, recipient, "test", text, payload or None)
        assert note is not None
        s.flush()
        return note.id


def get(db: Database, note_id: int) -> Notification:
    with db.read() as s:
        return s.execute(select(Notification).where(Notification.id == note_id)).scalar_one()


def statuses(db: Database) -> dict[str, str]:
    with db.read() as s:
        return dict(s.execute(select(Notification.dedupe_key, Notification.status)).all())
