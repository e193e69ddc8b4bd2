"""Claim, complaint and home-visit clocks: due dates, pauses, breaches.

Every expected date below was worked out by hand (calendar days, or working days of the real
2024–2026 PRC holiday calendar).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from backoffice.domain.calendar import WorkingCalendar
from backoffice.domain.claim import awaiting
from backoffice.domain.clocks import (
    ClaimEvents,
    ComplaintTrack,
    Deadline,
    Pause,
    advance_payment_deadline,
    claim_deadlines,
    complaint_deadline,
    decision_deadline,
    documents_reminder_deadline,
    documents_reminders,
    home_visit_deadlines,
    payment_deadline,
    payment_working_days,
    rejection_letter_deadline,
    review_deadline,
    special_case_deadline,
    time_bar,
)
from backoffice.domain.errors import ValidationError

D = date
MON = D(2026, 3, 2)  # an ordinary Monday, far from any holiday


# -- decision: Art. 23, 30 calendar days, paused while documents are supplied ---------------------


@pytest.mark.parametrize(
    ("start", "pauses", "today", "due", "paused"),
    [
        (MON, [], MON, D(2026, 4, 1), False),  # 2 Mar + 30
        (D(2026, 2, 10), [], D(2026, 2, 10), D(2026, 3, 12), False),  # through 春节: calendar days
        # due on Sunday 15 Feb 2026 (春节): not moved to the next working day
        (D(2026, 1, 16), [], D(2026, 1, 16), D(2026, 2, 15), False),
        # a 7-day pause pushes it by 7
        (MON, [(D(2026, 3, 10), D(2026, 3, 17))], MON, D(2026, 4, 8), False),
        # only the part after the start counts: (2 Mar, 5 Mar] = 3 days
        (MON, [(D(2026, 2, 25), D(2026, 3, 5))], MON, D(2026, 4, 4), False),
        # wholly before the start: nothing
        (MON, [(D(2026, 2, 20), D(2026, 2, 27))], MON, D(2026, 4, 1), False),
        # starting on the due day: the clock had run out, nothing
        (MON, [(D(2026, 4, 1), D(2026, 4, 10))], MON, D(2026, 4, 1), False),
        # two pauses: 3 + 2
        (
            MON,
            [(D(2026, 3, 5), D(2026, 3, 8)), (D(2026, 3, 20), D(2026, 3, 22))],
            MON,
            D(2026, 4, 6),
            False,
        ),
        # overlapping pauses count once: (5 Mar, 12 Mar] = 7
        (
            MON,
            [(D(2026, 3, 5), D(2026, 3, 10)), (D(2026, 3, 8), D(2026, 3, 12))],
            MON,
            D(2026, 4, 8),
            False,
        ),
        # a zero-length pause
        (MON, [(D(2026, 3, 5), D(2026, 3, 5))], MON, D(2026, 4, 1), False),
        # open pause since 10 Mar, today 20 Mar: 10 days so far, provisional due
        (MON, [(D(2026, 3, 10), None)], D(2026, 3, 20), D(2026, 4, 11), True),
        # open pause begun today: paused, nothing added yet
        (MON, [(D(2026, 3, 10), None)], D(2026, 3, 10), D(2026, 4, 1), True),
        # open pause begun after the clock ran out: not paused, and breached
        (MON, [(D(2026, 4, 5), None)], D(2026, 4, 6), D(2026, 4, 1), False),
    ],
)
def test_decision_due_date(
    start: date, pauses: list[Pause], today: date, due: date, paused: bool
) -> None:
    deadline = decision_deadline(start, today, pauses=pauses)
    assert deadline.name == "decision"
    assert deadline.due == due
    assert deadline.paused is paused
    assert deadline.breached is (today > due)
    assert "保险法第23条" in deadline.basis and "补材料期间暂停计算" in deadline.basis


def test_decision_basis_names_the_pause() -> None:
    closed = decision_deadline(MON, MON, pauses=[(D(2026, 3, 10), D(2026, 3, 17))])
    assert closed.basis.startswith(
        "收到完整材料后30日内作出核定（保险法第23条），补材料期间暂停计算"
    )
    assert "补材料暂停7日" in closed.basis
    open_ = decision_deadline(MON, D(2026, 3, 20), pauses=[(D(2026, 3, 10), None)])
    assert "计时暂停" in open_.basis and "暂定" in open_.basis


@pytest.mark.parametrize(
    ("today", "decided_on", "breached"),
    [
        (D(2026, 4, 1), None, False),  # the due day itself: not yet breached
        (D(2026, 4, 2), None, True),
        (D(2026, 5, 1), D(2026, 4, 1), False),  # decided on the due day
        (D(2026, 5, 1), D(2026, 4, 2), True),  # decided a day late: stays breached
        (D(2026, 3, 10), D(2026, 3, 9), False),
    ],
)
def test_decision_breach_on_and_after_the_due_day(
    today: date, decided_on: date | None, breached: bool
) -> None:
    deadline = decision_deadline(MON, today, decided_on=decided_on)
    assert deadline.due == D(2026, 4, 1)
    assert deadline.breached is breached
    assert deadline.done_on == decided_on


def test_decision_with_a_pause_is_on_time_on_the_pushed_due_day() -> None:
    pause = [(D(2026, 3, 10), D(2026, 3, 17))]
    assert not decision_deadline(MON, D(2026, 4, 8), pauses=pause).breached
    assert decision_deadline(MON, D(2026, 4, 9), pauses=pause).breached
    assert not decision_deadline(
        MON, D(2026, 5, 1), pauses=pause, decided_on=D(2026, 4, 8)
    ).breached
    assert decision_deadline(MON, D(2026, 5, 1), pauses=pause, decided_on=D(2026, 4, 9)).breached


def test_decided_during_an_open_pause() -> None:
    # asked on 10 Mar, never supplied, decided on 15 Mar: the pause counts until the decision
    deadline = decision_deadline(
        MON, D(2026, 5, 1), pauses=[(D(2026, 3, 10), None)], decided_on=D(2026, 3, 15)
    )
    assert deadline.due == D(2026, 4, 6)
    assert not deadline.paused and not deadline.breached
    assert "补材料暂停5日" in deadline.basis and "暂定" not in deadline.basis


# -- review: tender, 3 working days of complete documents -----------------------------------------


@pytest.mark.parametrize(
    ("start", "pauses", "today", "due", "paused"),
    [
        (MON, [], MON, D(2026, 3, 5), False),
        # Thursday before 春节 2026: Fri 13 (1), Sat 14 make-up (2), Tue 24 (3)
        (D(2026, 2, 12), [], D(2026, 2, 12), D(2026, 2, 24), False),
        # Friday before 国庆 2025: Sun 28 Sep make-up (1), 29 (2), 30 (3)
        (D(2025, 9, 26), [], D(2025, 9, 26), D(2025, 9, 30), False),
        # Friday before 国庆 2024: Sun 29 Sep make-up (1), 30 Sep (2), 8 Oct (3)
        (D(2024, 9, 27), [], D(2024, 9, 27), D(2024, 10, 8), False),
        # asked Tue 3 Mar (counts: 1), supplied Tue 10 Mar; then 11 (2), 12 (3)
        (MON, [(D(2026, 3, 3), D(2026, 3, 10))], MON, D(2026, 3, 12), False),
        # still waiting on Thu 5 Mar: 3 Mar (1), then as if supplied today: 6 (2), Mon 9 (3)
        (MON, [(D(2026, 3, 3), None)], D(2026, 3, 5), D(2026, 3, 9), True),
    ],
)
def test_review_due_date(
    start: date, pauses: list[Pause], today: date, due: date, paused: bool
) -> None:
    deadline = review_deadline(start, today, pauses=pauses)
    assert (deadline.name, deadline.due, deadline.paused) == ("review", due, paused)
    assert "3个工作日" in deadline.basis


def test_review_with_an_explicit_calendar() -> None:
    no_holidays = WorkingCalendar(published_years=[2026])
    # the same Thursday without 春节: 13, 16, 17
    assert review_deadline(D(2026, 2, 12), D(2026, 2, 12), no_holidays).due == D(2026, 2, 17)


# -- special cases: tender, 30 working days -------------------------------------------------------


def test_special_case_across_spring_festival_2026() -> None:
    # from Mon 2 Feb 2026: 3–6 Feb (4), 9–13 (5), Sat 14 make-up (1), 15–23 off, 24–27 (4),
    # Sat 28 make-up (1) = 15; 2–6 Mar, 9–13, 16–20 = 15 more → Friday 20 March
    deadline = special_case_deadline(D(2026, 2, 2), D(2026, 3, 20))
    assert deadline.name == "special_case"
    assert deadline.due == D(2026, 3, 20)
    assert not deadline.breached
    assert special_case_deadline(D(2026, 2, 2), D(2026, 3, 21)).breached
    # a pause of Tue 3 → Tue 10 Mar skips five working days (4, 5, 6, 9, 10)
    paused = special_case_deadline(
        D(2026, 2, 2), D(2026, 3, 2), pauses=[(D(2026, 3, 3), D(2026, 3, 10))]
    )
    assert paused.due == D(2026, 3, 27)


# -- payment: Art. 23's 10 days vs the tender's 3 / 7 working days --------------------------------


@pytest.mark.parametrize(
    ("payout", "days"),
    [
        (Decimal("0.01"), 3),
        (Decimal("4999.99"), 3),
        (Decimal("5000.00"), 3),  # "5000元以下" includes 5,000 itself (rules.md: ≤ 5,000)
        (Decimal("5000"), 3),
        (Decimal("5000.01"), 7),
        (Decimal("100000"), 7),
    ],
)
def test_payment_threshold(payout: Decimal, days: int) -> None:
    assert payment_working_days(payout) == days


@pytest.mark.parametrize(
    ("agreed_on", "payout", "due", "governs"),
    [
        # Mon 2 Mar 2026: 3 wd → Thu 5 Mar; legal 12 Mar
        (MON, Decimal("4999.99"), D(2026, 3, 5), "服务承诺"),
        # exactly 5,000 is still "5000元以下": 3 wd → Thu 5 Mar
        (MON, Decimal("5000.00"), D(2026, 3, 5), "服务承诺"),
        # 7 wd → 3, 4, 5, 6, 9, 10, 11 Mar; legal 12 Mar
        (MON, Decimal("5000.01"), D(2026, 3, 11), "服务承诺"),
        # Fri 26 Sep 2025, 3 wd: Sun 28 (1), 29 (2), 30 (3); legal 6 Oct
        (D(2025, 9, 26), Decimal("800"), D(2025, 9, 30), "服务承诺"),
        # same day, 7 wd would be 13 Oct (28, 29, 30 Sep, 9, 10, 11, 13 Oct): legal 6 Oct wins,
        # even though 6 Oct is inside the holiday
        (D(2025, 9, 26), Decimal("8000"), D(2025, 10, 6), "法定"),
        # Thu 12 Feb 2026, 3 wd: 13, Sat 14, Tue 24; legal Sun 22 Feb wins
        (D(2026, 2, 12), Decimal("1000"), D(2026, 2, 22), "法定"),
        # unknown payout: the legal 10 days only
        (MON, None, D(2026, 3, 12), "法定"),
    ],
)
def test_payment_due_is_the_earlier_of_law_and_promise(
    agreed_on: date, payout: Decimal | None, due: date, governs: str
) -> None:
    deadline = payment_deadline(agreed_on, payout, agreed_on)
    assert deadline.name == "payment"
    assert deadline.due == due
    assert "保险法第23条" in deadline.basis
    if governs == "法定" and payout is not None:
        assert "以法定期限为准" in deadline.basis
    if governs == "服务承诺":
        assert "取较早者" in deadline.basis


def test_payment_basis_says_which_side_of_5000() -> None:
    small = payment_deadline(MON, Decimal("5000.00"), MON)
    large = payment_deadline(MON, Decimal("5000.01"), MON)
    assert "5,000.00 元" in small.basis and "5,000元及以下" in small.basis
    assert "3个工作日" in small.basis
    assert "5,000.01 元" in large.basis and "超过5,000元" in large.basis
    assert "7个工作日" in large.basis


@pytest.mark.parametrize(
    ("today", "paid_on", "breached"),
    [
        (D(2026, 3, 5), None, False),  # due day
        (D(2026, 3, 6), None, True),
        (D(2026, 3, 20), D(2026, 3, 5), False),
        (D(2026, 3, 20), D(2026, 3, 6), True),
    ],
)
def test_payment_breach(today: date, paid_on: date | None, breached: bool) -> None:
    deadline = payment_deadline(MON, Decimal("4999.99"), today, paid_on=paid_on)
    assert deadline.breached is breached


# -- rejection letter, advance payment, complaints ------------------------------------------------


@pytest.mark.parametrize(
    ("today", "sent_on", "breached"),
    [
        (D(2026, 2, 16), None, False),  # due Mon 16 Feb (春节), not moved
        (D(2026, 2, 17), None, True),
        (D(2026, 2, 20), D(2026, 2, 16), False),
        (D(2026, 2, 20), D(2026, 2, 17), True),
    ],
)
def test_rejection_letter_within_3_days(today: date, sent_on: date | None, breached: bool) -> None:
    deadline = rejection_letter_deadline(D(2026, 2, 13), today, sent_on=sent_on)
    assert deadline.name == "rejection_letter"
    assert deadline.due == D(2026, 2, 16)
    assert deadline.breached is breached
    assert "保险法第24条" in deadline.basis


@pytest.mark.parametrize(
    ("today", "settled_on", "breached"),
    [
        (D(2026, 5, 1), None, False),  # 2 Mar + 60 = 1 May
        (D(2026, 5, 2), None, True),
        (D(2026, 6, 1), D(2026, 4, 20), False),
        (D(2026, 6, 1), D(2026, 5, 1), False),
        (D(2026, 6, 1), D(2026, 5, 2), True),
    ],
)
def test_advance_payment_at_60_days(today: date, settled_on: date | None, breached: bool) -> None:
    deadline = advance_payment_deadline(MON, today, settled_on=settled_on)
    assert deadline.name == "advance_payment"
    assert deadline.due == D(2026, 5, 1)
    assert deadline.breached is breached
    assert "保险法第25条" in deadline.basis


@pytest.mark.parametrize(
    ("track", "due"),
    [
        (ComplaintTrack.STANDARD, D(2026, 3, 17)),
        (ComplaintTrack.COMPLEX, D(2026, 4, 1)),
        (ComplaintTrack.EXTENDED, D(2026, 5, 1)),
        ("complex", D(2026, 4, 1)),
    ],
)
def test_complaint_decision(track: ComplaintTrack | str, due: date) -> None:
    deadline = complaint_deadline(MON, MON, track=track)
    assert deadline.name == "complaint_decision"
    assert deadline.due == due
    assert "消费投诉处理管理办法" in deadline.basis
    assert not complaint_deadline(MON, due, track=track).breached
    assert complaint_deadline(MON, due + timedelta(days=1), track=track).breached
    on_time = complaint_deadline(MON, D(2026, 9, 1), track=track, decided_on=due)
    assert not on_time.breached and on_time.done_on == due


def test_complaint_extended_basis_and_bad_track() -> None:
    extended = complaint_deadline(MON, MON, track=ComplaintTrack.EXTENDED)
    assert "审批" in extended.basis and "60日" in extended.basis
    with pytest.raises(ValidationError) as err:
        complaint_deadline(MON, MON, track="urgent")
    assert err.value.field == "track"


# -- home visits: hours ---------------------------------------------------------------------------

CST = timezone(timedelta(hours=8))
ASKED = datetime(2026, 2, 16, 9, 30, tzinfo=CST)  # 除夕: hours run through holidays


@pytest.mark.parametrize(
    ("now", "contacted", "visited", "contact_breached", "visit_breached"),
    [
        (ASKED + timedelta(hours=24), None, None, False, False),  # exactly at the limit
        (ASKED + timedelta(hours=24, minutes=1), None, None, True, False),
        (ASKED + timedelta(hours=48, seconds=1), None, None, True, True),
        (
            ASKED + timedelta(hours=72),
            ASKED + timedelta(hours=2),
            ASKED + timedelta(hours=47),
            False,
            False,
        ),
        (
            ASKED + timedelta(hours=72),
            ASKED + timedelta(hours=25),
            ASKED + timedelta(hours=49),
            True,
            True,
        ),
    ],
)
def test_home_visit(
    now: datetime,
    contacted: datetime | None,
    visited: datetime | None,
    contact_breached: bool,
    visit_breached: bool,
) -> None:
    clocks = home_visit_deadlines(ASKED, now, contacted_at=contacted, visited_at=visited)
    assert set(clocks) == {"home_visit_contact", "home_visit"}
    assert clocks["home_visit_contact"].due == datetime(2026, 2, 17, 9, 30, tzinfo=CST)
    assert clocks["home_visit"].due == datetime(2026, 2, 18, 9, 30, tzinfo=CST)
    assert clocks["home_visit_contact"].breached is contact_breached
    assert clocks["home_visit"].breached is visit_breached
    assert clocks["home_visit"].done_at == visited
    assert "24小时" in clocks["home_visit_contact"].basis
    assert "48小时" in clocks["home_visit"].basis


def test_home_visit_in_utc_equals_local() -> None:
    utc = ASKED.astimezone(UTC)
    clocks = home_visit_deadlines(utc, utc + timedelta(hours=1))
    assert clocks["home_visit"].due == datetime(2026, 2, 18, 9, 30, tzinfo=CST)


def test_home_visit_refuses_mixed_or_date_times() -> None:
    with pytest.raises(TypeError, match="mix"):
        home_visit_deadlines(ASKED, datetime(2026, 2, 16, 10, 0))
    with pytest.raises(TypeError, match="datetimes"):
        home_visit_deadlines(ASKED, D(2026, 2, 17))  # type: ignore[arg-type]
    naive = datetime(2026, 2, 16, 1, 30)
    assert not home_visit_deadlines(naive, naive + timedelta(hours=3))["home_visit"].breached


# -- all the clocks of a claim --------------------------------------------------------------------


def test_reported_only_has_no_clock_yet() -> None:
    assert claim_deadlines(ClaimEvents(reported_on=D(2026, 2, 27)), MON) == {}


def test_a_smooth_small_claim() -> None:
    events = ClaimEvents(
        reported_on=D(2026, 2, 27),
        documents_complete_on=MON,
        decided_on=D(2026, 3, 4),
        agreed_on=D(2026, 3, 4),
        payout=Decimal("1200.00"),
        paid_on=D(2026, 3, 6),
    )
    clocks = claim_deadlines(events, D(2026, 3, 20))
    assert set(clocks) == {"decision", "review", "payment", "advance_payment"}
    assert all(not c.breached and not c.paused for c in clocks.values())
    assert all(c.name == name for name, c in clocks.items())
    assert clocks["decision"].due == D(2026, 4, 1)
    assert clocks["review"].due == D(2026, 3, 5)
    assert clocks["review"].done_on == D(2026, 3, 4)  # the decision ends the review
    # agreed Wed 4 Mar, 3 wd: 5, 6, Mon 9 Mar (legal: 14 Mar)
    assert clocks["payment"].due == D(2026, 3, 9)
    assert clocks["advance_payment"].due == D(2026, 5, 1)
    assert clocks["advance_payment"].done_on == D(2026, 3, 4)


def test_an_unsettled_claim_breaches_decision_review_and_advance_payment() -> None:
    events = ClaimEvents(reported_on=D(2026, 2, 27), documents_complete_on=MON)
    on_day_60 = claim_deadlines(events, D(2026, 5, 1))
    assert on_day_60["decision"].breached and on_day_60["review"].breached
    assert not on_day_60["advance_payment"].breached
    assert claim_deadlines(events, D(2026, 5, 2))["advance_payment"].breached


def test_a_rejected_claim_and_a_late_letter() -> None:
    events = ClaimEvents(
        reported_on=D(2026, 2, 27),
        documents_complete_on=MON,
        reviewed_on=D(2026, 3, 5),
        rejected_on=D(2026, 3, 20),
        letter_sent_on=D(2026, 3, 24),
    )
    clocks = claim_deadlines(events, D(2026, 4, 1))
    assert set(clocks) == {"decision", "review", "rejection_letter", "advance_payment"}
    assert clocks["decision"].done_on == D(2026, 3, 20) and not clocks["decision"].breached
    assert clocks["review"].done_on == D(2026, 3, 5) and not clocks["review"].breached
    assert clocks["rejection_letter"].due == D(2026, 3, 23)
    assert clocks["rejection_letter"].breached
    assert clocks["advance_payment"].done_on == D(2026, 3, 20)


def test_a_special_case_replaces_the_review_clock() -> None:
    events = ClaimEvents(
        reported_on=D(2026, 1, 30), documents_complete_on=D(2026, 2, 2), special_case=True
    )
    clocks = claim_deadlines(events, D(2026, 3, 2))
    assert set(clocks) == {"decision", "special_case", "advance_payment"}
    assert clocks["special_case"].due == D(2026, 3, 20)
    assert clocks["decision"].due == D(2026, 3, 4)  # the law's 30 days still apply
    paid = dataclasses.replace(events, paid_on=D(2026, 3, 20))
    assert not claim_deadlines(paid, D(2026, 4, 1))["special_case"].breached


def test_an_open_pause_holds_the_decision_but_not_an_expired_review() -> None:
    events = ClaimEvents(
        reported_on=D(2026, 2, 27),
        documents_complete_on=MON,
        pauses=((D(2026, 3, 10), None),),
    )
    clocks = claim_deadlines(events, D(2026, 3, 20))
    assert clocks["decision"].paused and not clocks["decision"].breached
    assert clocks["decision"].due == D(2026, 4, 11)
    # the review ran out on 5 Mar, before documents were asked for
    assert clocks["review"].due == D(2026, 3, 5)
    assert clocks["review"].breached and not clocks["review"].paused
    # Art. 25 is not paused
    assert clocks["advance_payment"].due == D(2026, 5, 1)


@pytest.mark.parametrize(
    ("payout", "due"),
    [(Decimal("4999.99"), D(2026, 3, 5)), (Decimal("5000.00"), D(2026, 3, 5)),
     (Decimal("5000.01"), D(2026, 3, 11))],
)
def test_claim_payment_threshold(payout: Decimal, due: date) -> None:
    events = ClaimEvents(
        reported_on=D(2026, 2, 20),
        documents_complete_on=D(2026, 2, 25),
        agreed_on=MON,
        payout=payout,
    )
    assert claim_deadlines(events, MON)["payment"].due == due


def test_a_zero_payout_has_no_payment_clock() -> None:
    events = ClaimEvents(reported_on=D(2026, 2, 20), agreed_on=MON, payout=Decimal("0"))
    assert "payment" not in claim_deadlines(events, MON)


def test_claim_with_a_calendar_passed_in() -> None:
    events = ClaimEvents(reported_on=D(2026, 2, 12), documents_complete_on=D(2026, 2, 12))
    no_holidays = WorkingCalendar(published_years=[2026])
    assert claim_deadlines(events, D(2026, 2, 12))["review"].due == D(2026, 2, 24)
    assert claim_deadlines(events, D(2026, 2, 12), no_holidays)["review"].due == D(2026, 2, 17)


# -- the events' own checks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"documents_complete_on": D(2026, 2, 26)}, "documents_complete_on"),
        ({"pauses": [(D(2026, 3, 10), D(2026, 3, 9))]}, "pauses"),
        ({"pauses": [(D(2026, 3, 10),)]}, "pauses"),
        ({"pauses": [(datetime(2026, 3, 10, 8, 0), None)]}, "pauses"),
        ({"payout": 4999.99}, "payout"),
        ({"payout": Decimal("-1")}, "payout"),
        ({"payout": True}, "payout"),
        ({"decided_on": datetime(2026, 3, 10, 8, 0)}, "decided_on"),
        ({"paid_on": "2026-03-10"}, "paid_on"),
    ],
)
def test_bad_events_are_refused(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        ClaimEvents(reported_on=D(2026, 2, 27), **changes)  # type: ignore[arg-type]
    assert err.value.field == field


def test_events_are_frozen_and_hashable() -> None:
    events = ClaimEvents(
        reported_on=D(2026, 2, 27),
        pauses=[(D(2026, 3, 10), None)],  # type: ignore[arg-type]
        payout=1200,  # type: ignore[arg-type]
    )
    assert events.pauses == ((D(2026, 3, 10), None),)
    assert events.payout == Decimal("1200") and isinstance(events.payout, Decimal)
    hash(events)
    with pytest.raises(dataclasses.FrozenInstanceError):
        events.paid_on = MON  # type: ignore[misc]


def test_deadline_is_frozen() -> None:
    deadline = decision_deadline(MON, MON)
    assert isinstance(deadline, Deadline)
    with pytest.raises(dataclasses.FrozenInstanceError):
        deadline.breached = True  # type: ignore[misc]


# -- the clocks that run from the report ----------------------------------------------------


def test_the_time_bar_is_two_years_from_the_incident_and_a_leap_day_ends_on_28_february(
) -> None:
    assert time_bar(date(2026, 9, 18)) == date(2028, 9, 18)
    assert time_bar(date(2028, 2, 29)) == date(2030, 2, 28)


def test_documents_reminders_fall_on_working_days_and_the_clock_shows_the_next_one() -> None:
    asked = date(2026, 9, 21)
    assert documents_reminders(asked) == (date(2026, 9, 29), date(2026, 10, 12))
    first = documents_reminder_deadline(asked, 0, date(2026, 9, 22))
    assert (first.due, first.breached, first.done_on) == (date(2026, 9, 29), False, None)
    missed = documents_reminder_deadline(asked, 0, date(2026, 9, 30))
    assert missed.breached  # the scheduler did not remind on the day
    second = documents_reminder_deadline(asked, 1, date(2026, 9, 30))
    assert second.due == date(2026, 10, 12) and not second.breached
    done = documents_reminder_deadline(asked, 2, date(2027, 1, 1))
    assert done.done_on == date(2026, 10, 12) and not done.breached


def test_a_claim_shows_its_notice_clocks_from_the_report() -> None:
    events = ClaimEvents(reported_on=date(2026, 9, 21), incident_date=date(2026, 9, 18),
                         progress_notice_on=date(2026, 9, 24),
                         documents_asked_on=date(2026, 9, 21))
    clocks = claim_deadlines(events, date(2026, 9, 22))
    assert set(clocks) == {"progress_notice", "documents_reminder", "time_bar"}
    assert clocks["progress_notice"].due == date(2026, 9, 24)
    late = claim_deadlines(events, date(2031, 1, 1))
    assert late["progress_notice"].breached and not late["time_bar"].breached
    # once closed the caller gives no notice dates: only the insurer's clocks remain
    assert claim_deadlines(ClaimEvents(reported_on=date(2026, 9, 21)), date(2026, 9, 22)) == {}


@pytest.mark.parametrize(("status", "missing", "role", "payee", "says"), [
    ("documents_pending", ["住院病历", "发票"], None, True, "等您提交：住院病历、发票"),
    ("under_review", [], None, True, "理赔员审核"),
    ("pending_approval", [], "branch_head", True, "等分公司负责人审批"),
    ("approved", [], None, False, "等您提供收款银行账户"),
    ("approved", [], None, True, "等财务部门"),
    ("closed", [], None, True, None),
    ("rejected", [], None, True, None),
])
def test_a_progress_notice_says_what_is_awaited_and_from_whom(
        status: str, missing: list[str], role: str | None, payee: bool, says: str | None) -> None:
    text = awaiting(status, missing, role, payee)
    assert text is None if says is None else says in (text or "")
