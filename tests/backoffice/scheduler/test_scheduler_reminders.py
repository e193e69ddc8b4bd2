"""The scheduler's use cases on a settable clock: progress notices on working days across the
2026 中秋/国庆 holidays, deadline warnings and escalations, follow-up visits, premium
reminders, auto-enrollment, and that each job can run twice without notifying twice."""

from __future__ import annotations

from datetime import date, timedelta

from scheduler_world import World, at, bank_card
from sqlalchemy import delete, select

from backoffice.domain.calendar import CN_CALENDAR
from backoffice.domain.identity import make_id_number
from backoffice.services import group, policies, reminders
from backoffice.store.db import Database
from backoffice.store.models import (
    AuditEntry,
    ClaimRow,
    Notification,
    Party,
    PremiumInstalment,
    Resident,
    RosterMember,
    Task,
)

MID_AUTUMN = date(2026, 9, 25)  # a Friday, and 中秋节: a day off


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _manual_claim(world: World, **kwargs: object) -> str:
    """A disability claim (manual track) whose documents are complete on 2026-09-25."""
    world.on(date(2026, 6, 1))
    policy_no, idn = world.policy()
    world.on(date(2026, 9, 21))
    claim_no = world.claim(policy_no, idn, incident=date(2026, 9, 18), **kwargs)  # type: ignore[arg-type]
    world.on(MID_AUTUMN)
    view = world.act(claim_no, "documents_complete", waive_missing=True)
    assert view["status"] == "under_review"
    assert view["deadlines"]["review"]["due"] == "2026-09-30"
    return claim_no


# ---- progress notices ------------------------------------------------------------------

def test_the_calendar_around_the_2026_holidays() -> None:
    # the facts the next tests rest on (国办发明电〔2025〕7号)
    assert not CN_CALENDAR.is_working_day(MID_AUTUMN)
    assert [d.day for d in _days(date(2026, 9, 26), date(2026, 10, 10))
            if CN_CALENDAR.is_working_day(d)] == [28, 29, 30, 8, 9, 10]  # 10-10: 调休 Saturday


def test_progress_notice_every_three_working_days_across_the_holidays(
        db: Database, world: World) -> None:
    claim_no = _manual_claim(world)  # reported on Monday 2026-09-21
    with db.read() as s:
        row = s.execute(select(ClaimRow).where(ClaimRow.claim_no == claim_no)).scalar_one()
        # the clock runs from the report, not from complete documents
        assert row.next_progress_notice_on == date(2026, 9, 24)

    fired: list[date] = []
    for day in _days(date(2026, 9, 22), date(2026, 10, 20)):
        world.on(day, 9)
        if day == date(2026, 10, 12):  # a supplementary request: the next notice says so
            world.act(claim_no, "request_documents",
                      documents=[{"type": "hospital_record", "name": "住院病历"}])
        result = reminders.progress_notices(db, day)
        if not CN_CALENDAR.is_working_day(day):
            assert result == {"sent": 0, "skipped_non_working_day": 1}
        if result["sent"]:
            fired.append(day)
    # 9-24, 9-30, then across 国庆 to the make-up Saturday 10-10, then 10-14 and 10-19
    assert fired == [date(2026, 9, 24), date(2026, 9, 30), date(2026, 10, 10),
                     date(2026, 10, 14), date(2026, 10, 19)]

    notes = world.notifications("claim_progress")
    assert [n.dedupe_key for n in notes] == [
        f"claim:{claim_no}:progress:{d.isoformat()}" for d in fired]
    assert {(n.channel, n.recipient) for n in notes} == {("sms", "13912345678")}
    first, second, third, fourth = notes[0], notes[1], notes[2], notes[3]
    assert claim_no in first.text and "材料审核中" in first.text
    assert "目前等理赔员审核您提交的材料" in first.text  # what is awaited, and from whom
    assert "预计 2026-09-30 前完成下一步" in second.text  # the review's due date
    assert "预计 2026-10-25 前" in third.text  # review overdue: the decision's 30 days
    assert "待补充材料" in fourth.text and "目前等您提交：住院病历" in fourth.text
    assert second.payload == {"claim_no": claim_no, "stage": "材料审核中", "missing": [],
                              "awaiting": "等理赔员审核您提交的材料",
                              "expected_by": "2026-09-30"}
    with db.read() as s:
        row = s.execute(select(ClaimRow).where(ClaimRow.claim_no == claim_no)).scalar_one()
        assert row.next_progress_notice_on == date(2026, 10, 22)


