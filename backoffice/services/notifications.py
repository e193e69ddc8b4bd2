"""Notifications to people, queued in the same transaction as the change that causes them.

A dispatcher (run by the scheduler) hands each pending notification to a sender; a failure is
retried with backoff and dead-lettered after the last try, never lost.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.store.models import Notification

NOTIFICATION_CHANNELS = ("wechat", "sms", "log")


def queue(s: Session, dedupe_key: str, channel: str, recipient: str, template: str, text: str,
          payload: dict[str, Any] | None = None) -> Notification | None:
    """Queue once per dedupe key: a job that runs twice does not notify twice."""
    if channel not in NOTIFICATION_CHANNELS:
        raise ValueError(f"unknown channel {channel}")
    if s.execute(select(Notification.id).where(Notification.dedupe_key == dedupe_key)).first():
        return None
    note = Notification(dedupe_key=dedupe_key[:160], channel=channel, recipient=recipient,
                        template=template, text=text, payload=payload or {})
    s.add(note)
    return note
