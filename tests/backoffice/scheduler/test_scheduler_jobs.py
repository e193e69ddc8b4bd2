"""The job table (schedules, slots, catch-up after downtime) and the database guard."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from scheduler_world import Recorder, World, at
from sqlalchemy import select

from backoffice.clock import ManualClock
from backoffice.domain.identity import make_id_number
from backoffice.scheduler import jobs
from backoffice.scheduler.guard import claim_slot, prune_runs, run_guarded
from backoffice.scheduler.jobs import JOBS, Runtime, catch_up_time, fire
from backoffice.scheduler.run_once import main as run_once
from backoffice.services import group
from backoffice.services.notifications import queue
from backoffice.store.db import Database
from backoffice.store.models import JobRun, Notification, Party, Resident, RosterMember


def _runs(db: Database) -> list[tuple[str, str]]:
    with db.read() as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            select(JobRun.job, JobRun.slot).order_by(JobRun.id)).all()]


# ---- schedules and slots -------------------------------------------------------------------

@pytest.mark.parametrize(("job", "now", "fired", "slot"), [
    ("progress_notices", at(date(2026, 9, 28), 9, 0), at(date(2026, 9, 28), 9), "2026-09-28"),
    ("progress_notices", at(date(2026, 9, 28), 8, 59), at(date(2026, 9, 27), 9), "2026-09-27"),
    ("deadline_checks", at(date(2026, 9, 28), 23, 59), at(date(2026, 9, 28), 9), "2026-09-28"),
    ("premium_reminders", at(date(2026, 9, 28), 15), at(date(2026, 9, 28), 9), "2026-09-28"),
    ("follow_up_visits", at(date(2026, 9, 28), 9, 1), at(date(2026, 9, 28), 9), "2026-09-28"),
    ("policy_clock", at(date(2026, 9, 28), 0, 30), at(date(2026, 9, 28), 0, 30), "2026-09-28"),
    ("auto_enrollment", at(date(2026, 10, 5), 12), at(date(2026, 10, 1), 1), "2026-10-01"),
    ("auto_enrollment", at(date(2026, 10, 1), 0, 59), at(date(2026, 9, 1), 1), "2026-09-01"),
    ("notifications_dispatch", at(date(2026, 9, 28), 9, 0) + timedelta(seconds=45),
     at(date(2026, 9, 28), 9, 0) + timedelta(seconds=30), "2026-09-28T09:00:30+08:00"),
])
def test_firings_and_their_slots(job: str, now: datetime, fired: datetime, slot: str) -> None:
    spec = JOBS[job]
    assert spec.last_fire_time(now) == fired
    assert spec.slot_of(fired) == slot


def test_the_schedule_in_beijing_time() -> None:
    start = datetime(2026, 9, 27, 16, 0, tzinfo=UTC)  # 2026-09-28 00:00 in Beijing
    nxt = {job: spec.trigger().get_next_fire_time(None, start) for job, spec in JOBS.items()}
    assert {job: t.astimezone(UTC).isoformat() for job, t in nxt.items() if t} == {
        "notifications_dispatch": "2026-09-27T16:00:00+00:00",
        "policy_clock": "2026-09-27T16:30:00+00:00",
        "complaint_clocks": "2026-09-28T00:30:00+00:00",  # 08:30 Beijing
        "home_visit_clocks": "2026-09-27T16:00:00+00:00",  # every quarter hour
        "auto_enrollment": "2026-09-30T17:00:00+00:00",  # 1 Oct 01:00 Beijing
        "job_runs_prune": "2026-09-27T19:15:00+00:00",
        "privacy_access_log_expiry": "2026-09-27T19:40:00+00:00",  # 03:40 Beijing
        "privacy_retention": "2026-09-27T19:50:00+00:00",  # 03:50 Beijing
        "progress_notices": "2026-09-28T01:00:00+00:00",
        "documents_reminders": "2026-09-28T01:00:00+00:00",
        "enrollment_notices": "2026-09-28T01:10:00+00:00",  # 09:10 Beijing, daytime only
        "loss_ratio_watch": "2026-09-30T22:00:00+00:00",  # 1 Oct 06:00 Beijing
        "deadline_checks": "2026-09-28T01:00:00+00:00",
        "follow_up_visits": "2026-09-28T01:00:00+00:00",
        "premium_reminders": "2026-09-28T01:00:00+00:00",
        "follow_up_first_month": "2026-10-01T01:30:00+00:00",  # 1st and 16th, 09:30
        "follow_up_quarterly": "2026-10-01T01:40:00+00:00",  # 1 Oct 09:40 Beijing
        "follow_up_yearly": "2026-12-01T01:50:00+00:00",  # 1 Dec 09:50 Beijing
    }


def test_a_missed_firing_is_caught_up_within_its_grace(sqlite_db: Database) -> None:
    spec = JOBS["progress_notices"]
    late = at(date(2026, 9, 28), 14)  # the platform was down at 09:00
    assert catch_up_time(sqlite_db, spec, late) == at(date(2026, 9, 28), 9)
    claim_slot(sqlite_db, spec.id, "2026-09-28")
    assert catch_up_time(sqlite_db, spec, late) is None  # it did run
    assert catch_up_time(sqlite_db, spec, at(date(2026, 9, 29), 22)) is None  # too late


# ---- the guard -------------------------------------------------------------------------

def test_a_slot_is_taken_once(db: Database) -> None:
    first = claim_slot(db, "deadline_checks", "2026-09-28", "host-a:1")
    assert first is not None
    assert claim_slot(db, "deadline_checks", "2026-09-28", "host-b:2") is None
    assert claim_slot(db, "deadline_checks", "2026-09-29", "host-b:2") is not None
    assert claim_slot(db, "progress_notices", "2026-09-28", "host-b:2") is not None
    with db.read() as s:
        run = s.get(JobRun, first)
        assert run is not None and run.owner == "host-a:1" and run.finished_at is None


def test_the_guarded_body_runs_once_and_records_its_result(db: Database) -> None:
    calls: list[str] = []

    def body() -> dict[str, int]:
        calls.append("x")
        return {"sent": 2}

    assert run_guarded(db, "job", "s1", body) == {"sent": 2}
    assert run_guarded(db, "job", "s1", body) is None
    assert calls == ["x"]
    with db.read() as s:
        run = s.execute(select(JobRun)).scalar_one()
    assert run.result == {"sent": 2} and run.finished_at is not None

    def broken() -> dict[str, int]:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        run_guarded(db, "job", "s2", broken)
    with db.read() as s:
        failed = s.execute(select(JobRun).where(JobRun.slot == "s2")).scalar_one()
    assert failed.result == {"error": "RuntimeError: database went away"}
    assert run_guarded(db, "job", "s2", body) is None  # the firing stays taken


def test_prune_forgets_old_dispatch_firings(db: Database, clock: ManualClock) -> None:
    claim_slot(db, "notifications_dispatch", "old")
    claim_slot(db, "deadline_checks", "old")
    clock.advance(days=8)
    claim_slot(db, "notifications_dispatch", "new")
    assert prune_runs(db, "notifications_dispatch", clock() - timedelta(days=7)) == 1
    assert _runs(db) == [("deadline_checks", "old"), ("notifications_dispatch", "new")]


# ---- firing through the runtime ------------------------------------------------------------

def test_fire_dispatches_through_the_installed_runtime(db: Database, clock: ManualClock) -> None:
    clock.set(at(date(2026, 9, 28), 9) + timedelta(seconds=31))
    with db.transaction() as s:
        queue(s, "k1", "sms", "13912345678", "t", "hello")
    sms = Recorder("sms")
    runtime = Runtime(db, {"sms": sms}, owner="test:1")
    with pytest.raises(RuntimeError):
        fire("notifications_dispatch")  # no runtime installed in this process
    jobs.install(runtime)
    try:
        assert fire("notifications_dispatch") == {"taken": 1, "sent": 1, "retry": 0,
                                                  "dead": 0}
        assert fire("notifications_dispatch") is None  # the same 30-second firing
        clock.advance(seconds=30)
        assert fire("notifications_dispatch") == {"taken": 0, "sent": 0, "retry": 0,
                                                  "dead": 0}
    finally:
        jobs.uninstall()
    assert [r[1] for r in _runs(db)] == ["2026-09-28T09:00:30+08:00",
                                         "2026-09-28T09:01:00+08:00"]
    with db.read() as s:
        assert s.execute(select(Notification.status)).scalar_one() == "sent"


def test_auto_enrollment_fires_on_the_first(db: Database, world: World) -> None:
    group.create_group_policy(db, {"product_code": "CN-ELDER-ACC",
                                   "applicant_name": "汕头市潮南区人民政府",
                                   "start_date": "2026-01-01"}, "admin")
    with db.transaction() as s:
        party = Party(name="甲", gender="male", birth_date=date(1966, 6, 15),
                      id_number=make_id_number("440514", date(1966, 6, 15), 1))
        s.add(party)
        s.flush()
        s.add(Resident(party_id=party.id, area_code="440514", registered_on=date(2000, 1, 1)))
    runtime = Runtime(db, {}, owner="test:1")
    spec = JOBS["auto_enrollment"]
    world.on(date(2026, 7, 1), 1)
    fired = spec.last_fire_time(world.clock())
    assert fired == at(date(2026, 7, 1), 1)
    assert jobs.run(runtime, spec, fired) == {"policies": 1, "enrolled": 1}
    assert jobs.run(runtime, spec, fired) is None
    assert _runs(db) == [("auto_enrollment", "2026-07-01")]
    with db.read() as s:
        member = s.execute(select(RosterMember)).scalar_one()
    assert (member.enrolled_on, member.source) == (date(2026, 7, 1), "auto_enrollment")


def test_run_once_from_the_command_line(db: Database, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    assert run_once(["--database-url", db.url, "--job", "auto_enrollment",
                     "--today", "2026-10-05", "--today", "2026-10-01"]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert '"slot": "2026-10-01", "ran": true' in first
    assert '"slot": "2026-10-01", "ran": false' in second
    assert run_once(["--database-url", db.url, "--job", "auto_enrollment",
                     "--today", "2026-10-01", "--slot", "2026-10-01-rerun"]) == 0
    assert '"ran": true' in capsys.readouterr().out
    assert _runs(db) == [("auto_enrollment", "2026-10-01"),
                         ("auto_enrollment", "2026-10-01-rerun")]