def _pending_claim(world: World, **kwargs: object) -> str:
    """A disability claim reported on Monday 2026-09-21 with its documents still missing."""
    world.on(date(2026, 6, 1))
    policy_no, idn = world.policy()
    world.on(date(2026, 9, 21))
    return world.claim(policy_no, idn, incident=date(2026, 9, 18), **kwargs)  # type: ignore[arg-type]


def _remind_daily(db: Database, world: World, first: date, last: date,
                  before: dict[date, object] | None = None) -> list[date]:
    fired = []
    for day in _days(first, last):
        world.on(day, 9)
        if before and day in before:
            before[day]()  # type: ignore[operator]
        result = reminders.documents_reminders(db, day)
        assert reminders.documents_reminders(db, day)["sent"] == 0  # a second run: nothing
        if not CN_CALENDAR.is_working_day(day):
            assert result == {"sent": 0, "skipped_non_working_day": 1}
        if result["sent"]:
            fired.append(day)
    return fired


def test_missing_documents_are_told_again_after_5_and_10_working_days_with_the_time_bar(
        db: Database, world: World) -> None:
    claim_no = _pending_claim(world)
    missing = [m["name"] for m in world.view(claim_no)["missing_documents"]]
    assert missing
    fired = _remind_daily(db, world, date(2026, 9, 22), date(2026, 10, 30))
    # 5 working days after Monday 9-21 across 中秋 (9-25) is 9-29; 10 is 10-12, after 国庆
    assert fired == [date(2026, 9, 29), date(2026, 10, 12)]
    assert fired == [CN_CALENDAR.add_working_days(date(2026, 9, 21), n) for n in (5, 10)]
    notes = world.notifications("documents_reminder")
    assert [n.dedupe_key for n in notes] == [
        f"claim:{claim_no}:documents-reminder:2026-09-21:{k}" for k in (1, 2)]
    for note in notes:
        assert (note.channel, note.recipient) == ("sms", "13912345678")
        assert claim_no in note.text and all(name in note.text for name in missing)
        assert "2028年9月18日" in note.text and "保险法第二十六条" in note.text
        assert note.payload["time_bar"] == "2028-09-18"
    view = world.view(claim_no)
    steps = [e for e in view["timeline"] if e["action"] == "documents_reminder"]
    assert [e["actor"] for e in steps] == ["scheduler", "scheduler"]
    assert steps[0]["note"].startswith("第1次提醒补充材料")
    reminder = view["deadlines"]["documents_reminder"]
    assert reminder["done_on"] == "2026-10-12" and not reminder["breached"]
    assert view["deadlines"]["time_bar"]["due"] == "2028-09-18"


def test_no_reminder_once_the_documents_are_in_and_none_for_a_closed_claim(
        db: Database, world: World) -> None:
    claim_no = _pending_claim(world)
    other = _pending_claim(world, phone="13912340000")
    complete = {date(2026, 10, 9): lambda: world.act(claim_no, "documents_complete",
                                                     waive_missing=True),
                date(2026, 9, 23): lambda: world.act(other, "withdraw", note="客户撤案")}
    fired = _remind_daily(db, world, date(2026, 9, 22), date(2026, 10, 30), complete)
    assert fired == [date(2026, 9, 29)]  # the first only, for the first claim
    assert [n.recipient for n in world.notifications("documents_reminder")] == ["13912345678"]
    view = world.view(claim_no)
    assert "documents_reminder" not in view["deadlines"]
    assert "time_bar" not in view["deadlines"]
    assert set(world.view(other)["deadlines"]) == set()  # withdrawn: no clock runs


def test_a_later_request_starts_its_own_reminders(db: Database, world: World) -> None:
    claim_no = _manual_claim(world)  # documents complete on 9-25
    world.on(date(2026, 10, 12), 9)
    world.act(claim_no, "request_documents",
              documents=[{"type": "hospital_record", "name": "住院病历"}])
    fired = _remind_daily(db, world, date(2026, 10, 13), date(2026, 11, 10))
    assert fired == [CN_CALENDAR.add_working_days(date(2026, 10, 12), n) for n in (5, 10)]
    (first, _) = world.notifications("documents_reminder")
    assert "住院病历" in first.text
    assert first.dedupe_key == f"claim:{claim_no}:documents-reminder:2026-10-12:1"


def test_staff_get_no_warning_for_the_customers_notice_clocks(db: Database,
                                                              world: World) -> None:
    _pending_claim(world)
    for day in _days(date(2026, 9, 22), date(2026, 10, 30)):
        world.on(day, 9)
        reminders.deadline_checks(db, day)
    assert world.tasks("deadline_warning") == [] and world.tasks("escalation") == []


