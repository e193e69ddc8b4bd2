"""The claim state machine, authority limits, the coverage check and the late-report flag.

The legal moves are written out by hand below (not read from the module), so a change to the
machine shows up as a failing test. Every expected date and amount was worked out by hand.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from backoffice.domain import claim as cl
from backoffice.domain.claim import Claim, CoverageFacts, coverage_problems, is_late_report
from backoffice.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IllegalTransition,
    ValidationError,
)

CARD = "6222020200112233446"  # the customer's verified payee (passes Luhn)
OTHER_CARD = "6222020200112233453"

D = date
M = Decimal

# status → {action: status after}; every pair not listed must be refused.
LEGAL: dict[str, dict[str, str]] = {
    "reported": {"register": "registered", "decline_registration": "rejected",
                 "withdraw": "withdrawn", "change_type": "reported",
                 "register_anyway": "registered"},
    "registered": {"request_documents": "documents_pending", "documents_complete": "under_review",
                   "reject": "rejected", "withdraw": "withdrawn", "change_type": "registered"},
    "documents_pending": {"documents_complete": "under_review", "reject": "rejected",
                          "withdraw": "withdrawn", "change_type": "documents_pending"},
    "under_review": {"request_documents": "documents_pending", "investigate": "investigating",
                     "adjudicate": "adjudicated", "reject": "rejected", "withdraw": "withdrawn",
                     "advance_payment": "under_review", "change_type": "under_review"},
    "investigating": {"request_documents": "documents_pending",
                      "finish_investigation": "under_review", "reject": "rejected",
                      "withdraw": "withdrawn", "advance_payment": "investigating",
                      "change_type": "investigating"},
    "adjudicated": {"approve": "approved", "reject": "rejected",
                    "advance_payment": "adjudicated"},
    "pending_approval": {"approve": "approved", "reject": "rejected",
                         "advance_payment": "pending_approval"},
    "approved": {"pay": "paid"},
    "paid": {"close": "closed"},
    "closed": {"reopen": "under_review"},
    "rejected": {"reopen": "under_review"},
    "withdrawn": {"reopen": "under_review"},
}
ACTIONS = ("register", "decline_registration", "request_documents", "documents_complete",
           "investigate", "finish_investigation", "adjudicate", "approve", "pay", "close",
           "reject", "withdraw", "reopen", "advance_payment", "change_type", "register_anyway")


def _perform(c: Claim, action: str, actor: str = "adj-1") -> None:
    """Each action with arguments that are valid for it."""
    calls: dict[str, Callable[[], object]] = {
        "register": lambda: c.register((), actor),
        "decline_registration": lambda: c.decline_registration(["出险人不是被保险人"], actor),
        "request_documents": lambda: c.request_documents(["death_certificate"], actor),
        "documents_complete": lambda: c.documents_complete(actor),
        "investigate": lambda: c.investigate(actor),
        "finish_investigation": lambda: c.finish_investigation(actor),
        "adjudicate": lambda: c.adjudicate(M("1200.00"), actor),
        "approve": lambda: c.approve("branch_head", actor),
        "pay": lambda: c.pay(M("1200.00"), actor),
        "close": lambda: c.close(actor),
        "reject": lambda: c.reject(["不属于意外伤害"], actor),
        "withdraw": lambda: c.withdraw(actor),
        "reopen": lambda: c.reopen(actor),
        "advance_payment": lambda: c.advance(M("100.00"), M("1000.00"), actor),
        "change_type": lambda: c.change_type(actor),
        "register_anyway": lambda: c.register_anyway(["出险日不在保障期内"], "民政局确认在册",
                                                     actor),
    }
    calls[action]()


def _claim(status: str) -> Claim:
    """A claim in `status` with the amounts that status implies."""
    payable = M("1200.00") if status in ("adjudicated", "pending_approval", "approved", "paid",
                                         "closed") else None
    approved = M("1200.00") if status in ("approved", "paid", "closed") else None
    return Claim(status=status, payable=payable, approved_amount=approved, payee=CARD,
                 approval_role="supervisor" if status == "pending_approval" else None)


def test_the_hand_written_table_names_every_status_and_action() -> None:
    assert set(LEGAL) == set(cl.STATUSES)
    assert set(ACTIONS) == set(cl.STAFF_ACTIONS)


@pytest.mark.parametrize("status", cl.STATUSES)
def test_allowed_actions_are_exactly_the_legal_moves(status: str) -> None:
    assert set(cl.allowed_actions(status)) == set(LEGAL[status])


GRID = [(s, a) for s in LEGAL for a in ACTIONS]


@pytest.mark.parametrize(("status", "action"), GRID)
def test_every_move_is_done_or_refused(status: str, action: str) -> None:
    c = _claim(status)
    before = copy.deepcopy(c)
    if action in LEGAL[status]:
        _perform(c, action)
        assert c.status == LEGAL[status][action]
        assert c.history[-1] == (status, LEGAL[status][action], "adj-1")
        assert len(c.history) == 1
    else:
        with pytest.raises(IllegalTransition) as err:
            _perform(c, action)
        assert err.value.current == status
        assert err.value.action == action
        assert err.value.field == "action"
        assert c == before  # nothing moved, nothing recorded


LEGAL_PAIRS = [(s, a) for s, moves in LEGAL.items() for a in moves]


@pytest.mark.parametrize(("status", "action"), LEGAL_PAIRS)
@pytest.mark.parametrize("actor", ["", None])
def test_every_legal_move_needs_an_actor_and_changes_nothing_without_one(
    status: str, action: str, actor: str | None
) -> None:
    c = _claim(status)
    before = copy.deepcopy(c)
    with pytest.raises(ValidationError) as err:
        _perform(c, action, actor)  # type: ignore[arg-type]
    assert err.value.field == "actor"
    assert c == before


# ---- register, decline, documents --------------------------------------------------------------

def test_register_refuses_with_the_coverage_reasons_and_stays_reported() -> None:
    c = Claim(status="reported")
    reasons = ["出险人不是该保单的被保险人", "该保单不承保此类理赔"]
    with pytest.raises(DomainError) as err:
        c.register(reasons, "system")
    assert not isinstance(err.value, IllegalTransition)
    assert err.value.field == "coverage"
    assert err.value.message == "不符合立案条件：出险人不是该保单的被保险人；该保单不承保此类理赔"
    assert c.status == "reported" and c.history == []


def test_decline_registration_keeps_the_reasons_and_needs_some() -> None:
    c = Claim(status="reported")
    with pytest.raises(ValidationError) as err:
        c.decline_registration([], "clerk-1")
    assert err.value.field == "reasons"
    assert c.status == "reported"
    c.decline_registration(["出险日期不在保单有效期内"], "clerk-1")
    assert c.status == "rejected"
    assert c.rejection_reasons == ("出险日期不在保单有效期内",)


def test_request_documents_needs_items_and_keeps_them() -> None:
    c = Claim(status="registered")
    with pytest.raises(ValidationError) as err:
        c.request_documents([], "system")
    assert err.value.field == "missing_documents"
    assert c.status == "registered"
    c.request_documents(iter(["discharge_summary", "bank_account"]), "system")
    assert c.status == "documents_pending"
    assert c.missing == ("discharge_summary", "bank_account")
    c.documents_complete("system")
    assert c.status == "under_review" and c.missing == ()


def test_adjudicate_refuses_a_negative_amount() -> None:
    c = Claim(status="under_review", payee=CARD)
    with pytest.raises(ValidationError) as err:
        c.adjudicate(M("-0.01"), "adj-1")
    assert err.value.field == "payable"
    assert c.status == "under_review" and c.payable is None
    c.adjudicate(M("0.00"), "adj-1")
    assert (c.status, c.payable) == ("adjudicated", M("0.00"))


# ---- approval within authority (超权限上报) ------------------------------------------------------

def _adjudicated(amount: str) -> Claim:
    c = Claim(status="under_review", payee=CARD)
    c.adjudicate(M(amount), "adj-1")
    return c


@pytest.mark.parametrize(("role", "amount"), [
    ("adjuster", "0.00"), ("adjuster", "4999.99"), ("adjuster", "5000.00"),
    ("supervisor", "5000.01"), ("supervisor", "50000.00"),
    ("branch_head", "50000.01"), ("branch_head", "9999999.99"),
    ("system", "123456.78"),
])
def test_approve_within_authority(role: str, amount: str) -> None:
    c = _adjudicated(amount)
    assert c.approve(role, f"{role}-1") is True
    assert c.status == "approved"
    assert c.approved_amount == M(amount)
    assert c.approval_role is None
    assert c.history[-1] == ("adjudicated", "approved", f"{role}-1")


@pytest.mark.parametrize(("role", "amount", "needed"), [
    ("adjuster", "5000.01", "supervisor"),
    ("adjuster", "30000.00", "supervisor"),
    ("adjuster", "50000.00", "supervisor"),
    ("adjuster", "50000.01", "branch_head"),
    ("supervisor", "50000.01", "branch_head"),
])
def test_approve_beyond_authority_escalates(role: str, amount: str, needed: str) -> None:
    c = _adjudicated(amount)
    assert c.approve(role, "someone") is False
    assert c.status == "pending_approval"
    assert c.approval_role == needed
    assert c.approved_amount is None
    assert c.history[-1] == ("adjudicated", "pending_approval", "someone")


def test_a_supervisor_approves_what_an_adjuster_escalated() -> None:
    c = _adjudicated("30000.00")
    assert c.approve("adjuster", "adj-2") is False
    assert (c.status, c.approval_role) == ("pending_approval", "supervisor")
    assert c.approve("supervisor", "sup-1") is True
    assert (c.status, c.approved_amount, c.approval_role) == ("approved", M("30000.00"), None)
    assert [h[1] for h in c.history] == ["adjudicated", "pending_approval", "approved"]


def test_escalation_climbs_to_the_branch_head() -> None:
    c = _adjudicated("50000.01")
    assert c.approve("adjuster", "adj-2") is False
    assert c.approval_role == "branch_head"
    assert c.approve("supervisor", "sup-1") is False  # still beyond a supervisor
    assert (c.status, c.approval_role) == ("pending_approval", "branch_head")
    assert len(c.history) == 2  # the second refusal does not move the claim
    assert c.approve("branch_head", "head-1") is True
    assert c.approved_amount == M("50000.01")


def test_approve_refuses_an_unknown_role() -> None:
    c = _adjudicated("100.00")
    with pytest.raises(ValidationError) as err:
        c.approve("intern", "x")
    assert err.value.field == "role"
    assert c.status == "adjudicated" and c.approved_amount is None


@pytest.mark.parametrize(("amount", "role"), [
    ("0", "adjuster"), ("5000", "adjuster"), ("5000.01", "supervisor"),
    ("50000", "supervisor"), ("50000.01", "branch_head"), ("1000000", "branch_head"),
])
def test_required_role(amount: str, role: str) -> None:
    assert cl.required_role(M(amount)) == role


def test_within_authority_and_custom_limits() -> None:
    assert cl.within_authority("adjuster", M("5000.00"))
    assert not cl.within_authority("adjuster", M("5000.01"))
    assert cl.within_authority("branch_head", M("1e9"))
    assert not cl.within_authority("system", M("1"))  # not a role with limits
    limits: dict[str, Decimal | None] = {"adjuster": M("1000"), "supervisor": M("2000"),
                                         "branch_head": None}
    assert cl.required_role(M("1000.01"), limits) == "supervisor"
    c = _adjudicated("1500.00")
    assert c.approve("adjuster", "adj-2", limits) is False
    assert c.approval_role == "supervisor"


# ---- payment, advance payment ------------------------------------------------------------------

def test_pay_must_equal_approved_minus_advance() -> None:
    c = Claim(status="under_review", payee=CARD)
    c.advance(M("300.00"), M("1000.00"), "adj-1")
    c.adjudicate(M("1000.00"), "adj-1")
    c.approve("adjuster", "adj-2")
    for wrong in ("1000.00", "699.99", "700.01", "0"):
        with pytest.raises(ValidationError) as err:
            c.pay(M(wrong), "cashier-1")
        assert err.value.field == "amount"
        assert "700.00" in err.value.message
        assert c.status == "approved"
    c.pay(M("700"), "cashier-1")
    assert c.status == "paid"


def test_advance_payment_limits() -> None:
    c = Claim(status="investigating", payee=CARD)
    for amount, determinable in (("0", "1000"), ("-1", "1000"), ("1000.01", "1000")):
        with pytest.raises(ValidationError) as err:
            c.advance(M(amount), M(determinable), "adj-1")
        assert err.value.field == "amount"
    assert c.advance_paid == 0 and c.history == []
    c.advance(M("600.00"), M("1000.00"), "adj-1")
    with pytest.raises(ValidationError):  # 600 + 400.01 > 1000
        c.advance(M("400.01"), M("1000.00"), "adj-1")
    c.advance(M("400.00"), M("1000.00"), "adj-1")
    assert c.advance_paid == M("1000.00")
    assert c.status == "investigating"
    assert c.history == [("investigating", "investigating", "adj-1")] * 2


# ---- rejection, withdrawal, reopening ------------------------------------------------------------

def test_reject_needs_reasons_and_keeps_them_trimmed() -> None:
    c = Claim(status="under_review", payee=CARD)
    for reasons in ([], ["", "   "]):
        with pytest.raises(ValidationError) as err:
            c.reject(reasons, "adj-1")
        assert err.value.field == "reasons"
        assert c.status == "under_review" and c.rejection_reasons == ()
    c.reject(["  属于责任免除：斗殴 ", "", "材料不实"], "adj-1")
    assert c.status == "rejected"
    assert c.rejection_reasons == ("属于责任免除：斗殴", "材料不实")


def test_reopen_returns_to_review_and_clears_the_approval() -> None:
    c = Claim(status="under_review", payee=CARD)
    c.adjudicate(M("30000.00"), "adj-1")
    c.approve("adjuster", "adj-2")
    c.approve("supervisor", "sup-1")
    c.pay(M("30000.00"), "cashier-1")
    c.close("adj-1")
    c.reopen("sup-1")
    assert c.status == "under_review"
    assert c.approved_amount is None and c.approval_role is None
    assert c.reopen_count == 1
    c.reject(["复核后维持不予赔付"], "sup-1")
    c.reopen("sup-1")
    assert c.reopen_count == 2


def test_a_reopened_paid_claim_pays_only_the_difference() -> None:
    c = Claim(status="under_review", payee=CARD)
    c.advance(M("500.00"), M("500.00"), "adj-1")
    c.adjudicate(M("1800.00"), "adj-1")
    c.approve("adjuster", "adj-2")
    c.pay(M("1300.00"), "cashier-1")  # 500 advanced + 1,300 now = 1,800 paid in all
    c.close("adj-1")
    c.reopen("sup-1")
    c.adjudicate(M("2100.00"), "adj-1")  # re-assessed one level higher
    c.approve("adjuster", "adj-2")
    with pytest.raises(ValidationError):
        c.pay(M("2100.00"), "cashier-1")  # never the whole amount twice
    c.pay(M("300.00"), "cashier-1")
    assert c.status == "paid"


def test_a_reopened_rejection_keeps_only_its_advance() -> None:
    c = Claim(status="under_review", payee=CARD)
    c.advance(M("200.00"), M("200.00"), "adj-1")
    c.reject(["材料不实"], "adj-1")
    c.reopen("sup-1")
    c.adjudicate(M("1000.00"), "adj-1")
    c.approve("adjuster", "adj-2")
    c.pay(M("800.00"), "cashier-1")
    assert c.status == "paid"


def test_reopen_clears_a_pending_escalation() -> None:
    c = replace(_claim("rejected"), approval_role="supervisor", approved_amount=M("10"))
    c.reopen("sup-1")
    assert (c.status, c.approval_role, c.approved_amount) == ("under_review", None, None)


# ---- coverage check at registration -------------------------------------------------------------

OK = CoverageFacts(
    incident_date=D(2026, 3, 1), reported_on=D(2026, 3, 10), policy_start=D(2026, 1, 1),
    policy_end=D(2027, 1, 1), policy_covered_on_incident=True, insured_matches=True,
    waiting_period_days=0, time_bar_years=2, claim_type_covered=True, product_line="accident",
)


def test_a_covered_claim_has_no_problems() -> None:
    assert coverage_problems(OK) == []


@pytest.mark.parametrize(("ended_on", "reason", "covered"), [
    (D(2026, 3, 1), "death", True),  # an accident on the day of death caused it: covered
    (D(2026, 2, 28), "death", False),
    (D(2026, 2, 28), "moved_away", False),
    (D(2026, 2, 28), "correction", False),
    (D(2026, 3, 2), "moved_away", True),
    (None, None, True),
])
def test_a_removed_member_is_covered_through_the_removal_date(
        ended_on: date | None, reason: str | None, covered: bool) -> None:
    problems = coverage_problems(replace(OK, member_ended_on=ended_on, member_end_reason=reason))
    assert (problems == []) is covered
    if not covered:
        assert len(problems) == 1 and "退出被保险人清单" in problems[0]
        assert str(ended_on) in problems[0]


def test_insured_mismatch() -> None:
    assert coverage_problems(replace(OK, insured_matches=False)) == ["出险人不是该保单的被保险人"]


def test_outside_the_policy_period() -> None:
    facts = replace(OK, incident_date=D(2025, 12, 31), policy_covered_on_incident=False)
    assert coverage_problems(facts) == [
        "出险日期 2025-12-31 不在保单有效期内（2026-01-01 至 2027-01-01）"]
    no_period = replace(facts, policy_start=None, policy_end=None)
    assert coverage_problems(no_period) == [
        "出险日期 2025-12-31 不在保单有效期内（无有效保险期间）"]


def test_waiting_period() -> None:
    waiting = replace(OK, waiting_period_days=30)
    # covered from the 31st day: 1 Jan + 30 days = 31 Jan
    assert coverage_problems(replace(waiting, incident_date=D(2026, 1, 30),
                                     reported_on=D(2026, 2, 1))) == ["出险日期在 30 天等待期内"]
    assert coverage_problems(replace(waiting, incident_date=D(2026, 1, 31),
                                     reported_on=D(2026, 2, 1))) == []
    # outside the period says so, not "waiting period"
    outside = replace(waiting, incident_date=D(2025, 12, 31), reported_on=D(2026, 2, 1),
                      policy_covered_on_incident=False)
    assert len(coverage_problems(outside)) == 1
    assert "不在保单有效期内" in coverage_problems(outside)[0]


def test_time_bar_two_years() -> None:
    facts = replace(OK, incident_date=D(2024, 3, 10))
    assert coverage_problems(replace(facts, reported_on=D(2026, 3, 10))) == []
    assert coverage_problems(replace(facts, reported_on=D(2026, 3, 11))) == [
        "已超过 2 年诉讼时效（保险法第26条，至 2026-03-10）"]


def test_time_bar_from_29_february() -> None:
    facts = replace(OK, incident_date=D(2024, 2, 29))
    assert coverage_problems(replace(facts, reported_on=D(2026, 2, 28))) == []
    assert coverage_problems(replace(facts, reported_on=D(2026, 3, 1))) == [
        "已超过 2 年诉讼时效（保险法第26条，至 2026-02-28）"]
    # 2028 is a leap year: 29 Feb + 4 years is 29 Feb again
    four = replace(facts, time_bar_years=4)
    assert coverage_problems(replace(four, reported_on=D(2028, 2, 29))) == []
    assert coverage_problems(replace(four, reported_on=D(2028, 3, 1))) == [
        "已超过 4 年诉讼时效（保险法第26条，至 2028-02-29）"]


def test_time_bar_five_years_for_life() -> None:
    facts = replace(OK, incident_date=D(2021, 3, 10), time_bar_years=5, product_line="life")
    assert coverage_problems(replace(facts, reported_on=D(2026, 3, 10))) == []
    assert coverage_problems(replace(facts, reported_on=D(2026, 3, 11))) == [
        "已超过 5 年诉讼时效（保险法第26条，至 2026-03-10）"]


def test_claim_type_not_covered() -> None:
    assert coverage_problems(replace(OK, claim_type_covered=False)) == ["该保单不承保此类理赔"]


def test_incident_after_report() -> None:
    assert coverage_problems(replace(OK, incident_date=D(2026, 3, 11))) == ["出险日期晚于报案日期"]
    assert coverage_problems(replace(OK, incident_date=D(2026, 3, 10))) == []


def test_every_problem_at_once_in_order() -> None:
    facts = replace(OK, insured_matches=False, incident_date=D(2026, 3, 11),
                    policy_covered_on_incident=False, claim_type_covered=False)
    assert coverage_problems(facts) == [
        "出险人不是该保单的被保险人",
        "出险日期晚于报案日期",
        "出险日期 2026-03-11 不在保单有效期内（2026-01-01 至 2027-01-01）",
        "该保单不承保此类理赔",
    ]


# ---- late report (Art. 21) ---------------------------------------------------------------------

@pytest.mark.parametrize(("reported", "late"), [
    (D(2026, 1, 1), False), (D(2026, 1, 31), False), (D(2026, 2, 1), True),
    (D(2026, 12, 31), True),
])
def test_late_report_after_30_days(reported: date, late: bool) -> None:
    assert is_late_report(D(2026, 1, 1), reported) is late


def test_late_report_threshold_is_a_parameter() -> None:
    assert is_late_report(D(2026, 1, 1), D(2026, 1, 11), days=10) is False
    assert is_late_report(D(2026, 1, 1), D(2026, 1, 12), days=10) is True


def test_stage_names_cover_every_status() -> None:
    assert set(cl.STAGE_NAMES) == set(cl.STATUSES)
    assert cl.STAGE_NAMES["pending_approval"] == "待审批"
    assert set(cl.OPEN) == set(cl.STATUSES) - {"closed", "rejected", "withdrawn"}


# ---- four eyes on money (双人复核) ------------------------------------------------------------

@pytest.mark.parametrize("step", ["waive", "facts", "adjudicate"])
def test_whoever_shaped_the_decision_does_not_approve_it(step: str) -> None:
    c = Claim(status="documents_pending", payee=CARD)
    if step == "waive":
        c.waive_documents("adj-1")
    c.documents_complete("adj-2")
    if step == "facts":
        c.enter_facts("adj-1")
    c.adjudicate(M("1000.00"), "adj-1" if step == "adjudicate" else "adj-2")
    with pytest.raises(Forbidden) as err:
        c.approve("adjuster", "adj-1")
    assert err.value.field == "action" and "双人复核" in str(err.value)
    assert c.status == "adjudicated" and c.approved_amount is None
    assert c.approve("supervisor", "sup-1") is True
    assert cl.deciders(c.steps)["adj-1"]


def test_the_approver_does_not_pay_but_anyone_else_may() -> None:
    c = _adjudicated("1000.00")
    c.approve("adjuster", "adj-2")
    with pytest.raises(Forbidden) as err:
        c.pay(M("1000.00"), "adj-2")
    assert err.value.field == "action" and c.status == "approved"
    assert c.pay(M("1000.00"), "adj-1") == CARD  # the adjudicator may pay


@pytest.mark.parametrize("step", ["propose_bank_account", "confirm_bank_account"])
def test_whoever_chose_the_payee_does_not_pay(step: str) -> None:
    c = _adjudicated("1000.00")
    c.approve("adjuster", "adj-2")
    c.steps.append((step, "sup-1"))
    with pytest.raises(Forbidden) as err:
        c.pay(M("1000.00"), "sup-1")
    assert err.value.field == "action" and c.status == "approved"
    assert c.pay(M("1000.00"), "adj-1") == CARD


def test_the_fast_tracks_approval_is_paid_by_anyone() -> None:
    c = Claim(status="under_review", payee=CARD)
    c.adjudicate(M("300.00"), "system")
    c.approve("system", "system")
    c.pay(M("300.00"), "adj-1")
    assert c.status == "paid"


def test_pay_only_to_the_verified_account() -> None:
    c = _adjudicated("1000.00")
    c.approve("adjuster", "adj-2")
    with pytest.raises(Conflict) as err:
        c.pay(M("1000.00"), "cashier-1", OTHER_CARD)
    assert err.value.field == "account" and c.status == "approved"
    c.payee = None
    with pytest.raises(DomainError) as none:
        c.pay(M("1000.00"), "cashier-1", CARD)
    assert none.value.field == "account"
    c.payee = CARD
    assert c.pay(M("1000.00"), "cashier-1", CARD) == CARD


def test_a_reopened_claim_is_a_new_round() -> None:
    c = _adjudicated("1000.00")
    c.approve("adjuster", "adj-2")
    c.pay(M("1000.00"), "cashier-1")
    c.close("adj-1")
    c.reopen("sup-1")
    c.adjudicate(M("1200.00"), "adj-2")
    assert c.approve("adjuster", "adj-1") is True  # last round's adjudicator, not this one's


@pytest.mark.parametrize(("verified", "pending", "actor", "staff", "step"), [
    (None, None, "bot", False, "set"),
    (CARD, None, "bot", False, "set"),  # the same account again changes nothing
    (None, None, "adj-1", True, "propose"),
    (CARD, None, "adj-1", True, "propose"),
    (CARD, (OTHER_CARD, "adj-1"), "adj-2", True, "confirm"),
    (CARD, ("6222020200112233461", "adj-1"), "adj-2", True, "propose"),  # another account
])
def test_a_payee_change_takes_two_people(verified: str | None, pending: tuple[str, str] | None,
                                         actor: str, staff: bool, step: str) -> None:
    account = OTHER_CARD if staff else CARD
    assert cl.payee_change(verified, pending, account, actor, staff) == step


def test_a_payee_change_is_not_confirmed_by_its_author_nor_changed_by_an_integration() -> None:
    with pytest.raises(Forbidden) as err:
        cl.payee_change(CARD, (OTHER_CARD, "adj-1"), OTHER_CARD, "adj-1", True)
    assert err.value.field == "action"
    with pytest.raises(Conflict) as other:
        cl.payee_change(CARD, None, OTHER_CARD, "bot", False)
    assert other.value.field == "account"


def test_registering_a_held_claim_needs_its_problems_and_a_reason_and_bars_the_approver(
) -> None:
    c = _claim("reported")
    with pytest.raises(ValidationError) as exc:
        c.register_anyway([], "民政局确认在册", "sup-1")
    assert exc.value.field == "action"
    with pytest.raises(ValidationError) as exc:
        c.register_anyway(["出险日不在保障期内"], "  ", "sup-1")
    assert exc.value.field == "note" and c.status == "reported"
    c.register_anyway(["出险日不在保障期内"], "民政局确认在册", "sup-1")
    assert c.status == "registered"
    assert cl.deciders(c.steps) == {"sup-1": ["立案核查未通过仍予立案"]}
    assert "register_anyway" in cl.LASTING_STEPS
