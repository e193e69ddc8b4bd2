"""The scheduler's use cases: progress notices, deadline warnings and escalations, follow-up
visits, premium reminders, the policy clock and monthly auto-enrollment.

Each takes the database and the business day (`today`, a Beijing date) and can run any number
of times: a notification is queued once per dedupe key (`notifications.queue`) and a task is
created once per dedupe key (the unique `tasks.dedupe_key`), so a job that fires twice, or is
re-run by hand, notifies nobody twice. Each item (a claim, an instalment, a policy) is its own
transaction: one that fails is logged and counted, and the others go on.

Who gets what (see shared/domain/rules.md §1 and §3):
- the customer — progress notices every 3 working days from the report while a claim is open
  (saying what the claim waits for and from whom), reminders of missing documents 5 and 10
  working days after they were asked for (with the 2-year time bar), and premium
  reminders — by WeChat when the claim came in through WeChat with the reporter's openid
  (`facts["wechat_openid"]`, set by the gateway), else by SMS;
- the claim's handler — a `deadline_warning` task and a desk notice when a clock falls due
  within one working day (the claims queue when the claim has no handler);
- a supervisor — an `escalation` task and a notice the day after a clock is breached.
Staff notices go out on the `log` channel (the desk reads the tasks).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import String, cast, exists, literal, select
from sqlalchemy.orm import Session

from backoffice import clock
from backoffice.domain import claim as cl
from backoffice.domain import clocks
from backoffice.domain.calendar import CN_CALENDAR
from backoffice.domain.clocks import (
    CLOCK_NAMES,
    NOTICE_CLOCKS,
    PROGRESS_NOTICE_WORKING_DAYS,
    TIME_BAR_YEARS,
)
from backoffice.domain.money import fmt, from_fen
from backoffice.domain.policy import COVERED
from backoffice.services import group, policies
from backoffice.services.base import audit
from backoffice.services.claims import (
    DOCUMENTS_REMINDER,
    WHERE_TO_SEND,
    claim_contact,
    claim_requirements,
    deadlines,
    documents_asked,
)
from backoffice.services.notifications import queue
from backoffice.services.products import load_product
from backoffice.store.db import Database
from backoffice.store.models import (
    ClaimEvent,
    ClaimRequirement,
    ClaimRow,
    Party,
    PolicyRow,
    PremiumInstalment,
    Task,
)

log = logging.getLogger("xiaobao.reminders")

FOLLOW_UP_DAYS = 7
PREMIUM_REMINDER_DAYS = 7
CLAIMS_QUEUE = "claims_queue"
SUPERVISOR = "claims_supervisor"
ACTOR = "scheduler"

# the clock whose due date a customer is told, by stage
_EXPECTED = {
    cl.UNDER_REVIEW: ("review", "special_case", "decision"),
    cl.INVESTIGATING: ("special_case", "decision"),
    cl.ADJUDICATED: ("decision",),
    cl.PENDING_APPROVAL: ("decision",),
    cl.APPROVED: ("payment",),
}

_T = TypeVar("_T")


def _each(items: Iterable[_T], what: str, work: Callable[[_T], str | None],
          counts: dict[str, int]) -> dict[str, int]:
    """Run `work` per item; count its outcome (a key of `counts`) and failures."""
    for item in items:
        try:
            outcome = work(item)
        except Exception:
            log.exception("%s failed for %s", what, item)
            counts["errors"] = counts.get("errors", 0) + 1
            continue
        if outcome:
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def ensure_task(s: Session, dedupe_key: str, kind: str, due_on: date, *,
                claim_id: int | None = None, policy_id: int | None = None,
                assigned_to: str | None = None, note: str | None = None) -> Task | None:
    """A task once per dedupe key; None when it already exists."""
    if s.execute(select(Task.id).where(Task.dedupe_key == dedupe_key)).first():
        return None
    task = Task(kind=kind, claim_id=claim_id, policy_id=policy_id, due_on=due_on,
                assigned_to=assigned_to, note=note, dedupe_key=dedupe_key[:120])
    s.add(task)
    return task


def _lock_claim(s: Session, claim_id: int) -> ClaimRow:
    return s.execute(select(ClaimRow).where(ClaimRow.id == claim_id)
                     .with_for_update()).scalar_one()


# ---- progress notices ---------------------------------------------------------------------------

def progress_text(s: Session, row: ClaimRow, today: date) -> tuple[str, dict[str, Any]]:
    """The notice: report number, stage, what is missing, expected completion."""
    stage = cl.STAGE_NAMES[row.status]
    missing = [r.name for r in s.execute(
        select(ClaimRequirement).where(ClaimRequirement.claim_id == row.id,
                                       ClaimRequirement.received_on.is_(None))
        .order_by(ClaimRequirement.id)).scalars()]
    dl = deadlines(s, row, today)
    expected = next((dl[name]["due"] for name in _EXPECTED.get(row.status, ())
                     if name in dl and dl[name]["done_on"] is None
                     and dl[name]["due"] >= today.isoformat()), None)
    waits = cl.awaiting(row.status, missing, row.approval_role, bool(row.bank_account))
    text = f"【小保】您的理赔（报案号 {row.claim_no}）当前进度：{stage}。"
    if waits:
        text += f"目前{waits}。"
    elif missing:
        text += "还需提交：" + "、".join(missing) + "。"
    if expected:
        text += f"预计 {expected} 前完成下一步。"
    text += "如有疑问，请在公众号留言或拨打客服电话。"
    return text, {"claim_no": row.claim_no, "stage": stage, "missing": missing,
                  "awaiting": waits, "expected_by": expected}


def progress_notices(db: Database, today: date) -> dict[str, int]:
    """Every 3 working days while a claim is open: a notice, then the next date.

    Runs on working days only; a notice missed while the scheduler was down goes out on the
    next working day, and the next one is 3 working days after that.
    """
    counts = {"sent": 0}
    if not CN_CALENDAR.is_working_day(today):
        return {**counts, "skipped_non_working_day": 1}
    with db.read() as s:
        due = list(s.execute(select(ClaimRow.id).where(
            ClaimRow.status.in_(cl.OPEN), ClaimRow.next_progress_notice_on <= today)
            .order_by(ClaimRow.id)).scalars())

    def notify(claim_id: int) -> str | None:
        with db.transaction() as s:
            row = _lock_claim(s, claim_id)
            notice_on = row.next_progress_notice_on
            if row.status not in cl.OPEN or notice_on is None or notice_on > today:
                return None  # moved on since the list was read
            text, payload = progress_text(s, row, today)
            channel, recipient = claim_contact(row)
            queue(s, f"claim:{row.claim_no}:progress:{today.isoformat()}", channel, recipient,
                  "claim_progress", text, payload)
            row.next_progress_notice_on = CN_CALENDAR.add_working_days(
                today, PROGRESS_NOTICE_WORKING_DAYS)
            return "sent"

    return _each(due, "progress notice", notify, counts)


# ---- documents reminders ------------------------------------------------------------------------

def documents_reminder_text(row: ClaimRow, missing: list[str], bar: date) -> str:
    return (f"【小保】您的理赔（报案号 {row.claim_no}）还缺以下材料：{'、'.join(missing)}。"
            f"材料齐全后我们才能审核赔付，请尽快{WHERE_TO_SEND}"
            f"温馨提示：保险金请求权自知道保险事故发生之日起{TIME_BAR_YEARS}年内有效"
            f"（至 {bar.year}年{bar.month}月{bar.day}日，保险法第二十六条）。")


def documents_reminders(db: Database, today: date) -> dict[str, int]:
    """What is still missing, told again 5 and 10 working days after it was first asked for,
    with the 2-year time bar. One reminder per claim and run: one missed while the scheduler
    was down goes out on the next working day, the other on the run after."""
    counts = {"sent": 0}
    if not CN_CALENDAR.is_working_day(today):
        return {**counts, "skipped_non_working_day": 1}
    with db.read() as s:
        waiting = list(s.execute(select(ClaimRow.id).where(
            ClaimRow.status.in_(cl.OPEN),
            exists().where(ClaimRequirement.claim_id == ClaimRow.id,
                           ClaimRequirement.received_on.is_(None)))
            .order_by(ClaimRow.id)).scalars())

    def remind(claim_id: int) -> str | None:
        with db.transaction() as s:
            row = _lock_claim(s, claim_id)
            reqs = claim_requirements(s, row)
            asked, sent = documents_asked(s, row, reqs)
            days = clocks.documents_reminders(asked) if asked else ()
            if row.status not in cl.OPEN or asked is None or sent >= len(days) \
                    or days[sent] > today:
                return None
            missing = [r.name for r in reqs if r.received_on is None]
            channel, recipient = claim_contact(row)
            bar = clocks.time_bar(row.incident_date)
            queue(s, f"claim:{row.claim_no}:documents-reminder:{asked.isoformat()}:{sent + 1}",
                  channel, recipient, "documents_reminder",
                  documents_reminder_text(row, missing, bar),
                  {"claim_no": row.claim_no, "missing": missing, "time_bar": bar.isoformat()})
            note = f"第{sent + 1}次提醒补充材料：" + "、".join(missing)
            s.add(ClaimEvent(claim_id=row.id, action=DOCUMENTS_REMINDER, status=row.status,
                             actor=ACTOR, note=note))
            return "sent"

    return _each(waiting, "documents reminder", remind, counts)


# ---- deadlines ----------------------------------------------------------------------------------

def _watched_claims(s: Session) -> list[int]:
    """Claims whose clocks still run: open ones, and rejections whose letter has not gone out."""
    return list(s.execute(select(ClaimRow.id).where(
        ClaimRow.status.in_(cl.OPEN)
        | ((ClaimRow.status == cl.REJECTED) & ClaimRow.letter_sent_on.is_(None)))
        .order_by(ClaimRow.id)).scalars())


def deadline_checks(db: Database, today: date, supervisor: str = SUPERVISOR) -> dict[str, int]:
    """A warning when a clock falls due within one working day; an escalation once breached.

    Each once per claim, clock and due date. A clock held by an open pause (documents being
    supplied) has only a provisional due date and is left alone. Warning and escalation tasks
    whose clock has since been met (or no longer runs) are closed.
    """
    horizon = CN_CALENDAR.add_working_days(today, 1)
    counts = {"warnings": 0, "escalations": 0}
    with db.read() as s:
        claim_ids = sorted(set(_watched_claims(s)) | set(_claims_with_open_clock_tasks(s)))

    def check(claim_id: int) -> None:
        with db.transaction() as s:
            row = s.get(ClaimRow, claim_id)
            assert row is not None
            clocks = deadlines(s, row, today)
            if not _close_finished_clock_tasks(s, row, clocks):
                return  # the claim's clocks have stopped: nothing more to warn about
            for name, d in clocks.items():
                if d["done_on"] is not None or d["paused"] or name in NOTICE_CLOCKS:
                    continue
                due = date.fromisoformat(d["due"])
                if today > due:
                    counts["escalations"] += _escalate(s, row, name, due, today, supervisor)
                elif due <= horizon:
                    counts["warnings"] += _warn(s, row, name, due, today)

    for claim_id in claim_ids:
        try:
            check(claim_id)
        except Exception:
            log.exception("deadline check failed for claim %s", claim_id)
            counts["errors"] = counts.get("errors", 0) + 1
    return counts


_CLOCK_TASKS = ("deadline_warning", "escalation")


def _claims_with_open_clock_tasks(s: Session) -> list[int]:
    return list(s.execute(select(Task.claim_id).distinct().where(
        Task.kind.in_(_CLOCK_TASKS), Task.status == "open", Task.claim_id.is_not(None))
    ).scalars())


def _close_finished_clock_tasks(s: Session, row: ClaimRow, clocks: dict[str, Any]) -> bool:
    """A warning or escalation is done once its clock is met or no longer runs (a claim
    withdrawn, closed, or rejected with its letter sent). Returns whether clocks still run."""
    running = row.status in cl.OPEN or (row.status == cl.REJECTED and row.letter_sent_on is None)
    for task in s.execute(select(Task).where(Task.claim_id == row.id, Task.status == "open",
                                             Task.kind.in_(_CLOCK_TASKS))).scalars():
        name = task.dedupe_key.split(":")[2]  # "<kind>:<claim_no>:<clock>:<due>"
        clock = clocks.get(name)
        if not running or clock is None or clock["done_on"] is not None:
            task.status = "done"
    return running


def _warn(s: Session, row: ClaimRow, name: str, due: date, today: date) -> int:
    label = CLOCK_NAMES.get(name, name)
    when = "今天" if due == today else f"{due.isoformat()}"
    note = f"案件 {row.claim_no} 的{label}时限 {when} 到期，请及时处理。"
    task = ensure_task(s, f"deadline_warning:{row.claim_no}:{name}:{due.isoformat()}",
                       "deadline_warning", due, claim_id=row.id, assigned_to=row.handler,
                       note=note)
    if task is None:
        return 0
    queue(s, f"claim:{row.claim_no}:deadline_warning:{name}:{due.isoformat()}", "log",
          row.handler or CLAIMS_QUEUE, "deadline_warning", note,
          {"claim_no": row.claim_no, "deadline": name, "due": due.isoformat()})
    return 1


def _escalate(s: Session, row: ClaimRow, name: str, due: date, today: date,
              supervisor: str) -> int:
    label = CLOCK_NAMES.get(name, name)
    overdue = (today - due).days
    note = (f"案件 {row.claim_no} 的{label}时限已于 {due.isoformat()} 届满，超期 {overdue} 日"
            f"（经办人：{row.handler or '未分配'}），请督办。")
    task = ensure_task(s, f"escalation:{row.claim_no}:{name}:{due.isoformat()}", "escalation",
                       today, claim_id=row.id, assigned_to=supervisor, note=note)
    if task is None:
        return 0
    queue(s, f"claim:{row.claim_no}:escalation:{name}:{due.isoformat()}", "log", supervisor,
          "deadline_escalation", note,
          {"claim_no": row.claim_no, "deadline": name, "due": due.isoformat(),
           "handler": row.handler})
    audit(s, ACTOR, "claim", row.claim_no, "deadline_escalated", None,
          {"deadline": name, "due": due.isoformat(), "supervisor": supervisor})
    return 1


# ---- follow-up visits ---------------------------------------------------------------------------

def follow_up_key(row: ClaimRow) -> str:
    """The key claims.close gives its follow-up task: one per closing of a claim."""
    return f"follow_up:{row.claim_no}:{row.reopen_count}"


def follow_up_visits(db: Database, today: date) -> dict[str, int]:
    """A `follow_up` task (回访) due closed_on + 7 days for every closed claim that lacks one."""
    with db.read() as s:
        key = literal("follow_up:") + ClaimRow.claim_no + ":" + cast(ClaimRow.reopen_count,
                                                                       String)
        has_task = exists().where(Task.dedupe_key == key)
        closed = list(s.execute(select(ClaimRow.id).where(
            ClaimRow.status == cl.CLOSED, ClaimRow.closed_on.is_not(None),
            ClaimRow.closed_on <= today, ~has_task).order_by(ClaimRow.id)).scalars())

    def ensure(claim_id: int) -> str | None:
        with db.transaction() as s:
            row = s.get(ClaimRow, claim_id)
            assert row is not None and row.closed_on is not None
            task = ensure_task(s, follow_up_key(row), "follow_up",
                               row.closed_on + timedelta(days=FOLLOW_UP_DAYS),
                               claim_id=row.id, assigned_to=row.handler,
                               note="结案后一周内回访")
            return "created" if task else None

    return _each(closed, "follow-up task", ensure, {"created": 0})


# ---- premium --------------------------------------------------------------------------------

def premium_reminders(db: Database, today: date, now: datetime | None = None) -> dict[str, int]:
    """Unpaid instalments of in-force individual policies falling due within 7 days: one
    reminder when the instalment enters the window, another on the due day."""
    now = now or clock.utcnow()
    with db.read() as s:
        due = list(s.execute(
            select(PremiumInstalment.id)
            .join(PolicyRow, PolicyRow.id == PremiumInstalment.policy_id)
            .where(PremiumInstalment.status == "due", PolicyRow.kind == "individual",
                   PolicyRow.status.in_(COVERED), PolicyRow.policy_no.is_not(None),
                   PremiumInstalment.due_date >= today,
                   PremiumInstalment.due_date <= today + timedelta(days=PREMIUM_REMINDER_DAYS))
            .order_by(PremiumInstalment.due_date, PremiumInstalment.id)).scalars())

    def remind(instalment_id: int) -> str | None:
        with db.transaction() as s:
            line = s.execute(select(PremiumInstalment).where(
                PremiumInstalment.id == instalment_id).with_for_update()).scalar_one()
            if line.status != "due":
                return None
            policy = s.get(PolicyRow, line.policy_id)
            assert policy is not None and policy.policy_no is not None
            phone = _policy_phone(s, policy)
            if phone is None:
                return "no_phone"
            amount = fmt(from_fen(line.amount_fen))
            days = (line.due_date - today).days
            if days == 0:
                kind = "due_day"
                text = (f"【小保】您的保单 {policy.policy_no} 第 {line.seq} 期保费 {amount} 元"
                        "今天到期，请及时缴纳，以免影响保障。")
            else:
                kind = "upcoming"
                text = (f"【小保】您的保单 {policy.policy_no} 第 {line.seq} 期保费 {amount} 元"
                        f"将于 {line.due_date.isoformat()} 到期（还有 {days} 天），"
                        "请按时缴纳，以免影响保障。")
            note = queue(s, f"premium:{policy.policy_no}:{line.seq}:"
                            f"{line.due_date.isoformat()}:{kind}", "sms", phone,
                         "premium_due", text,
                         {"policy_no": policy.policy_no, "seq": line.seq, "amount": amount,
                          "due_date": line.due_date.isoformat()})
            if note is None:
                return None
            line.last_reminded_at = now
            return "sent"

    return _each(due, "premium reminder", remind, {"sent": 0})


def _policy_phone(s: Session, policy: PolicyRow) -> str | None:
    for party_id in (policy.applicant_party_id, policy.insured_party_id):
        party = s.get(Party, party_id) if party_id else None
        if party is not None and party.phone:
            return party.phone
    return None


def policy_clock(db: Database, today: date) -> dict[str, int]:
    """The daily sweep: premium due → grace period → lapse, and expiry."""
    return policies.policy_clock(db, today, ACTOR)


# ---- group schemes ------------------------------------------------------------------------

def auto_enrollment(db: Database, today: date) -> dict[str, int]:
    """Monthly (on the 1st): enroll the residents who became eligible, in every covered group
    policy whose product enrolls automatically (`eligibility.auto_enrollment`)."""
    with db.read() as s:
        schemes = []
        for no, code in s.execute(select(PolicyRow.policy_no, PolicyRow.product_code).where(
                PolicyRow.kind == "group", PolicyRow.status.in_(COVERED),
                PolicyRow.policy_no.is_not(None)).order_by(PolicyRow.id)).all():
            if load_product(s, code).eligibility.get("auto_enrollment"):
                schemes.append(no)
    counts = {"policies": 0, "enrolled": 0}

    def enroll(policy_no: str) -> str | None:
        counts["enrolled"] += group.auto_enroll(
            db, {"policy_no": policy_no, "as_of": today.isoformat()}, ACTOR)
        return "policies"

    return _each(schemes, "auto-enrollment", enroll, counts)
