"""Endorsements (保全) and party updates through the services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from backoffice.domain.errors import DomainError, ValidationError
from backoffice.domain.identity import make_id_number
from backoffice.services import endorsements, parties, policies
from backoffice.services.base import today_cn
from backoffice.store.db import Database
from backoffice.store.models import (
    Beneficiary,
    Endorsement,
    Party,
    PartyUpdate,
    Payment,
    PolicyRow,
)

if TYPE_CHECKING:
    from conftest import Factory


def _policy_id(db: Database, no: str) -> int:
    with db.read() as s:
        return int(s.execute(select(PolicyRow.id).where(PolicyRow.policy_no == no)).scalar_one())


def _payments(db: Database, no: str) -> list[tuple[str, int]]:
    pid = _policy_id(db, no)
    with db.read() as s:
        return [(p.kind, p.amount_fen) for p in s.execute(
            select(Payment).where(Payment.policy_id == pid).order_by(Payment.id)).scalars()]


def _endorse(db: Database, no: str, raw: dict[str, Any]) -> dict[str, Any]:
    return endorsements.endorse(db, {**raw, "policy_no": no}, "clerk-1")


def _yuan(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):.2f}"


def _check_recorded(db: Database, factory: Factory, no: str, kind: str,
                    effective: date) -> Endorsement:
    """The endorsement row exists with its effective date and an audit entry by its actor."""
    with db.read() as s:
        e = s.execute(select(Endorsement).where(Endorsement.policy_id == _policy_id(db, no))
                      .order_by(Endorsement.id.desc())).scalars().first()
    assert e is not None
    assert e.kind == kind and e.effective_date == effective and e.actor == "clerk-1"
    assert e.endorsement_no.startswith(f"E{today_cn().year}")
    last = factory.audits(no)[-1]
    assert last.action == f"endorsement.{kind}" and last.actor == "clerk-1"
    assert last.before == e.before
    assert last.after == {**e.after, "endorsement_no": e.endorsement_no}
    return e


def test_change_beneficiary(db: Database, factory: Factory) -> None:
    no = factory.issued()["policy_no"]
    spouse = make_id_number("110101", date(1991, 3, 3), 24)
    child = make_id_number("110101", date(2015, 6, 1), 33)
    policy = _endorse(db, no, {"kind": "change_beneficiary", "beneficiaries": [
        {"name": "李娜", "relation": "spouse", "id_number": spouse, "share_pct": 60},
        {"name": "张小明", "relation": "child", "id_number": child, "share_pct": 40},
    ]})
    start = date.fromisoformat(policy["start_date"])
    e = policy["endorsement"]
    assert e["kind"] == "change_beneficiary"
    assert e["before"] == {"beneficiaries": []}
    assert e["after"]["beneficiaries"][0] == {"name": "李娜", "relation": "spouse",
                                              "share_pct": 60}
    assert e["effective_date"] == start.isoformat()  # default: cover start (tomorrow)
    assert e["premium_difference"] == "0.00"
    assert [(b["name"], b["share_pct"]) for b in policy["beneficiaries"]] == [
        ("李娜", 60), ("张小明", 40)]
    _check_recorded(db, factory, no, "change_beneficiary", start)

    # a second change replaces the list and shows the old one as "before"
    policy = _endorse(db, no, {"kind": "change_beneficiary", "beneficiaries": [
        {"name": "张小明", "relation": "child", "id_number": child, "share_pct": 100}]})
    assert [b["name"] for b in policy["endorsement"]["before"]["beneficiaries"]] == [
        "李娜", "张小明"]
    with db.read() as s:
        rows = s.execute(select(Beneficiary).where(
            Beneficiary.policy_id == _policy_id(db, no))).scalars().all()
    assert [(b.name, b.share_pct) for b in rows] == [("张小明", 100)]


def test_change_beneficiary_shares_must_add_up(db: Database, factory: Factory) -> None:
    no = factory.issued()["policy_no"]
    audits = factory.audit_count(no)
    with pytest.raises(ValidationError) as exc:
        _endorse(db, no, {"kind": "change_beneficiary", "beneficiaries": [
            {"name": "李娜", "relation": "spouse",
             "id_number": make_id_number("110101", date(1991, 3, 3), 24), "share_pct": 60}]})
    assert exc.value.field == "beneficiaries"
    assert factory.audit_count(no) == audits


def test_change_contact_keeps_history(db: Database, factory: Factory) -> None:
    issued = factory.issued()
    no = issued["policy_no"]
    effective = date.fromisoformat(issued["start_date"]) + timedelta(days=3)
    policy = _endorse(db, no, {"kind": "change_contact", "phone": "13912345678",
                               "address": "广东省汕头市潮南区峡山街道新路1号",
                               "effective_date": effective.isoformat()})
    e = policy["endorsement"]
    assert e["effective_date"] == effective.isoformat()
    assert e["after"] == {"phone": "139****5678", "address": "广东省汕头市潮南区峡山街道新路1号"}
    assert e["before"]["phone"].startswith("138****")
    assert e["before"]["address"].startswith("北京市东城区")
    assert policy["insured"]["phone"] == "139****5678"
    _check_recorded(db, factory, no, "change_contact", effective)
    with db.read() as s:
        history = s.execute(select(PartyUpdate).order_by(PartyUpdate.id)).scalars().all()
    assert [(h.field, h.after, h.source) for h in history] == [
        ("phone", "13912345678", "endorsement"),
        ("address", "广东省汕头市潮南区峡山街道新路1号", "endorsement")]
    # the same contact again is not a change
    with pytest.raises(ValidationError):
        _endorse(db, no, {"kind": "change_contact", "phone": "13912345678"})


def test_change_sum_insured_single_premium_difference(db: Database, factory: Factory) -> None:
    issued = factory.issued()
    no = issued["policy_no"]
    start, end = date.fromisoformat(issued["start_date"]), date.fromisoformat(issued["end_date"])
    effective = start + timedelta(days=100)
    policy = _endorse(db, no, {"kind": "change_sum_insured",
                               "coverage_code": "accidental_death_disability",
                               "sum_insured": "200000.00",
                               "effective_date": effective.isoformat()})
    # 100000 → 200000 at 0.60 ‰: the premium goes from 90.00 to 150.00 a year; the single
    # premium already paid covers the whole term, so 60.00 × remaining days / term days is due.
    expected = Decimal(60) * (end - effective).days / (end - start).days
    e = policy["endorsement"]
    assert e["premium_difference"] == _yuan(expected)
    assert e["before"] == {"coverage_code": "accidental_death_disability",
                           "sum_insured": "100000.00"}
    assert e["after"] == {"coverage_code": "accidental_death_disability",
                          "sum_insured": "200000.00"}
    assert policy["premium"]["annual"] == "150.00"
    assert {c["code"]: c["sum_insured"] for c in policy["coverages"]}[
        "accidental_death_disability"] == "200000.00"
    assert _payments(db, no)[-1] == ("additional_premium",
                                     int(Decimal(_yuan(expected)) * 100))
    assert any(line["amount"] == _yuan(expected) for line in e["explanation"])
    _check_recorded(db, factory, no, "change_sum_insured", effective)

    # a decrease refunds the same way
    policy = _endorse(db, no, {"kind": "change_sum_insured",
                               "coverage_code": "accidental_death_disability",
                               "sum_insured": "100000.00",
                               "effective_date": effective.isoformat()})
    assert policy["endorsement"]["premium_difference"] == "-" + _yuan(expected)
    assert _payments(db, no)[-1][0] == "refund"


def test_change_sum_insured_refusals(db: Database, factory: Factory) -> None:
    issued = factory.issued()
    no, end = issued["policy_no"], issued["end_date"]
    base = {"kind": "change_sum_insured", "coverage_code": "accidental_death_disability"}
    cases = [
        ({**base, "sum_insured": "100000.00"}, "sum_insured"),   # unchanged
        ({**base, "sum_insured": "900000.00"}, "sum_insured"),   # above the maximum
        ({**base, "coverage_code": "accidental_medical", "sum_insured": "20000.00"},
         "coverage_code"),                                      # not on the policy
        ({**base, "sum_insured": "200000.00", "effective_date": end}, "effective_date"),
        ({**base, "sum_insured": "200000.00",
          "effective_date": (today_cn() - timedelta(days=1)).isoformat()}, "effective_date"),
        ({"kind": "rename"}, "kind"),
    ]
    audits = factory.audit_count(no)
    for raw, field in cases:
        with pytest.raises(ValidationError) as exc:
            _endorse(db, no, raw)
        assert exc.value.field == field, raw
    assert factory.audit_count(no) == audits
    assert factory.row(no).annual_premium_fen == 9000
    assert _payments(db, no) == [("premium", 9000)]


def test_add_and_remove_coverage(db: Database, factory: Factory) -> None:
    issued = factory.issued()
    no = issued["policy_no"]
    start, end = date.fromisoformat(issued["start_date"]), date.fromisoformat(issued["end_date"])
    effective = start + timedelta(days=30)
    policy = _endorse(db, no, {"kind": "add_coverage", "coverage_code": "accidental_medical",
                               "sum_insured": "10000.00",
                               "effective_date": effective.isoformat()})
    e = policy["endorsement"]
    # accidental medical 10000 / 1000 × 4.00 = 40.00 a year more
    expected = _yuan(Decimal(40) * (end - effective).days / (end - start).days)
    assert e["premium_difference"] == expected
    assert e["before"] == {"coverages": ["accidental_death_disability", "hospital_allowance"]}
    assert e["after"]["added"] == "accidental_medical"
    assert policy["premium"]["annual"] == "130.00"
    assert "accidental_medical" in {c["code"] for c in policy["coverages"]}
    _check_recorded(db, factory, no, "add_coverage", effective)

    with pytest.raises(ValidationError) as exc:
        _endorse(db, no, {"kind": "add_coverage", "coverage_code": "accidental_medical"})
    assert exc.value.field == "coverage_code"

    effective2 = start + timedelta(days=60)
    policy = _endorse(db, no, {"kind": "remove_coverage", "coverage_code": "hospital_allowance",
                               "effective_date": effective2.isoformat()})
    e = policy["endorsement"]
    assert e["after"]["removed"] == "hospital_allowance"
    assert e["premium_difference"] == "-" + _yuan(
        Decimal(30) * (end - effective2).days / (end - start).days)
    assert {c["code"] for c in policy["coverages"]} == {"accidental_death_disability",
                                                        "accidental_medical"}
    assert policy["premium"]["annual"] == "100.00"
    _check_recorded(db, factory, no, "remove_coverage", effective2)

    with pytest.raises(ValidationError) as exc:  # required cover stays
        _endorse(db, no, {"kind": "remove_coverage",
                          "coverage_code": "accidental_death_disability"})
    assert exc.value.field == "coverage_code"


def test_surrender_after_cooling_off_refunds_unearned_less_fee(
    db: Database, factory: Factory
) -> None:
    issued = factory.issued()
    no = issued["policy_no"]
    start, end = date.fromisoformat(issued["start_date"]), date.fromisoformat(issued["end_date"])
    effective = start + timedelta(days=40)
    policy = _endorse(db, no, {"kind": "surrender", "effective_date": effective.isoformat()})
    unearned = Decimal(90) * (end - effective).days / (end - start).days
    unearned = unearned.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    fee = (unearned * Decimal("0.25")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    refund = unearned - fee
    assert policy["status"] == "surrendered"
    assert policy["ended_on"] == effective.isoformat()
    e = policy["endorsement"]
    assert e["before"] == {"status": "in_force"}
    assert e["after"] == {"status": "surrendered", "refund": _yuan(refund)}
    assert e["premium_difference"] == "-" + _yuan(refund)
    assert _payments(db, no)[-1] == ("refund", -int(refund * 100))
    _check_recorded(db, factory, no, "surrender", effective)
    # nothing more can be endorsed
    with pytest.raises(DomainError) as exc:
        _endorse(db, no, {"kind": "change_contact", "phone": "13700000000"})
    assert exc.value.field == "policy_no"


def test_surrender_in_cooling_off_is_a_full_refund(db: Database, factory: Factory) -> None:
    issued = factory.issued()
    no = issued["policy_no"]
    effective = date.fromisoformat(issued["start_date"]) + timedelta(days=5)
    policy = _endorse(db, no, {"kind": "surrender", "effective_date": effective.isoformat()})
    assert policy["status"] == "cancelled"
    assert policy["endorsement"]["after"] == {"status": "cancelled", "refund": "90.00"}
    assert _payments(db, no) == [("premium", 9000), ("refund", -9000)]


def test_surrender_cancels_unpaid_instalments(db: Database, factory: Factory) -> None:
    issued = factory.issued(mode="instalments", frequency="monthly")
    no = issued["policy_no"]
    effective = date.fromisoformat(issued["start_date"]) + timedelta(days=20)
    policy = _endorse(db, no, {"kind": "surrender", "effective_date": effective.isoformat()})
    statuses = [i["status"] for i in policy["premium_schedule"]]
    assert statuses == ["paid"] + ["cancelled"] * 11


def test_endorsement_of_an_unissued_policy_is_refused(db: Database, factory: Factory) -> None:
    uw = factory.accepted()
    with pytest.raises(DomainError) as exc:
        _endorse(db, uw["application_no"], {"kind": "surrender"})
    assert exc.value.field == "policy_no"


# ---- party updates -------------------------------------------------------------------------

def test_party_update_keeps_history_rows(db: Database, factory: Factory) -> None:
    issued = factory.issued()
    idn = factory.person()["id_number"]  # nobody registered
    with pytest.raises(DomainError) as exc:
        parties.update_party(db, {"id_number": idn, "phone": "13900000000"}, "clerk-1")
    assert exc.value.field == "id_number"

    with db.read() as s:
        party = s.execute(select(Party).join(PolicyRow, PolicyRow.insured_party_id == Party.id)
                          .where(PolicyRow.policy_no == issued["policy_no"])).scalar_one()
    old_phone = party.phone
    idn = party.id_number
    result = parties.update_party(db, {"id_number": idn, "phone": "13900000001"}, "clerk-1")
    assert result["changed"] == ["phone"]
    assert result["party"]["phone"] == "139****0001"
    parties.update_party(db, {"id_number": idn, "phone": "13900000002", "occupation": "教师"},
                         "clerk-2", source="wechat")
    nothing = parties.update_party(db, {"id_number": idn, "phone": "13900000002"}, "clerk-3")
    assert nothing["changed"] == []

    with db.read() as s:
        rows = s.execute(select(PartyUpdate).where(PartyUpdate.party_id == party.id)
                         .order_by(PartyUpdate.id)).scalars().all()
        current = s.get(Party, party.id)
        assert current is not None and current.phone == "13900000002"
    assert [(r.field, r.before, r.after, r.actor, r.source) for r in rows] == [
        ("phone", old_phone, "13900000001", "clerk-1", "api"),
        ("phone", "13900000001", "13900000002", "clerk-2", "wechat"),
        ("occupation", "文员", "教师", "clerk-2", "wechat"),
    ]
    view = parties.get_party(db, party.id_number)
    assert [u["after"] for u in view["updates"]] == ["139****0001", "139****0002", "教师"]
    audits = [e for e in factory.audits(str(party.id)) if e.action == "party_update"]
    assert [e.actor for e in audits] == ["clerk-1", "clerk-2"]
    assert audits[0].before == {"phone": old_phone[:3] + "****" + old_phone[-4:]}
    assert audits[0].after == {"phone": "139****0001"}


def test_party_update_refuses_identity_fields(db: Database, factory: Factory) -> None:
    issued = factory.issued()
    with db.read() as s:
        party = s.execute(select(Party).join(PolicyRow, PolicyRow.insured_party_id == Party.id)
                          .where(PolicyRow.policy_no == issued["policy_no"])).scalar_one()
    for raw in ({"name": "王五"}, {"id_number": "110101199001011234"}, {"phone": "12345"}):
        with pytest.raises(ValidationError):
            parties.update_party(db, {**raw, "id_number": party.id_number}, "clerk-1")
    with db.read() as s:
        assert s.execute(select(PartyUpdate)).first() is None


def test_premium_paid_on_policy_level_also_allowed_in_advance(
    db: Database, factory: Factory
) -> None:
    issued = factory.issued(mode="instalments", frequency="semiannual")
    pay = {"policy_no": issued["policy_no"], "amount": "46.80"}
    paid = policies.record_payment(db, pay, "cashier-1")
    assert [i["status"] for i in paid["premium_schedule"]] == ["paid", "paid"]
    with pytest.raises(DomainError) as exc:
        policies.record_payment(db, pay, "cashier-1")
    assert exc.value.field == "amount"
