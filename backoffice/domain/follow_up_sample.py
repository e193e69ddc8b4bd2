"""回访 samples of a scheme's insureds: how many, who and for which period. Pure.

The tender asks for 回访 of new members in their first month and of a quarterly and a yearly
sample of the insureds. How large each sample is lives in the product (`follow_up_samples`:
a rate of the population with a floor and a ceiling), so an office changes it as data.

The pick is deterministic for a period: members are ordered by a hash of the period and their
id, and the first n taken. Re-running a period picks the same people, another period others.
Nobody is left out for lack of a phone (that would sample only the reachable): the task says
how to reach them instead.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from backoffice.domain.errors import ValidationError

FIRST_MONTH, QUARTERLY, YEARLY = "first_month", "quarterly", "yearly"
KINDS = (FIRST_MONTH, QUARTERLY, YEARLY)
KIND_NAMES = {FIRST_MONTH: "参保首月回访", QUARTERLY: "季度抽样回访", YEARLY: "年度抽样回访"}
DUE_DAYS = {FIRST_MONTH: 7, QUARTERLY: 20, YEARLY: 30}  # days from the sampling to reach them
ELDERLY_AGE = 80
NO_PHONE_NOTE = "无联系电话：请经村（居）委会联系或上门回访"
ELDERLY_NOTE = "高龄：请放慢语速、说明来意，可请家属协助"


@dataclass(frozen=True, slots=True)
class SampleRule:
    """A rate of the population, at least `min` and at most `max` people (never more than
    there are)."""

    rate: Decimal
    min: int = 0
    max: int = 1000

    def size(self, population: int) -> int:
        if population <= 0 or (self.rate <= 0 and self.min <= 0):
            return 0
        wanted = math.ceil(Decimal(population) * self.rate)
        return min(population, self.max, max(self.min, wanted))


def parse_samples(raw: object, where: str = "follow_up_samples") -> dict[str, SampleRule]:
    """The product's `follow_up_samples` {kind: {rate, min?, max?}}; malformed data fails."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValidationError(where, "回访抽样须为 {类型: {rate, min, max}}")
    rules = {}
    for kind, rule in raw.items():
        if kind not in KINDS or not isinstance(rule, Mapping):
            raise ValidationError(f"{where}.{kind}", f"回访抽样类型须为 {', '.join(KINDS)} 之一")
        rules[kind] = _rule(rule, f"{where}.{kind}")
    return rules


def _rule(raw: Mapping[str, Any], where: str) -> SampleRule:
    try:
        rate = Decimal(str(raw.get("rate", "0")))
    except InvalidOperation:
        raise ValidationError(f"{where}.rate", "抽样比例须为 0–1 的小数") from None
    low, high = raw.get("min", 0), raw.get("max", 1000)
    if not (rate.is_finite() and 0 <= rate <= 1):
        raise ValidationError(f"{where}.rate", "抽样比例须为 0–1 的小数")
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 100_000
               for n in (low, high)) or low > high:
        raise ValidationError(where, "抽样人数上下限须为 0–100000 的整数，下限不大于上限")
    return SampleRule(rate, low, high)


def period_of(kind: str, day: date) -> str:
    """The period a firing on `day` samples. First month: the half-month of enrollment that
    has just ended (sampled on the 1st and the 16th, so everyone is called within their
    first month); quarterly: the quarter starting; yearly: the year."""
    if kind == FIRST_MONTH:
        if day.day >= 16:
            return f"{day:%Y-%m}a"  # enrolled on the 1st–15th of this month
        last = day.replace(day=1) - timedelta(days=1)
        return f"{last:%Y-%m}b"  # enrolled from the 16th to the end of last month
    if kind == QUARTERLY:
        return f"{day.year}Q{(day.month + 2) // 3}"
    return str(day.year)


def enrolled_between(period: str) -> tuple[date, date]:
    """The enrollment days (first, last) of a first-month period such as 2026-11a."""
    year, month, half = int(period[:4]), int(period[5:7]), period[7:]
    first = date(year, month, 1)
    if half == "a":
        return first, first.replace(day=15)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first.replace(day=16), nxt - timedelta(days=1)


def pick(ids: Iterable[int], salt: str, n: int) -> list[int]:
    """n of `ids`, the same for the same salt (the period and kind), in a stable order."""
    ranked = sorted(set(ids), key=lambda i: (hashlib.sha256(f"{salt}:{i}".encode())
                                             .hexdigest(), i))
    return sorted(ranked[:max(n, 0)])


def contact_note(age: int, phone: str | None) -> str:
    """How to reach the member: no phone means through the village or a visit."""
    parts = [] if phone else [NO_PHONE_NOTE]
    if age >= ELDERLY_AGE:
        parts.append(ELDERLY_NOTE)
    return "；".join(parts)
