"""The complaint (投诉) workflow and its regulatory clock. Pure: dates are passed in.

intake (received) → acknowledged with a number → assigned to a handler → investigating (notes)
→ decided → complainant told → satisfaction recorded → closed; an appeal re-opens a told,
rated or closed complaint, which then runs a fresh 15-day clock from the appeal.

The clock (银行业保险业消费投诉处理管理办法, 2020; see clocks.complaint_deadline): decide and
tell the complainant within 15 days of receipt; 30 for a complex case; a further 30 (60 at
most) for an especially complex one, only with a supervisor's approval and a notice to the
complainant. The act that stops the clock is telling the complainant the decision.

A longer time limit is granted while the shorter one runs, never after it has run out: once a
complaint's clock is breached, reclassifying it as complex or extending it is refused (409 on
`track`), so a breach cannot be turned back into a complaint on time. Only an appeal (reopen)
starts a fresh clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backoffice.domain.clocks import ComplaintTrack, Deadline, complaint_deadline
from backoffice.domain.errors import Conflict, IllegalTransition, ValidationError

RECEIVED = "received"
ACKNOWLEDGED = "acknowledged"
ASSIGNED = "assigned"
INVESTIGATING = "investigating"
DECIDED = "decided"
NOTIFIED = "notified"  # the complainant was told the decision
RATED = "rated"  # satisfaction recorded
CLOSED = "closed"
REOPENED = "reopened"

STATUSES = (RECEIVED, ACKNOWLEDGED, ASSIGNED, INVESTIGATING, DECIDED, NOTIFIED, RATED, CLOSED,
            REOPENED)
OPEN = (RECEIVED, ACKNOWLEDGED, ASSIGNED, INVESTIGATING, REOPENED)  # the clock is running
STATUS_NAMES = {
    RECEIVED: "已收到", ACKNOWLEDGED: "已受理", ASSIGNED: "已分派", INVESTIGATING: "调查处理中",
    DECIDED: "已作出处理决定", NOTIFIED: "已告知投诉人", RATED: "已评价", CLOSED: "已办结",
    REOPENED: "复核中（已重开）",
}

CHANNELS = ("bot", "wechat", "ivr", "desk", "api", "web", "phone", "counter", "letter")
CATEGORIES = ("claims", "service", "sales", "policy_service", "premium", "other")
CATEGORY_NAMES = {"claims": "理赔", "service": "服务态度与质量", "sales": "销售误导",
                  "policy_service": "保全", "premium": "保费", "other": "其他"}
OUTCOMES = ("upheld", "partially_upheld", "not_upheld")
# what a handler's classification may set; the extended track needs `extend` (an approval)
CLASSIFY_TRACKS = (str(ComplaintTrack.STANDARD), str(ComplaintTrack.COMPLEX))
OUTCOME_NAMES = {"upheld": "投诉成立", "partially_upheld": "部分成立", "not_upheld": "投诉不成立"}

# which action may leave which status, and where it goes (None: stays where it is)
_MOVES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "acknowledge": ((RECEIVED,), ACKNOWLEDGED),
    "assign": ((ACKNOWLEDGED, ASSIGNED, INVESTIGATING, REOPENED), None),
    "note": ((ASSIGNED, INVESTIGATING, REOPENED), INVESTIGATING),
    "classify": ((RECEIVED, ACKNOWLEDGED, ASSIGNED, INVESTIGATING, REOPENED), None),
    "extend": ((ACKNOWLEDGED, ASSIGNED, INVESTIGATING, REOPENED), None),
    "decide": ((INVESTIGATING,), DECIDED),
    "notify": ((DECIDED,), NOTIFIED),
    "record_satisfaction": ((NOTIFIED,), RATED),
    "close": ((NOTIFIED, RATED), CLOSED),
    "reopen": ((NOTIFIED, RATED, CLOSED), REOPENED),
}
ACTIONS = tuple(_MOVES)
# the steps staff take (acknowledging is the system's, at intake); `take` assigns oneself
STAFF_ACTIONS = ("assign", "take", *(a for a in ACTIONS if a not in ("acknowledge", "assign")))

WARNING_DAYS = 3  # handlers are warned this many days before the due date


def allowed_actions(status: str) -> tuple[str, ...]:
    return tuple(a for a, (sources, _) in _MOVES.items() if status in sources)


@dataclass(slots=True)
class Complaint:
    """The parts of a complaint its rules look at."""

    status: str
    track: str = ComplaintTrack.STANDARD
    handler: str | None = None
    notes: int = 0
    reopen_count: int = 0
    #: the day its clock started (receipt, or the appeal that reopened it); None only in
    #: bare state-machine checks, where no clock is known
    received_on: date | None = None

    def _check(self, action: str, actor: str) -> str:
        sources, target = _MOVES[action]
        if self.status not in sources:
            raise IllegalTransition("投诉", self.status, action, allowed_actions(self.status))
        if not actor:
            raise ValidationError("actor", "每一步都须记录操作人")
        return target or self.status

    def acknowledge(self, actor: str) -> None:
        self.status = self._check("acknowledge", actor)

    def assign(self, handler: str, actor: str) -> None:
        target = self._check("assign", actor)
        if not handler:
            raise ValidationError("handler", "请指定处理人")
        self.handler = handler
        self.status = ASSIGNED if self.status == ACKNOWLEDGED else target

    def note(self, actor: str) -> None:
        self.status = self._check("note", actor)
        self.notes += 1

    def classify(self, track: str, actor: str, today: date | None = None) -> None:
        """Standard ↔ complex (情况复杂). Extension beyond 30 days goes through `extend`.

        Complex is a longer limit granted while the 15 days run: once breached, refused."""
        self._check("classify", actor)
        if track not in CLASSIFY_TRACKS:
            raise ValidationError("track", "类别须为 standard 或 complex；再延长30日请用 extend")
        if self.track == ComplaintTrack.EXTENDED:
            raise ValidationError("track", "已经审批延期的投诉不能改回较短时限")
        if track != self.track:
            self._refuse_once_breached(today, "认定为情况复杂" if track == "complex"
                                       else "改为一般投诉")
        self.track = ComplaintTrack(track)

    def extend(self, approved_by: str | None, approver_is_supervisor: bool, actor: str,
               today: date | None = None) -> None:
        """情况特别复杂: a further 30 days, only on a complex case and a supervisor's approval,
        before the 30 days have run out."""
        self._check("extend", actor)
        if self.track != ComplaintTrack.COMPLEX:
            raise ValidationError("track", "只有已认定为情况复杂（30日）的投诉才能再延长30日")
        if not approved_by or not approver_is_supervisor:
            raise ValidationError("approved_by", "再延长30日须经主管审批，请提供审批主管")
        self._refuse_once_breached(today, "再延长30日")
        self.track = ComplaintTrack.EXTENDED

    def _refuse_once_breached(self, today: date | None, what: str) -> None:
        """A time limit is lengthened before it runs out, not after: a breach stays one."""
        if today is None or self.received_on is None:
            return
        c = clock(self.received_on, today, self.track)
        if c.breached:
            raise Conflict(
                f"投诉已超过处理时限（应于 {c.deadline.due} 前告知投诉人，已超时 "
                f"{-c.days_left} 日），不能再{what}；超时记录予以保留", "track")

    def decide(self, actor: str) -> None:
        target = self._check("decide", actor)
        if not self.handler:
            raise ValidationError("handler", "投诉须先分派处理人")
        if self.notes == 0:
            raise ValidationError("note", "作出决定前须至少记录一条调查处理记录")
        self.status = target

    def notify(self, actor: str) -> None:
        self.status = self._check("notify", actor)

    def record_satisfaction(self, score: int, actor: str) -> None:
        target = self._check("record_satisfaction", actor)
        check_score(score)
        self.status = target

    def close(self, actor: str) -> None:
        self.status = self._check("close", actor)

    def reopen(self, actor: str) -> None:
        """An appeal: the complaint is handled again, on a fresh standard clock."""
        self.status = self._check("reopen", actor)
        self.track = ComplaintTrack.STANDARD
        self.reopen_count += 1
        self.notes = 0


def check_score(score: object) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError("score", "满意度评分须为 1–5 的整数")
    return score


# ---- the clock ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ComplaintClock:
    """The decision clock of a complaint, as the desk and the scheduler see it."""

    deadline: Deadline
    days_left: int  # negative once breached
    warn: bool  # within the warning window and not yet done
    breached: bool


def clock(received_on: date, today: date, track: str = ComplaintTrack.STANDARD,
          told_on: date | None = None) -> ComplaintClock:
    """The clock from receipt (or from the appeal that re-opened it); stopped by telling."""
    deadline = complaint_deadline(received_on, today, track=track, decided_on=told_on)
    days_left = (deadline.due - today).days
    running = told_on is None
    warn = running and 0 <= days_left <= WARNING_DAYS
    return ComplaintClock(deadline, days_left, warn, deadline.breached)


def clock_text(c: ComplaintClock) -> str:
    """The clock in Chinese, for the desk and the notices."""
    if c.deadline.done_on is not None:
        late = "（超时）" if c.breached else ""
        return f"已于 {c.deadline.done_on} 告知处理结果{late}，时限 {c.deadline.due}"
    if c.breached:
        return f"已超时 {-c.days_left} 日（应于 {c.deadline.due} 前告知）"
    if c.days_left == 0:
        return f"今日到期（{c.deadline.due}）"
    return f"剩余 {c.days_left} 日（{c.deadline.due} 到期）"


def due_date(received_on: date, track: str) -> date:
    return complaint_deadline(received_on, received_on, track=track).due

