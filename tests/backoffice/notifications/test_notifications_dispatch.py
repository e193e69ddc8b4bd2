"""The dispatcher: sent, retried with exponential backoff, dead-lettered, requeued, and safe
when two dispatchers run at once (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from notify_helpers import T0, add, get, statuses

from backoffice.clock import ManualClock
from backoffice.notifications import SendError
from backoffice.services.notifications import (
    RetryPolicy,
    counts_by_status,
    dispatch_due,
    queue,
    requeue_dead,
)
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, Notification

MIN = timedelta(minutes=1)


class Recorder:
    def __init__(self, via: str = "test") -> None:
        self.via = via
        self.sent: list[int] = []
        self.lock = threading.Lock()

    def send(self, notification: Notification) -> str:
        with self.lock:
            self.sent.append(notification.id)
        return self.via


class Failing:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def send(self, notification: Notification) -> str:
        self.calls += 1
        raise self.error


def test_due_notifications_are_sent_once(db: Database, clock: ManualClock) -> None:
    ids = [add(db, f"k{i}") for i in range(3)]
    log_id = add(db, "k-log", channel="log", recipient="adjuster-1")
    sms, log = Recorder("sms"), Recorder("log")
    clock.advance(seconds=5)
    result = dispatch_due(db, {"sms": sms, "log": log}, clock())
    assert result == {"taken": 4, "sent": 4, "retry": 0, "dead": 0}
    assert sms.sent == ids and log.sent == [log_id]
    note = get(db, ids[0])
    assert (note.status, note.sent_via, note.sent_at, note.attempts, note.last_error) == (
        "sent", "sms", T0 + timedelta(seconds=5), 1, None)
    assert dispatch_due(db, {"sms": sms, "log": log}, clock()) == {
        "taken": 0, "sent": 0, "retry": 0, "dead": 0}
    assert counts_by_status(db) == {"pending": 0, "sent": 4, "dead": 0}


def test_queue_is_once_per_key(db: Database) -> None:
    with db.transaction() as s:
        assert queue(s, "same", "sms", "13912345678", "t", "a") is not None
    with db.transaction() as s:
        assert queue(s, "same", "sms", "13912345678", "t", "b") is None
        with pytest.raises(ValueError):
            queue(s, "other", "fax", "x", "t", "c")


def test_not_before_its_time_and_at_most_a_batch(db: Database, clock: ManualClock) -> None:
    ids = [add(db, f"k{i}") for i in range(5)]
    sms = Recorder()
    assert dispatch_due(db, {"sms": sms}, T0 - timedelta(seconds=1))["taken"] == 0
    assert dispatch_due(db, {"sms": sms}, T0, batch=2)["sent"] == 2
    assert dispatch_due(db, {"sms": sms}, T0, batch=2)["sent"] == 2
    assert dispatch_due(db, {"sms": sms}, T0, batch=2)["sent"] == 1
    assert sms.sent == ids  # oldest first


def test_exponential_backoff_then_dead_letter(db: Database, clock: ManualClock) -> None:
    note_id = add(db, "flaky")
    failing = Failing(SendError("sms gateway: HTTP 503", retryable=True))
    now = T0
    waits = []
    for attempt in range(1, 7):
        # one second early: nothing to do
        assert dispatch_due(db, {"sms": failing}, now - timedelta(seconds=1))["taken"] == 0
        result = dispatch_due(db, {"sms": failing}, now)
        note = get(db, note_id)
        assert note.attempts == attempt and note.last_error == "sms gateway: HTTP 503"
        if attempt < 6:
            assert result["retry"] == 1 and note.status == "pending"
            waits.append(note.next_attempt_at - now)
            now = note.next_attempt_at
        else:
            assert result["dead"] == 1 and note.status == "dead"
    # 1 min × 2^attempts after the n-th failure
    assert waits == [2 * MIN, 4 * MIN, 8 * MIN, 16 * MIN, 32 * MIN]
    assert failing.calls == 6
    assert dispatch_due(db, {"sms": failing}, now + timedelta(days=1))["taken"] == 0


def test_backoff_is_capped_and_attempts_configurable() -> None:
    policy = RetryPolicy(max_attempts=10, cap=timedelta(minutes=30))
    assert [policy.backoff(n) for n in (1, 2, 4, 5, 9)] == [
        2 * MIN, 4 * MIN, 16 * MIN, 30 * MIN, 30 * MIN]


def test_max_attempts_from_the_caller(db: Database, clock: ManualClock) -> None:
    note_id = add(db, "flaky")
    failing = Failing(SendError("busy", retryable=True))
    assert dispatch_due(db, {"sms": failing}, T0, max_attempts=2)["retry"] == 1
    assert dispatch_due(db, {"sms": failing}, T0 + 2 * MIN, max_attempts=2)["dead"] == 1
    assert get(db, note_id).status == "dead"


def test_a_permanent_failure_is_dead_at_once(db: Database, clock: ManualClock) -> None:
    note_id = add(db, "bad-number", recipient="12345")
    result = dispatch_due(db, {"sms": Failing(SendError("not a phone", retryable=False))}, T0)
    assert result == {"taken": 1, "sent": 0, "retry": 0, "dead": 1}
    note = get(db, note_id)
    assert (note.status, note.attempts, note.last_error) == ("dead", 1, "not a phone")


def test_a_crashing_sender_or_a_missing_one_is_retried(db: Database,
                                                        clock: ManualClock) -> None:
    crash_id = add(db, "crash")
    orphan_id = add(db, "orphan", channel="wechat", recipient="oUser")
    result = dispatch_due(db, {"sms": Failing(RuntimeError("boom"))}, T0)
    assert result == {"taken": 2, "sent": 0, "retry": 2, "dead": 0}
    assert get(db, crash_id).last_error == "RuntimeError: boom"
    assert get(db, orphan_id).last_error == "no sender for channel wechat"
    assert get(db, orphan_id).next_attempt_at == T0 + 2 * MIN


def test_requeue_dead_letters(db: Database, clock: ManualClock) -> None:
    dead_ids = [add(db, f"d{i}") for i in range(3)]
    dispatch_due(db, {"sms": Failing(SendError("down", retryable=False))}, T0)
    assert counts_by_status(db)["dead"] == 3
    later = T0 + timedelta(hours=2)
    assert requeue_dead(db, {"ids": dead_ids[:1]}, "ops-1", now=later) == 1
    assert statuses(db) == {"d0": "pending", "d1": "dead", "d2": "dead"}
    note = get(db, dead_ids[0])
    assert (note.attempts, note.next_attempt_at, note.last_error) == (0, later, "down")
    assert requeue_dead(db, {}, "ops-1", now=later) == 2
    assert requeue_dead(db, {}, "ops-1", now=later) == 0
    sms = Recorder()
    assert dispatch_due(db, {"sms": sms}, later)["sent"] == 3
    with db.read() as s:
        audits = s.query(AuditEntry).filter(AuditEntry.action == "requeue").all()
    assert [(a.actor, a.after["count"]) for a in audits] == [("ops-1", 1), ("ops-1", 2)]


def test_a_row_taken_by_one_dispatcher_is_not_taken_by_another(
        db: Database, clock: ManualClock) -> None:
    ids = [add(db, f"k{i}") for i in range(3)]
    started, release = threading.Event(), threading.Event()

    class Slow(Recorder):
        def send(self, notification: Notification) -> str:
            started.set()
            assert release.wait(60)
            return super().send(notification)

    slow = Slow()
    outcome: dict[str, dict[str, int]] = {}
    first = threading.Thread(target=lambda: outcome.setdefault(
        "first", dispatch_due(db, {"sms": slow}, T0)))
    first.start()
    assert started.wait(60)
    other = Recorder()
    # while the first one sends, a second dispatcher finds nothing to take
    assert dispatch_due(db, {"sms": other}, T0)["taken"] == 0
    release.set()
    first.join()
    assert outcome["first"]["sent"] == 3 and slow.sent == ids and other.sent == []


def test_a_dispatcher_that_died_leaves_the_row_for_after_its_lease(
        db: Database, clock: ManualClock) -> None:
    note_id = add(db, "orphaned")

    class Dies:
        def send(self, notification: Notification) -> str:
            raise KeyboardInterrupt  # the process goes away mid-send

    with pytest.raises(KeyboardInterrupt):
        dispatch_due(db, {"sms": Dies()}, T0)
    note = get(db, note_id)
    assert (note.status, note.attempts, note.next_attempt_at) == (
        "pending", 1, T0 + timedelta(minutes=5))
    sms = Recorder()
    assert dispatch_due(db, {"sms": sms}, T0 + timedelta(minutes=4))["taken"] == 0
    assert dispatch_due(db, {"sms": sms}, T0 + timedelta(minutes=5))["sent"] == 1
    assert get(db, note_id).attempts == 2


def test_concurrent_dispatchers_send_each_notification_once(
        db: Database, clock: ManualClock) -> None:
    ids = [add(db, f"k{i:03d}") for i in range(60)]
    sms = Recorder()
    barrier = threading.Barrier(4)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def dispatcher() -> None:
        try:
            barrier.wait(60)
            while True:
                result = dispatch_due(db, {"sms": sms}, T0, batch=7)
                results.append(result)
                if result["taken"] == 0:
                    return
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(sms.sent) == ids  # every one, none twice
    assert sum(r["sent"] for r in results) == 60
    assert counts_by_status(db) == {"pending": 0, "sent": 60, "dead": 0}
    with db.read() as s:
        assert {n.attempts for n in s.query(Notification).all()} == {1}
