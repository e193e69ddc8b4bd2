"""Endorsements (保全): each one records before/after, its effective date and any premium."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backoffice.domain.endorsement import (
    KIND_NAMES,
    KINDS,
    check_effective_date,
    check_endorsable,
    instalment_difference,
    surrender_refund,
)
from backoffice.domain.errors import DomainError, ValidationError
from backoffice.domain.identity import age_on
from backoffice.domain.money import fmt, from_fen, to_fen
from backoffice.domain.party import CONTACT_FIELDS
from backoffice.domain.product import Coverage, Product
from backoffice.services.base import audit, emit, number, today_cn
from backoffice.services.commands import (
    Command,
    Day,
    OneOf,
    Phone,
    PositiveAmount,
    Reference,
    Text,
    takes,
)
from backoffice.services.parties import apply_update
from backoffice.services.policies import (
    Beneficiaries,
    _reprice,
    active_coverages,
    beneficiaries_of,
    load_issued,
    paid_instalments,
    policy_detail,
    to_domain,
    unpaid_instalments,
    write_back,
)
from backoffice.services.products import load_product
from backoffice.store.db import Database
from backoffice.store.models import Beneficiary, Endorsement, Payment, PolicyCoverage, PolicyRow


class Endorse(Command):
    """One endorsement (保全) of a policy: its kind and what that kind needs — beneficiaries;
    a phone or address; a coverage code (and sum insured); nothing more for a surrender."""

    policy_no: Reference
    kind: OneOf(KINDS)
    effective_date: Day | None = None  # default today, or the start of cover if later
    beneficiaries: Beneficiaries | None = None
    phone: Phone | None = None
    address: Text(200, blank_ok=False) | None = None
    coverage_code: Text(40, blank_ok=False) | None = None
    sum_insured: PositiveAmount | None = None


@takes(Endorse)
def endorse(db: Database, cmd: Endorse, actor: str) -> dict[str, Any]:
    """Apply one endorsement to an in-force policy in one transaction."""
    with db.transaction() as s:
        return _apply(s, cmd, actor)


def apply_endorsement(s: Session, ref: str, raw: Mapping[str, Any] | Endorse, actor: str
                      ) -> dict[str, Any]:
    """The endorsement of policy `ref` inside the caller's transaction (an approved request
    applies it so)."""
    if isinstance(raw, Endorse):
        cmd = raw.model_copy(update={"policy_no": ref})
    else:
        cmd = Endorse.of({**raw, "policy_no": ref} if isinstance(raw, Mapping) else raw)
    return _apply(s, cmd, actor)


def _apply(s: Session, cmd: Endorse, actor: str) -> dict[str, Any]:
    kind = cmd.kind
    today = today_cn()
    row = load_issued(s, cmd.policy_no, lock=True)
    check_endorsable(row.status, kind)
    if row.kind != "individual":
        raise DomainError("团体保单被保险人的联系方式请通过客户信息更新办理", "policy_no")
    product = load_product(s, row.product_code)
    assert row.start_date is not None and row.end_date is not None
    effective = cmd.effective_date or max(today, row.start_date)
    check_effective_date(effective, today, row.start_date, row.end_date)
    handler = _HANDLERS[kind]
    before, after, difference, lines = handler(s, row, product, cmd, effective, actor)
    e = Endorsement(
        endorsement_no=number(s, "E", today.year, 8), policy_id=row.id, kind=kind,
        before=before, after=after, effective_date=effective,
        premium_difference_fen=to_fen(difference), explanation=lines, actor=actor,
    )
    s.add(e)
    audit(s, actor, "policy", row.policy_no or "", f"endorsement.{kind}", before,
          {**after, "endorsement_no": e.endorsement_no})
    emit(s, "policy.endorsed", {"policy_no": row.policy_no, "kind": kind,
                                "endorsement_no": e.endorsement_no})
    s.flush()
    detail = policy_detail(s, row, product)
    detail["endorsement"] = detail["endorsements"][-1]
    return detail


Result = tuple[dict[str, Any], dict[str, Any], Decimal, list[dict[str, str]]]


def _change_beneficiary(s: Session, row: PolicyRow, product: Product,
                        cmd: Endorse, effective: date, actor: str) -> Result:
    new = beneficiaries_of(cmd.beneficiaries or ())
    old = s.execute(select(Beneficiary).where(Beneficiary.policy_id == row.id)).scalars().all()
    before = {"beneficiaries": [{"name": b.name, "relation": b.relation, "share_pct": b.share_pct}
                                for b in old]}
    s.execute(delete(Beneficiary).where(Beneficiary.policy_id == row.id))
    for b in new:
        s.add(Beneficiary(policy_id=row.id, name=b.name, relation=b.relation,
                          id_number=b.id_number, share_pct=b.share_pct))
    after = {"beneficiaries": [{"name": b.name, "relation": b.relation, "share_pct": b.share_pct}
                               for b in new]}
    return before, after, Decimal(0), []


def _change_contact(s: Session, row: PolicyRow, product: Product,
                    cmd: Endorse, effective: date, actor: str) -> Result:
    changes = {k: getattr(cmd, k) for k in CONTACT_FIELDS if getattr(cmd, k) is not None}
    if not changes:
        raise ValidationError("body", "请提供要更新的字段")
    party = row.applicant or row.insured
    assert party is not None
    done = apply_update(s, party, changes, actor, "endorsement")
    if not done:
        raise ValidationError("phone", "新的联系方式与原来相同")
    return ({k: v[0] for k, v in done.items()}, {k: v[1] for k, v in done.items()},
            Decimal(0), [])


def _reprice_difference(s: Session, row: PolicyRow, product: Product, effective: date,
                        change: str) -> tuple[Decimal, list[dict[str, str]]]:
    """Reprice the policy; bill or refund the paid periods' remainder, rebill unpaid ones."""
    old_annual, old_inst = from_fen(row.annual_premium_fen), from_fen(row.instalment_fen)
    insured = row.insured
    assert insured is not None and row.start_date and row.end_date
    _reprice(row, product, age_on(insured.birth_date, row.start_date),
             insured.occupation_class or 1, Decimal(row.loading_pct))
    new_annual, new_inst = from_fen(row.annual_premium_fen), from_fen(row.instalment_fen)
    diff = instalment_difference(paid_instalments(s, row), old_inst, new_inst, effective)
    unpaid = unpaid_instalments(s, row)
    for line in unpaid:
        line.amount_fen = row.instalment_fen
    lines = [
        {"text": f"{change}前年保费", "amount": fmt(old_annual)},
        {"text": f"{change}后年保费", "amount": fmt(new_annual)},
        {"text": f"已缴期间自 {effective} 起按剩余天数比例"
                 f"{'补缴' if diff >= 0 else '退还'}", "amount": fmt(diff)},
    ]
    if unpaid:
        lines.append({"text": f"以后 {len(unpaid)} 期每期保费由 {fmt(old_inst)} 元调整为",
                      "amount": fmt(new_inst)})
    return diff, lines