def test_progress_notice_goes_by_wechat_to_a_wechat_reporter(db: Database,
                                                             world: World) -> None:
    claim_no = _manual_claim(world, channel="wechat", facts={"wechat_openid": "oUser-42"})
    world.on(date(2026, 9, 30), 9)
    assert reminders.progress_notices(db, date(2026, 9, 30)) == {"sent": 1}
    (note,) = world.notifications("claim_progress")
    assert (note.channel, note.recipient) == ("wechat", "oUser-42")
    assert claim_no in note.text


def test_no_progress_notice_once_a_claim_is_closed(db: Database, world: World) -> None:
    claim_no = _manual_claim(world)
    world.on(date(2026, 9, 28))
    world.act(claim_no, "reject", reasons=["事故不属于保险责任"])
    assert reminders.progress_notices(db, date(2026, 9, 30)) == {"sent": 0}
    assert world.notifications("claim_progress") == []


# ---- deadlines ---------------------------------------------------------------------------

def test_warning_the_day_before_and_one_escalation_after_a_breach(db: Database,
                                                                  world: World) -> None:
    claim_no = _manual_claim(world)
    world.act(claim_no, "assign", handler="adjuster-7")
    results = {}
    for day in _days(MID_AUTUMN, date(2026, 10, 12)):
        world.on(day, 9)
        results[day] = reminders.deadline_checks(db, day)
    # review due 2026-09-30 (3 working days after the holiday Friday)
    assert {d for d, r in results.items() if r["warnings"]} == {date(2026, 9, 29)}
    assert {d for d, r in results.items() if r["escalations"]} == {date(2026, 10, 1)}
    assert all("errors" not in r for r in results.values())

    (warning,) = world.tasks("deadline_warning")
    assert (warning.assigned_to, warning.due_on, warning.status) == (
        "adjuster-7", date(2026, 9, 30), "open")
    assert warning.dedupe_key == f"deadline_warning:{claim_no}:review:2026-09-30"
    assert "材料审核" in (warning.note or "")
    (escalation,) = world.tasks("escalation")
    assert (escalation.assigned_to, escalation.due_on) == ("claims_supervisor",
                                                           date(2026, 10, 1))
    assert "超期 1 日" in (escalation.note or "") and "adjuster-7" in (escalation.note or "")

    warned = world.notifications("deadline_warning")
    escalated = world.notifications("deadline_escalation")
    assert [(n.channel, n.recipient) for n in warned] == [("log", "adjuster-7")]
    assert [(n.channel, n.recipient) for n in escalated] == [("log", "claims_supervisor")]
    with db.read() as s:
        audits = list(s.execute(select(AuditEntry).where(
            AuditEntry.action == "deadline_escalated")).scalars())
    assert [(a.entity_id, a.after) for a in audits] == [
        (claim_no, {"deadline": "review", "due": "2026-09-30",
                    "supervisor": "claims_supervisor"})]


def test_a_warning_for_an_unassigned_claim_goes_to_the_claims_queue(
        db: Database, world: World) -> None:
    _manual_claim(world)
    world.on(date(2026, 9, 29), 9)
    assert reminders.deadline_checks(db, date(2026, 9, 29)) == {"warnings": 1,
                                                                "escalations": 0}
    (note,) = world.notifications("deadline_warning")
    assert note.recipient == "claims_queue"
    (task,) = world.tasks("deadline_warning")
    assert task.assigned_to is None


def test_a_clock_met_in_time_is_not_escalated(db: Database, world: World) -> None:
    world.on(date(2026, 6, 1))
    policy_no, idn = world.policy()
    world.on(MID_AUTUMN)
    claim_no = world.claim(policy_no, idn, claim_type="hospital_allowance",
                           incident=date(2026, 9, 10),
                           facts={"admission_date": "2026-09-10", "discharge_date": "2026-09-20"})
    view = world.act(claim_no, "documents_complete", waive_missing=True)
    assert view["status"] == "approved"  # the fast track: payment due in 3 working days
    assert view["deadlines"]["payment"]["due"] == "2026-09-30"
    for day in _days(MID_AUTUMN, date(2026, 10, 9)):
        world.on(day, 9)
        if day == date(2026, 9, 30):
            world.act(claim_no, "pay", amount=view["approved"], account=bank_card())
        reminders.deadline_checks(db, day)
    assert [(t.dedupe_key, t.status) for t in world.tasks("deadline_warning")] == [
        (f"deadline_warning:{claim_no}:payment:2026-09-30", "done")]  # paid: the next check
    assert world.tasks("escalation") == []


