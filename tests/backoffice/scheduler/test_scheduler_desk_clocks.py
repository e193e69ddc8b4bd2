"""The complaint and home-visit clock jobs through the scheduler's guarded run: the day's
firing warns or escalates once, a second process's firing of the same slot does nothing."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from backoffice.clock import ManualClock
from backoffice.scheduler.jobs import JOBS, Runtime, run
from backoffice.services import complaints, home_visits
from backoffice.store.db import Database
from backoffice.store.models import Notification


def _complaint(db: Database) -> str:
    made = complaints.intake(db, {
        "channel": "ivr", "complainant": {"name": "周建国", "phone": "13700001111"},
        "category": "service", "description": "电话等了很久"})
    return str(made["complaint_no"])


def _templates(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.execute(select(Notification.template).order_by(Notification.id)).scalars())


def test_complaint_clocks_job(db: Database, clock: ManualClock) -> None:
    no = _complaint(db)
    spec = JOBS["complaint_clocks"]
    rt = Runtime(db, {})
    clock.advance(days=13)  # two days before the 15-day due date, 08:30 Beijing time next
    fired = spec.last_fire_time(clock.at + timedelta(days=1))
    assert fired is not None
    assert run(rt, spec, fired) == {"warned": 1, "escalated": 0}
    assert run(Runtime(db, {}, owner="other-process"), spec, fired) is None
    clock.advance(days=3)
    later = spec.last_fire_time(clock.at + timedelta(days=1))
    assert later is not None
    assert run(rt, spec, later) == {"warned": 0, "escalated": 1}
    assert _templates(db).count("complaint_escalation") == 1
    assert complaints.get(db, {"complaint_no": no})["escalated_on"] is not None
    assert date.fromisoformat(complaints.get(db, {"complaint_no": no})["due_by"]) < later.date()


def test_home_visit_clocks_job(db: Database, clock: ManualClock) -> None:
    home_visits.request(db, {"channel": "bot", "name": "林阿婆", "phone": "13812340000",
                             "address": "峡山街道1号", "reason": "行动不便"})
    spec = JOBS["home_visit_clocks"]
    rt = Runtime(db, {})
    clock.advance(hours=21)
    fired = spec.last_fire_time(clock.at)
    assert fired is not None
    assert run(rt, spec, fired) == {"warned": 1, "breached": 0}
    assert run(rt, spec, fired) is None
    clock.advance(hours=28)
    fired = spec.last_fire_time(clock.at)
    assert fired is not None
    assert run(rt, spec, fired) == {"warned": 0, "breached": 2}
