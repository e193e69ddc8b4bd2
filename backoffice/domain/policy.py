"""The policy lifecycle (保单生命周期) as an explicit state machine.

application → underwriting → issue → in force → premium due → grace period → lapse /
reinstatement; surrender; expiry; cancellation in the cooling-off period. Each move is one
method; an illegal move raises IllegalTransition naming what is allowed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from backoffice.domain.errors import DomainError, IllegalTransition
from backoffice.domain.underwriting import (
    ACCEPT,
    ACCEPT_WITH_LOADING,
    DECLINE,
    UnderwritingDecision,
)

APPLIED = "applied"
ACCEPTED = "accepted"
DECLINED = "declined"
POSTPONED = "postponed"
IN_FORCE = "in_force"
PREMIUM_DUE = "premium_due"
GRACE_PERIOD = "grace_period"
LAPSED = "lapsed"
SURRENDERED = "surrendered"
EXPIRED = "expired"
CANCELLED = "cancelled"

STATUS_NAMES = {
    APPLIED: "已投保待核保",
    ACCEPTED: "核保通过待承保",
    DECLINED: "拒保",
    POSTPONED: "延期承保",
    IN_FORCE: "有效",
    PREMIUM_DUE: "续期保费待缴",
    GRACE_PERIOD: "宽限期",
    LAPSED: "失效（中止）",
    SURRENDERED: "已退保",
    EXPIRED: "满期终止",
    CANCELLED: "犹豫期撤销",
}
# Statuses in which the insured is covered and post-issue services (保全) are allowed.
COVERED = (IN_FORCE, PREMIUM_DUE, GRACE_PERIOD)
# The lifecycle moves staff or the scheduler ask for by name (underwriting, issue and payment
# have use cases of their own; surrender is an endorsement).
TRANSITIONS = ("premium_due", "start_grace", "lapse", "reinstate", "expire", "cancel")
# The applicant (投保人) to the insured.
APPLICANT_RELATIONS = ("self", "spouse", "child", "parent", "other")
# How a premium was paid.
PAYMENT_METHODS = ("bank_transfer", "auto_debit", "wechat_pay", "cash", "card")

_ALLOWED: dict[str, tuple[str, ...]] = {
    "underwrite": (APPLIED,),
    "issue": (ACCEPTED,),
    "premium_due": (IN_FORCE,),
    "premium_paid": (PREMIUM_DUE, GRACE_PERIOD),
    "start_grace": (PREMIUM_DUE,),
    "lapse": (GRACE_PERIOD,),
    "reinstate": (LAPSED,),
    "surrender": COVERED,
    "cancel": COVERED,
    "expire": COVERED,
}


def allowed_actions(status: str) -> tuple[str, ...]:
    return tuple(a for a, froms in _ALLOWED.items() if status in froms)


def add_months(day: date, months: int) -> date:
    """Same day n months later, clamped to the month's end (1-31 → 2-28/29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(slots=True)
