"""Complaints (投诉): intake from every channel, the handling steps, the regulatory clock.

Each public function is one use case in one transaction. The rules (state machine, clock) are
in backoffice.domain.complaint; this module loads, applies them, keeps the history and the audit
log, and queues the notices (acknowledgment, extension notice, the result, warnings and
escalations) through the notification outbox.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import field_validator, model_validator
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backoffice.domain import complaint as cp
from backoffice.domain import staff as roles
from backoffice.domain.clocks import ComplaintTrack
from backoffice.domain.errors import NotFound, ValidationError
from backoffice.domain.identity import mask_phone
from backoffice.services import satisfaction
from backoffice.services.base import audit, emit, number, today_cn
from backoffice.services.commands import (
    Command,
    Flag,
    OneOf,
    PersonName,
    Phone,
    Reference,
    Text,
    takes,
)
from backoffice.services.complaint_steps import Score, record_satisfaction, to_domain, write_back
from backoffice.services.notifications import queue
from backoffice.store.db import Database
from backoffice.store.models import ClaimRow, ComplaintEvent, ComplaintRow, StaffRow, Task

MAX_TEXT = 4000
ACTIONS = cp.STAFF_ACTIONS


# ---- where the customer hears from us --------------------------------------------------------

def customer_route(channel: str, user: str | None, phone: str) -> tuple[str, str]:
    """(notification channel, recipient): WeChat when the person came through WeChat and we
    know their openid, otherwise an SMS to their phone."""
    if user and (channel == "wechat" or user.startswith("wechat:")):
        return "wechat", user.removeprefix("wechat:")
    return "sms", phone


def _tell(s: Session, row: ComplaintRow, key: str, template: str, text: str) -> None:
    channel, recipient = customer_route(row.channel, row.channel_user, row.complainant_phone)
    queue(s, f"complaint:{row.complaint_no}:{key}", channel, recipient, template, text,
          {"complaint_no": row.complaint_no})


def _tell_staff(s: Session, staff: StaffRow | None, fallback: str, key: str, template: str,
                text: str, payload: dict[str, Any]) -> None:
    """A staff member by SMS when their phone is known, else the desk's log channel."""
    if staff is not None and staff.phone:
        queue(s, key, "sms", staff.phone, template, text, payload)
    else:
        queue(s, key, "log", staff.username if staff else fallback, template, text, payload)


# ---- loading and writing back --------------------------------------------------------------

def load(s: Session, complaint_no: str, *, lock: bool = False) -> ComplaintRow:
    stmt = select(ComplaintRow).where(ComplaintRow.complaint_no == complaint_no)
    if lock:
        stmt = stmt.with_for_update()
    row = s.execute(stmt).scalar()
    if row is None:
        raise NotFound(f"投诉 {complaint_no} 不存在", "complaint_no")
    return row


# ---- intake ----------------------------------------------------------------------------------

class Complainant(Command):
    name: PersonName
    phone: Phone


class ComplaintIntake(Command):
    """A complaint as a channel, the desk or the API takes it down."""

    channel: OneOf(cp.CHANNELS)
    user: Text(80) | None = None  # the channel's user (an openid): told there when possible
    complainant: Complainant
    # the known codes (cp.CATEGORIES) are named on the desk; a channel's own wording is kept
    category: Text(40, blank_ok=False)
    description: Text(MAX_TEXT, blank_ok=False)
    claim_no: Text(30) | None = None
    policy_no: Text(30) | None = None


@takes(ComplaintIntake)
def intake(db: Database, cmd: ComplaintIntake, actor: str = "customer") -> dict[str, Any]:
    """受理: the complaint gets its number and clock at once; the complainant is told both."""
    with db.transaction() as s:
        return view(s, open_complaint(s, cmd, actor))


