"""Notifications to people, queued in the same transaction as the change that causes them.

A dispatcher (run by the scheduler) hands each pending notification to a sender; a failure is
retried with backoff and dead-lettered after the last try, never lost.

How a dispatcher takes a row, so that two of them never send the same notification at once:
taking it counts the attempt (`attempts + 1`) and moves `next_attempt_at` a lease ahead, in a
short transaction of its own — on PostgreSQL over rows selected `FOR UPDATE SKIP LOCKED`, on
SQLite by an `UPDATE … WHERE status = 'pending' AND attempts = :seen` that only one dispatcher
can win. The message is sent outside any transaction, then the row is marked `sent`, or given
its next try (`next_attempt_at = now + backoff`), or `dead`. A dispatcher that dies while
sending leaves the row pending: it is tried again when the lease runs out (at least once,
never lost).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Protocol

from pydantic import WithJsonSchema
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backoffice import clock
from backoffice.domain.errors import ValidationError
from backoffice.domain.identity import mask_phone
from backoffice.notifications.base import SendError
from backoffice.services.base import audit
from backoffice.services.commands import Command, domain_rule, takes
from backoffice.store.db import Database
from backoffice.store.models import Notification

log = logging.getLogger("xiaobao.notifications")

NOTIFICATION_CHANNELS = ("wechat", "sms", "log")
STATUSES = ("pending", "sent", "dead")


def queue(s: Session, dedupe_key: str, channel: str, recipient: str, template: str, text: str,
          payload: dict[str, Any] | None = None) -> Notification | None:
    """Queue once per dedupe key: a job that runs twice does not notify twice."""
    row = notification_row(dedupe_key, channel, recipient, template, text, payload)
    if s.execute(select(Notification.id).where(Notification.dedupe_key == row["dedupe_key"])
                 ).first():
        return None
    note = Notification(**row)
    s.add(note)
    return note


def notification_row(dedupe_key: str, channel: str, recipient: str, template: str, text: str,
                     payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """The columns of a new notification, for a caller that inserts it in bulk because its key
    is known to be new (the unique key still guards it)."""
    if channel not in NOTIFICATION_CHANNELS:
        raise ValueError(f"unknown channel {channel}")
    return {"dedupe_key": dedupe_key[:160], "channel": channel, "recipient": recipient,
            "template": template, "text": text, "payload": payload or {}}


# ---- dispatching --------------------------------------------------------------------------

class _Sender(Protocol):
    def send(self, notification: Notification) -> str: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff after the n-th failed attempt: `base × 2^n`, at most `cap`; dead after
    `max_attempts` attempts. `lease`: how long a taken row is left to its dispatcher."""

    max_attempts: int = 6
    base: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=5)

    def backoff(self, attempts: int) -> timedelta:
        return min(self.base * (2 ** max(attempts, 0)), self.cap)


DEFAULT_POLICY = RetryPolicy()


def dispatch_due(db: Database, senders: Mapping[str, _Sender], now: datetime, batch: int = 100,
                 *, policy: RetryPolicy = DEFAULT_POLICY, max_attempts: int | None = None
                 ) -> dict[str, int]:
    """Send up to `batch` pending notifications whose `next_attempt_at <= now`.

    Returns counts: taken, sent, retry (rescheduled), dead (dead-lettered now).
    """
    if max_attempts is not None:
        policy = RetryPolicy(max_attempts, policy.base, policy.cap, policy.lease)
    taken = _take(db, now, batch, policy.lease)
    counts = {"taken": len(taken), "sent": 0, "retry": 0, "dead": 0}
    for note in taken:
        sender = senders.get(note.channel)
        try:
            if sender is None:
                raise SendError(f"no sender for channel {note.channel}", retryable=True)
            via = sender.send(note)
        except SendError as exc:
            counts[_failed(db, note, exc.message, exc.retryable, now, policy)] += 1
        except Exception as exc:  # a sender's bug must not stop the others
            log.exception("sender for %s failed on notification %s", note.channel, note.id)
            counts[_failed(db, note, f"{type(exc).__name__}: {exc}", True, now, policy)] += 1
        else:
            _sent(db, note, via)
            counts["sent"] += 1
    if taken:
        log.info("notifications dispatched: %s", counts)
    return counts


def _due(now: datetime) -> Any:
    return (Notification.status == "pending") & (Notification.next_attempt_at <= now)


