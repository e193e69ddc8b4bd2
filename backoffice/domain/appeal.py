"""Appeals of a rejection (复核申请). Pure: dates, actors and the settings are passed in.

A customer who disagrees with a rejection (拒赔) asks for it to be looked at again, giving their
reasons. The appeal is `open` until a claims supervisor decides it: `uphold` (the rejection
stands; the customer is told why) or `reopen` (the claim goes back to review through the claim's
own `reopen` step). Four eyes: whoever rejected the claim does not review their own rejection.

The clock is the project's service promise, not a rule of rules.md (which is silent): an answer
within APPEAL_WORKING_DAYS working days of the appeal, on the PRC working-day calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backoffice.domain.calendar import CN_CALENDAR, WorkingCalendar
from backoffice.domain.clocks import Deadline, day_clock_text
from backoffice.domain.errors import Conflict, Forbidden, IllegalTransition, ValidationError

OPEN = "open"
UPHELD = "upheld"  # the rejection stands
REOPENED = "reopened"  # the claim is back under review
STATUSES = (OPEN, UPHELD, REOPENED)
STATUS_NAMES = {OPEN: "复核中", UPHELD: "维持原拒赔决定", REOPENED: "已重新审核"}
DECISIONS = {"uphold": UPHELD, "reopen": REOPENED}
ACTIONS = tuple(DECISIONS)
CHANNELS = ("wechat", "ivr", "web", "desk", "api", "counter", "phone")
MAX_REASONS = 2000
MAX_NOTE = 2000
DEFAULT_WORKING_DAYS = 10


def working_days(raw: str | None) -> int:
    """The clock's length from its setting (XIAOBAO_APPEAL_WORKING_DAYS): 1–60, else 10."""
    try:
        n = int(raw or "")
    except ValueError:
        return DEFAULT_WORKING_DAYS
    return n if 1 <= n <= 60 else DEFAULT_WORKING_DAYS


def check_reasons(reasons: object) -> str:
    """The customer's reasons are the appeal: required, visible text."""
    text = reasons.strip() if isinstance(reasons, str) else ""
    if not text or not any(ch.isprintable() and not ch.isspace() for ch in text):
        raise ValidationError("reasons", "请写明申请复核的理由")
    if len(text) > MAX_REASONS:
        raise ValidationError("reasons", f"复核理由不超过 {MAX_REASONS} 字")
    return text


def check_appealable(claim_status: str) -> None:
    """Only a rejected claim can be appealed."""
    if claim_status != "rejected":
        raise Conflict("只有已拒赔的案件可以申请复核", "claim_no")


@dataclass(slots=True)
class Appeal:
    """The parts of an appeal its rules look at."""

    status: str
    rejected_by: str | None  # who took the rejection (from the claim's timeline)

    def decide(self, action: str, actor: str, note: object) -> str:
        """The decision as `actor`; returns the note (required with `uphold`: the customer
        is told the reasons)."""
        if action not in DECISIONS:
            raise ValidationError("action", f"action 须为 {', '.join(ACTIONS)} 之一")
        if self.status != OPEN:
            raise IllegalTransition("复核申请", self.status, action, ())
        if not actor:
            raise ValidationError("actor", "每一步都须记录操作人")
        if self.rejected_by and actor == self.rejected_by:
            raise Forbidden("拒赔决定人不能复核自己的决定（四眼原则）", "action")
        text = note.strip() if isinstance(note, str) else ""
        if len(text) > MAX_NOTE:
            raise ValidationError("note", f"说明不超过 {MAX_NOTE} 字")
        if action == "uphold" and not text:
            raise ValidationError("note", "维持原决定须写明理由，会告知客户")
        self.status = DECISIONS[action]
        return text


def clock(filed_on: date, today: date, days: int, decided_on: date | None = None,
          calendar: WorkingCalendar = CN_CALENDAR) -> Deadline:
    """The clock of an appeal filed on `filed_on` with a promise of `days` working days."""
    return deadline(calendar.add_working_days(filed_on, days), today, days, decided_on)


def deadline(due: date, today: date, days: int, decided_on: date | None = None) -> Deadline:
    """The clock against a due date already fixed (a later change of the setting moves no
    promise already made)."""
    basis = f"复核申请受理后{days}个工作日内答复（服务承诺）"
    if decided_on is not None:
        return Deadline("appeal", due, decided_on > due, False, basis, decided_on)
    return Deadline("appeal", due, today > due, False, basis, None)


def clock_text(d: Deadline, today: date) -> str:
    return day_clock_text(d, today)


def outcome_text(claim_no: str, status: str, note: str) -> str:
    """What the customer is told, in plain Chinese."""
    if status == UPHELD:
        return (f"【小保】您对报案号 {claim_no} 拒赔决定的复核申请已有结果：经理赔主管复核，"
                f"维持原拒赔决定。理由：{note}。如仍有异议，可拨打客服电话、到服务网点咨询，"
                "也可依法向监管部门投诉或向人民法院起诉。")
    return (f"【小保】您对报案号 {claim_no} 拒赔决定的复核申请已受理并重新审核：案件已重新进入"
            "审核，我们会尽快给您新的结论。" + (f"说明：{note}。" if note else ""))