def open_complaint(s: Session, cmd: ComplaintIntake, actor: str) -> ComplaintRow:
    """受理 inside the caller's transaction (a 回访 that raised a complaint opens it with its
    result)."""
    if cmd.claim_no and s.execute(select(ClaimRow.id).where(
            ClaimRow.claim_no == cmd.claim_no)).first() is None:
        raise NotFound(f"案件 {cmd.claim_no} 不存在", "claim_no")
    today = today_cn()
    row = ComplaintRow(complaint_no=number(s, "C", today.year, 7), status=cp.RECEIVED,
                       track=str(ComplaintTrack.STANDARD), received_on=today,
                       due_on=cp.due_date(today, ComplaintTrack.STANDARD),
                       channel=cmd.channel, channel_user=cmd.user,
                       complainant_name=cmd.complainant.name,
                       complainant_phone=cmd.complainant.phone, category=cmd.category,
                       description=cmd.description, claim_no=cmd.claim_no,
                       policy_no=cmd.policy_no)
    s.add(row)
    s.flush()
    s.add(ComplaintEvent(complaint_id=row.id, action="intake", status=cp.RECEIVED,
                         actor=actor, note=f"经 {row.channel} 收到投诉"))
    audit(s, actor, "complaint", row.complaint_no, "intake", None, {"status": cp.RECEIVED})
    c = to_domain(row)
    c.acknowledge("system")
    write_back(s, row, c, "acknowledge", "system", "已受理并编号")
    _tell(s, row, "ack", "complaint_ack",
          f"【小保】您的投诉已受理，编号 {row.complaint_no}。我们将在 {row.due_on} 前"
          "处理并告知您结果。")
    return row


# ---- staff actions ---------------------------------------------------------------------------

def _staff(s: Session, username: str | None) -> StaffRow | None:
    if not username:
        return None
    return s.execute(select(StaffRow).where(StaffRow.username == username)).scalar()


# what each step needs besides its action (the others take what is given, or a default)
STEP_NEEDS: dict[str, tuple[str, ...]] = {
    "note": ("note",), "classify": ("track",), "decide": ("decision", "outcome"),
    "record_satisfaction": ("score",), "reopen": ("note",),
}


class ComplaintStep(Command):
    """A staff step on a complaint. Who acts is the caller (an extension is approved by the
    supervisor acting): a body's `actor` or `approved_by` decides nothing."""

    complaint_no: Reference
    action: OneOf(ACTIONS)
    handler: Text(60) | None = None  # assign: the complaint handler (default: the actor)
    note: Text(MAX_TEXT) | None = None  # note: the record; reopen: the appeal
    track: OneOf(cp.CLASSIFY_TRACKS) | None = None
    decision: Text(MAX_TEXT) | None = None
    outcome: OneOf(cp.OUTCOMES) | None = None
    score: Score | None = None
    via: Text(20) | None = None  # notify: how the complainant was told

    @model_validator(mode="after")
    def _needs(self) -> ComplaintStep:
        for name in STEP_NEEDS.get(self.action, ()):
            if getattr(self, name) is None:
                raise ValidationError(name, f"请提供 {name}")
        return self


def _act_assign(s: Session, row: ComplaintRow, cmd: ComplaintStep, actor: str) -> str:
    handler = actor if cmd.action == "take" else cmd.handler or actor
    staff = _staff(s, handler)
    if staff is not None and staff.role != roles.COMPLAINT_HANDLER:
        raise ValidationError("handler", f"{handler} 不是投诉处理专员")
    c = to_domain(row)
    c.assign(handler, actor)
    write_back(s, row, c, "assign", actor, f"处理人：{handler}")
    return handler


def _act_note(s: Session, row: ComplaintRow, cmd: ComplaintStep, actor: str) -> None:
    c = to_domain(row)
    c.note(actor)
    write_back(s, row, c, "note", actor, cmd.note)


def _act_classify(s: Session, row: ComplaintRow, cmd: ComplaintStep, actor: str) -> None:
    c = to_domain(row)
    c.classify(str(cmd.track), actor, today_cn())
    default = "认定为情况复杂，时限30日" if c.track == "complex" else "认定为一般投诉，时限15日"
    write_back(s, row, c, "classify", actor, cmd.note or default)


def _act_extend(s: Session, row: ComplaintRow, cmd: ComplaintStep, actor: str) -> None:
    """情况特别复杂: the supervisor acting approves; nobody approves in another's name."""
    staff = _staff(s, actor)
    is_supervisor = staff is not None and staff.active and roles.allowed(
        staff.role, "complaints.approve_extension")
    c = to_domain(row)
    c.extend(actor, is_supervisor, actor, today_cn())
    row.extension_approved_by = actor
    write_back(s, row, c, "extend", actor,
               f"情况特别复杂，经 {actor} 审批延长30日；{cmd.note or ''}")
    _tell(s, row, "extension", "complaint_extension",
          f"【小保】您的投诉（编号 {row.complaint_no}）情况特别复杂，经审批处理期限延长至 "
          f"{row.due_on}，我们会尽快告知您处理结果。")


