"""The policy side's use cases take typed commands: every bad value is a ValidationError naming
its field (nested ones by their path), never a crash; unknown keys and a body's `actor` or
`role` decide nothing; a refused command changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from backoffice.domain.errors import NotFound, ValidationError
from backoffice.domain.identity import make_id_number
from backoffice.services import (
    audit_log,
    endorsements,
    group,
    lookup,
    notifications,
    outlets,
    parties,
    policies,
)
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, PartyUpdate

if TYPE_CHECKING:
    from conftest import Factory

HUGE = 10**10_000  # beyond int → str's digit limit
IDN = make_id_number("110101", date(1980, 5, 6), 11)  # male
WIFE = make_id_number("110101", date(1982, 3, 4), 22)
NO_HEALTH = {"hospitalised_now": False, "disability_existing": False, "epilepsy": False,
             "hypertension": False, "diabetes": False}
PERSON = {"name": "张三", "id_number": IDN, "phone": "13800138000", "occupation_class": 1}
BEN = {"name": "李梅", "relation": "spouse", "id_number": WIFE, "share_pct": 100}
QUOTE = {"product_code": "PA-GUARD", "birth_date": "1980-05-06", "occupation_class": 1}
APPLY = {"product_code": "PA-GUARD", "insured": PERSON, "health_declarations": NO_HEALTH}
UseCase = Callable[..., Any]


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


def _insured(**changes: Any) -> dict[str, Any]:
    return _with(APPLY, insured=_with(PERSON, **changes))


def _cases() -> list[tuple[UseCase, dict[str, Any], str]]:
    """(use case, request, the field its refusal names)."""
    quote, apply = policies.quote_request, policies.apply
    move = {"policy_no": "P20260000000001", "action": "lapse"}
    pay = {"application_no": "A202600000001", "amount": "1.00"}
    endorse = {"policy_no": "P20260000000001", "kind": "change_contact"}
    scheme = {"product_code": "CN-ELDER-ACC", "applicant_name": "某镇",
              "start_date": "2026-01-01"}
    return [
        # quotes
        (quote, {}, "birth_date"),
        *[(quote, _with(QUOTE, birth_date=bad), "birth_date")
          for bad in ("2026-1-5", "2026-01-05T00:00", "１９８０-05-06", ["1980-05-06"], 19800506,
                      None)],
        *[(quote, _with(QUOTE, occupation_class=bad), "occupation_class")
          for bad in ("1", "²", "４", True, 1.0, 7, HUGE, [1], None)],
        (quote, _with(QUOTE, product_code=["PA-GUARD"]), "product_code"),
        (quote, _with(QUOTE, product_code=""), "product_code"),
        (quote, _with(QUOTE, on="2026-01-05T00:00"), "on"),
        (quote, _with(QUOTE, coverages="all"), "coverages"),
        (quote, _with(QUOTE, coverages=[]), "coverages"),
        (quote, _with(QUOTE, coverages=[{"sum_insured": "1.00"}]), "coverages[0].code"),
        (quote, _with(QUOTE, coverages=[{"code": 5}]), "coverages[0].code"),
        *[(quote, _with(QUOTE, coverages=[{"code": "x"}, {"code": "y", "sum_insured": bad}]),
           "coverages[1].sum_insured")
          for bad in ("４.00", HUGE, 1.5, "0", "-1", [], "一万")],
        (quote, _with(QUOTE, payment_mode="weekly"), "payment_mode"),
        (quote, _with(QUOTE, frequency=["annual"]), "frequency"),
        # applications
        (apply, {}, "insured.name"),
        (apply, _with(APPLY, insured="张三"), "insured"),
        (apply, _insured(name=["张三"]), "insured.name"),
        (apply, _insured(id_number=IDN.replace("1", "１", 1)), "insured.id_number"),
        (apply, _insured(birth_date="1980-05-07"), "insured.birth_date"),
        (apply, _insured(birth_date="1980-5-6"), "insured.birth_date"),
        (apply, _insured(gender="female"), "insured.gender"),
        (apply, _insured(phone="1380013800０"), "insured.phone"),
        (apply, _insured(phone=13800138000), "insured.phone"),
        (apply, _insured(address="x" * 201), "insured.address"),
        (apply, _insured(occupation="x" * 61), "insured.occupation"),
        *[(apply, _insured(occupation_class=bad), "insured.occupation_class")
          for bad in ("４", None, HUGE)],
        (apply, _with(APPLY, applicant_relation=["self"]), "applicant_relation"),
        (apply, _with(APPLY, applicant_relation="spouse"), "applicant"),
        (apply, _with(APPLY, applicant_relation="spouse",
                      applicant=_with(PERSON, id_number="x")), "applicant.id_number"),
        (apply, _with(APPLY, application_date="2026-01-05T00:00"), "application_date"),
        (apply, _with(APPLY, start_date="2026-02-30"), "start_date"),
        (apply, _with(APPLY, beneficiaries="李梅"), "beneficiaries"),
        (apply, _with(APPLY, beneficiaries=[BEN] * 11), "beneficiaries"),
        (apply, _with(APPLY, beneficiaries=[_with(BEN, share_pct="²")]),
         "beneficiaries[0].share_pct"),
        (apply, _with(APPLY, beneficiaries=[BEN, _with(BEN, relation="boss")]),
         "beneficiaries[1].relation"),
        (apply, _with(APPLY, beneficiaries=[_with(BEN, name="")]), "beneficiaries[0].name"),
        (apply, _with(APPLY, payment_mode="auto_debit", frequency="monthly",
                      debit_account="６222020200112233446"), "debit_account"),
        (apply, _with(APPLY, payment_mode="auto_debit", frequency="monthly"), "debit_account"),
        (apply, _with(APPLY, health_declarations=[]), "health_declarations"),
        (apply, _with(APPLY, health_declarations={**NO_HEALTH, "diabetes": "no"}),
         "health_declarations.diabetes"),
        (apply, _with(APPLY, health_declarations={**NO_HEALTH, "diabetes": 0}),
         "health_declarations.diabetes"),
        (apply, _with(APPLY, coverages=[{"code": "hospital_allowance", "sum_insured": "0"}]),
         "coverages[0].sum_insured"),
        # underwriting and issue
        (policies.run_underwriting, {}, "application_no"),
        (policies.run_underwriting, {"application_no": ["A1"]}, "application_no"),
        (policies.run_underwriting, {"application_no": "A1", "outcome": "maybe"}, "outcome"),
        *[(policies.run_underwriting, {"application_no": "A1", "outcome": "decline",
                                       "loading_pct": bad}, "loading_pct")
          for bad in ("２０", "NaN", "-5", HUGE, [], True, 2.5)],
        (policies.run_underwriting, {"application_no": "A1", "reasons": "因为"}, "reasons"),
        (policies.run_underwriting, {"application_no": "A1", "reasons": ["好", ""]},
         "reasons[1]"),
        (policies.run_underwriting, {"application_no": "A1", "reasons": [5]}, "reasons[0]"),
        (policies.run_underwriting, {"application_no": "A1", "reasons": ["x"] * 21},
         "reasons"),
        (policies.issue, {}, "application_no"),
        (policies.issue, {"application_no": "A 1"}, "application_no"),
        (policies.issue, {"application_no": HUGE}, "application_no"),
        # payments
        (policies.record_payment, {"application_no": "A1"}, "amount"),
        *[(policies.record_payment, _with(pay, amount=bad), "amount")
          for bad in (HUGE, -HUGE, "４.50", "²", 10.5, "NaN", "1e12", "0", [], {}, True)],
        (policies.record_payment, _with(pay, method=["cash"]), "method"),
        (policies.record_payment, _with(pay, method="IOU"), "method"),
        (policies.record_payment, _with(pay, reference=5), "reference"),
        (policies.record_payment, _with(pay, reference="x" * 61), "reference"),
        (policies.record_payment, {"amount": "1.00"}, "policy_no"),
        # lifecycle moves: a reinstatement's payment is named as any payment is
        (policies.transition, {"policy_no": "P1"}, "action"),
        (policies.transition, _with(move, action=["lapse"]), "action"),
        (policies.transition, _with(move, action="resurrect"), "action"),
        (policies.transition, _with(move, policy_no=None), "policy_no"),
        (policies.transition, _with(move, today="2026-1-5"), "today"),
        (policies.transition, _with(move, today="2026-01-05T00:00"), "today"),
        (policies.transition, _with(move, payment="cash"), "payment"),
        (policies.transition, _with(move, payment={"amount": "４"}), "amount"),
        (policies.transition, _with(move, payment={"amount": "1.00", "method": "IOU"}),
         "method"),
        (policies.transition, _with(move, health_declarations={"diabetes": 1}),
         "health_declarations.diabetes"),
        # endorsements
        (endorsements.endorse, {"policy_no": "P1"}, "kind"),
        (endorsements.endorse, _with(endorse, kind=5), "kind"),
        (endorsements.endorse, _with(endorse, kind="explode"), "kind"),
        (endorsements.endorse, _with(endorse, effective_date="2026-01-05T00:00"),
         "effective_date"),
        (endorsements.endorse, _with(endorse, phone="1380013800０"), "phone"),
        (endorsements.endorse, _with(endorse, address=""), "address"),
        (endorsements.endorse, _with(endorse, address=["峡山"]), "address"),
        (endorsements.endorse, _with(endorse, coverage_code=[]), "coverage_code"),
        (endorsements.endorse, _with(endorse, sum_insured=HUGE), "sum_insured"),
        (endorsements.endorse, _with(endorse, kind="change_beneficiary",
                                     beneficiaries=[_with(BEN, id_number="x")]),
         "beneficiaries[0].id_number"),
        # party updates: identity fields are refused, not ignored
        (parties.update_party, {"phone": "13900000000"}, "id_number"),
        (parties.update_party, {"id_number": IDN.replace("0", "０", 1), "phone": "13900000000"},
         "id_number"),
        (parties.update_party, {"id_number": IDN}, "body"),
        (parties.update_party, {"id_number": IDN, "actor": "x", "role": "administrator"},
         "body"),
        (parties.update_party, {"id_number": IDN, "phone": ["13900000000"]}, "phone"),
        (parties.update_party, {"id_number": IDN, "occupation_class": "²"}, "occupation_class"),
        (parties.update_party, {"id_number": IDN, "occupation": "x" * 61}, "occupation"),
        (parties.update_party, {"id_number": IDN, "address": "  "}, "address"),
        *[(parties.update_party, {"id_number": IDN, "phone": "13900000000", key: value}, key)
          for key, value in (("name", "李四"), ("gender", "male"), ("birth_date", None))],
        # group policies
        (group.create_group_policy, {}, "applicant_name"),
        (group.create_group_policy, _with(scheme, applicant_name=["某镇"]), "applicant_name"),
        (group.create_group_policy, _with(scheme, applicant_name="x" * 101), "applicant_name"),
        (group.create_group_policy, _with(scheme, applicant_name=" "), "applicant_name"),
        *[(group.create_group_policy, _with(scheme, start_date=bad), "start_date")
          for bad in ("2026-1-1", "2026-01-01T00:00", 20260101, None)],
        (group.create_group_policy, _with(scheme, product_code=5), "product_code"),
        (group.auto_enroll, {}, "policy_no"),
        (group.auto_enroll, {"policy_no": 5}, "policy_no"),
        (group.auto_enroll, {"policy_no": "G1", "as_of": "2026-1-5"}, "as_of"),
        # dead letters
        *[(notifications.requeue_dead, {"ids": bad}, "ids")
          for bad in ("1", [1, "2"], [True], [1.5], [HUGE], [0], list(range(1, 1002)))],
        # reads: their query parameters
        (lookup.policies_for_id_number, {}, "id_number"),
        (lookup.policies_for_id_number, {"id_number": ""}, "id_number"),
        (lookup.policies_for_id_number, {"id_number": [IDN]}, "id_number"),
        (lookup.policies_for_id_number, {"id_number": IDN.replace("1", "１")}, "id_number"),
        (outlets.list_outlets, {"town": ["峡山"]}, "town"),
        (outlets.list_outlets, {"town": "x" * 61}, "town"),
        (outlets.list_outlets, {"service": 5}, "service"),
        (audit_log.entries, {}, "entity_type"),
        (audit_log.entries, {"entity_type": "policy"}, "entity_id"),
        (audit_log.entries, {"entity_id": "P1"}, "entity_type"),
        (audit_log.entries, {"entity_type": "", "entity_id": "P1"}, "entity_type"),
        (audit_log.entries, {"entity_type": "policy", "entity_id": ["P1"]}, "entity_id"),
    ]


USE_CASES = [policies.quote_request, policies.apply, policies.run_underwriting, policies.issue,
             policies.record_payment, policies.transition, endorsements.endorse,
             parties.update_party, group.create_group_policy, group.auto_enroll,
             notifications.requeue_dead, lookup.policies_for_id_number, outlets.list_outlets,
             audit_log.entries]


def _audits(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def test_bad_values_are_refused_naming_their_field(db: Database) -> None:
    before = _audits(db)
    failures = []
    for use_case, raw, field in _cases():
        try:
            use_case(db, raw, "clerk-1")
        except ValidationError as exc:
            if exc.field != field or not exc.message:
                failures.append(f"{use_case.__name__} {str(raw)[:100]}: "
                                f"{exc.field} {exc.message} (wanted {field})")
        else:
            failures.append(f"{use_case.__name__} {str(raw)[:100]}: accepted")
    assert not failures, "\n".join(failures)
    assert _audits(db) == before


def test_a_request_that_is_not_a_mapping_is_refused(db: Database) -> None:
    for use_case in USE_CASES:
        for raw in (["x"], "x", None, 5):
            with pytest.raises(ValidationError) as exc:
                use_case(db, raw, "clerk-1")
            assert exc.value.field == "body", use_case.__name__


def test_every_use_case_declares_its_command() -> None:
    for use_case in USE_CASES:
        command = use_case.command  # type: ignore[attr-defined]
        assert command.__name__ and command.model_json_schema()["type"] == "object"


def test_refusal_messages_are_chinese_and_list_the_domain_values(db: Database) -> None:
    with pytest.raises(ValidationError) as exc:
        policies.record_payment(db, {"policy_no": "P1", "amount": "1.00", "method": "IOU"}, "c")
    assert exc.value.message == "须为 bank_transfer, auto_debit, wechat_pay, cash, card 之一"
    with pytest.raises(ValidationError) as exc:
        policies.quote_request(db, _with(QUOTE, occupation_class="²"), "c")
    assert exc.value.message == "职业类别须为 1–6 的整数"


# ---- what is ignored, and what still works ------------------------------------------------------

def test_unknown_keys_and_a_bodys_actor_decide_nothing(db: Database, factory: Factory) -> None:
    person = factory.person()
    noise = {"actor": "intruder", "role": "administrator", "colour": "blue"}
    app = policies.apply(db, {**factory.request(insured={**person, "hobby": "chess"}),
                              **noise}, "agent-1")
    ref = {"application_no": app["application_no"]}
    uw = policies.run_underwriting(db, {**ref, **noise}, "underwriter-1")
    policies.record_payment(db, {**ref, **noise, "amount": uw["premium"]["instalment"]},
                            "cashier-1")
    issued = policies.issue(db, {**ref, **noise}, "underwriter-1")
    no = issued["policy_no"]
    moved = endorsements.endorse(db, {"policy_no": no, "kind": "change_contact",
                                      "phone": "13911112222", **noise}, "clerk-1")
    assert moved["endorsement"]["actor"] == "clerk-1"
    done = parties.update_party(db, {"id_number": person["id_number"], "occupation": "教师",
                                     **noise}, "clerk-2")
    assert done["changed"] == ["occupation"]
    actors = [e["actor"] for e in audit_log.entries(
        db, {"entity_type": "policy", "entity_id": no, **noise}, "auditor")]
    assert actors == ["agent-1", "underwriter-1", "cashier-1", "underwriter-1", "clerk-1"]
    with db.read() as s:
        assert s.execute(select(PartyUpdate.actor).where(
            PartyUpdate.field == "occupation")).scalars().all() == ["clerk-2"]
    found = lookup.policies_for_id_number(db, {"id_number": person["id_number"], **noise}, "x")
    assert [p["policy_no"] for p in found] == [no]


def test_a_command_instance_and_the_cmd_keyword_are_taken_as_they_are(
    db: Database, factory: Factory
) -> None:
    uw = factory.accepted()
    ref = uw["application_no"]
    cmd = policies.RecordPayment(application_no=ref, amount=uw["premium"]["instalment"])
    policies.record_payment(db, cmd, "cashier-1")
    issued = policies.issue(db, cmd={"application_no": ref}, actor="underwriter-1")
    assert issued["status"] == "in_force"


def test_quote_takes_defaults_and_coverage_sums(db: Database) -> None:
    answer = policies.quote_request(db, {**QUOTE, "on": "2026-06-01", "coverages": [
        {"code": "accidental_death_disability", "sum_insured": "100000.00"},
        {"code": "hospital_allowance"}]}, "")
    # age 46 on 2026-06-01; the allowance at its default sum insured
    assert answer["annual_premium"] == answer["total_premium"]
    assert answer["instalments"] == 1
    with pytest.raises(ValidationError) as exc:
        policies.quote_request(db, {**QUOTE, "coverages": [
            {"code": "hospital_allowance"}, {"code": "hospital_allowance"}]}, "")
    assert exc.value.field == "coverages[1].code"


def test_underwriters_decision_through_the_command(db: Database, factory: Factory) -> None:
    app = factory.apply(health={"hypertension": True})
    ref = {"application_no": app["application_no"]}
    with pytest.raises(ValidationError) as exc:
        policies.run_underwriting(db, {**ref, "outcome": "accept_with_loading",
                                       "loading_pct": "500", "reasons": ["高血压"]}, "u")
    assert exc.value.field == "loading_pct"  # above the product's maximum: the domain's rule
    done = policies.run_underwriting(db, {**ref, "outcome": "accept_with_loading",
                                          "loading_pct": 25, "reasons": [" 高血压 "]}, "u")
    assert (done["underwriting"]["loading_pct"], done["underwriting"]["reasons"]) == (
        "25", ["高血压"])


def test_reinstatement_payment_is_refused_by_its_own_field_names(
    db: Database, factory: Factory
) -> None:
    issued = factory.issued(mode="instalments", frequency="monthly")
    no = issued["policy_no"]
    with pytest.raises(ValidationError) as exc:
        policies.transition(db, {"policy_no": no, "action": "reinstate",
                                 "payment": {"amount": "x"}}, "c")
    assert exc.value.field == "amount"


def test_an_application_number_is_not_a_policy_number(db: Database, factory: Factory) -> None:
    app_no = factory.accepted()["application_no"]
    for use_case, raw in ((policies.transition, {"action": "cancel"}),
                          (endorsements.endorse, {"kind": "surrender"})):
        with pytest.raises(NotFound) as exc:
            use_case(db, {**raw, "policy_no": app_no}, "c")
        assert exc.value.field == "policy_no"


def test_group_policy_and_auto_enrollment_defaults(db: Database) -> None:
    made = group.create_group_policy(db, {"product_code": "CN-ELDER-ACC",
                                          "applicant_name": " 潮南区民政局 ",
                                          "start_date": "2026-01-01"}, "admin")
    assert (made["start_date"], made["end_date"]) == ("2026-01-01", "2027-01-01")
    assert group.auto_enroll(db, {"policy_no": made["policy_no"]}, "scheduler") == 0
    for far in ("9999-12-31", "0001-01-01"):
        with pytest.raises(ValidationError) as exc:
            group.auto_enroll(db, {"policy_no": made["policy_no"], "as_of": far}, "s")
        assert exc.value.field == "as_of"
    entries = audit_log.entries(db, {"entity_type": "policy",
                                     "entity_id": made["policy_no"]}, "auditor")
    assert [(e["actor"], e["after"]["applicant"]) for e in entries] == [
        ("admin", "潮南区民政局")]


def test_outlets_by_town_and_service(db: Database) -> None:
    outlets.install_outlets(db, [
        {"code": "O1", "name": "峡山网点", "town": "峡山街道", "address": "一路1号",
         "phone": "0754-1234567", "opening_hours": {}, "opening_hours_text": "周一至周五",
         "services": ["claims"]},
        {"code": "O2", "name": "陈店网点", "town": "陈店镇", "address": "二路2号",
         "phone": "0754-7654321", "opening_hours": {}, "opening_hours_text": "周一至周五",
         "services": ["policies"]}])

    def codes(raw: dict[str, Any]) -> list[str]:
        return [o["code"] for o in outlets.list_outlets(db, raw, "")]

    assert codes({}) == ["O1", "O2"]
    assert codes({"town": "  "}) == ["O1", "O2"]  # blank: no filter
    assert codes({"town": "峡山"}) == ["O1"]
    assert codes({"service": "policies"}) == ["O2"]


def test_requeue_names_the_dead_letters_or_all(db: Database) -> None:
    assert notifications.requeue_dead(db, {"ids": []}, "ops-1") == 0
    assert notifications.requeue_dead(db, {"ids": [1, 2]}, "ops-1") == 0
    assert notifications.requeue_dead(db, {}, "ops-1") == 0


def test_extreme_dates_are_refused_by_field(db: Database, factory: Factory) -> None:
    person = factory.person()
    for changes, field in (({"application_date": "9999-12-31"}, "application_date"),
                           ({"start_date": "0001-01-01"}, "start_date")):
        with pytest.raises(ValidationError) as exc:
            policies.apply(db, {**factory.request(insured=person), **changes}, "agent-1")
        assert exc.value.field == field
    issued = factory.issued()
    with pytest.raises(ValidationError) as exc:
        policies.transition(db, {"policy_no": issued["policy_no"], "action": "expire",
                                 "today": (date(2999, 12, 31) + timedelta(days=1)).isoformat()},
                            "c")
    assert exc.value.field == "today"


def test_an_approved_request_applies_its_details_in_the_callers_transaction(
    db: Database, factory: Factory
) -> None:
    no = factory.issued()["policy_no"]
    with db.transaction() as s:
        done = endorsements.apply_endorsement(
            s, no, {"kind": "change_beneficiary", "beneficiaries": [BEN]}, "clerk-1")
    assert (done["endorsement"]["kind"], done["beneficiaries"]) == (
        "change_beneficiary", [{"name": "李梅", "relation": "spouse", "share_pct": 100}])
    with pytest.raises(ValidationError) as exc, db.transaction() as s:
        endorsements.apply_endorsement(s, no, {"kind": "change_contact", "phone": "12345"}, "c")
    assert exc.value.field == "phone"
