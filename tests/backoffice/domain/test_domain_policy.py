"""The policy lifecycle state machine, add_months and payment schedules."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

import backoffice.products
from backoffice.domain.errors import DomainError, IllegalTransition
from backoffice.domain.policy import (
    ACCEPTED,
    APPLIED,
    CANCELLED,
    DECLINED,
    EXPIRED,
    GRACE_PERIOD,
    IN_FORCE,
    LAPSED,
    POSTPONED,
    PREMIUM_DUE,
    STATUS_NAMES,
    SURRENDERED,
    Policy,
    add_months,
    allowed_actions,
    payment_schedule,
)
from backoffice.domain.product import Product, parse_product
from backoffice.domain.underwriting import (
    ACCEPT,
    ACCEPT_WITH_LOADING,
    DECLINE,
    POSTPONE,
    UnderwritingDecision,
    underwrite,
)

PRODUCTS_DIR = Path(backoffice.products.__file__).parent
START = date(2025, 1, 10)
END = date(2026, 1, 10)

STATUSES = (
    APPLIED, ACCEPTED, DECLINED, POSTPONED, IN_FORCE, PREMIUM_DUE, GRACE_PERIOD,
    LAPSED, SURRENDERED, EXPIRED, CANCELLED,
)
ACTIONS = (
    "underwrite", "issue", "premium_due", "premium_paid", "start_grace", "lapse",
    "reinstate", "surrender", "cancel", "expire",
)
# The lifecycle written out by hand (not read back from the code).
EXPECTED_ALLOWED: dict[str, set[str]] = {
    APPLIED: {"underwrite"},
    ACCEPTED: {"issue"},
    DECLINED: set(),
    POSTPONED: set(),
    IN_FORCE: {"premium_due", "surrender", "cancel", "expire"},
    PREMIUM_DUE: {"premium_paid", "start_grace", "surrender", "cancel", "expire"},
    GRACE_PERIOD: {"premium_paid", "lapse", "surrender", "cancel", "expire"},
    LAPSED: {"reinstate"},
    SURRENDERED: set(),
    EXPIRED: set(),
    CANCELLED: set(),
}
ACCEPT_DECISION = UnderwritingDecision(ACCEPT, Decimal(0), ("标准体",))


@cache
def load(code: str) -> Product:
    return parse_product(json.loads((PRODUCTS_DIR / f"{code}.json").read_text("utf-8")))


def new_policy(status: str = APPLIED, term_months: int = 12, **kw: object) -> Policy:
    """A PA-GUARD-like policy: 15-day cooling-off, 60-day grace, 2-year reinstatement."""
    return Policy(
        status=status,
        term_months=term_months,
        cooling_off_days=15,
        grace_period_days=60,
        reinstatement_years=2,
        **kw,  # type: ignore[arg-type]
    )


def in_force() -> Policy:
    p = new_policy()
    p.underwrite(ACCEPT_DECISION)
    p.issue(START, first_premium_paid=True)
    return p


def lapsed(term_months: int = 12) -> Policy:
    """In force from 10 Jan 2025, premium due 10 Mar 2025, grace to 9 May, lapsed 10 May."""
    p = new_policy(term_months=term_months)
    p.underwrite(ACCEPT_DECISION)
    p.issue(START, first_premium_paid=True)
    p.premium_falls_due(date(2025, 3, 10))
    p.start_grace(date(2025, 3, 11))
    p.lapse(date(2025, 5, 10))
    return p


# --- the table itself -------------------------------------------------------------------


def test_status_names_cover_every_status() -> None:
    assert set(STATUS_NAMES) == set(STATUSES)


@pytest.mark.parametrize("status", STATUSES)
def test_allowed_actions_match_the_lifecycle(status: str) -> None:
    assert set(allowed_actions(status)) == EXPECTED_ALLOWED[status]


def test_unknown_status_allows_nothing() -> None:
    assert allowed_actions("archived") == ()


# --- legal moves ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "loading", "status"),
    [
        (ACCEPT, 0, ACCEPTED),
        (ACCEPT_WITH_LOADING, 30, ACCEPTED),
        (DECLINE, 0, DECLINED),
        (POSTPONE, 0, POSTPONED),
    ],
)
def test_underwrite(outcome: str, loading: int, status: str) -> None:
    p = new_policy()
    p.underwrite(UnderwritingDecision(outcome, Decimal(loading), ("理由",)))
    assert p.status == status
    assert p.loading_pct == Decimal(loading)


def test_underwrite_with_a_real_decision() -> None:
    decision = underwrite(
        load("PA-GUARD"), 45, 4,
        {"hospitalised_now": False, "disability_existing": False, "epilepsy": False,
         "hypertension": True, "diabetes": False},
    )
    p = new_policy()
    p.underwrite(decision)
    assert (p.status, p.loading_pct) == (ACCEPTED, Decimal(50))


def test_issue_needs_the_first_premium() -> None:
    p = new_policy(ACCEPTED)
    with pytest.raises(DomainError) as err:
        p.issue(START, first_premium_paid=False)
    assert not isinstance(err.value, IllegalTransition)
    assert err.value.field == "payment"
    assert p.status == ACCEPTED
    assert p.start_date is None
    p.issue(START, first_premium_paid=True)
    assert p.status == IN_FORCE
    assert (p.start_date, p.end_date) == (START, END)


@pytest.mark.parametrize(
    ("start", "term", "end"),
    [
        (date(2025, 1, 10), 12, date(2026, 1, 10)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2025, 3, 1), 6, date(2025, 9, 1)),
    ],
)
def test_issue_sets_the_term(start: date, term: int, end: date) -> None:
    p = new_policy(ACCEPTED, term_months=term)
    p.issue(start, first_premium_paid=True)
    assert p.end_date == end


@pytest.mark.parametrize("from_status", [PREMIUM_DUE, GRACE_PERIOD])
def test_premium_paid_restores_in_force(from_status: str) -> None:
    p = in_force()
    p.premium_falls_due(date(2025, 2, 10))
    assert (p.status, p.due_date) == (PREMIUM_DUE, date(2025, 2, 10))
    if from_status == GRACE_PERIOD:
        p.start_grace(date(2025, 2, 11))
        assert p.status == GRACE_PERIOD
    p.premium_paid()
    assert p.status == IN_FORCE
    assert p.due_date is None
    assert p.grace_ends_on is None


@pytest.mark.parametrize(
    ("due", "today", "ok", "grace_ends"),
    [
        (date(2025, 3, 10), date(2025, 3, 9), False, None),
        (date(2025, 3, 10), date(2025, 3, 10), False, None),  # due today: not yet late
        (date(2025, 3, 10), date(2025, 3, 11), True, date(2025, 5, 9)),  # 21 + 30 + 9 = 60
        (date(2025, 3, 10), date(2025, 4, 20), True, date(2025, 5, 9)),
        (date(2025, 1, 10), date(2025, 1, 11), True, date(2025, 3, 11)),  # 21 + 28 + 11
        (date(2024, 1, 10), date(2024, 1, 11), True, date(2024, 3, 10)),  # leap: 21 + 29 + 10
        (date(2025, 11, 15), date(2025, 12, 1), True, date(2026, 1, 14)),  # 15 + 31 + 14
    ],
)
def test_start_grace_only_after_the_due_date(
    due: date, today: date, ok: bool, grace_ends: date | None
) -> None:
    p = new_policy(IN_FORCE, start_date=date(2024, 1, 10), end_date=date(2027, 1, 10))
    p.premium_falls_due(due)
    if ok:
        p.start_grace(today)
        assert p.status == GRACE_PERIOD
        assert p.grace_ends_on == grace_ends
        assert p.grace_ends_on == due + timedelta(days=60)
    else:
        with pytest.raises(DomainError) as err:
            p.start_grace(today)
        assert not isinstance(err.value, IllegalTransition)
        assert p.status == PREMIUM_DUE
        assert p.grace_ends_on is None


@pytest.mark.parametrize(
    ("today", "ok"),
    [
        (date(2025, 4, 1), False),
        (date(2025, 5, 9), False),  # the last day of grace: still covered
        (date(2025, 5, 10), True),
        (date(2025, 7, 1), True),
    ],
)
def test_lapse_only_after_grace_ends(today: date, ok: bool) -> None:
    p = in_force()
    p.premium_falls_due(date(2025, 3, 10))
    p.start_grace(date(2025, 3, 11))
    if ok:
        p.lapse(today)
        assert (p.status, p.lapsed_on) == (LAPSED, today)
    else:
        with pytest.raises(DomainError) as err:
            p.lapse(today)
        assert not isinstance(err.value, IllegalTransition)
        assert p.status == GRACE_PERIOD
        assert p.lapsed_on is None


def test_reinstate_restores_cover() -> None:
    p = lapsed()
    p.reinstate(date(2025, 6, 1), arrears_paid=True, health_ok=True)
    assert p.status == IN_FORCE
    assert p.lapsed_on is None
    assert p.due_date is None
    assert p.grace_ends_on is None
    # and the cycle can run again
    p.premium_falls_due(date(2025, 7, 10))
    assert p.status == PREMIUM_DUE


@pytest.mark.parametrize(
    ("today", "ok"),
    [
        (date(2025, 5, 10), True),
        (date(2026, 5, 10), True),
        (date(2027, 5, 10), True),  # two years from the lapse, to the day
        (date(2027, 5, 11), False),
        (date(2028, 1, 1), False),
    ],
)
def test_reinstate_within_two_years(today: date, ok: bool) -> None:
    p = lapsed(term_months=120)  # a long term so the term's end is not what stops it
    if ok:
        p.reinstate(today, arrears_paid=True, health_ok=True)
        assert p.status == IN_FORCE
    else:
        with pytest.raises(DomainError) as err:
            p.reinstate(today, arrears_paid=True, health_ok=True)
        assert err.value.field == "today"
        assert p.status == LAPSED


@pytest.mark.parametrize(
    ("today", "arrears", "health", "field"),
    [
        (date(2025, 6, 1), False, True, "payment"),
        (date(2025, 6, 1), True, False, "health_declarations"),
        (date(2026, 1, 10), True, True, "today"),  # the one-year term is over
        (date(2026, 3, 1), True, True, "today"),
    ],
)
def test_reinstate_refusals(today: date, arrears: bool, health: bool, field: str) -> None:
    p = lapsed()
    with pytest.raises(DomainError) as err:
        p.reinstate(today, arrears_paid=arrears, health_ok=health)
    assert not isinstance(err.value, IllegalTransition)
    assert err.value.field == field
    assert p.status == LAPSED
    assert p.lapsed_on == date(2025, 5, 10)


@pytest.mark.parametrize(
    ("today", "ok"),
    [
        (START, True),
        (START + timedelta(days=1), True),
        (START + timedelta(days=10), True),
        (START + timedelta(days=30), False),
        (date(2025, 6, 1), False),
    ],
)
def test_cancel_only_in_the_cooling_off_period(today: date, ok: bool) -> None:
    p = in_force()
    assert p.in_cooling_off(today) == ok
    if ok:
        p.cancel(today)
        assert (p.status, p.ended_on) == (CANCELLED, today)
    else:
        with pytest.raises(DomainError) as err:
            p.cancel(today)
        assert not isinstance(err.value, IllegalTransition)
        assert p.status == IN_FORCE


def test_no_cooling_off_for_a_product_without_one() -> None:
    p = Policy(status=ACCEPTED, term_months=12, cooling_off_days=0, grace_period_days=60,
               reinstatement_years=2)
    p.issue(START, first_premium_paid=True)
    assert not p.in_cooling_off(START)
    with pytest.raises(DomainError):
        p.cancel(START)


def test_not_in_cooling_off_before_issue() -> None:
    assert not new_policy(ACCEPTED).in_cooling_off(START)


@pytest.mark.parametrize("covered_status", [IN_FORCE, PREMIUM_DUE, GRACE_PERIOD])
def test_surrender_from_every_covered_status(covered_status: str) -> None:
    p = in_force()
    if covered_status != IN_FORCE:
        p.premium_falls_due(date(2025, 4, 10))
    if covered_status == GRACE_PERIOD:
        p.start_grace(date(2025, 4, 11))
    assert p.status == covered_status
    p.surrender(date(2025, 5, 1))
    assert (p.status, p.ended_on) == (SURRENDERED, date(2025, 5, 1))


@pytest.mark.parametrize(
    ("today", "ok"),
    [(date(2025, 12, 1), False), (date(2026, 1, 9), False), (END, True),
     (date(2026, 2, 1), True)],
)
def test_expire_only_on_or_after_the_end_date(today: date, ok: bool) -> None:
    p = in_force()
    if ok:
        p.expire(today)
        assert p.status == EXPIRED
        assert p.ended_on == END  # cover ends at the term's end, not when the job ran
    else:
        with pytest.raises(DomainError) as err:
            p.expire(today)
        assert not isinstance(err.value, IllegalTransition)
        assert p.status == IN_FORCE


# --- every refused move -----------------------------------------------------------------

MOVES: dict[str, Callable[[Policy], None]] = {
    "underwrite": lambda p: p.underwrite(ACCEPT_DECISION),
    "issue": lambda p: p.issue(START, first_premium_paid=True),
    "premium_due": lambda p: p.premium_falls_due(date(2025, 3, 10)),
    "premium_paid": lambda p: p.premium_paid(),
    "start_grace": lambda p: p.start_grace(date(2025, 4, 1)),
    "lapse": lambda p: p.lapse(date(2025, 9, 1)),
    "reinstate": lambda p: p.reinstate(date(2025, 9, 2), arrears_paid=True, health_ok=True),
    "surrender": lambda p: p.surrender(date(2025, 9, 3)),
    "cancel": lambda p: p.cancel(START + timedelta(days=1)),
    "expire": lambda p: p.expire(date(2026, 2, 1)),
}
REFUSED = [
    (status, action)
    for status in STATUSES
    for action in ACTIONS
    if action not in EXPECTED_ALLOWED[status]
]


def test_moves_cover_every_action() -> None:
    assert set(MOVES) == set(ACTIONS)


@pytest.mark.parametrize(("status", "action"), REFUSED)
def test_refused_moves_raise_illegal_transition(status: str, action: str) -> None:
    # Every date field is filled in so that only the status can be the reason for refusal.
    p = new_policy(
        status,
        start_date=START,
        end_date=END,
        due_date=date(2025, 3, 10),
        grace_ends_on=date(2025, 5, 9),
        lapsed_on=date(2025, 5, 10),
    )
    assert action not in allowed_actions(status)
    with pytest.raises(IllegalTransition) as err:
        MOVES[action](p)
    assert err.value.current == status
    assert err.value.action == action
    assert err.value.field == "action"
    assert p.status == status


@pytest.mark.parametrize(
    ("status", "action"),
    [(s, a) for s in STATUSES for a in ACTIONS if a in EXPECTED_ALLOWED[s]],
)
def test_allowed_moves_are_not_refused_for_their_status(status: str, action: str) -> None:
    p = new_policy(
        status,
        start_date=START,
        end_date=END,
        due_date=date(2025, 3, 10),
        grace_ends_on=date(2025, 5, 9),
        lapsed_on=date(2025, 5, 10),
    )
    MOVES[action](p)
    assert p.status != status


def test_illegal_transition_message_lists_what_is_allowed() -> None:
    p = new_policy(LAPSED)
    with pytest.raises(IllegalTransition) as err:
        p.surrender(date(2025, 6, 1))
    assert "reinstate" in err.value.message
    p = new_policy(EXPIRED)
    with pytest.raises(IllegalTransition) as err:
        p.cancel(date(2025, 6, 1))
    assert "无" in err.value.message


# --- dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2025, 1, 31), 2, date(2025, 3, 31)),
        (date(2025, 8, 31), 1, date(2025, 9, 30)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),
        (date(2025, 12, 31), 12, date(2026, 12, 31)),
        (date(2025, 1, 10), 0, date(2025, 1, 10)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(1966, 11, 15), 720, date(2026, 11, 15)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 1, 15), -1, date(2024, 12, 15)),
        (date(2025, 8, 31), -6, date(2025, 2, 28)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_monthly_schedule_from_the_31st() -> None:
    amount = Decimal("8.64")
    schedule = payment_schedule(date(2025, 1, 31), 12, 12, amount)
    assert [i.seq for i in schedule] == list(range(1, 13))
    assert [i.due_date for i in schedule] == [
        date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30),
        date(2025, 5, 31), date(2025, 6, 30), date(2025, 7, 31), date(2025, 8, 31),
        date(2025, 9, 30), date(2025, 10, 31), date(2025, 11, 30), date(2025, 12, 31),
    ]
    assert all(i.amount == amount for i in schedule)
    assert sum(i.amount for i in schedule) == Decimal("103.68")
    # periods follow one another without gaps and end with the term
    for a, b in pairwise(schedule):
        assert a.period_end == b.period_start
    assert all(i.period_start == i.due_date for i in schedule)
    assert schedule[0].period_start == date(2025, 1, 31)
    assert schedule[-1].period_end == date(2026, 1, 31)


def test_quarterly_schedule() -> None:
    schedule = payment_schedule(START, 12, 4, Decimal("25.44"))
    assert [i.due_date for i in schedule] == [
        date(2025, 1, 10), date(2025, 4, 10), date(2025, 7, 10), date(2025, 10, 10),
    ]
    assert [i.period_end for i in schedule] == [
        date(2025, 4, 10), date(2025, 7, 10), date(2025, 10, 10), date(2026, 1, 10),
    ]
    assert sum(i.amount for i in schedule) == Decimal("101.76")


def test_semiannual_schedule() -> None:
    schedule = payment_schedule(date(2024, 8, 31), 12, 2, Decimal("49.92"))
    assert [(i.due_date, i.period_end) for i in schedule] == [
        (date(2024, 8, 31), date(2025, 2, 28)),
        (date(2025, 2, 28), date(2025, 8, 31)),
    ]


def test_single_payment_schedule() -> None:
    (only,) = payment_schedule(START, 12, 1, Decimal("96.00"))
    assert (only.seq, only.due_date, only.period_start, only.period_end, only.amount) == (
        1, START, START, END, Decimal("96.00"),
    )


# --- cover ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "covered"),
    [
        (date(2025, 1, 9), False),
        (START, True),
        (date(2025, 7, 1), True),
        (date(2026, 1, 9), True),
        (END, False),  # the end date is exclusive
    ],
)
def test_is_covered_on_in_force(day: date, covered: bool) -> None:
    assert in_force().is_covered_on(day) == covered


def test_not_covered_before_issue() -> None:
    for status in (APPLIED, ACCEPTED, DECLINED, POSTPONED):
        assert not new_policy(status).is_covered_on(START)


def test_covered_in_premium_due_and_grace() -> None:
    p = in_force()
    p.premium_falls_due(date(2025, 3, 10))
    assert p.is_covered_on(date(2025, 3, 10))
    p.start_grace(date(2025, 3, 11))
    assert p.is_covered_on(date(2025, 4, 30))
    assert p.is_covered_on(date(2025, 5, 9))


def test_surrendered_covered_until_the_surrender_day() -> None:
    p = in_force()
    p.surrender(date(2025, 6, 1))
    assert p.is_covered_on(date(2025, 5, 31))
    assert not p.is_covered_on(date(2025, 6, 1))
    assert not p.is_covered_on(date(2025, 9, 1))


def test_expired_covered_for_the_whole_term_only() -> None:
    p = in_force()
    p.expire(date(2026, 3, 1))
    assert p.is_covered_on(date(2025, 12, 31))
    assert p.is_covered_on(date(2026, 1, 9))
    assert not p.is_covered_on(END)


def test_lapsed_policy_was_covered_until_grace_ended() -> None:
    """An accident during cover (incl. the grace period) stays covered after the lapse."""
    p = lapsed()  # due 10 Mar, grace to 9 May, lapsed 10 May
    assert p.is_covered_on(date(2025, 2, 1))
    assert p.is_covered_on(date(2025, 4, 15))  # in grace (Insurance Law art. 36)
    assert p.is_covered_on(date(2025, 5, 9))
    assert not p.is_covered_on(date(2025, 5, 10))
    assert not p.is_covered_on(date(2025, 8, 1))