def _act_decide(s: Session, row: ComplaintRow, cmd: ComplaintStep, actor: str) -> None:
    c = to_domain(row)
    c.decide(actor)
    outcome = str(cmd.outcome)
    row.decision, row.outcome, row.decided_on = cmd.decision, outcome, today_cn()
    write_back(s, row, c, "decide", actor, f"{cp.OUTCOME_NAMES[outcome]}：{cmd.decision}")


def _act_notify(s: Session, row: ComplaintRow, cmd: ComplaintStep, actor: str) -> None:
    """Telling the complainant the decision stops the clock."""
    c = to_domain(row)
    c.notify(actor)
    channel, recipient = customer_route(row.channel, row.channel_user, row.complainant_phone)
    row.told_on, row.told_via = today_cn(), cmd.via or channel
    write_back(s, row, c, "notify", actor, f"已通过 {row.told_via} 告知投诉人处理结果")
    _tell(s, row, f"result-{row.reopen_count}", "complaint_result",
          f"【小保】您的投诉（编号 {row.complaint_no}）处理结果："
          f"{cp.OUTCOME_NAMES.get(row.outcome or '', '')}。{row.decision}")
    satisfaction.ask(s, "complaint", row.complaint_no, channel, recipient, agent=row.handler,
                     queue_name="complaints", round_no=row.reopen_count, claim_no=row.claim_no)


def _act_record_satisfaction(s: Session, row: ComplaintRow, cmd: ComplaintStep,
                             actor: str) -> None:
    record_satisfaction(s, row, int(cmd.score or 0), actor)


def _act_close(s: Session, row: ComplaintRow, cmd: ComplaintStep, actor: str) -> None:
    c = to_domain(row)
    c.close(actor)
    row.closed_on = today_cn()
    write_back(s, row, c, "close", actor, cmd.note or "办结")
    if row.satisfaction_score is None:  # asked with the result; a close asks once if it was not
        channel, recipient = customer_route(row.channel, row.channel_user,
                                            row.complainant_phone)
        satisfaction.ask(s, "complaint", row.complaint_no, channel, recipient,
                         agent=row.handler, queue_name="complaints", round_no=row.reopen_count,
                         claim_no=row.claim_no)


def _act_reopen(s: Session, row: ComplaintRow, cmd: ComplaintStep, actor: str) -> None:
    c = to_domain(row)
    c.reopen(actor)
    today = today_cn()
    row.received_on, row.told_on, row.told_via, row.closed_on = today, None, None, None
    row.decision = row.outcome = None
    row.decided_on = row.escalated_on = None
    row.satisfaction_score, row.extension_approved_by = None, None
    write_back(s, row, c, "reopen", actor, f"投诉人申请复核：{cmd.note}")
    _tell(s, row, f"reopen-{row.reopen_count}", "complaint_reopen",
          f"【小保】已收到您对投诉（编号 {row.complaint_no}）的复核申请，"
          f"我们将在 {row.due_on} 前告知复核结果。")


_ACTIONS = {
    "assign": _act_assign,
    "take": _act_assign,
    "note": _act_note,
    "classify": _act_classify,
    "extend": _act_extend,
    "decide": _act_decide,
    "notify": _act_notify,
    "record_satisfaction": _act_record_satisfaction,
    "close": _act_close,
    "reopen": _act_reopen,
}


@takes(ComplaintStep)
def transition(db: Database, cmd: ComplaintStep, actor: str) -> dict[str, Any]:
    """A staff step on a complaint, named by `action`, taken by `actor` (whose authority the
    caller checked: staff.authorize_complaint_step)."""
    if not actor:
        raise ValidationError("actor", "每一步都须记录操作人")
    with db.transaction() as s:
        row = load(s, cmd.complaint_no, lock=True)
        _ACTIONS[cmd.action](s, row, cmd, actor)
        s.flush()
        return view(s, row)