def test_warning_and_escalation_stay_open_until_their_clock_stops(db: Database,
                                                                  world: World) -> None:
    claim_no = _manual_claim(world)
    for day in _days(date(2026, 9, 29), date(2026, 10, 8)):
        world.on(day, 9)
        reminders.deadline_checks(db, day)
    assert [t.status for t in world.tasks("deadline_warning")] == ["open"]
    assert [t.status for t in world.tasks("escalation")] == ["open"]
    world.on(date(2026, 10, 9), 10)
    world.act(claim_no, "withdraw", reason="客户撤案")
    assert [t.status for t in world.tasks("deadline_warning")] == ["open"]  # until the job runs
    reminders.deadline_checks(db, date(2026, 10, 9))
    assert [t.status for t in world.tasks("deadline_warning")] == ["done"]
    assert [t.status for t in world.tasks("escalation")] == ["done"]
    world.on(date(2026, 10, 12), 9)  # a stopped clock raises nothing new
    assert reminders.deadline_checks(db, date(2026, 10, 12)) == {"warnings": 0,
                                                                 "escalations": 0}


# ---- follow-up visits -----------------------------------------------------------------------

def test_follow_up_task_due_a_week_after_close(db: Database, world: World) -> None:
    world.on(date(2026, 6, 1))
    policy_no, idn = world.policy()
    world.on(date(2026, 9, 21))
    claim_no = world.claim(policy_no, idn, claim_type="hospital_allowance",
                           incident=date(2026, 9, 10),
                           facts={"admission_date": "2026-09-10", "discharge_date": "2026-09-20"})
    view = world.act(claim_no, "documents_complete", waive_missing=True)
    world.act(claim_no, "pay", amount=view["approved"], account=bank_card())
    world.on(date(2026, 9, 23))
    world.act(claim_no, "close")

    (task,) = world.tasks("follow_up")  # the close made it; the job keeps it single
    assert task.due_on == date(2026, 9, 30)
    assert reminders.follow_up_visits(db, date(2026, 9, 23)) == {"created": 0}

    with db.transaction() as s:  # a claim closed before the follow-up task existed
        s.execute(delete(Task).where(Task.id == task.id))
    assert reminders.follow_up_visits(db, date(2026, 9, 24)) == {"created": 1}
    assert reminders.follow_up_visits(db, date(2026, 9, 25)) == {"created": 0}
    (task,) = world.tasks("follow_up")
    assert (task.due_on, task.kind, task.status) == (date(2026, 9, 30), "follow_up", "open")
    assert task.dedupe_key == f"follow_up:{claim_no}:0"

    with db.transaction() as s:  # reopened and closed again (a row as an older version left it)
        row = s.execute(select(ClaimRow).where(ClaimRow.claim_no == claim_no)).scalar_one()
        row.reopen_count, row.closed_on = 1, date(2026, 10, 10)
    assert reminders.follow_up_visits(db, date(2026, 10, 10)) == {"created": 1}
    assert [(t.dedupe_key, t.due_on) for t in world.tasks("follow_up")] == [
        (f"follow_up:{claim_no}:0", date(2026, 9, 30)),
        (f"follow_up:{claim_no}:1", date(2026, 10, 17))]


# ---- premium ---------------------------------------------------------------------------

def test_premium_reminders_a_week_ahead_and_on_the_due_day(db: Database,
                                                          world: World) -> None:
    world.on(date(2026, 6, 1))
    policy_no, _ = world.policy(mode="instalments", frequency="monthly", phone="13700001234")
    with db.read() as s:
        due = {i.seq: i.due_date for i in s.execute(select(PremiumInstalment)).scalars()}
    assert due[2] == date(2026, 7, 2)

    sent_on = []
    for day in _days(date(2026, 6, 20), date(2026, 7, 4)):
        world.on(day, 9)
        if reminders.premium_reminders(db, day)["sent"]:
            sent_on.append(day)
    assert sent_on == [date(2026, 6, 25), date(2026, 7, 2)]
    notes = world.notifications("premium_due")
    assert [(n.channel, n.recipient) for n in notes] == [("sms", "13700001234")] * 2
    assert "2026-07-02 到期（还有 7 天）" in notes[0].text and policy_no in notes[0].text
    assert "今天到期" in notes[1].text
    with db.read() as s:
        line = s.execute(select(PremiumInstalment).where(PremiumInstalment.seq == 2)).scalar_one()
    assert line.last_reminded_at == at(date(2026, 7, 2), 9)

    # the daily policy clock: an unpaid instalment past its due day → premium due
    assert reminders.policy_clock(db, date(2026, 7, 3))["premium_due"] == 1
    assert policies.get_policy(db, policy_no)["status"] == "premium_due"

    # paid ahead: no reminder for the next instalments
    world.on(date(2026, 7, 20))
    for _ in range(2):
        amount = policies.get_policy(db, policy_no)["premium"]["instalment"]
        policies.record_payment(db, {"policy_no": policy_no, "amount": amount,
                                     "method": "wechat_pay"}, "cashier-1")
    for day in _days(date(2026, 7, 26), date(2026, 8, 3)):
        world.on(day, 9)
        assert reminders.premium_reminders(db, day) == {"sent": 0}