class Policy:
    """The lifecycle part of a policy; coverages, money and parties live beside it."""

    status: str
    term_months: int
    cooling_off_days: int
    grace_period_days: int
    reinstatement_years: int
    start_date: date | None = None
    end_date: date | None = None
    loading_pct: Decimal = Decimal(0)
    due_date: date | None = None  # the unpaid instalment's due date, while one is owed
    grace_ends_on: date | None = None
    lapsed_on: date | None = None
    ended_on: date | None = None

    def _check(self, action: str) -> None:
        if self.status not in _ALLOWED[action]:
            raise IllegalTransition("保单", self.status, action, allowed_actions(self.status))

    def underwrite(self, decision: UnderwritingDecision) -> None:
        self._check("underwrite")
        if decision.outcome in (ACCEPT, ACCEPT_WITH_LOADING):
            self.status, self.loading_pct = ACCEPTED, decision.loading_pct
        elif decision.outcome == DECLINE:
            self.status = DECLINED
        else:
            self.status = POSTPONED

    def issue(self, start_date: date, first_premium_paid: bool) -> None:
        """承保: cover starts once the first premium is in."""
        self._check("issue")
        if not first_premium_paid:
            raise DomainError("首期保费未缴纳，不能承保出单", "payment")
        self.status = IN_FORCE
        self.start_date = start_date
        self.end_date = add_months(start_date, self.term_months)

    def premium_falls_due(self, due_date: date) -> None:
        self._check("premium_due")
        self.status, self.due_date = PREMIUM_DUE, due_date

    def premium_paid(self) -> None:
        self._check("premium_paid")
        self.status, self.due_date, self.grace_ends_on = IN_FORCE, None, None

    def start_grace(self, today: date) -> None:
        """The due date passed unpaid: cover goes on for the grace period."""
        self._check("start_grace")
        assert self.due_date is not None
        if today <= self.due_date:
            raise DomainError(f"保费应缴日 {self.due_date} 尚未过去，不能进入宽限期", "today")
        self.status = GRACE_PERIOD
        self.grace_ends_on = self.due_date + timedelta(days=self.grace_period_days)

    def lapse(self, today: date) -> None:
        self._check("lapse")
        assert self.grace_ends_on is not None
        if today <= self.grace_ends_on:
            raise DomainError(f"宽限期至 {self.grace_ends_on} 才届满，保单尚不能失效", "today")
        self.status, self.lapsed_on = LAPSED, today

    def reinstate(self, today: date, arrears_paid: bool, health_ok: bool) -> None:
        """复效: within the reinstatement period, arrears paid, health re-declared."""
        self._check("reinstate")
        assert self.lapsed_on is not None
        limit = add_months(self.lapsed_on, 12 * self.reinstatement_years)
        if today > limit:
            raise DomainError(
                f"保单失效已超过 {self.reinstatement_years} 年（{limit}），不能复效", "today"
            )
        if self.end_date is not None and today >= self.end_date:
            raise DomainError("保险期间已届满，不能复效", "today")
        if not arrears_paid:
            raise DomainError("须补缴欠缴保费后方可复效", "payment")
        if not health_ok:
            raise DomainError("复效须重新健康告知并通过核保", "health_declarations")
        self.status, self.due_date, self.grace_ends_on, self.lapsed_on = IN_FORCE, None, None, None

    def in_cooling_off(self, today: date) -> bool:
        return (
            self.start_date is not None
            and self.cooling_off_days > 0
            and today < self.start_date + timedelta(days=self.cooling_off_days)
        )

    def cancel(self, today: date) -> None:
        """犹豫期撤销: a full refund, as if the policy never was."""
        self._check("cancel")
        if not self.in_cooling_off(today):
            raise DomainError(f"已过 {self.cooling_off_days} 天犹豫期，请办理退保", "action")
        self.status, self.ended_on = CANCELLED, today

    def surrender(self, today: date) -> None:
        self._check("surrender")
        self.status, self.ended_on = SURRENDERED, today

    def expire(self, today: date) -> None:
        self._check("expire")
        assert self.end_date is not None
        if today < self.end_date:
            raise DomainError(f"保险期间至 {self.end_date} 届满，尚未到期", "today")
        self.status, self.ended_on = EXPIRED, self.end_date

    def is_covered_on(self, day: date) -> bool:
        return (
            self.start_date is not None
            and self.end_date is not None
            and self.start_date <= day < self.end_date
            and (
                self.status in COVERED
                or (self.ended_on is not None and day < self.ended_on)
                # a lapsed policy covered everything up to the end of its grace period
                or (self.status == LAPSED and self.grace_ends_on is not None
                    and day <= self.grace_ends_on)
            )
        )


@dataclass(frozen=True, slots=True)
class Instalment:
    seq: int
    due_date: date
    amount: Decimal
    period_start: date
    period_end: date


def payment_schedule(
    start_date: date, term_months: int, instalments: int, amount: Decimal
) -> tuple[Instalment, ...]:
    """Due dates spread evenly over the term, each paying for the period that follows it."""
    step = term_months // instalments
    return tuple(
        Instalment(
            seq=i + 1,
            due_date=add_months(start_date, i * step),
            amount=amount,
            period_start=add_months(start_date, i * step),
            period_end=add_months(start_date, (i + 1) * step),
        )
        for i in range(instalments)
    )