# ---- views -------------------------------------------------------------------------------

def clock_of(row: ComplaintRow, today: date | None = None) -> cp.ComplaintClock:
    return cp.clock(row.received_on, today or today_cn(), row.track, row.told_on)


def _clock_json(row: ComplaintRow) -> dict[str, Any]:
    c = clock_of(row)
    return {"due": c.deadline.due.isoformat(), "days_left": c.days_left,
            "breached": c.breached, "warn": c.warn, "track": row.track,
            "done_on": c.deadline.done_on.isoformat() if c.deadline.done_on else None,
            "text": cp.clock_text(c), "basis": c.deadline.basis}


def summary(row: ComplaintRow, *, pii: bool = True) -> dict[str, Any]:
    phone = row.complainant_phone if pii else mask_phone(row.complainant_phone)
    return {"complaint_no": row.complaint_no, "status": row.status,
            "status_name": cp.STATUS_NAMES[row.status], "channel": row.channel,
            "category": row.category, "complainant": {"name": row.complainant_name,
                                                       "phone": phone},
            "claim_no": row.claim_no, "policy_no": row.policy_no, "handler": row.handler,
            "received_on": row.received_on.isoformat(), "due_by": row.due_on.isoformat(),
            "clock": _clock_json(row)}


# a longer limit is granted only while the current one runs (domain.complaint)
_NOT_ONCE_BREACHED = ("classify", "extend")


def _allowed(row: ComplaintRow) -> list[str]:
    """The steps the desk offers: those the status allows, less a longer limit once breached."""
    status_allows = cp.allowed_actions(row.status)
    allowed = [a for a in ACTIONS if a in status_allows or (a == "take" and
                                                            "assign" in status_allows)]
    if clock_of(row).breached:
        allowed = [a for a in allowed if a not in _NOT_ONCE_BREACHED]
    return allowed


def view(s: Session, row: ComplaintRow, *, pii: bool = True) -> dict[str, Any]:
    events = s.execute(select(ComplaintEvent).where(ComplaintEvent.complaint_id == row.id)
                       .order_by(ComplaintEvent.id)).scalars()
    return {
        **summary(row, pii=pii),
        "description": row.description,
        "decision": row.decision, "outcome": row.outcome,
        "decided_on": row.decided_on.isoformat() if row.decided_on else None,
        "told_on": row.told_on.isoformat() if row.told_on else None, "told_via": row.told_via,
        "satisfaction": row.satisfaction_score,
        "extension_approved_by": row.extension_approved_by,
        "escalated_on": row.escalated_on.isoformat() if row.escalated_on else None,
        "closed_on": row.closed_on.isoformat() if row.closed_on else None,
        "reopen_count": row.reopen_count,
        "allowed_actions": _allowed(row),
        "timeline": [{"at": e.at.isoformat(), "action": e.action, "status": e.status,
                      "actor": e.actor, "note": e.note} for e in events],
    }


class ComplaintRef(Command):
    complaint_no: Reference


@takes(ComplaintRef)
def get(db: Database, cmd: ComplaintRef, actor: str = "", *, pii: bool = True
        ) -> dict[str, Any]:
    with db.read() as s:
        return view(s, load(s, cmd.complaint_no), pii=pii)


def for_claim(s: Session, claim_no: str) -> list[dict[str, Any]]:
    """The complaints linked to a claim, for the claim's own view."""
    rows = s.execute(select(ComplaintRow).where(ComplaintRow.claim_no == claim_no)
                     .order_by(ComplaintRow.id)).scalars()
    return [{"complaint_no": r.complaint_no, "status": r.status, "due_by": r.due_on.isoformat(),
             "category": r.category} for r in rows]


