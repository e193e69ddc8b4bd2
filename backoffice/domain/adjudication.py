"""Adjudication (理算): the payable amount of a claim, from the product's benefit rules.

Pure functions: the product, the claim type, the accident date and the facts go in; an
`Adjudication` with the payable amount and a calculation statement in Chinese comes out. No
I/O, no clock: every date is passed in.

Which coverage pays is found by claim type (`Coverage.claim_types`); how it pays is its
`benefit["rule"]`:

| rule | claim types | amount |
| --- | --- | --- |
| `fixed` | death | the sum insured |
| `transport` | transport_death | `amounts[transport]`, instead of the `instead_of` coverage |
| `disability_scale` | disability | sum insured × level percentage (`scale`) |
| `death_or_disability_scale` | death, disability | `fixed` for death, else `disability_scale` |
| `daily_allowance` | hospital_allowance | paid days × daily amount, with per-stay / per-year caps |
| `reimbursement` | medical | (expenses − social insurance − deductible) × ratio, capped |

`within_days` (death / disability): the death or disability must result from the accident within
that many days, counted as event date − accident date (180 pays, 181 does not). A death is
dated by its death date. A disability is not dated by its assessment: by JR/T 0083 the
assessment follows treatment, and when treatment has not ended by day 180 the body's condition
at day 180 is assessed, so the assessment is normally dated later. An assessment after day 180
therefore still pays (the statement says the condition at day 180 governs); it must only not be
before the accident or after today.

The statement (`lines`) always adds up: the amounts of every line but the last sum to the
payable amount, and the last line states it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from backoffice.domain import party
from backoffice.domain.errors import ValidationError
from backoffice.domain.money import FEN, fmt, fmt_cn, parse_amount, round_yuan
from backoffice.domain.product import (
    CLAIM_TYPES,
    DEFAULT_SCALE,
    DISABILITY_SCALES,
    REPORT_FACTS,
    TRANSPORT_MODES,
    Coverage,
    Product,
)

#: Every fact the adjudication reads (CONTRACTS.md keys, then the ones added here).
FACT_KEYS = (
    "admission_date",
    "discharge_date",
    "hospital_days",
    "allowance_days_used_this_year",
    "disability_levels",
    "transport",
    "death_date",
    "cause",
    "assessment_date",
    "hospital_level",
    "expenses",
    "social_insurance_paid",
    "out_of_scope_expenses",
)

#: Causes that mean "an accident, covered" — the same as no cause at all.
COVERED_CAUSES = frozenset({"", "accident"})
#: A cause a product may not list under its own code but under a broader one (猝死 is a disease).
CAUSE_ALIASES: Mapping[str, str] = MappingProxyType({"sudden_death": "disease"})

ZERO = Decimal("0.00")
_NO_DAYS: Mapping[int, int] = MappingProxyType({})
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the calculation statement: what it is, in Chinese, and its amount in yuan."""

    text: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Adjudication:
    payable: Decimal
    lines: tuple[Line, ...]
    excluded: bool = False
    #: Why the claim pays less than its gross amount, or nothing (Chinese, for letters).
    reasons: tuple[str, ...] = ()
    #: Hospital-allowance days paid by THIS claim per calendar year (years with paid days only);
    #: add them to the insured's running totals. Empty for other claim types.
    days_paid_by_year: Mapping[int, int] = field(default_factory=lambda: _NO_DAYS)

    def to_api(self) -> dict[str, Any]:
        """The `POST /api/v1/adjudication/preview` answer: money as decimal strings."""
        return {
            "payable": fmt(self.payable),
            "lines": [{"text": ln.text, "amount": fmt(ln.amount)} for ln in self.lines],
            "excluded": self.excluded,
            "reasons": list(self.reasons),
            "days_paid_by_year": {str(y): d for y, d in self.days_paid_by_year.items()},
        }


# --------------------------------------------------------------------------------------------
# facts


parse_date = party.parse_date  # facts' dates are read as every other date


