"""Endorsements (保全): post-issue changes, each with before/after and an effective date."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from backoffice.domain.errors import DomainError, ValidationError
from backoffice.domain.identity import parse_id_number
from backoffice.domain.money import round_yuan
from backoffice.domain.policy import COVERED, Instalment

KINDS = (
    "change_beneficiary",
    "change_contact",
    "change_sum_insured",
    "add_coverage",
    "remove_coverage",
    "surrender",
)
KIND_NAMES = {
    "change_beneficiary": "变更受益人",
    "change_contact": "变更联系方式",
    "change_sum_insured": "变更保额",
    "add_coverage": "增加保险责任",
    "remove_coverage": "减少保险责任",
    "surrender": "退保",
}
RELATIONS = ("self", "spouse", "child", "parent", "sibling", "other")


def check_endorsable(status: str, kind: str) -> None:
    if kind not in KINDS:
        raise ValidationError("kind", f"保全项目须为 {', '.join(KINDS)} 之一")
    if status not in COVERED:
        raise DomainError(f"保单状态为 {status}，不能办理{KIND_NAMES[kind]}", "policy_no")


def check_effective_date(effective: date, today: date, start: date, end: date) -> None:
    if effective < today:
        raise ValidationError("effective_date", "生效日期不能早于今天")
    if not start <= effective < end:
        raise ValidationError("effective_date", f"生效日期须在保险期间 {start} 至 {end} 之内")


@dataclass(frozen=True, slots=True)
class Beneficiary:
    name: str
    relation: str
    id_number: str
    share_pct: int


def parse_beneficiaries(raw: object) -> tuple[Beneficiary, ...]:
    """Named death beneficiaries; shares are whole percentages adding up to 100."""
    if not isinstance(raw, list) or not raw:
        raise ValidationError("beneficiaries", "请至少指定一位受益人")
    result = []
    for i, item in enumerate(raw):
        where = f"beneficiaries[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationError(where, "受益人信息格式不正确")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"{where}.name", "受益人姓名不能为空")
        relation = item.get("relation")
        if relation not in RELATIONS:
            raise ValidationError(f"{where}.relation", f"关系须为 {', '.join(RELATIONS)} 之一")
        id_number = parse_id_number(item.get("id_number"), f"{where}.id_number").value
        share = item.get("share_pct")
        if not isinstance(share, int) or isinstance(share, bool) or not 1 <= share <= 100:
            raise ValidationError(f"{where}.share_pct", "受益比例须为 1–100 的整数")
        result.append(Beneficiary(name.strip(), relation, id_number, share))
    return check_beneficiaries(result)


def check_beneficiaries(given: Sequence[Beneficiary]) -> tuple[Beneficiary, ...]:
    """At least one; shares add up to 100; nobody named twice."""
    if not given:
        raise ValidationError("beneficiaries", "请至少指定一位受益人")
    if sum(b.share_pct for b in given) != 100:
        raise ValidationError("beneficiaries", "受益比例合计须为 100%")
    if len({b.id_number for b in given}) != len(given):
        raise ValidationError("beneficiaries", "同一受益人不能重复指定")
    return tuple(given)


def prorated_difference(
    old_annual: Decimal, new_annual: Decimal, effective: date, start: date, end: date
) -> Decimal:
    """Premium to collect (+) or refund (−) for the rest of the term after a change."""
    remaining = (end - effective).days
    return round_yuan((new_annual - old_annual) * remaining / (end - start).days)


@dataclass(frozen=True, slots=True)
class Refund:
    amount: Decimal
    lines: tuple[tuple[str, Decimal], ...]


def surrender_refund(
    paid: Iterable[Instalment], on: date, fee_pct: Decimal, in_cooling_off: bool
) -> Refund:
    """Unearned premium of the paid periods, less the product's surrender fee.

    In the cooling-off period everything paid comes back.
    """
    paid = list(paid)
    total_paid = sum((i.amount for i in paid), Decimal(0))
    if in_cooling_off:
        return Refund(total_paid, (("犹豫期内退保，全额退还已缴保费", total_paid),))
    unearned = Decimal(0)
    for inst in paid:
        days = (inst.period_end - inst.period_start).days
        left = (inst.period_end - max(on, inst.period_start)).days
        if left > 0:
            unearned += inst.amount * min(left, days) / days
    unearned = round_yuan(unearned)
    fee = round_yuan(unearned * fee_pct / 100)
    lines: Sequence[tuple[str, Decimal]] = (
        (f"已缴保费合计 {total_paid} 元", total_paid),
        (f"未满期保费（按 {on} 之后的剩余天数比例计算）", unearned),
        (f"退保手续费 {fee_pct}%", -fee),
        ("应退金额", unearned - fee),
    )
    return Refund(unearned - fee, tuple(lines))


def contact_changes(current: Mapping[str, Any], requested: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields that really change."""
    return {k: v for k, v in requested.items() if current.get(k) != v}


def instalment_difference(
    paid: Iterable[Instalment], old_amount: Decimal, new_amount: Decimal, effective: date
) -> Decimal:
    """A repriced instalment applies to what is left of each period already paid for;
    periods not yet paid are simply billed at the new amount."""
    return sum(
        (
            prorated_difference(old_amount, new_amount, max(effective, i.period_start),
                                i.period_start, i.period_end)
            for i in paid
            if i.period_end > effective
        ),
        Decimal(0),
    )
