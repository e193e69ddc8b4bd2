"""Underwriting (核保): age, occupation class and health declarations → a decision with reasons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from backoffice.domain.errors import ValidationError
from backoffice.domain.product import Product

ACCEPT = "accept"
ACCEPT_WITH_LOADING = "accept_with_loading"
DECLINE = "decline"
POSTPONE = "postpone"
OUTCOME_NAMES = {
    ACCEPT: "标准体承保",
    ACCEPT_WITH_LOADING: "加费承保",
    DECLINE: "拒保",
    POSTPONE: "延期承保",
}


@dataclass(frozen=True, slots=True)
class UnderwritingDecision:
    outcome: str
    loading_pct: Decimal
    reasons: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return self.outcome in (ACCEPT, ACCEPT_WITH_LOADING)


def check_declarations(product: Product, answers: Mapping[str, object]) -> dict[str, bool]:
    """Every question of the product answered yes/no, and nothing unknown."""
    known = {q.code for q in product.underwriting.health_questions}
    for code in answers:
        if code not in known:
            raise ValidationError(
                f"health_declarations.{code}", f"产品 {product.code} 没有此健康告知项"
            )
    result: dict[str, bool] = {}
    for q in product.underwriting.health_questions:
        value = answers.get(q.code)
        if not isinstance(value, bool):
            raise ValidationError(
                f"health_declarations.{q.code}", f"请回答健康告知「{q.text}」（是/否）"
            )
        result[q.code] = value
    return result


def underwrite(
    product: Product, age: int, occupation_class: int, answers: Mapping[str, bool]
) -> UnderwritingDecision:
    """Apply the product's rules. Decline beats postpone beats loading; the reasons of the
    deciding outcome are all kept."""
    rules = product.underwriting
    declines: list[str] = []
    postpones: list[str] = []
    loadings: list[tuple[Decimal, str]] = []

    if age < rules.min_entry_age or age > rules.max_entry_age:
        declines.append(
            f"投保年龄 {age} 周岁不在本产品可投保年龄 "
            f"{rules.min_entry_age}–{rules.max_entry_age} 周岁内"
        )
    if occupation_class > rules.max_occupation_class:
        declines.append(
            f"职业类别 {occupation_class} 类高于本产品可承保的 {rules.max_occupation_class} 类"
        )
    elif occupation_class in rules.occupation_loading_pct:
        pct = rules.occupation_loading_pct[occupation_class]
        loadings.append((pct, f"职业类别 {occupation_class} 类风险较高，加费 {pct}%"))

    for q in rules.health_questions:
        if not answers.get(q.code):
            continue
        if q.if_yes == DECLINE:
            declines.append(q.reason)
        elif q.if_yes == POSTPONE:
            postpones.append(q.reason)
        elif q.if_yes == "load":
            loadings.append((q.loading_pct, q.reason))

    if declines:
        return UnderwritingDecision(DECLINE, Decimal(0), tuple(declines))
    if postpones:
        return UnderwritingDecision(POSTPONE, Decimal(0), tuple(postpones))
    total = sum((pct for pct, _ in loadings), Decimal(0))
    if total > rules.max_loading_pct:
        limit = f"合计加费 {total}% 超过本产品上限 {rules.max_loading_pct}%"
        reasons = (*(r for _, r in loadings), limit)
        return UnderwritingDecision(DECLINE, Decimal(0), reasons)
    if loadings:
        return UnderwritingDecision(ACCEPT_WITH_LOADING, total, tuple(r for _, r in loadings))
    return UnderwritingDecision(
        ACCEPT, Decimal(0), ("年龄、职业类别和健康告知均符合标准体承保条件",)
    )


MAX_REASONS, MAX_REASON_LENGTH = 20, 500


def manual_decision(product: Product, outcome: object, loading_pct: object,
                    reasons: object) -> UnderwritingDecision:
    """An underwriter's own decision on a referred case: any outcome, always with reasons; a
    loading within what the product allows."""
    if not isinstance(outcome, str) or outcome not in OUTCOME_NAMES:
        raise ValidationError("outcome", f"核保结论须为 {', '.join(OUTCOME_NAMES)} 之一")
    if (not isinstance(reasons, list) or not reasons or len(reasons) > MAX_REASONS
            or not all(isinstance(r, str) and r.strip() and len(r) <= MAX_REASON_LENGTH
                       for r in reasons)):
        raise ValidationError("reasons", f"请写明核保理由（1–{MAX_REASONS} 条，每条不超过 "
                                         f"{MAX_REASON_LENGTH} 字）")
    loading = Decimal(0)
    if outcome == ACCEPT_WITH_LOADING:
        loading = _loading(loading_pct, product.underwriting.max_loading_pct)
    elif loading_pct not in (None, "", "0", 0):
        raise ValidationError("loading_pct", "只有加费承保才填写加费比例")
    return UnderwritingDecision(str(outcome), loading, tuple(r.strip() for r in reasons))


def _loading(raw: object, maximum: Decimal) -> Decimal:
    try:
        value = Decimal(str(raw)) if isinstance(raw, str | int | Decimal) and not isinstance(
            raw, bool) else None
    except ArithmeticError:
        value = None
    if value is None or not value.is_finite() or not 0 < value <= maximum \
            or value != value.quantize(Decimal("0.01")):
        raise ValidationError("loading_pct",
                              f"加费比例须为 0 以上、不超过 {maximum} 的数（百分比）")
    return value
