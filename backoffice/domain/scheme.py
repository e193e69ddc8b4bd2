"""The government scheme year to year (统保方案): renewal of the group policy, and the loss ratio
(赔付率) the tender holds the insurer to. Pure: every date and amount is passed in.

- Renewal: next year's policy starts the day this year's ends (a policy covers
  start ≤ day < end), for the members still on the roster then — alive and resident: the
  roster's removals (death, moving away) and a death claim of the member take them off. It may
  be issued from RENEWAL_WINDOW_DAYS before that day, once the government's premium for the
  year is known, and at most once.
- Loss ratio: claims paid plus reserved (the open claims' amounts: approved and not yet paid,
  adjudicated, else an estimate) over the year's premium. Projected to the year's end pro
  rata to the days elapsed; the tender asks for at least 60 % (the government's money must
  reach the insureds) and more than 100 % is a loss the insurer must see early.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from backoffice.domain.errors import Conflict, ValidationError
from backoffice.domain.policy import add_months

RENEWAL_WINDOW_DAYS = 90
LOSS_RATIO_FLOOR = Decimal("0.60")
LOSS_RATIO_CEILING = Decimal("1.00")
# before this many days of the year have run the projection is mostly noise: no alert
MIN_DAYS_FOR_PROJECTION = 90
MAX_PREMIUM_PER_INSURED = Decimal("10000")


@dataclass(frozen=True)
class RenewalTerms:
    start: date
    end: date
    premium_per_insured: Decimal


def renewal_terms(current_end: date, term_months: int, today: date,
                  premium_per_insured: Decimal) -> RenewalTerms:
    """Next year's period and per-head premium, or why not yet."""
    if not Decimal(0) < premium_per_insured <= MAX_PREMIUM_PER_INSURED:
        raise ValidationError("premium_per_insured",
                              f"每人保费须大于 0 且不超过 {MAX_PREMIUM_PER_INSURED} 元")
    opens = date.fromordinal(current_end.toordinal() - RENEWAL_WINDOW_DAYS)
    if today < opens:
        raise Conflict(f"保险期间至 {current_end} 届满，{opens} 起方可续保", "today")
    return RenewalTerms(current_end, add_months(current_end, term_months), premium_per_insured)


@dataclass(frozen=True)
class LossRatio:
    premium: Decimal
    paid: Decimal
    reserved: Decimal
    days_elapsed: int
    days_in_term: int

    @property
    def incurred(self) -> Decimal:
        return self.paid + self.reserved

    @property
    def ratio(self) -> Decimal | None:
        return _ratio(self.incurred, self.premium)

    @property
    def projected(self) -> Decimal | None:
        """The year-end ratio if claims go on arriving at this year's pace so far."""
        if self.days_elapsed <= 0:
            return None
        scale = Decimal(self.days_in_term) / Decimal(min(self.days_elapsed, self.days_in_term))
        return _ratio(self.incurred * scale, self.premium)

    def alert(self) -> str | None:
        """'low' below the tender's 60 % floor, 'high' above 100 %, once the year has run
        long enough to say; else None."""
        projected = self.projected
        if projected is None or self.days_elapsed < MIN_DAYS_FOR_PROJECTION:
            return None
        if projected < LOSS_RATIO_FLOOR:
            return "low"
        if projected > LOSS_RATIO_CEILING:
            return "high"
        return None


def _ratio(amount: Decimal, premium: Decimal) -> Decimal | None:
    if premium <= 0:
        return None
    return (amount / premium).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def loss_ratio(premium: Decimal, paid: Decimal, reserved: Decimal, start: date, end: date,
               today: date) -> LossRatio:
    return LossRatio(premium, paid, reserved, (min(today, end) - start).days,
                     (end - start).days)


def pct(ratio: Decimal | None) -> str:
    return "—" if ratio is None else f"{(ratio * 100).quantize(Decimal('0.1'))}%"


# ---- the quarterly disclosure report (信息披露) -------------------------------------------

_QUARTER = re.compile(r"^(\d{4})[-_ ]?Q([1-4])$", re.IGNORECASE)
_TOWN = re.compile(r"([\u4e00-\u9fff]{1,8}?(?:街道|镇|乡))")
_TOWN_SUFFIX = re.compile(r"街道|镇|乡")
_CJK = re.compile(r"[\u4e00-\u9fff]{1,8}")
UNKNOWN_TOWN = "未详"


def parse_quarter(raw: object) -> tuple[date, date]:
    """"2026Q3" → (2026-07-01, 2026-09-30): the quarter's first and last day."""
    match = _QUARTER.match(str(raw).strip()) if isinstance(raw, str) else None
    if match is None or not 2000 <= int(match.group(1)) <= 2100:
        raise ValidationError("quarter", "季度格式为 YYYYQn，如 2026Q3")
    year, q = int(match.group(1)), int(match.group(2))
    first = date(year, 3 * q - 2, 1)
    return first, date.fromordinal(add_months(first, 3).toordinal() - 1)


def town_of(address: str | None) -> str:
    """The town (镇/街道/乡) of an address as the roster writes it ("潮南区峡山街道1号" →
    "峡山街道"); the county part before it is dropped. UNKNOWN_TOWN when none is named.
    The county part ends at the last 区/县/市 before the town's suffix: a village's 社区 after
    it is not a county (the town of "…潮南区峡山街道洋汾陈社区…" is 峡山街道), and the town
    of a town is itself (an erased person's address keeps only its town)."""
    if not address:
        return UNKNOWN_TOWN
    suffix = _TOWN_SUFFIX.search(address)
    if suffix is None:
        return UNKNOWN_TOWN
    head = address[:suffix.start()]
    cut = max(head.rfind(c) for c in "区县市") + 1
    name = head[cut:]
    if not name or not _CJK.fullmatch(name):
        match = _TOWN.search(address)
        return match.group(1) if match else UNKNOWN_TOWN
    return name + suffix.group(0)