def _int(raw: object, field_name: str, lo: int, hi: int | None = None) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValidationError(field_name, "应为整数")
    if raw < lo:
        raise ValidationError(field_name, "不能为负数" if lo == 0 else f"不能小于 {lo}")
    if hi is not None and raw > hi:
        raise ValidationError(field_name, f"不能大于 {hi}")
    return raw


def _levels(raw: object, field_name: str) -> tuple[int, ...]:
    if isinstance(raw, str | bytes) or not isinstance(raw, list | tuple):
        raise ValidationError(field_name, "伤残等级应为整数列表，如 [3, 5]")
    if not raw:
        raise ValidationError(field_name, "至少需要一个伤残等级")
    levels = []
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 10:
            raise ValidationError(field_name, f"伤残等级 {item!r} 无效，应为 1 至 10 级的整数")
        levels.append(item)
    return tuple(levels)


def _transport(raw: object, field_name: str) -> str:
    if not isinstance(raw, str) or raw not in TRANSPORT_MODES:
        known = "、".join(TRANSPORT_MODES)
        raise ValidationError(field_name, f"交通方式 {raw!r} 无效（可选：{known}）")
    return raw


def _cause(raw: object, field_name: str) -> str:
    if not isinstance(raw, str):
        raise ValidationError(field_name, "事故原因应为字符串")
    return raw.strip().lower()


def _yes_no(raw: object, field_name: str) -> bool:
    """A report fact answered yes or no (报警了吗, 有没有现场照片): a JSON boolean only."""
    if not isinstance(raw, bool):
        raise ValidationError(field_name, "应为 true 或 false")
    return raw


def _amount(raw: object, field_name: str) -> Decimal:
    return parse_amount(raw, field_name)


_PARSERS: Mapping[str, Any] = MappingProxyType(
    {
        "admission_date": parse_date,
        "discharge_date": parse_date,
        "death_date": parse_date,
        "assessment_date": parse_date,
        "hospital_days": lambda raw, f: _int(raw, f, 0),
        "allowance_days_used_this_year": lambda raw, f: _int(raw, f, 0),
        "hospital_level": lambda raw, f: _int(raw, f, 1, 3),
        "disability_levels": _levels,
        "transport": _transport,
        "cause": _cause,
        "expenses": _amount,
        "social_insurance_paid": _amount,
        "out_of_scope_expenses": _amount,
        # what the report says of the accident: they shape the documents asked for, not the sum
        **{key: _yes_no for key in REPORT_FACTS},
    }
)
_FIELD_NAMES = MappingProxyType({k: f"facts.{k}" for k in _PARSERS})


def parse_facts(facts: Mapping[str, object], *, today: date | None = None,
                incident: date | None = None) -> dict[str, Any]:
    """Every known fact present (not None) checked and converted; unknown keys are ignored.

    Given `today` and the `incident` date, a date fact after today or before the incident is
    refused: nobody is discharged tomorrow, nor admitted for an accident yet to happen.
    """
    if not isinstance(facts, Mapping):
        raise ValidationError("facts", "facts 应为对象")
    parsed: dict[str, Any] = {}
    for key, raw in facts.items():
        parser = _PARSERS.get(key)
        if parser is not None and raw is not None:
            parsed[key] = parser(raw, _FIELD_NAMES[key])
            if key in DATE_FACTS:
                _check_day(parsed[key], _FIELD_NAMES[key], today, incident)
    return parsed


DATE_FACTS = ("admission_date", "discharge_date", "death_date", "assessment_date")


def _check_day(day: date, field_name: str, today: date | None, incident: date | None) -> None:
    if today is not None and day > today:
        raise ValidationError(field_name, f"日期 {day.isoformat()} 晚于今天（{today.isoformat()}）")
    if incident is not None and day < incident:
        raise ValidationError(field_name,
                              f"日期 {day.isoformat()} 早于出险日期 {incident.isoformat()}")


def _required(facts: Mapping[str, Any], key: str, what: str) -> Any:
    value = facts.get(key)
    if value is None:
        raise ValidationError(f"facts.{key}", f"缺少{what}（facts.{key}）")
    return value


