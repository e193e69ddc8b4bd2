"""The appeal rules (复核申请), pure: reasons, four eyes, one decision, the working-day clock."""

from __future__ import annotations

from datetime import date

import pytest

from backoffice.domain import appeal as ap
from backoffice.domain.errors import Conflict, Forbidden, IllegalTransition, ValidationError


@pytest.mark.parametrize("bad", [None, "", "   ", "\u200b\u3000\t", 42, ["理由"], "x" * 2001])
def test_reasons_must_be_visible_text(bad: object) -> None:
    with pytest.raises(ValidationError) as err:
        ap.check_reasons(bad)
    assert err.value.field == "reasons"


def test_reasons_are_kept_trimmed() -> None:
    assert ap.check_reasons("  不是猝死，有病历  ") == "不是猝死，有病历"


@pytest.mark.parametrize("status", ["reported", "under_review", "approved", "paid", "closed",
                                    "withdrawn"])
def test_only_a_rejected_claim(status: str) -> None:
    with pytest.raises(Conflict):
        ap.check_appealable(status)
    ap.check_appealable("rejected")


def test_four_eyes_and_one_decision() -> None:
    appeal = ap.Appeal(ap.OPEN, rejected_by="supervisor.zhou")
    with pytest.raises(Forbidden):
        appeal.decide("reopen", "supervisor.zhou", "")
    with pytest.raises(ValidationError) as err:
        appeal.decide("uphold", "supervisor.zhao", "  ")
    assert err.value.field == "note"
    with pytest.raises(ValidationError):
        appeal.decide("approve", "supervisor.zhao", "x")
    assert appeal.status == ap.OPEN  # refusals change nothing
    assert appeal.decide("uphold", "supervisor.zhao", " 维持 ") == "维持"
    assert appeal.status == ap.UPHELD
    with pytest.raises(IllegalTransition):
        appeal.decide("reopen", "supervisor.wu", "")


def test_a_system_rejection_may_be_reviewed_by_any_supervisor() -> None:
    appeal = ap.Appeal(ap.OPEN, rejected_by=None)
    assert appeal.decide("reopen", "supervisor.zhou", "") == ""
    assert appeal.status == ap.REOPENED


def test_the_clock_skips_national_day_and_counts_the_make_up_saturday() -> None:
    filed = date(2026, 9, 30)
    d = ap.clock(filed, filed, 10)
    assert d.due == date(2026, 10, 20) and not d.breached
    assert ap.clock(filed, date(2026, 10, 21), 10).breached
    done = ap.clock(filed, date(2026, 10, 30), 10, decided_on=date(2026, 10, 20))
    assert not done.breached and done.done_on == date(2026, 10, 20)


@pytest.mark.parametrize(("raw", "days"), [(None, 10), ("", 10), ("5", 5), ("0", 10),
                                           ("61", 10), ("ten", 10), ("60", 60)])
def test_the_setting(raw: str | None, days: int) -> None:
    assert ap.working_days(raw) == days


def test_the_customer_is_told_in_plain_chinese() -> None:
    text = ap.outcome_text("R202600000001", ap.UPHELD, "死亡证明记载为猝死")
    assert "维持原拒赔决定" in text and "死亡证明记载为猝死" in text
    assert "重新" in ap.outcome_text("R202600000001", ap.REOPENED, "")