def _settle_difference(s: Session, row: PolicyRow, diff: Decimal) -> None:
    if diff:
        s.add(Payment(policy_id=row.id, kind="additional_premium" if diff > 0 else "refund",
                      amount_fen=to_fen(diff), method="pending", reference=None))


def _coverage(product: Product, cmd: Endorse) -> Coverage:
    if cmd.coverage_code is None:
        raise ValidationError("coverage_code", "请提供保险责任代码 coverage_code")
    return product.coverage(cmd.coverage_code, "coverage_code")


def _change_sum_insured(s: Session, row: PolicyRow, product: Product,
                        cmd: Endorse, effective: date, actor: str) -> Result:
    cov_def = _coverage(product, cmd)
    new_si = cmd.sum_insured
    if new_si is None:
        raise ValidationError("sum_insured", "请提供新的保额 sum_insured")
    cov_def.check_sum_insured(new_si, "sum_insured")
    line = next((c for c in active_coverages(row) if c.code == cov_def.code), None)
    if line is None:
        raise ValidationError("coverage_code", f"保单未投保{cov_def.name}")
    old_si = from_fen(line.sum_insured_fen)
    if old_si == new_si:
        raise ValidationError("sum_insured", "新保额与原保额相同")
    line.sum_insured_fen = to_fen(new_si)
    diff, lines = _reprice_difference(s, row, product, effective, "变更保额")
    _settle_difference(s, row, diff)
    return ({"coverage_code": line.code, "sum_insured": fmt(old_si)},
            {"coverage_code": line.code, "sum_insured": fmt(new_si)}, diff, lines)