# --------------------------------------------------------------------------------------------
# building blocks (public: other parts explain the same rules)


def coverage_for(product: Product, claim_type: object) -> Coverage:
    """The coverage of `product` that answers `claim_type`; otherwise ValidationError on it."""
    if not isinstance(claim_type, str) or claim_type not in CLAIM_TYPES:
        raise ValidationError(
            "claim_type", f"理赔类型 {claim_type!r} 无效（可选：{'、'.join(CLAIM_TYPES)}）"
        )
    for cov in product.coverages:
        if claim_type in cov.claim_types:
            return cov
    raise ValidationError("claim_type", f"产品 {product.name} 不承保理赔类型 {claim_type}")


def governing_level(levels: tuple[int, ...] | list[int]) -> tuple[int, int, bool]:
    """(most severe level, how many at that level, raised level): several disabilities from one
    incident are paid at the most severe level, raised by one (never above 1) when two or more
    are at that level."""
    worst = min(levels)
    count = levels.count(worst)
    if count >= 2 and worst > 1:
        return worst, count, True
    return worst, count, False


def disability_percentage(level: int, scale: str = DEFAULT_SCALE) -> Decimal:
    table = DISABILITY_SCALES.get(scale)
    if table is None:
        raise ValidationError("claim_type", f"不支持的伤残评定标准 {scale}")
    return table[level]


def stay_days(admission: date, discharge: date) -> int:
    """Days in hospital: the admission day counts, the discharge day does not."""
    return (discharge - admission).days


def days_by_year(first: date, days: int) -> dict[int, int]:
    """`days` consecutive days from `first`, counted per calendar year."""
    out: dict[int, int] = {}
    year = first.year
    day = first.toordinal()
    end = day + days
    while day < end:
        new_year = date(year + 1, 1, 1).toordinal()
        n = min(end, new_year) - day
        out[year] = n
        day += n
        year += 1
    return out


# --------------------------------------------------------------------------------------------
# statement helpers


@lru_cache(maxsize=4096)
def _yuan(amount: Decimal) -> str:
    return fmt_cn(amount)