# ---- auto-enrollment -----------------------------------------------------------------------

def _resident(db: Database, name: str, birth: date, seq: int, area: str = "440514") -> None:
    with db.transaction() as s:
        party = Party(name=name, gender="male" if seq % 2 else "female", birth_date=birth,
                      id_number=make_id_number(area, birth, seq), phone="13800003333")
        s.add(party)
        s.flush()
        s.add(Resident(party_id=party.id, area_code=area, registered_on=date(2000, 1, 1)))


def test_auto_enrollment_on_the_first_of_the_month(db: Database, world: World) -> None:
    scheme = group.create_group_policy(db, {"product_code": "CN-ELDER-ACC",
                                            "applicant_name": "汕头市潮南区人民政府",
                                            "start_date": "2026-01-01"}, "admin")["policy_no"]
    _resident(db, "甲", date(1966, 5, 20), 1)  # 60 in May → from 1 June
    _resident(db, "乙", date(1966, 6, 15), 3)  # 60 in June → from 1 July
    _resident(db, "丙", date(1970, 1, 1), 5)   # 56
    assert reminders.auto_enrollment(db, date(2026, 6, 1)) == {"policies": 1, "enrolled": 1}
    assert reminders.auto_enrollment(db, date(2026, 6, 1)) == {"policies": 1, "enrolled": 0}
    assert reminders.auto_enrollment(db, date(2026, 7, 1)) == {"policies": 1, "enrolled": 1}
    with db.read() as s:
        roster = dict(s.execute(select(Party.name, RosterMember.enrolled_on).join(
            RosterMember, RosterMember.party_id == Party.id)).all())
    assert roster == {"甲": date(2026, 6, 1), "乙": date(2026, 7, 1)}
    assert scheme.startswith("G")


# ---- idempotence -------------------------------------------------------------------------

def test_every_job_run_twice_notifies_once(db: Database, world: World) -> None:
    world.on(date(2026, 6, 1))
    policy_no, idn = world.policy(mode="instalments", frequency="monthly")
    for handler in ("adjuster-1", None):
        world.on(date(2026, 9, 21))
        claim_no = world.claim(policy_no, idn, incident=date(2026, 9, 18))
        if handler:
            world.act(claim_no, "assign", handler=handler)
        world.on(date(2026, 9, 23))
        world.act(claim_no, "documents_complete", waive_missing=True)  # review due 9-29
    world.on(date(2026, 6, 25))
    first_premium = reminders.premium_reminders(db, date(2026, 6, 25))
    assert first_premium == {"sent": 1}
    assert reminders.premium_reminders(db, date(2026, 6, 25)) == {"sent": 0}

    day = date(2026, 9, 29)  # a notice is due, the review clock falls due today
    world.on(day, 9)
    runs = {
        "progress": lambda: reminders.progress_notices(db, day),
        "deadlines": lambda: reminders.deadline_checks(db, day),
        "follow_up": lambda: reminders.follow_up_visits(db, day),
        "premium": lambda: reminders.premium_reminders(db, day),
        "enrollment": lambda: reminders.auto_enrollment(db, day),
    }
    first = {name: run() for name, run in runs.items()}
    counts = (world.count(Notification), world.count(Task))
    second = {name: run() for name, run in runs.items()}
    assert (world.count(Notification), world.count(Task)) == counts
    assert first["progress"] == {"sent": 2} and second["progress"] == {"sent": 0}
    assert first["deadlines"] == {"warnings": 2, "escalations": 0}
    assert second["deadlines"] == {"warnings": 0, "escalations": 0}
    with db.read() as s:
        keys = list(s.execute(select(Notification.dedupe_key).where(
            Notification.template != "missing_documents")).scalars())
    assert first["premium"] == {"sent": 1}  # the instalment due 10-02
    assert len(keys) == len(set(keys)) == 2 + 2 + 2  # premium ×2, progress ×2, warnings ×2
