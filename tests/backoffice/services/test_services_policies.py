"""Individual policies through the services: apply → underwrite → pay → issue, and the lifecycle."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from backoffice.domain.errors import DomainError, IllegalTransition, ValidationError
from backoffice.domain.policy import add_months
from backoffice.services import policies
from backoffice.services.base import today_cn
from backoffice.store.db import Database
from backoffice.store.models import Payment, PolicyRow, PremiumInstalment

if TYPE_CHECKING:
    from conftest import Factory


def _payments(db: Database, ref: str) -> list[Payment]:
    with db.read() as s:
        pid = s.execute(select(PolicyRow.id).where(
            (PolicyRow.application_no == ref) | (PolicyRow.policy_no == ref))).scalar_one()
        return list(s.execute(select(Payment).where(Payment.policy_id == pid)
                              .order_by(Payment.id)).scalars())


def _instalments(db: Database, ref: str) -> list[PremiumInstalment]:
    with db.read() as s:
        pid = s.execute(select(PolicyRow.id).where(
            (PolicyRow.application_no == ref) | (PolicyRow.policy_no == ref))).scalar_one()
        return list(s.execute(select(PremiumInstalment).where(PremiumInstalment.policy_id == pid)
                              .order_by(PremiumInstalment.seq)).scalars())


# ---- application, underwriting, premium, issue ---------------------------------------------

def test_apply_files_an_application_priced_from_the_rate_table(factory: Factory) -> None:
    app = factory.apply()
    assert app["status"] == "applied"
    assert app["policy_no"] is None
    assert app["application_no"].startswith(f"A{today_cn().year}")
    # age 36 (band 18–40): 100000 / 1000 × 0.60 + 100 / 10 × 3.00 = 60 + 30
    assert app["premium"]["annual"] == "90.00"
    assert app["premium"]["instalment"] == "90.00"
    assert app["premium"]["instalments"] == 1
    assert app["insured"]["id_number"].count("*") == 8
    assert {c["code"]: c["sum_insured"] for c in app["coverages"]} == {
        "accidental_death_disability": "100000.00", "hospital_allowance": "100.00"}


def test_full_lifecycle_apply_underwrite_pay_issue(db: Database, factory: Factory) -> None:
    app = factory.apply()
    ref = app["application_no"]
    uw = policies.run_underwriting(db, {"application_no": ref}, "underwriter-1")
    assert uw["status"] == "accepted"
    assert uw["underwriting"]["outcome"] == "accept"
    assert uw["underwriting"]["reasons"]
    assert [i["status"] for i in uw["premium_schedule"]] == ["due"]

    paid = policies.record_payment(db, {"application_no": ref, "amount": "90.00",
                                        "method": "wechat_pay", "reference": "WX-1"}, "cashier-1")
    assert paid["status"] == "accepted"
    assert [i["status"] for i in paid["premium_schedule"]] == ["paid"]
    assert [(p["kind"], p["amount"]) for p in paid["payments"]] == [("premium", "90.00")]

    issued = policies.issue(db, {"application_no": ref}, "underwriter-1")
    start = today_cn() + timedelta(days=1)
    assert issued["status"] == "in_force"
    assert issued["policy_no"].startswith(f"P{today_cn().year}")
    assert issued["start_date"] == start.isoformat()
    assert issued["end_date"] == add_months(start, 12).isoformat()
    # the same policy by either number
    assert policies.get_policy(db, issued["policy_no"])["application_no"] == ref


def test_loading_reprices_the_policy(db: Database, factory: Factory) -> None:
    app = factory.apply(health={"hypertension": True})
    assert app["premium"]["annual"] == "90.00"
    uw = policies.run_underwriting(db, {"application_no": app["application_no"]}, "underwriter-1")
    assert uw["status"] == "accepted"
    assert uw["underwriting"]["outcome"] == "accept_with_loading"
    assert uw["underwriting"]["loading_pct"] == "20"
    assert any("高血压" in r for r in uw["underwriting"]["reasons"])
    assert uw["premium"]["annual"] == "108.00"  # 90 × 1.20
    assert uw["premium_schedule"][0]["amount"] == "108.00"
    # the old price no longer pays the first premium
    with pytest.raises(ValidationError) as exc:
        policies.record_payment(db, {"application_no": app["application_no"], "amount": "90.00"},
                                "cashier-1")
    assert exc.value.field == "amount"
    ref = {"application_no": app["application_no"]}
    policies.record_payment(db, {**ref, "amount": "108.00"}, "cashier-1")
    assert policies.issue(db, ref, "u")["status"] == "in_force"


@pytest.mark.parametrize(("health", "status", "outcome", "word"), [
    ({"disability_existing": True}, "declined", "decline", "残疾"),
    ({"hospitalised_now": True}, "postponed", "postpone", "住院"),
])
def test_declined_and_postponed_have_reasons_and_cannot_be_issued(
    db: Database, factory: Factory, health: dict[str, bool], status: str, outcome: str,
    word: str,
) -> None:
    app = factory.apply(health=health)
    ref = app["application_no"]
    uw = policies.run_underwriting(db, {"application_no": ref}, "underwriter-1")
    assert uw["status"] == status
    assert uw["underwriting"]["outcome"] == outcome
    assert uw["underwriting"]["reasons"]
    assert any(word in r for r in uw["underwriting"]["reasons"])
    assert uw["premium_schedule"] == []
    audits = factory.audit_count(ref)
    with pytest.raises(IllegalTransition):
        policies.issue(db, {"application_no": ref}, "underwriter-1")
    with pytest.raises(DomainError):
        policies.record_payment(db, {"application_no": ref, "amount": "90.00"}, "cashier-1")
    row = factory.row(ref)
    assert row.status == status and row.policy_no is None
    assert factory.audit_count(ref) == audits
    # underwriting again is not a way around the decision
    with pytest.raises(IllegalTransition):
        policies.run_underwriting(db, {"application_no": ref}, "underwriter-1")


def test_paying_the_wrong_amount_is_refused_and_changes_nothing(
    db: Database, factory: Factory
) -> None:
    uw = factory.accepted()
    ref = uw["application_no"]
    before_audits = factory.audit_count(ref)
    for amount in ("89.99", "90.01", "180.00"):
        with pytest.raises(ValidationError) as exc:
            policies.record_payment(db, {"application_no": ref, "amount": amount}, "cashier-1")
        assert exc.value.field == "amount"
        assert "90.00" in exc.value.message
    assert _payments(db, ref) == []
    assert [i.status for i in _instalments(db, ref)] == ["due"]
    assert factory.row(ref).status == "accepted"
    assert factory.audit_count(ref) == before_audits


def test_issue_without_first_premium_is_refused(db: Database, factory: Factory) -> None:
    uw = factory.accepted()
    ref = uw["application_no"]
    audits = factory.audit_count(ref)
    with pytest.raises(DomainError) as exc:
        policies.issue(db, {"application_no": ref}, "underwriter-1")
    assert exc.value.field == "payment"
    row = factory.row(ref)
    assert row.status == "accepted"
    assert row.policy_no is None and row.start_date is None
    assert factory.audit_count(ref) == audits


def test_instalment_schedule_and_next_payment(db: Database, factory: Factory) -> None:
    issued = factory.issued(mode="instalments", frequency="monthly")
    start = date.fromisoformat(issued["start_date"])
    schedule = issued["premium_schedule"]
    assert len(schedule) == 12
    assert {i["amount"] for i in schedule} == {"8.10"}  # 90.00 × 0.09
    assert [i["due_date"] for i in schedule] == [add_months(start, k).isoformat()
                                                 for k in range(12)]
    assert [i["status"] for i in schedule[:2]] == ["paid", "due"]


# ---- lifecycle transitions ---------------------------------------------------------------

def _monthly(factory: Factory) -> tuple[str, date, date]:
    """An issued monthly policy: its number, start date and second due date."""
    issued = factory.issued(mode="instalments", frequency="monthly")
    start = date.fromisoformat(issued["start_date"])
    return issued["policy_no"], start, add_months(start, 1)


def _refused(db: Database, factory: Factory, no: str, raw: dict[str, Any],
             error: type[DomainError] = DomainError) -> DomainError:
    row = factory.row(no)
    audits = factory.audit_count(no)
    with pytest.raises(error) as exc:
        policies.transition(db, {**raw, "policy_no": no}, "clerk-1")
    after = factory.row(no)
    assert (after.status, after.version, after.due_date, after.grace_ends_on, after.lapsed_on,
            after.ended_on) == (row.status, row.version, row.due_date, row.grace_ends_on,
                                row.lapsed_on, row.ended_on)
    assert factory.audit_count(no) == audits
    return exc.value


def test_premium_due_grace_lapse_reinstate(db: Database, factory: Factory) -> None:
    no, start, due = _monthly(factory)

    policy = policies.transition(db, {"policy_no": no, "action": "premium_due",
                                      "today": due.isoformat()}, "scheduler")
    assert policy["status"] == "premium_due"
    assert factory.row(no).due_date == due

    err = _refused(db, factory, no, {"action": "start_grace", "today": due.isoformat()})
    assert err.field == "today"
    _refused(db, factory, no, {"action": "lapse", "today": due.isoformat()}, IllegalTransition)

    day = due + timedelta(days=1)
    policy = policies.transition(db, {"policy_no": no, "action": "start_grace",
                                      "today": day.isoformat()}, "scheduler")
    assert policy["status"] == "grace_period"
    grace_end = due + timedelta(days=60)
    assert policy["grace_ends_on"] == grace_end.isoformat()

    _refused(db, factory, no, {"action": "lapse", "today": grace_end.isoformat()})
    lapse_day = grace_end + timedelta(days=1)
    policy = policies.transition(db, {"policy_no": no, "action": "lapse",
                                      "today": lapse_day.isoformat()}, "scheduler")
    assert policy["status"] == "lapsed"
    assert policy["lapsed_on"] == lapse_day.isoformat()

    # reinstatement: arrears in one payment, health declared again
    today = lapse_day + timedelta(days=10)
    owed = [i for i in _instalments(db, no) if i.status == "due" and i.due_date <= today]
    assert len(owed) >= 2
    arrears = f"{sum(i.amount_fen for i in owed) / 100:.2f}"
    base = {"action": "reinstate", "today": today.isoformat(),
            "health_declarations": factory.request()["health_declarations"]}
    _refused(db, factory, no, base, ValidationError)  # no payment
    _refused(db, factory, no, {**base, "payment": {"amount": "8.10"}}, ValidationError)
    worse = {**base, "payment": {"amount": arrears},
             "health_declarations": {**base["health_declarations"], "diabetes": True}}
    assert _refused(db, factory, no, worse).field == "health_declarations"
    too_late = {**base, "today": add_months(lapse_day, 24).isoformat(),
                "payment": {"amount": arrears}}
    assert _refused(db, factory, no, too_late).field == "today"

    policy = policies.transition(db, {"policy_no": no, **base, "payment": {"amount": arrears}},
                                 "clerk-1")
    assert policy["status"] == "in_force"
    assert policy["grace_ends_on"] is None and policy["lapsed_on"] is None
    lines = _instalments(db, no)
    assert all(i.status == "paid" for i in lines if i.due_date <= today)
    assert any(i.status == "due" for i in lines)
    moves = factory.audits(no)[-4:]
    assert [(e.action, e.actor, e.before["status"], e.after["status"]) for e in moves] == [
        ("premium_due", "scheduler", "in_force", "premium_due"),
        ("start_grace", "scheduler", "premium_due", "grace_period"),
        ("lapse", "scheduler", "grace_period", "lapsed"),
        ("reinstate", "clerk-1", "lapsed", "in_force")]
    assert moves[-1].after["arrears_paid"] == arrears


def test_paying_in_premium_due_or_grace_restores_in_force(db: Database, factory: Factory) -> None:
    no, _, due = _monthly(factory)
    policies.transition(db, {"policy_no": no, "action": "premium_due", "today": due.isoformat()},
                        "s")
    policies.transition(db, {"policy_no": no, "action": "start_grace",
                             "today": (due + timedelta(days=5)).isoformat()}, "s")
    paid = policies.record_payment(db, {"policy_no": no, "amount": "8.10"}, "cashier-1")
    assert paid["status"] == "in_force"
    assert paid["grace_ends_on"] is None
    assert [i["status"] for i in paid["premium_schedule"][:3]] == ["paid", "paid", "due"]


def test_premium_due_needs_an_unpaid_instalment(db: Database, factory: Factory) -> None:
    no = factory.issued()["policy_no"]  # single premium: nothing more to pay
    err = _refused(db, factory, no, {"action": "premium_due",
                                     "today": (today_cn() + timedelta(days=40)).isoformat()})
    assert err.field == "action"


def test_unknown_action_is_refused(db: Database, factory: Factory) -> None:
    no = factory.issued()["policy_no"]
    assert _refused(db, factory, no, {"action": "resurrect"}, ValidationError).field == "action"


def test_expire_only_at_the_end_of_the_term(db: Database, factory: Factory) -> None:
    issued = factory.issued()
    no, end = issued["policy_no"], date.fromisoformat(issued["end_date"])
    _refused(db, factory, no, {"action": "expire",
                               "today": (end - timedelta(days=1)).isoformat()})
    policy = policies.transition(db, {"policy_no": no, "action": "expire",
                                      "today": end.isoformat()}, "s")
    assert policy["status"] == "expired"
    assert policy["ended_on"] == end.isoformat()
    last = factory.audits(no)[-1]
    assert (last.action, last.actor, last.before["status"], last.after["status"]) == (
        "expire", "s", "in_force", "expired")
    _refused(db, factory, no, {"action": "expire", "today": end.isoformat()}, IllegalTransition)


def test_cancel_in_cooling_off_refunds_everything(db: Database, factory: Factory) -> None:
    issued = factory.issued(mode="instalments", frequency="quarterly")
    no, start = issued["policy_no"], date.fromisoformat(issued["start_date"])
    first = issued["premium_schedule"][0]["amount"]  # 90 × 0.265 = 23.85
    assert first == "23.85"
    policy = policies.transition(db, {"policy_no": no, "action": "cancel",
                                      "today": (start + timedelta(days=14)).isoformat()}, "c")
    assert policy["status"] == "cancelled"
    refunds = [p for p in _payments(db, no) if p.kind == "refund"]
    assert [p.amount_fen for p in refunds] == [-2385]
    assert {i.status for i in _instalments(db, no)} == {"paid", "cancelled"}
    last = factory.audits(no)[-1]
    assert (last.action, last.actor, last.before["status"], last.after["status"]) == (
        "cancel", "c", "in_force", "cancelled")
    assert last.after["refund"] == "23.85"


def test_cancel_after_cooling_off_is_refused(db: Database, factory: Factory) -> None:
    issued = factory.issued()
    no, start = issued["policy_no"], date.fromisoformat(issued["start_date"])
    _refused(db, factory, no, {"action": "cancel",
                               "today": (start + timedelta(days=15)).isoformat()})
    assert [p.kind for p in _payments(db, no)] == ["premium"]


def test_transition_on_unknown_policy(db: Database) -> None:
    with pytest.raises(DomainError) as exc:
        policies.transition(db, {"policy_no": "P20269999999999", "action": "expire"}, "c")
    assert exc.value.field == "policy_no"


# ---- the scheduler's sweep -------------------------------------------------------------------

def test_policy_clock_premium_due_grace_lapse(db: Database, factory: Factory) -> None:
    no, _, due = _monthly(factory)
    assert policies.policy_clock(db, due - timedelta(days=1)) == {
        "premium_due": 0, "start_grace": 0, "lapse": 0, "expire": 0}
    assert factory.row(no).status == "in_force"

    assert policies.policy_clock(db, due)["premium_due"] == 1
    assert factory.row(no).status == "premium_due"
    assert policies.policy_clock(db, due)["start_grace"] == 0  # the due day itself

    assert policies.policy_clock(db, due + timedelta(days=1))["start_grace"] == 1
    assert factory.row(no).status == "grace_period"
    assert policies.policy_clock(db, due + timedelta(days=60))["lapse"] == 0

    counts = policies.policy_clock(db, due + timedelta(days=61))
    assert counts["lapse"] == 1
    row = factory.row(no)
    assert row.status == "lapsed" and row.lapsed_on == due + timedelta(days=61)
    # a lapsed policy is no longer swept
    assert sum(policies.policy_clock(db, due + timedelta(days=90)).values()) == 0
    actors = {e.actor for e in factory.audits(no)[-3:]}
    assert actors == {"scheduler"}


def test_policy_clock_expires_at_the_end(db: Database, factory: Factory) -> None:
    issued = factory.issued()
    no, end = issued["policy_no"], date.fromisoformat(issued["end_date"])
    assert policies.policy_clock(db, end - timedelta(days=1))["expire"] == 0
    assert policies.policy_clock(db, end)["expire"] == 1
    assert factory.row(no).status == "expired"
    assert policies.policy_clock(db, end)["expire"] == 0


def test_policy_clock_leaves_unissued_applications_alone(db: Database, factory: Factory) -> None:
    uw = factory.accepted(mode="instalments", frequency="monthly")
    assert sum(policies.policy_clock(db, today_cn() + timedelta(days=400)).values()) == 0
    assert factory.row(uw["application_no"]).status == "accepted"


# ---- audit trail -------------------------------------------------------------------------------

def test_every_state_change_is_audited_with_actor_and_before_after(
    db: Database, factory: Factory
) -> None:
    issued = factory.issued(mode="instalments", frequency="monthly")
    app_no, no = issued["application_no"], issued["policy_no"]
    due = date.fromisoformat(issued["premium_schedule"][1]["due_date"])
    policies.transition(db, {"policy_no": no, "action": "premium_due", "today": due.isoformat()},
                        "clerk-2")
    entries = factory.audits(app_no, no)
    assert [e.action for e in entries] == [
        "apply", "underwrite", "premium_paid", "issue", "premium_due"]
    assert [e.actor for e in entries] == [
        "agent-1", "underwriter-1", "cashier-1", "underwriter-1", "clerk-2"]
    assert entries[0].before is None and entries[0].after["status"] == "applied"
    for e, (was, now) in zip(entries[1:], [("applied", "accepted"), ("accepted", "accepted"),
                                           ("accepted", "in_force"),
                                           ("in_force", "premium_due")], strict=True):
        assert e.entity_type == "policy"
        assert (e.before["status"], e.after["status"]) == (was, now)
        assert e.at.tzinfo is not None
    assert entries[1].after["outcome"] == "accept"
    assert entries[2].after["amount"] == "8.10"
    assert entries[3].after["application_no"] == app_no
    assert entries[4].after["due_date"] == due.isoformat()


def test_policy_numbers_are_distinct(db: Database, factory: Factory) -> None:
    numbers = [factory.issued()["policy_no"] for _ in range(3)]
    assert len(set(numbers)) == 3
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(PolicyRow)).scalar_one() == 3