def _add_coverage(s: Session, row: PolicyRow, product: Product,
                  cmd: Endorse, effective: date, actor: str) -> Result:
    cov_def = _coverage(product, cmd)
    if any(c.code == cov_def.code for c in active_coverages(row)):
        raise ValidationError("coverage_code", f"保单已有{cov_def.name}")
    si = cmd.sum_insured or cov_def.default_sum_insured
    cov_def.check_sum_insured(si, "sum_insured")
    new = PolicyCoverage(policy_id=row.id, code=cov_def.code, name=cov_def.name,
                         sum_insured_fen=to_fen(si), effective_from=effective)
    s.add(new)
    row.coverages.append(new)
    diff, lines = _reprice_difference(s, row, product, effective, "增加责任")
    _settle_difference(s, row, diff)
    return ({"coverages": [c.code for c in active_coverages(row) if c is not new]},
            {"coverages": [c.code for c in active_coverages(row)], "added": cov_def.code,
             "sum_insured": fmt(si)}, diff, lines)


def _remove_coverage(s: Session, row: PolicyRow, product: Product,
                     cmd: Endorse, effective: date, actor: str) -> Result:
    cov_def = _coverage(product, cmd)
    if cov_def.required:
        raise ValidationError("coverage_code", f"{cov_def.name}为必选责任，不能减少")
    line = next((c for c in active_coverages(row) if c.code == cov_def.code), None)
    if line is None:
        raise ValidationError("coverage_code", f"保单未投保{cov_def.name}")
    before = {"coverages": [c.code for c in active_coverages(row)]}
    line.removed_on = effective
    diff, lines = _reprice_difference(s, row, product, effective, "减少责任")
    _settle_difference(s, row, diff)
    return before, {"coverages": [c.code for c in active_coverages(row)],
                    "removed": cov_def.code}, diff, lines


def _surrender(s: Session, row: PolicyRow, product: Product,
               cmd: Endorse, effective: date, actor: str) -> Result:
    policy = to_domain(row, product)
    cooling = policy.in_cooling_off(effective)
    refund = surrender_refund(paid_instalments(s, row), effective,
                              product.surrender_fee_pct, cooling)
    before = {"status": row.status}
    if cooling:
        policy.cancel(effective)
    else:
        policy.surrender(effective)
    write_back(row, policy)
    for line in unpaid_instalments(s, row):
        line.status = "cancelled"
    if refund.amount:
        s.add(Payment(policy_id=row.id, kind="refund", amount_fen=-to_fen(refund.amount),
                      method="bank_transfer", reference=None))
    lines = [{"text": text, "amount": fmt(amount)} for text, amount in refund.lines]
    return before, {"status": row.status, "refund": fmt(refund.amount)}, -refund.amount, lines


_HANDLERS = {
    "change_beneficiary": _change_beneficiary,
    "change_contact": _change_contact,
    "change_sum_insured": _change_sum_insured,
    "add_coverage": _add_coverage,
    "remove_coverage": _remove_coverage,
    "surrender": _surrender,
}
assert set(_HANDLERS) == set(KIND_NAMES)