def _pct(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return f"{text}%"


def _total(payable: Decimal) -> Line:
    return Line(f"应付合计：{_yuan(payable)}", payable)


def _result(
    lines: list[Line],
    reasons: list[str],
    *,
    excluded: bool = False,
    days: dict[int, int] | None = None,
) -> Adjudication:
    payable = sum((ln.amount for ln in lines), ZERO)
    payable = max(round_yuan(payable), ZERO).quantize(FEN)
    lines.append(_total(payable))
    return Adjudication(
        payable=payable,
        lines=tuple(lines),
        excluded=excluded,
        reasons=tuple(reasons),
        days_paid_by_year=MappingProxyType(days) if days else _NO_DAYS,
    )


def _line(text: str, amount: Decimal) -> Line:
    return Line(text, round_yuan(amount))


# --------------------------------------------------------------------------------------------
# exclusions


def _exclusion(product: Product, coverage: Coverage, cause: str | None) -> tuple[str, str] | None:
    """(code, text) of the exclusion `cause` falls under for this coverage, or None if covered.

    A code some coverage lists under its own `exclusions` (e.g. `dental`) applies only to the
    coverages that list it; every other product exclusion applies to all coverages. A cause the
    product does not know is treated as an accident.
    """
    if not cause or cause in COVERED_CAUSES:
        return None
    texts = {e.code: e.text for e in product.exclusions}
    code = cause
    if code not in texts:
        code = CAUSE_ALIASES.get(cause, "")
        if code not in texts:
            return None
    if code not in coverage.exclusions and any(code in c.exclusions for c in product.coverages):
        return None  # a coverage-specific exclusion of another coverage
    return code, texts[code]


# --------------------------------------------------------------------------------------------
# rules


@dataclass(slots=True)
class _Context:
    product: Product
    coverage: Coverage
    claim_type: str
    incident_date: date
    facts: Mapping[str, Any]
    sum_insured: Decimal
    sums_insured: Mapping[str, Decimal]
    paid_before: Decimal
    allowance_days_by_year: Mapping[int, int]
    paid_stays: tuple[tuple[date, date], ...] = ()
    death_paid_before: Decimal = ZERO

    @property
    def benefit(self) -> Mapping[str, Any]:
        return self.coverage.benefit


def _within_days(ctx: _Context, event: date, event_field: str, what: str) -> tuple[int, str | None]:
    """Days from the accident to the event; a refusal reason when beyond `within_days`."""
    days = (event - ctx.incident_date).days
    if days < 0:
        raise ValidationError(event_field, f"{what}日期 {event} 早于事故日期 {ctx.incident_date}")
    limit = ctx.benefit.get("within_days")
    if limit is not None and days > int(limit):
        return days, f"{what}发生在事故后 {days} 日，超过保险责任约定的 {int(limit)} 日，不予给付"
    return days, None


def _deduct_paid_before(ctx: _Context, lines: list[Line], reasons: list[str], what: str) -> None:
    _deduct(lines, reasons, ctx.paid_before, what)
    _deduct(lines, reasons, ctx.death_paid_before, "身故保险金")


def _deduct(lines: list[Line], reasons: list[str], paid: Decimal, what: str) -> None:
    """Take off what the same accident already pays, never below 0."""
    if paid <= 0:
        return
    gross = sum((ln.amount for ln in lines), ZERO)
    deduction = min(paid, gross)
    text = f"扣除同一事故已给付的{what} {_yuan(paid)}"
    if deduction < paid:
        text += "（扣减至 0 元为止）"
    lines.append(_line(text, -deduction))
    reasons.append(f"已扣除同一事故已给付的{what} {_yuan(paid)}")


def _death(ctx: _Context) -> Adjudication:
    death_date = _required(ctx.facts, "death_date", "身故日期")
    days, late = _within_days(ctx, death_date, "facts.death_date", "身故")
    name = ctx.coverage.name
    if late:
        return _result([_line(f"{name}：{late}", ZERO)], [late])
    limit = ctx.benefit.get("within_days")
    when = f"身故发生在事故后 {days} 日" if days else "事故当日身故"
    if limit is not None:
        when += f"，在 {int(limit)} 日内"
    lines = [_line(f"{name}保险金：保额 {_yuan(ctx.sum_insured)}（{when}）", ctx.sum_insured)]
    reasons: list[str] = []
    _deduct_paid_before(ctx, lines, reasons, "伤残保险金")
    return _result(lines, reasons)


def _transport_death(ctx: _Context) -> Adjudication:
    mode = _required(ctx.facts, "transport", "交通方式")
    amounts = ctx.benefit.get("amounts", {})
    if mode not in amounts:
        known = "、".join(amounts)
        raise ValidationError("facts.transport", f"本产品不承保交通方式 {mode}（可选：{known}）")
    death_date = _required(ctx.facts, "death_date", "身故日期")
    days, late = _within_days(ctx, death_date, "facts.death_date", "身故")
    name = ctx.coverage.name
    if late:
        return _result([_line(f"{name}：{late}", ZERO)], [late])
    amount = Decimal(str(amounts[mode]))
    reasons: list[str] = []
    when = f"身故发生在事故后 {days} 日" if days else "事故当日身故"
    text = f"{name}保险金（乘坐{TRANSPORT_MODES[mode]}）：{_yuan(amount)}（{when}）"
    if amount > ctx.sum_insured:
        text += f"，以保额 {_yuan(ctx.sum_insured)} 为限"
        reasons.append(f"以{name}保额 {_yuan(ctx.sum_insured)} 为限")
        amount = ctx.sum_insured
    instead_of = ctx.benefit.get("instead_of")
    if instead_of:
        other = next((c for c in ctx.product.coverages if c.code == instead_of), None)
        if other is not None:
            other_si = ctx.sums_insured.get(other.code, other.default_sum_insured)
            text += f"；按{name}给付，代替{other.name}保险金 {_yuan(other_si)}，二者不重复给付"
    lines = [_line(text, amount)]
    _deduct_paid_before(ctx, lines, reasons, "伤残保险金")
    return _result(lines, reasons)


def _disability(ctx: _Context) -> Adjudication:
    levels = _required(ctx.facts, "disability_levels", "伤残等级")
    name = ctx.coverage.name
    when = _assessment_note(ctx)
    worst, count, raised = governing_level(levels)
    level = worst - 1 if raised else worst
    scale = str(ctx.benefit.get("scale", DEFAULT_SCALE))
    pct = disability_percentage(level, scale)
    amount = ctx.sum_insured * pct / HUNDRED
    shown = "、".join(f"{lv} 级" for lv in sorted(levels))
    if len(levels) == 1:
        why = f"评定伤残 {worst} 级"
    elif raised:
        why = (
            f"评定伤残 {shown}：多处伤残以最重的 {worst} 级为准，"
            f"其中 {count} 处同为 {worst} 级，晋升一级至 {level} 级"
        )
    elif count >= 2:
        why = f"评定伤残 {shown}：多处伤残以最重的 {worst} 级为准，已为最高等级 1 级，不再晋级"
    else:
        why = f"评定伤残 {shown}：多处伤残以最重的 {worst} 级为准"
    text = (
        f"{name}保险金：{why}；保额 {_yuan(ctx.sum_insured)} × {_pct(pct)}"
        f"（{level} 级，{scale}）= {_yuan(round_yuan(amount))}{when}"
    )
    lines = [_line(text, amount)]
    reasons: list[str] = []
    _deduct_paid_before(ctx, lines, reasons, "伤残保险金")
    return _result(lines, reasons)


def _assessment_note(ctx: _Context) -> str:
    """The assessment's day in the statement. Never a refusal: the 180-day rule concerns when
    the disability results from the accident, and an assessment after day 180 is the normal
    case for an injury still treated then (the condition at day 180 is what was assessed)."""
    assessed = ctx.facts.get("assessment_date")
    if assessed is None:
        return ""
    days = (assessed - ctx.incident_date).days  # never negative: parse_facts refused that
    limit = ctx.benefit.get("within_days")
    if limit is None or days <= int(limit):
        return f"（{assessed} 鉴定，事故后 {days} 日）"
    return (f"（{assessed} 鉴定，事故后 {days} 日：伤残系 {ctx.incident_date} 的意外事故所致，"
            f"事故后 {int(limit)} 日治疗仍未结束的，按第 {int(limit)} 日的身体状况鉴定，"
            "鉴定日期晚于该日不影响给付）")


def _stay(ctx: _Context) -> tuple[date | None, int]:
    """(admission date or None, days in hospital) from the dates and/or `hospital_days`."""
    facts = ctx.facts
    admission = facts.get("admission_date")
    discharge = facts.get("discharge_date")
    given_days = facts.get("hospital_days")
    if admission is not None and discharge is not None:
        if discharge < admission:
            raise ValidationError(
                "facts.discharge_date", f"出院日期 {discharge} 早于入院日期 {admission}"
            )
        days = stay_days(admission, discharge)
        if given_days is not None and given_days != days:
            raise ValidationError(
                "facts.hospital_days",
                f"住院天数 {given_days} 与入出院日期不符"
                f"（{admission} 至 {discharge} 为 {days} 天）",
            )
    elif given_days is not None:
        days = given_days
        if admission is None and discharge is not None:
            admission = discharge - timedelta(days=days)
    elif admission is None:
        raise ValidationError("facts.admission_date", "缺少入院日期（或住院天数 hospital_days）")
    else:
        raise ValidationError("facts.discharge_date", "缺少出院日期（或住院天数 hospital_days）")
    if admission is not None and admission < ctx.incident_date:
        field_name = "facts.admission_date" if "admission_date" in facts else "facts.hospital_days"
        raise ValidationError(field_name, f"入院日期 {admission} 早于事故日期 {ctx.incident_date}")
    return admission, days


def _daily_allowance(ctx: _Context) -> Adjudication:
    benefit = ctx.benefit
    name = ctx.coverage.name
    admission, days = _stay(ctx)
    if benefit.get("daily_amount_from_sum_insured"):
        daily = ctx.sum_insured
    else:
        daily = Decimal(str(benefit["daily_amount"]))
    reasons: list[str] = []
    min_level = benefit.get("min_hospital_level")
    level = ctx.facts.get("hospital_level")
    if min_level is not None and level is not None and level < int(min_level):
        why = f"住院医院为 {level} 级医院，本责任限 {int(min_level)} 级及以上医院住院，不予给付"
        return _result([_line(f"{name}：{why}", ZERO)], [why])

    if admission is not None:
        discharge = admission + timedelta(days=days)
        when = f"{admission} 至 {discharge}，入院当日计入、出院当日不计"
    else:
        when = "按住院天数"
    if days == 0:
        why = "住院 0 天（当日入院当日出院），不给付住院津贴"
        return _result([_line(f"{name}：{why}（{when}）", ZERO)], [why])

    lines = [
        _line(f"{name}：住院 {days} 天（{when}）× {_yuan(daily)}/天", daily * days),
    ]
    # which days of the stay are payable, in order: after the deductible days, up to the cap
    deductible_days = int(benefit.get("deductible_days", 0))
    deductible = min(deductible_days, days)
    if deductible:
        lines.append(_line(f"免赔天数：每次住院前 {deductible_days} 天不给付", -daily * deductible))
        reasons.append(f"每次住院免赔 {deductible_days} 天")
    payable_days = days - deductible
    per_stay = benefit.get("max_days_per_stay")
    if per_stay is not None and payable_days > int(per_stay):
        over = payable_days - int(per_stay)
        lines.append(
            _line(f"每次住院最多给付 {int(per_stay)} 天，超出的 {over} 天不给付", -daily * over)
        )
        reasons.append(f"超过每次住院最多给付 {int(per_stay)} 天的限额")
        payable_days = int(per_stay)

    first_paid = admission + timedelta(days=deductible) if admission is not None else None
    if first_paid is not None:
        candidates = _remaining_by_year(ctx, first_paid, payable_days)
        _already_paid_days(ctx, first_paid, payable_days, daily, lines, reasons)
    else:
        candidates = {ctx.incident_date.year: payable_days} if payable_days else {}
    per_year = benefit.get("max_days_per_year")
    paid: dict[int, int] = {}
    if len(candidates) > 1:
        split = "、".join(f"{year} 年 {n} 天" for year, n in candidates.items())
        lines.append(Line(f"跨年住院，可给付天数按自然年度分别计算：{split}", ZERO))
    for year, n in candidates.items():
        if per_year is None:
            paid[year] = n
            continue
        used = ctx.allowance_days_by_year.get(year, 0)
        room = max(int(per_year) - used, 0)
        got = min(n, room)
        if got < n:
            cut = n - got
            lines.append(
                _line(
                    f"{year} 年度已给付 {used} 天，每年最多给付 {int(per_year)} 天，"
                    f"本次 {year} 年的 {n} 天中 {cut} 天不给付",
                    -daily * cut,
                )
            )
            reasons.append(f"{year} 年度住院津贴已达每年 {int(per_year)} 天的上限")
        if got:
            paid[year] = got
    return _result(lines, reasons, days=paid)


def _paid_days_of(ctx: _Context, admission: date, discharge: date) -> set[int]:
    """The days (ordinals) another stay was paid for under the same benefit rules."""
    benefit = ctx.benefit
    first = admission.toordinal() + int(benefit.get("deductible_days", 0))
    last = discharge.toordinal()
    per_stay = benefit.get("max_days_per_stay")
    if per_stay is not None:
        last = min(last, first + int(per_stay))
    return set(range(first, last))


def _overlap(ctx: _Context, first_paid: date, days: int) -> set[int]:
    mine = set(range(first_paid.toordinal(), first_paid.toordinal() + days))
    paid: set[int] = set()
    for admission, discharge in ctx.paid_stays:
        paid |= _paid_days_of(ctx, admission, discharge)
    return mine & paid


def _already_paid_days(ctx: _Context, first_paid: date, days: int, daily: Decimal,
                       lines: list[Line], reasons: list[str]) -> None:
    """Days of this stay another claim already pays (overlapping stays): never paid twice."""
    twice = _overlap(ctx, first_paid, days)
    if twice:
        lines.append(_line(f"其中 {len(twice)} 天已在其他案件的住院津贴中核定或给付，不重复给付",
                           -daily * len(twice)))
        reasons.append(f"{len(twice)} 天住院已在其他案件中给付，不重复给付")


def _remaining_by_year(ctx: _Context, first_paid: date, days: int) -> dict[int, int]:
    """Per calendar year, the payable days of this stay not already paid by another claim."""
    if not ctx.paid_stays:
        return days_by_year(first_paid, days)
    taken = _overlap(ctx, first_paid, days)
    out: dict[int, int] = {}
    for day in range(first_paid.toordinal(), first_paid.toordinal() + days):
        if day not in taken:
            year = date.fromordinal(day).year
            out[year] = out.get(year, 0) + 1
    return out


def _reimbursement(ctx: _Context) -> Adjudication:
    benefit = ctx.benefit
    facts = ctx.facts
    name = ctx.coverage.name
    expenses = _required(facts, "expenses", "医疗费用金额")
    social = facts.get("social_insurance_paid", ZERO)
    outside = facts.get("out_of_scope_expenses", ZERO)
    if social + outside > expenses:
        field_name = (
            "facts.social_insurance_paid" if social > expenses else "facts.out_of_scope_expenses"
        )
        raise ValidationError(field_name, "已报销及自费部分之和超过医疗费用总额")
    lines = [_line(f"{name}：医疗费用合计 {_yuan(expenses)}", expenses)]
    reasons: list[str] = []
    if social:
        lines.append(_line("扣除社会医疗保险等已报销部分", -social))
    if outside and benefit.get("social_insurance_only"):
        lines.append(_line("扣除社会医疗保险目录外的自费费用", -outside))
    elif outside:
        outside = ZERO
    remaining = expenses - social - outside
    deductible = Decimal(str(benefit.get("deductible", 0)))
    if deductible:
        cut = min(deductible, remaining)
        lines.append(_line(f"扣除免赔额 {_yuan(deductible)}", -cut))
        remaining -= cut
        if cut:
            reasons.append(f"免赔额 {_yuan(deductible)}")
    ratio = Decimal(str(benefit.get("coinsurance_ratio", 1)))
    after_ratio = round_yuan(remaining * ratio)
    if ratio != 1 and remaining:
        lines.append(
            _line(
                f"按 {_pct(ratio * HUNDRED)} 赔付比例给付，自付 {_pct((1 - ratio) * HUNDRED)}",
                after_ratio - remaining,
            )
        )
    cap = max(ctx.sum_insured - ctx.paid_before, ZERO)
    if after_ratio > cap:
        if ctx.paid_before:
            text = (
                f"保额 {_yuan(ctx.sum_insured)}，已给付 {_yuan(ctx.paid_before)}，"
                f"剩余保额 {_yuan(cap)}，超出部分不给付"
            )
        else:
            text = f"以保额 {_yuan(ctx.sum_insured)} 为限，超出部分不给付"
        lines.append(_line(text, cap - after_ratio))
        reasons.append(f"以{name}剩余保额 {_yuan(cap)} 为限")
    return _result(lines, reasons)


def _death_or_disability(ctx: _Context) -> Adjudication:
    if ctx.claim_type == "disability":
        return _disability(ctx)
    return _death(ctx)


_RULES: Mapping[str, Any] = MappingProxyType(
    {
        "fixed": _death,
        "transport": _transport_death,
        "disability_scale": _disability,
        "death_or_disability_scale": _death_or_disability,
        "daily_allowance": _daily_allowance,
        "reimbursement": _reimbursement,
    }
)


# --------------------------------------------------------------------------------------------
# entry point


def _money_arg(raw: object, field_name: str) -> Decimal:
    if isinstance(raw, Decimal):
        if not raw.is_finite() or raw < 0:
            raise ValidationError(field_name, "金额不能为负数")
        return raw
    return parse_amount(raw, field_name)


def adjudicate(
    product: Product,
    claim_type: str,
    incident_date: date | str,
    facts: Mapping[str, object],
    *,
    sums_insured: Mapping[str, Decimal] | None = None,
    paid_before: Decimal = ZERO,
    allowance_days_by_year: Mapping[int, int] | None = None,
    today: date | None = None,
    paid_stays: tuple[tuple[date, date], ...] = (),
    death_paid_before: Decimal = ZERO,
) -> Adjudication:
    """The payable amount of one claim and its calculation statement.

    - `sums_insured`: the policy's sum insured per coverage code (default: product defaults).
    - `paid_before`: already paid for the same accident — disability before a death benefit
      (or a death benefit before a transport death), earlier disability for a re-assessment,
      earlier reimbursement under the same medical cover; deducted, never below 0.
    - `death_paid_before`: a death benefit decided for the same accident under the other death
      cover (death and transport death are paid instead of each other): only the difference.
    - `allowance_days_by_year`: hospital-allowance days already paid per calendar year across
      all the insured's claims. `facts["allowance_days_used_this_year"]` is the same figure for
      the incident's year; when both are given the larger one counts.
    - `today`: when given, date facts after it (or before the incident) are refused.
    - `paid_stays`: (admission, discharge) of the insured's other hospital stays already
      adjudicated or paid: the days they paid are not paid again (overlapping stays).
    """
    coverage = coverage_for(product, claim_type)
    incident = parse_date(incident_date, "incident_date")
    parsed = parse_facts(facts, today=today, incident=incident)
    sis: Mapping[str, Decimal] = sums_insured or {}
    raw_si = sis.get(coverage.code)
    sum_insured = (
        coverage.default_sum_insured
        if raw_si is None
        else _money_arg(raw_si, f"sums_insured.{coverage.code}")
    )
    paid = ZERO if paid_before is ZERO else _money_arg(paid_before, "paid_before")
    used: dict[int, int] = {}
    for year, n in (allowance_days_by_year or {}).items():
        if isinstance(year, bool) or not isinstance(year, int | str) or not str(year).isdigit():
            raise ValidationError("allowance_days_by_year", f"年份 {year!r} 无效")
        used[int(year)] = _int(n, "allowance_days_by_year", 0)
    this_year = parsed.get("allowance_days_used_this_year")
    if this_year is not None and this_year > used.get(incident.year, 0):
        used[incident.year] = this_year

    hit = _exclusion(product, coverage, parsed.get("cause"))
    if hit is not None:
        _code, text = hit
        why = f"属于责任免除：{text}"
        return _result([Line(f"{coverage.name}：不予给付，{why}", ZERO)], [why], excluded=True)

    rule = coverage.benefit.get("rule")
    handler = _RULES.get(rule) if isinstance(rule, str) else None
    if handler is None:
        raise ValidationError("claim_type", f"{coverage.name}的给付规则 {rule!r} 暂不支持理算")
    ctx = _Context(
        product=product,
        coverage=coverage,
        claim_type=claim_type,
        incident_date=incident,
        facts=parsed,
        sum_insured=sum_insured,
        sums_insured=sis,
        paid_before=paid,
        allowance_days_by_year=used,
        paid_stays=paid_stays,
        death_paid_before=ZERO if death_paid_before is ZERO
        else _money_arg(death_paid_before, "death_paid_before"),
    )
    result: Adjudication = handler(ctx)
    return result
