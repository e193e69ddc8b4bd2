"""Deadlines of a claim, a complaint and a home visit. Pure: "today" and every date are passed in.

Sources: 保险法 Art. 23–25 (legal clocks on a claim), 银行业保险业消费投诉处理管理办法 (2020)
(complaints), and the service promises of the tender (review, payment, special cases, home
visits) — see shared/domain/rules.md.

Conventions
-----------
- Calendar-day clocks: "within N days of D" is due on D + N; the start day is not counted
  (民法典第201条). A due date that falls on a weekend or holiday is *not* moved to the next
  working day: 民法典第203条 would allow that for statutory periods, but the system keeps the
  stricter date so the insurer never relies on the extension.
- Working-day clocks: due on the N-th working day after D (`WorkingCalendar.add_working_days`).
- Breach: an act done on the due day is on time, and a clock still open on its due day is not
  yet breached. `breached` = (not done and today > due) or (done after due). A late act stays
  breached.
- Pauses (补材料期间) are (start, end | None): the insurer asked for documents on `start`, the
  claimant supplied them on `end`. The days start+1 … end are not counted and the clock resumes
  the day after the documents arrive, so a pause of k = end − start days pushes a calendar-day
  due date by k days; a working-day clock skips the working days inside the pause. Only the part
  of a pause after the clock's start counts, and a pause that begins once the clock has run out
  (on or after the due date) changes nothing. An open pause (end None) stops the clock today:
  the due date shown is provisional — the date it would be if the documents arrived today — and
  `paused` is True. Pauses apply to the decision, review and special-case clocks, never to
  payment, the rejection letter or the advance payment (Art. 25 is precisely about paying what
  the documents already at hand allow).
- Payment: 5,000 元 or less (payout ≤ 5,000.00: the tender's "5000元以下", and 以下 includes the
  number itself in Chinese legal usage) → 3 working days; above 5,000.00 → 7 working days;
  never later than the 10 calendar days of Art. 23: the earlier date governs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from backoffice.domain.calendar import CN_CALENDAR, ONE_DAY, WorkingCalendar
from backoffice.domain.errors import ValidationError
from backoffice.domain.money import fmt_cn

Pause = tuple[date, date | None]

# Insurance Law
DECISION_DAYS = 30  # Art. 23: decide within 30 days of the claim and its documents
PAYMENT_DAYS = 10  # Art. 23: pay within 10 days of agreeing the amount
REJECTION_LETTER_DAYS = 3  # Art. 24: written rejection with reasons within 3 days
ADVANCE_PAYMENT_DAYS = 60  # Art. 25: pay the determinable part when unsettled after 60 days
# Tender service promises (working days)
REVIEW_WORKING_DAYS = 3
SMALL_PAYOUT_LIMIT = Decimal("5000.00")  # "5000元以下" includes 5,000: payout <= 5000.00
SMALL_PAYOUT_WORKING_DAYS = 3
LARGE_PAYOUT_WORKING_DAYS = 7
SPECIAL_CASE_WORKING_DAYS = 30
# Our own promise for policy services needing staff (rules.md names none): decide in 5 working days
ENDORSEMENT_REQUEST_WORKING_DAYS = 5
# Tender: the customer hears how the claim stands every 3 working days from the report; what is
# still missing is asked for again 5 and 10 working days after it was first asked
PROGRESS_NOTICE_WORKING_DAYS = 3
DOCUMENTS_REMINDER_WORKING_DAYS = (5, 10)
TIME_BAR_YEARS = 2  # Art. 26 (non-life): from knowing of the incident
# clocks the customer is told by the scheduler's own notices (or that are the customer's):
# no staff act stops them, so they raise no handler warning or escalation
NOTICE_CLOCKS = ("progress_notice", "documents_reminder", "time_bar")
#: Every clock by its name for staff and customers, the legal ones with their article.
CLOCK_NAMES = {
    "review": "材料审核（3个工作日）",
    "special_case": "重大案件办结（30个工作日）",
    "decision": "理赔核定（保险法第23条，30日）",
    "payment": "赔款支付（3/7个工作日，最长10日）",
    "rejection_letter": "拒赔通知书送达（保险法第24条，3日）",
    "advance_payment": "先予支付（保险法第25条，60日）",
    "progress_notice": "下次进度通知（每3个工作日）",
    "documents_reminder": "下次补充材料提醒（第5、10个工作日）",
    "time_bar": "客户索赔时效（保险法第26条，2年）",
}
HOME_VISIT_CONTACT = timedelta(hours=24)
HOME_VISIT_VISIT = timedelta(hours=48)


@dataclass(frozen=True)
class Deadline:
    """One clock. `done_on` is when the act that stops it happened (None while open)."""

    name: str
    due: date
    breached: bool
    paused: bool
    basis: str
    done_on: date | None = None


def day_clock_text(d: Deadline, today: date, act: str = "答复") -> str:
    """A clock counted in days, in words: done (late or not), late, or the days left; `act`
    is what stops it (答复, 办结)."""
    if d.done_on is not None:
        return f"已于 {d.done_on} {act}{'（超时）' if d.breached else ''}，时限 {d.due}"
    if d.breached:
        return f"已超时（应于 {d.due} 前{act}）"
    left = (d.due - today).days
    return "今日到期" if left == 0 else f"{d.due} 前{act}（剩余 {left} 日）"


@dataclass(frozen=True)
class TimedDeadline:
    """A clock counted in hours (home visits). `paused` is always False: these never pause."""

    name: str
    due: datetime
    breached: bool
    paused: bool
    basis: str
    done_at: datetime | None = None


class ComplaintTrack(StrEnum):
    """How long a complaint may take (银行业保险业消费投诉处理管理办法, 2020)."""

    STANDARD = "standard"  # 15 days
    COMPLEX = "complex"  # 情况复杂: up to 30 days
    EXTENDED = "extended"  # 情况特别复杂: a further 30 with a supervisor's approval, 60 at most


COMPLAINT_DAYS: dict[ComplaintTrack, int] = {
    ComplaintTrack.STANDARD: 15,
    ComplaintTrack.COMPLEX: 30,
    ComplaintTrack.EXTENDED: 60,
}

_COMPLAINT_RULES = "银行业保险业消费投诉处理管理办法"
_COMPLAINT_BASIS: dict[ComplaintTrack, str] = {
    ComplaintTrack.STANDARD: f"收到投诉后15日内作出处理决定并告知投诉人（{_COMPLAINT_RULES}）",
    ComplaintTrack.COMPLEX: f"情况复杂，处理期限延长至收到投诉后30日（{_COMPLAINT_RULES}）",
    ComplaintTrack.EXTENDED: (
        "情况特别复杂，经上级机构审批并告知投诉人，再延长30日，"
        f"最长为收到投诉后60日（{_COMPLAINT_RULES}）"
    ),
}


# -- the claim's events ------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimEvents:
    """The dates of a claim that its clocks depend on.

    - `reported_on`: 报案 (first notice of loss).
    - `documents_complete_on`: the insurer holds the claim and the documents it needs
      (司法解释二第15条: 初次收到索赔请求及有关证明和资料之日); the decision, review,
      special-case and advance-payment clocks start here. None: no clock has started.
    - `pauses`: supplementary-document requests after that day, (asked_on, supplied_on | None).
    - `reviewed_on`: review (审核) finished; when None the decision ends the review.
    - `decided_on`: decision (核定) made, approval or rejection; `rejected_on`: the decision was a
      rejection (拒赔), which also counts as the decision when `decided_on` is None.
    - `agreed_on` + `payout`: amount agreed with the claimant (exact Decimal 元); `paid_on`.
    - `advance_paid_on`: an advance payment (先予支付) was made.
    - `letter_sent_on`: the written rejection notice (拒赔通知书) went out.
    - `special_case`: a special or major case (特殊或重大案件) — 30 working days instead of the
      3-working-day review.
    """

    reported_on: date
    documents_complete_on: date | None = None
    pauses: tuple[Pause, ...] = ()
    reviewed_on: date | None = None
    decided_on: date | None = None
    agreed_on: date | None = None
    payout: Decimal | None = None
    paid_on: date | None = None
    advance_paid_on: date | None = None
    rejected_on: date | None = None
    letter_sent_on: date | None = None
    special_case: bool = False
    # the clocks that run from the report (the tender's notices): set by the caller while the
    # claim is open — the next progress notice's day, and the first day an outstanding document
    # was asked for with the reminders sent since
    incident_date: date | None = None
    progress_notice_on: date | None = None
    documents_asked_on: date | None = None
    documents_reminders_sent: int = 0

    def __post_init__(self) -> None:
        _require_day(self.reported_on, "reported_on")
        for name in (
            "documents_complete_on",
            "reviewed_on",
            "decided_on",
            "agreed_on",
            "paid_on",
            "advance_paid_on",
            "rejected_on",
            "letter_sent_on",
            "incident_date",
            "progress_notice_on",
            "documents_asked_on",
        ):
            value = getattr(self, name)
            if value is not None:
                _require_day(value, name)
        if self.documents_complete_on is not None and self.documents_complete_on < self.reported_on:
            raise ValidationError("documents_complete_on", "材料齐全日期不能早于报案日期")
        object.__setattr__(self, "pauses", _check_pauses(self.pauses))
        if self.payout is not None:
            if isinstance(self.payout, bool | float) or not isinstance(self.payout, Decimal | int):
                raise ValidationError("payout", "赔付金额须为精确的十进制数，不能是浮点数")
            if self.payout < 0:
                raise ValidationError("payout", "赔付金额不能为负数")
            object.__setattr__(self, "payout", Decimal(self.payout))


def _require_day(value: object, name: str) -> None:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(name, f"{name} 须为日期（不含时刻）")


def _check_pauses(pauses: Iterable[Pause]) -> tuple[Pause, ...]:
    checked: list[Pause] = []
    for item in pauses:
        try:
            start, end = item
        except (TypeError, ValueError):
            raise ValidationError("pauses", "暂停区间须为（开始日期, 结束日期或空）") from None
        _require_day(start, "pauses")
        if end is not None:
            _require_day(end, "pauses")
            if end < start:
                raise ValidationError("pauses", f"暂停区间 {start}–{end} 结束早于开始")
        checked.append((start, end))
    return tuple(checked)


# -- the counting engine -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    due: date
    paused_days: int  # calendar days of pause inside the clock
    paused_now: bool  # an open pause is holding the clock


def _run(
    start: date,
    n: int,
    counts: Callable[[date], bool],
    pauses: Iterable[Pause] = (),
    *,
    asof: date,
) -> _Run:
    """Walk forward from `start` until `n` counted days have passed outside the pauses.

    An open pause runs to `asof` (the act's date when done, else today).
    """
    ranges: list[tuple[date, date]] = []  # (lo, hi): days lo < d <= hi are paused
    open_starts: list[date] = []
    for p_start, p_end in pauses:
        lo = max(p_start, start)
        if p_end is None:
            open_starts.append(lo)
            hi = max(lo, asof)
        else:
            hi = p_end
        if hi > lo:
            ranges.append((lo, hi))
    day = start
    counted = 0
    paused_days = 0
    while counted < n:
        day += ONE_DAY
        if any(lo < day <= hi for lo, hi in ranges):
            paused_days += 1
        elif counts(day):
            counted += 1
    paused_now = any(lo < day and lo <= asof for lo in open_starts)
    return _Run(day, paused_days, paused_now)


def _every_day(_: date) -> bool:
    return True


def _finish(
    name: str,
    due: date,
    today: date,
    basis: str,
    done_on: date | None,
    paused: bool = False,
) -> Deadline:
    if done_on is not None:
        return Deadline(name, due, done_on > due, False, basis, done_on)
    return Deadline(name, due, today > due, paused, basis, None)


def _pause_note(run: _Run, done_on: date | None) -> str:
    if run.paused_now and done_on is None:
        return f"；补材料中，计时暂停（已暂停{run.paused_days}日，到期日为暂定）"
    if run.paused_days:
        return f"；补材料暂停{run.paused_days}日"
    return ""


def _earliest(*days: date | None) -> date | None:
    present = [d for d in days if d is not None]
    return min(present) if present else None


# -- the clocks --------------------------------------------------------------------------------


def decision_deadline(
    documents_complete_on: date,
    today: date,
    *,
    pauses: Iterable[Pause] = (),
    decided_on: date | None = None,
) -> Deadline:
    """Art. 23: decide within 30 days of the claim and its documents, paused while supplementing."""
    run = _run(
        documents_complete_on,
        DECISION_DAYS,
        _every_day,
        pauses,
        asof=decided_on or today,
    )
    basis = "收到完整材料后30日内作出核定（保险法第23条），补材料期间暂停计算"
    basis += _pause_note(run, decided_on)
    return _finish("decision", run.due, today, basis, decided_on, run.paused_now)


def review_deadline(
    documents_complete_on: date,
    today: date,
    calendar: WorkingCalendar = CN_CALENDAR,
    *,
    pauses: Iterable[Pause] = (),
    reviewed_on: date | None = None,
) -> Deadline:
    """Tender: review within 3 working days of complete documents, paused while supplementing."""
    run = _run(
        documents_complete_on,
        REVIEW_WORKING_DAYS,
        calendar.is_working_day,
        pauses,
        asof=reviewed_on or today,
    )
    basis = "材料齐全后3个工作日内完成审核（服务承诺），补材料期间暂停计算"
    basis += _pause_note(run, reviewed_on)
    return _finish("review", run.due, today, basis, reviewed_on, run.paused_now)


def special_case_deadline(
    documents_complete_on: date,
    today: date,
    calendar: WorkingCalendar = CN_CALENDAR,
    *,
    pauses: Iterable[Pause] = (),
    concluded_on: date | None = None,
) -> Deadline:
    """Tender: a special or major case is concluded (paid or rejected) within 30 working days."""
    run = _run(
        documents_complete_on,
        SPECIAL_CASE_WORKING_DAYS,
        calendar.is_working_day,
        pauses,
        asof=concluded_on or today,
    )
    basis = (
        "特殊或重大案件材料齐全后30个工作日内办结并定期告知进展（服务承诺），补材料期间暂停计算"
        + _pause_note(run, concluded_on)
    )
    return _finish("special_case", run.due, today, basis, concluded_on, run.paused_now)


def payment_working_days(payout: Decimal) -> int:
    """Tender: 3 working days for a payout of 5,000 元 or less (≤ 5,000.00), else 7."""
    return SMALL_PAYOUT_WORKING_DAYS if payout <= SMALL_PAYOUT_LIMIT else LARGE_PAYOUT_WORKING_DAYS


def payment_deadline(
    agreed_on: date,
    payout: Decimal | None,
    today: date,
    calendar: WorkingCalendar = CN_CALENDAR,
    *,
    paid_on: date | None = None,
) -> Deadline:
    """Pay by the earlier of Art. 23's 10 days and the tender's 3 / 7 working days.

    Without a known payout only the legal 10 days apply.
    """
    legal = agreed_on + timedelta(days=PAYMENT_DAYS)
    legal_text = "达成赔付协议后10日内支付（保险法第23条）"
    if payout is None:
        basis = f"{legal_text}；赔付金额未定，服务承诺时限无法确定"
        return _finish("payment", legal, today, basis, paid_on)
    n = payment_working_days(payout)
    promise = calendar.add_working_days(agreed_on, n)
    side = "5,000元及以下" if n == SMALL_PAYOUT_WORKING_DAYS else "超过5,000元"
    promise_text = f"赔付金额{fmt_cn(payout)}（{side}）{n}个工作日内支付（服务承诺）"
    if promise <= legal:
        basis = f"{promise_text}；{legal_text}；取较早者"
        return _finish("payment", promise, today, basis, paid_on)
    basis = f"{legal_text}；{promise_text}晚于法定期限，以法定期限为准"
    return _finish("payment", legal, today, basis, paid_on)


def rejection_letter_deadline(
    rejected_on: date, today: date, *, sent_on: date | None = None
) -> Deadline:
    """Art. 24: the written rejection with reasons goes out within 3 days of the decision."""
    due = rejected_on + timedelta(days=REJECTION_LETTER_DAYS)
    basis = "作出拒赔核定后3日内发出拒赔通知书并说明理由（保险法第24条）"
    return _finish("rejection_letter", due, today, basis, sent_on)


def advance_payment_deadline(
    documents_complete_on: date, today: date, *, settled_on: date | None = None
) -> Deadline:
    """Art. 25: unsettled 60 days after the claim and documents → pay the determinable part.

    `settled_on`: the first of advance payment, agreement on the amount, rejection, payment.
    Not paused by supplementary-document requests.
    """
    due = documents_complete_on + timedelta(days=ADVANCE_PAYMENT_DAYS)
    basis = "收到完整材料后60日内赔付数额仍不能确定的，先予支付可以确定的部分（保险法第25条）"
    return _finish("advance_payment", due, today, basis, settled_on)


def complaint_deadline(
    received_on: date,
    today: date,
    *,
    track: ComplaintTrack | str = ComplaintTrack.STANDARD,
    decided_on: date | None = None,
) -> Deadline:
    """Complaint decision: 15 days; complex 30; especially complex with approval 60 (calendar)."""
    _require_day(received_on, "received_on")
    try:
        track = ComplaintTrack(track)
    except ValueError:
        allowed = "、".join(t.value for t in ComplaintTrack)
        raise ValidationError("track", f"投诉处理类别须为 {allowed}") from None
    due = received_on + timedelta(days=COMPLAINT_DAYS[track])
    return _finish("complaint_decision", due, today, _COMPLAINT_BASIS[track], decided_on)


def endorsement_request_deadline(
    submitted_on: date,
    today: date,
    calendar: WorkingCalendar = CN_CALENDAR,
    *,
    decided_on: date | None = None,
) -> Deadline:
    """An endorsement request (保全申请) is approved or rejected within 5 working days.

    Not a legal clock: the project's service promise, on the same working-day calendar as the
    tender's promises for claims. A withdrawal by the customer also stops it.
    """
    _require_day(submitted_on, "submitted_on")
    due = calendar.add_working_days(submitted_on, ENDORSEMENT_REQUEST_WORKING_DAYS)
    basis = f"保全申请受理后{ENDORSEMENT_REQUEST_WORKING_DAYS}个工作日内审核办结（服务承诺）"
    return _finish("endorsement_request", due, today, basis, decided_on)


def home_visit_deadlines(
    requested_at: datetime,
    now: datetime,
    *,
    contacted_at: datetime | None = None,
    visited_at: datetime | None = None,
) -> dict[str, TimedDeadline]:
    """Tender: contact within 24 h of a home-visit request, visit within 48 h.

    All datetimes must be alike: all timezone-aware (preferred) or all naive in the same zone.
    """
    given = [t for t in (requested_at, now, contacted_at, visited_at) if t is not None]
    for t in given:
        if not isinstance(t, datetime):
            raise TypeError(f"home visit times must be datetimes, not {t!r}")
    if len({t.utcoffset() is None for t in given}) > 1:
        raise TypeError("home visit times mix timezone-aware and naive datetimes")

    def one(name: str, limit: timedelta, done: datetime | None, basis: str) -> TimedDeadline:
        due = requested_at + limit
        breached = done > due if done is not None else now > due
        return TimedDeadline(name, due, breached, False, basis, done)

    return {
        "home_visit_contact": one(
            "home_visit_contact",
            HOME_VISIT_CONTACT,
            contacted_at,
            "收到上门服务申请后24小时内联系申请人（服务承诺）",
        ),
        "home_visit": one(
            "home_visit", HOME_VISIT_VISIT, visited_at, "收到上门服务申请后48小时内上门（服务承诺）"
        ),
    }


def progress_notice_deadline(due: date, today: date) -> Deadline:
    """The next progress notice: every 3 working days from the report while the claim is open.
    `due` is kept by the scheduler (each notice sets the next); overdue = a notice missed."""
    return _finish("progress_notice", due, today,
                   f"报案起每{PROGRESS_NOTICE_WORKING_DAYS}个工作日告知理赔进度（服务承诺）", None)


def documents_reminders(asked_on: date, calendar: WorkingCalendar = CN_CALENDAR
                        ) -> tuple[date, ...]:
    """The days the customer is reminded of documents asked for on `asked_on`."""
    return tuple(calendar.add_working_days(asked_on, n) for n in DOCUMENTS_REMINDER_WORKING_DAYS)


def documents_reminder_deadline(asked_on: date, sent: int, today: date,
                                calendar: WorkingCalendar = CN_CALENDAR) -> Deadline:
    """The next reminder of missing documents (5 and 10 working days after the ask). Once both
    went out the clock shows the last one, met: what remains is the customer's time bar."""
    days = documents_reminders(asked_on, calendar)
    basis = (f"首次通知补充材料后第{DOCUMENTS_REMINDER_WORKING_DAYS[0]}、"
             f"{DOCUMENTS_REMINDER_WORKING_DAYS[1]}个工作日提醒客户（服务承诺）")
    if sent >= len(days):
        return Deadline("documents_reminder", days[-1], False, False, basis, days[-1])
    return _finish("documents_reminder", days[max(sent, 0)], today, basis, None)


def time_bar(incident_date: date) -> date:
    """The last day of the 2-year bar (Art. 26), counted from the incident as the customer
    knew of it then; 29 February → 28 February."""
    try:
        return incident_date.replace(year=incident_date.year + TIME_BAR_YEARS)
    except ValueError:
        return incident_date.replace(year=incident_date.year + TIME_BAR_YEARS, day=28)


def time_bar_deadline(incident_date: date, today: date) -> Deadline:
    """The customer's clock, shown while documents are awaited: after it the insurer may
    refuse for the bar (Art. 26). Not the insurer's breach: never marked breached."""
    return Deadline("time_bar", time_bar(incident_date), False, False,
                    f"保险金请求权自知道保险事故发生之日起{TIME_BAR_YEARS}年（保险法第26条）")


# -- all the clocks of a claim -----------------------------------------------------------------


def claim_deadlines(
    events: ClaimEvents, today: date, calendar: WorkingCalendar = CN_CALENDAR
) -> dict[str, Deadline]:
    """The clocks that apply to a claim, by name.

    A clock appears once the event that starts it has happened: `decision`, `advance_payment`
    and either `review` or (special cases) `special_case` from `documents_complete_on`;
    `payment` from `agreed_on` (not for a zero payout); `rejection_letter` from `rejected_on`;
    from the report, while the claim is open: `progress_notice`, and while documents are
    awaited `documents_reminder` and the customer's `time_bar`.
    Clocks that have been met stay in the result with `done_on` set and `breached` False.
    """
    _require_day(today, "today")
    out: dict[str, Deadline] = {}
    start = events.documents_complete_on
    decided = _earliest(events.decided_on, events.rejected_on)
    if start is not None:
        out["decision"] = decision_deadline(start, today, pauses=events.pauses, decided_on=decided)
        if events.special_case:
            out["special_case"] = special_case_deadline(
                start,
                today,
                calendar,
                pauses=events.pauses,
                concluded_on=_earliest(events.paid_on, events.rejected_on),
            )
        else:
            out["review"] = review_deadline(
                start,
                today,
                calendar,
                pauses=events.pauses,
                reviewed_on=events.reviewed_on or decided,
            )
    if events.agreed_on is not None and events.payout != 0:
        out["payment"] = payment_deadline(
            events.agreed_on, events.payout, today, calendar, paid_on=events.paid_on
        )
    if events.rejected_on is not None:
        out["rejection_letter"] = rejection_letter_deadline(
            events.rejected_on, today, sent_on=events.letter_sent_on
        )
    if events.progress_notice_on is not None:
        out["progress_notice"] = progress_notice_deadline(events.progress_notice_on, today)
    if events.documents_asked_on is not None:
        out["documents_reminder"] = documents_reminder_deadline(
            events.documents_asked_on, events.documents_reminders_sent, today, calendar)
        if events.incident_date is not None:
            out["time_bar"] = time_bar_deadline(events.incident_date, today)
    if start is not None:
        out["advance_payment"] = advance_payment_deadline(
            start,
            today,
            settled_on=_earliest(
                events.advance_paid_on, events.agreed_on, events.rejected_on, events.paid_on
            ),
        )
    return out
