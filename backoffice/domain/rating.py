"""Premium rating with a line-by-line explanation a customer can read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from backoffice.domain.errors import ValidationError
from backoffice.domain.money import fmt_cn, round_yuan
from backoffice.domain.product import (
    FREQUENCY_NAMES,
    INSTALMENTS_PER_YEAR,
    Product,
)

PAYMENT_MODES = ("single", "instalments", "auto_debit")
PAYMENT_MODE_NAMES = {
    "single": "趸交（一次交清）",
    "instalments": "分期缴费",
    "auto_debit": "自动扣款",
}


@dataclass(frozen=True, slots=True)
class PremiumLine:
    text: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PremiumQuote:
    annual_premium: Decimal
    instalment_amount: Decimal
    instalments: int
    total_premium: Decimal
    coverage_premiums: Mapping[str, Decimal]
    lines: tuple[PremiumLine, ...]


def check_payment(product: Product, payment_mode: str, frequency: str) -> None:
    if payment_mode not in PAYMENT_MODES:
        raise ValidationError("payment_mode", f"缴费方式须为 {', '.join(PAYMENT_MODES)} 之一")
    if payment_mode not in product.payment_modes:
        raise ValidationError("payment_mode", f"产品 {product.code} 不支持缴费方式 {payment_mode}")
    if payment_mode == "single" and frequency != "annual":
        raise ValidationError("frequency", "趸交只能一次交清（annual）")
    if frequency not in product.frequency_factors:
        allowed = ", ".join(product.frequency_factors)
        raise ValidationError("frequency", f"缴费频率须为 {allowed} 之一")


def quote(
    product: Product,
    age: int,
    occupation_class: int,
    sums_insured: Mapping[str, Decimal],
    loading_pct: Decimal = Decimal(0),
    payment_mode: str = "single",
    frequency: str = "annual",
) -> PremiumQuote:
    """Price an individual policy for one year of cover."""
    check_payment(product, payment_mode, frequency)
    for cov in product.coverages:
        if cov.required and cov.code not in sums_insured:
            raise ValidationError("coverages", f"{cov.name}为必选责任")
    factor = product.occupation_class_factors.get(occupation_class)
    if factor is None:
        raise ValidationError("occupation_class", f"职业类别 {occupation_class} 类不在费率表内")

    lines: list[PremiumLine] = []
    base: dict[str, Decimal] = {}
    for code, si in sums_insured.items():
        cov = product.coverage(code)
        cov.check_sum_insured(si, f"coverages.{code}.sum_insured")
        band = cov.band_for(age)
        if band is None:
            raise ValidationError("birth_date", f"{cov.name}没有 {age} 周岁的费率")
        amount = si / cov.rate_unit * band.rate
        base[code] = amount
        lines.append(PremiumLine(
            f"{cov.name}：保额 {fmt_cn(si)}，{band.min_age}–{band.max_age} 周岁年费率"
            f"{cov.rate_unit_text} {band.rate} 元，{si} ÷ {cov.rate_unit} × {band.rate}",
            round_yuan(amount),
        ))
    base_total = sum(base.values(), Decimal(0))
    lines.append(PremiumLine("基础年保费合计", round_yuan(base_total)))

    multiplier = factor * (1 + loading_pct / 100)
    if factor != 1:
        lines.append(PremiumLine(
            f"职业类别 {occupation_class} 类，系数 {factor}：{round_yuan(base_total)} × {factor}",
            round_yuan(base_total * factor),
        ))
    if loading_pct:
        lines.append(PremiumLine(
            f"核保加费 {loading_pct}%：{round_yuan(base_total * factor)} × (1 + {loading_pct}%)",
            round_yuan(base_total * multiplier),
        ))
    annual = round_yuan(base_total * multiplier)
    lines.append(PremiumLine("年缴保费", annual))

    count = 1 if payment_mode == "single" else INSTALMENTS_PER_YEAR[frequency]
    if count == 1:
        instalment = annual
        lines.append(PremiumLine(f"缴费方式：{PAYMENT_MODE_NAMES[payment_mode]}，一次缴清", annual))
    else:
        ff = product.frequency_factors[frequency]
        instalment = round_yuan(annual * ff)
        lines.append(PremiumLine(
            f"缴费方式：{PAYMENT_MODE_NAMES[payment_mode]}（{FREQUENCY_NAMES[frequency]}），"
            f"每期 = 年缴保费 {annual} × 分期系数 {ff}，共 {count} 期",
            instalment,
        ))
    total = instalment * count
    if total != annual:
        lines.append(PremiumLine(
            f"分期合计 {instalment} × {count} = {total} 元，比年缴多 {total - annual} 元",
            total - annual,
        ))
    lines.append(PremiumLine("本保险期间应缴保费合计", total))
    return PremiumQuote(
        annual_premium=annual,
        instalment_amount=instalment,
        instalments=count,
        total_premium=total,
        coverage_premiums={c: round_yuan(a * multiplier) for c, a in base.items()},
        lines=tuple(lines),
    )


def group_quote(product: Product, members: int, per_head: Decimal | None = None
                ) -> PremiumQuote:
    """A flat premium per insured per year (government-sponsored schemes); `per_head`: the
    rate the government set for the year, else the product's."""
    per_head = per_head if per_head is not None else product.flat_premium_per_insured
    if per_head is None:
        raise ValidationError("product_code", f"产品 {product.code} 不是按人计费的团体产品")
    total = per_head * members
    lines = (
        PremiumLine(f"每人每年保费 {fmt_cn(per_head)} × 被保险人 {members:,} 人", total),
        PremiumLine("本保险期间应缴保费合计", total),
    )
    return PremiumQuote(total, total, 1, total, {}, lines)
