"""The endorsement request's state machine, the beneficiaries a customer gives, and its clock."""

from __future__ import annotations

from datetime import date

import pytest

from backoffice.domain import endorsement_request as er
from backoffice.domain.errors import IllegalTransition, ValidationError
from backoffice.domain.identity import make_id_number


def test_only_a_submitted_request_is_decided_and_a_rejection_says_why() -> None:
    r = er.EndorsementRequest(er.SUBMITTED)
    with pytest.raises(ValidationError) as no_reason:
        r.reject(" ", "u1")
    assert no_reason.value.field == "reason" and r.status == er.SUBMITTED
    r.reject("未签字", "u1")
    assert (r.status, r.reason) == (er.REJECTED, "未签字")
    for move in (lambda: r.approve("u1"), lambda: r.withdraw("u1")):
        with pytest.raises(IllegalTransition):
            move()
    approved = er.EndorsementRequest(er.SUBMITTED)
    with pytest.raises(ValidationError):
        approved.approve("")
    approved.approve("u1")
    assert approved.status == er.APPROVED
    assert er.allowed_actions(er.SUBMITTED) == ("approve", "reject", "withdraw")
    assert er.allowed_actions(er.WITHDRAWN) == ()


def test_beneficiaries_shares_split_equally_when_left_out() -> None:
    three = er.parse_requested_beneficiaries([{"name": n, "relation": "child"} for n in "甲乙丙"])
    assert [b["share_pct"] for b in three] == [34, 33, 33]
    assert er.missing_for_approval("change_beneficiary", {"beneficiaries": three}) == [
        f"beneficiaries[{i}].id_number" for i in range(3)]
    idn = make_id_number("440514", date(1990, 1, 1), 11)
    given = er.parse_requested_beneficiaries([{"name": "甲", "relation": "spouse",
                                               "id_number": idn, "share_pct": 100}])
    assert given == [{"name": "甲", "relation": "spouse", "id_number": idn, "share_pct": 100}]
    assert er.missing_for_approval("change_beneficiary", {"beneficiaries": given}) == []
    for bad, field in (([{"name": "甲", "relation": "child", "share_pct": 40}],
                        "beneficiaries"),
                       ([{"name": "", "relation": "child"}], "beneficiaries[0].name"),
                       ([{"name": "甲", "relation": "child", "share_pct": True}],
                        "beneficiaries[0].share_pct"),
                       ([{"name": "甲"}] * 11, "beneficiaries")):
        with pytest.raises(ValidationError) as err:
            er.parse_requested_beneficiaries(bad)
        assert err.value.field == field


def test_the_clock_is_five_working_days_over_the_national_day_holiday() -> None:
    # submitted Monday 2026-09-28: 29, 30 Sep work; 1–7 Oct off; 8, 9 Oct and the make-up
    # Saturday 10 Oct work: the fifth working day is the Saturday
    d = er.clock(date(2026, 9, 28), date(2026, 10, 8))
    assert d.due == date(2026, 10, 10) and not d.breached
    late = er.clock(date(2026, 9, 28), date(2026, 10, 12))
    assert late.breached and "超时" in er.clock_text(late, date(2026, 10, 12))
    done = er.clock(date(2026, 9, 28), date(2026, 10, 12), decided_on=date(2026, 10, 9))
    assert not done.breached and "办结" in er.clock_text(done, date(2026, 10, 12))