def _take(db: Database, now: datetime, batch: int, lease: timedelta) -> list[Notification]:
    until = now + lease
    with db.transaction() as s:
        order = (Notification.next_attempt_at, Notification.id)
        if db.engine.dialect.name == "postgresql":
            rows = list(s.execute(select(Notification).where(_due(now)).order_by(*order)
                                  .limit(batch).with_for_update(skip_locked=True)).scalars())
            for row in rows:
                row.attempts += 1
                row.next_attempt_at = until
            s.flush()
            return rows
        seen = s.execute(select(Notification.id, Notification.attempts).where(_due(now))
                         .order_by(*order).limit(batch)).all()
        won: list[int] = []
        for note_id, attempts in seen:
            result = s.execute(
                update(Notification)
                .where(Notification.id == note_id, Notification.status == "pending",
                       Notification.attempts == attempts, Notification.next_attempt_at <= now)
                .values(attempts=attempts + 1, next_attempt_at=until)
                .execution_options(synchronize_session=False))
            if result.rowcount == 1:  # type: ignore[attr-defined]
                won.append(note_id)
        if not won:
            return []
        return list(s.execute(select(Notification).where(Notification.id.in_(won))
                              .order_by(*order)).scalars())


def _sent(db: Database, note: Notification, via: str) -> None:
    with db.transaction() as s:
        s.execute(update(Notification)
                  .where(Notification.id == note.id, Notification.status == "pending")
                  .values(status="sent", sent_via=(via or note.channel)[:20],
                          sent_at=clock.utcnow(), last_error=None)
                  .execution_options(synchronize_session=False))


def _failed(db: Database, note: Notification, message: str, retryable: bool, now: datetime,
            policy: RetryPolicy) -> str:
    dead = not retryable or note.attempts >= policy.max_attempts
    values: dict[str, Any] = {"last_error": message[:1000]}
    if dead:
        values["status"] = "dead"
        log.warning("notification %s dead-lettered after %s attempt(s): %s", note.id,
                    note.attempts, message)
    else:
        values["next_attempt_at"] = now + policy.backoff(note.attempts)
    with db.transaction() as s:
        # only if nobody took the row again after our lease ran out
        s.execute(update(Notification)
                  .where(Notification.id == note.id, Notification.status == "pending",
                         Notification.attempts == note.attempts)
                  .values(**values).execution_options(synchronize_session=False))
    return "dead" if dead else "retry"


# ---- dead letters and counts -----------------------------------------------------------------

MAX_REQUEUE = 1000


def _ids(value: Any, _field: str) -> list[int]:
    """Notification ids: whole numbers as JSON has them (not "1", not true), at most
    MAX_REQUEUE; one refusal for the list, as the API always gave."""
    if not isinstance(value, list) or len(value) > MAX_REQUEUE or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in value):
        raise ValidationError("", f"ids 须为整数列表（最多 {MAX_REQUEUE} 个），省略则全部重发")
    return value


NotificationIds = Annotated[list[int], domain_rule(_ids),
                            WithJsonSchema({"type": "array", "maxItems": MAX_REQUEUE,
                                            "items": {"type": "integer", "minimum": 1}})]


class RequeueDead(Command):
    """Dead letters to try again: those listed, or all of them."""

    ids: NotificationIds | None = None


@takes(RequeueDead)
def requeue_dead(db: Database, cmd: RequeueDead, actor: str, *, now: datetime | None = None
                 ) -> int:
    """Give dead letters (all, or those listed) a fresh set of attempts from `now`."""
    now = now or clock.utcnow()
    with db.transaction() as s:
        stmt = select(Notification.id).where(Notification.status == "dead")
        if cmd.ids is not None:
            stmt = stmt.where(Notification.id.in_(cmd.ids))
        chosen = list(s.execute(stmt.order_by(Notification.id)).scalars())
        if not chosen:
            return 0
        s.execute(update(Notification).where(Notification.id.in_(chosen),
                                             Notification.status == "dead")
                  .values(status="pending", attempts=0, next_attempt_at=now)
                  .execution_options(synchronize_session=False))
        audit(s, actor, "notification", "dead_letters", "requeue", None,
              {"count": len(chosen), "ids": chosen[:100]})
        return len(chosen)


def dead_letters(db: Database, limit: int = 100) -> list[dict[str, Any]]:
    """Notifications that used up their tries, newest first, recipients masked."""
    with db.read() as s:
        rows = s.execute(select(Notification).where(Notification.status == "dead")
                         .order_by(Notification.id.desc()).limit(limit)).scalars()
        return [{"id": n.id, "channel": n.channel,
                 "recipient": _masked(n.channel, n.recipient),
                 "template": n.template, "attempts": n.attempts, "last_error": n.last_error,
                 "created_at": n.created_at.isoformat()} for n in rows]


def _masked(channel: str, recipient: str) -> str:
    """Customers' phone numbers and openids are personal data; staff queues are not."""
    if channel == "sms":
        return mask_phone(recipient)
    return recipient[:4] + "***" if channel == "wechat" else recipient


def counts_by_status(db: Database) -> dict[str, int]:
    """How many notifications are pending, sent and dead (for monitoring)."""
    with db.read() as s:
        rows = s.execute(select(Notification.status, func.count())
                         .group_by(Notification.status)).all()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({status: int(n) for status, n in rows})
    return counts