class ComplaintQuery(Command):
    """The complaints queue's filters (a GET's query: blank means no filter)."""

    status: OneOf(cp.STATUSES) | None = None
    handler: Text(60) | None = None
    claim_no: Text(60) | None = None
    q: Text(100) | None = None  # a number, a name or words of the description
    open: Flag = False  # only complaints whose clock runs (or decided, not yet told)
    breached: Flag | None = None  # open ones past (true) or within (false) their due date

    @field_validator("status", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


@takes(ComplaintQuery)
def search(db: Database, cmd: ComplaintQuery, actor: str = "", *, limit: int = 200,
           pii: bool = True) -> list[dict[str, Any]]:
    """The complaints queue, nearest due date first."""
    with db.read() as s:
        stmt = select(ComplaintRow).order_by(ComplaintRow.due_on, ComplaintRow.id)
        if cmd.status:
            stmt = stmt.where(ComplaintRow.status == cmd.status)
        if cmd.open or cmd.breached is not None:
            stmt = stmt.where(ComplaintRow.status.in_((*cp.OPEN, cp.DECIDED)))
        if cmd.handler:
            stmt = stmt.where(ComplaintRow.handler == cmd.handler)
        if cmd.claim_no:
            stmt = stmt.where(ComplaintRow.claim_no == cmd.claim_no)
        if cmd.q:
            like = f"%{cmd.q}%"
            stmt = stmt.where(or_(ComplaintRow.complaint_no.like(like),
                                  ComplaintRow.complainant_name.like(like),
                                  ComplaintRow.description.like(like)))
        if cmd.breached is not None:
            today = today_cn()
            stmt = stmt.where(ComplaintRow.due_on < today if cmd.breached
                              else ComplaintRow.due_on >= today)
        return [summary(r, pii=pii) for r in s.execute(stmt.limit(limit)).scalars()]


# ---- the clock's warnings and escalations (run by the scheduler) ----------------------------

def clock_checks(db: Database, today: date) -> dict[str, int]:
    """Warn the handler before a breach; on a breach escalate once to the supervisors.

    Idempotent for a day: notices are deduplicated by complaint, clock round and day.
    """
    warned = escalated = 0
    with db.transaction() as s:
        rows = s.execute(select(ComplaintRow).where(
            ComplaintRow.status.in_((*cp.OPEN, cp.DECIDED)))).scalars().all()
        supervisors = s.execute(select(StaffRow).where(
            StaffRow.role == roles.CLAIMS_SUPERVISOR, StaffRow.active.is_(True))).scalars().all()
        for row in rows:
            c = clock_of(row, today)
            key = f"complaint:{row.complaint_no}:r{row.reopen_count}"
            if c.warn:
                _tell_staff(s, _staff(s, row.handler), "complaints",
                            f"{key}:warn:{today}", "complaint_warning",
                            f"【小保】投诉 {row.complaint_no} 将于 {c.deadline.due} 到期"
                            f"（剩余 {c.days_left} 日），请及时处理并告知投诉人。",
                            {"complaint_no": row.complaint_no, "due": c.deadline.due.isoformat()})
                warned += 1
            if c.breached and row.escalated_on is None:
                _escalate(s, row, c, supervisors, key, today)
                escalated += 1
    return {"warned": warned, "escalated": escalated}


def _escalate(s: Session, row: ComplaintRow, c: cp.ComplaintClock, supervisors: list[StaffRow],
              key: str, today: date) -> None:
    row.escalated_on = today
    text = (f"【小保】投诉 {row.complaint_no} 已超过处理时限（{c.deadline.due}），"
            f"处理人：{row.handler or '未分派'}，请主管督办。")
    payload = {"complaint_no": row.complaint_no, "due": c.deadline.due.isoformat()}
    for sup in supervisors or [None]:
        _tell_staff(s, sup, "supervisors", f"{key}:breach:{sup.username if sup else '-'}",
                    "complaint_escalation", text, payload)
    claim_id = None
    if row.claim_no:
        claim_id = s.execute(select(ClaimRow.id).where(
            ClaimRow.claim_no == row.claim_no)).scalar()
    dedupe = f"complaint_escalation:{row.complaint_no}:{row.reopen_count}"
    if s.execute(select(Task.id).where(Task.dedupe_key == dedupe)).first() is None:
        s.add(Task(kind="complaint_escalation", claim_id=claim_id, due_on=today,
                   assigned_to=None, note=text, dedupe_key=dedupe))
    s.add(ComplaintEvent(complaint_id=row.id, action="escalate", status=row.status,
                         actor="system", note=f"超过处理时限 {c.deadline.due}，已上报主管"))
    audit(s, "system", "complaint", row.complaint_no, "escalate", None,
          {"due": c.deadline.due.isoformat()})
    emit(s, "complaint.breached", payload)
