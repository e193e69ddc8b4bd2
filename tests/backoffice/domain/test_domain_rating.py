"""Premium rating, every expected figure worked out by hand from PA-GUARD.json.

PA-GUARD: death/disability 0.60 / 0.80 / 1.10 / 1.60 / 2.40 元 per 1,000 元 a year by age band,
medical 4.00 / 5.00 / … per 1,000 元, hospital allowance 3.00 / 3.60 / … per 10 元 of daily
amount; occupation factors 1.00 / 1.20 / 1.50 / 2.20; instalment factors semiannual 0.52,
quarterly 0.265, monthly 0.09.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

import backoffice.products
from backoffice.domain.errors import ValidationError
from backoffice.domain.product import Product, parse_product
from backoffice.domain.rating import PremiumQuote, group_quote, quote

PRODUCTS_DIR = Path(backoffice.products.__file__).parent
DD = "accidental_death_disability"
CJK = re.compile(r"[\u4e00-\u9fff]")


@cache
def load(code: str) -> Product:
    return parse_product(json.loads((PRODUCTS_DIR / f"{code}.json").read_text("utf-8")))


def D(value: str | int) -> Decimal:
    return Decimal(str(value))


def check_lines(q: PremiumQuote) -> None:
    assert q.lines
    for line in q.lines:
        assert CJK.search(line.text), line.text
        assert isinstance(line.amount, Decimal)
    assert q.lines[-1].amount == q.total_premium


@pytest.mark.parametrize(
    ("age", "occ", "sums", "loading", "annual"),
    [
        # 100,000 ÷ 1,000 × 0.80 = 80.00; × 1.20 = 96.00
        (45, 2, {DD: "100000"}, 0, "96.00"),
        # 80.00 × 1.20 × 1.20 = 115.20
        (45, 2, {DD: "100000"}, 20, "115.20"),
        # class 1, age 30: 100 × 0.60 = 60.00
        (30, 1, {DD: "100000"}, 0, "60.00"),
        # class 1 with 25 % loading: 60.00 × 1.25 = 75.00
        (30, 1, {DD: "100000"}, 25, "75.00"),
        # class 4 (×2.20) and 50 % loading (class 4 30 % + hypertension 20 %): 80 × 2.2 × 1.5
        (45, 4, {DD: "100000"}, 50, "264.00"),
        # class 3: 80 × 1.5 = 120.00
        (45, 3, {DD: "100000"}, 0, "120.00"),
        # band edges, class 1: 100 × rate
        (18, 1, {DD: "100000"}, 0, "60.00"),
        (40, 1, {DD: "100000"}, 0, "60.00"),
        (41, 1, {DD: "100000"}, 0, "80.00"),
        (51, 1, {DD: "100000"}, 0, "110.00"),
        (61, 1, {DD: "100000"}, 0, "160.00"),
        (76, 1, {DD: "100000"}, 0, "240.00"),
        # smallest and largest sums insured: 10 × 0.60 = 6.00; 500 × 2.40 = 1,200.00
        (30, 1, {DD: "10000"}, 0, "6.00"),
        (71, 1, {DD: "500000"}, 0, "1200.00"),
        # optional covers, age 45 class 2: 80 + 10 × 5.00 + 100 ÷ 10 × 3.60 = 166.00 × 1.2
        (45, 2, {DD: "100000", "accidental_medical": "10000", "hospital_allowance": "100"},
         0, "199.20"),
        # age 30 class 1: 60 + 20 × 4.00 = 140.00
        (30, 1, {DD: "100000", "accidental_medical": "20000"}, 0, "140.00"),
        # age 65 class 1: 50 × 1.60 + 300 ÷ 10 × 6.00 = 80 + 180 = 260.00
        (65, 1, {DD: "50000", "hospital_allowance": "300"}, 0, "260.00"),
    ],
)
def test_annual_premium_single_payment(
    age: int, occ: int, sums: dict[str, str], loading: int, annual: str
) -> None:
    q = quote(load("PA-GUARD"), age, occ, {k: D(v) for k, v in sums.items()}, D(loading))
    assert q.annual_premium == D(annual)
    assert q.instalments == 1
    assert q.instalment_amount == D(annual)
    assert q.total_premium == D(annual)
    check_lines(q)


def test_lines_of_the_reference_quote() -> None:
    q = quote(load("PA-GUARD"), 45, 2, {DD: D(100000)}, D(20))
    amounts = [line.amount for line in q.lines]
    # coverage 80.00, base 80.00, class factor 96.00, loading 115.20, annual, single, total
    assert amounts == [D("80.00"), D("80.00"), D("96.00"), D("115.20"), D("115.20"),
                       D("115.20"), D("115.20")]
    assert "意外身故及伤残" in q.lines[0].text
    assert "1.20" in q.lines[2].text  # the factor is shown
    assert "20" in q.lines[3].text  # the loading is shown
    assert q.coverage_premiums == {DD: D("115.20")}


def test_no_factor_line_for_class_1_and_no_loading_line_without_loading() -> None:
    q = quote(load("PA-GUARD"), 30, 1, {DD: D(100000)})
    assert len(q.lines) == 5  # coverage, base, annual, payment, total
    assert not any("职业类别" in line.text for line in q.lines)
    assert not any("加费" in line.text for line in q.lines)


def test_optional_coverages_add_lines() -> None:
    p = load("PA-GUARD")
    base = quote(p, 45, 2, {DD: D(100000)})
    full = quote(
        p, 45, 2,
        {DD: D(100000), "accidental_medical": D(10000), "hospital_allowance": D(100)},
    )
    assert len(full.lines) == len(base.lines) + 2
    assert full.lines[1].amount == D("50.00")  # 10 × 5.00
    assert full.lines[2].amount == D("36.00")  # 100 ÷ 10 × 3.60
    assert full.lines[3].amount == D("166.00")  # base total
    assert full.coverage_premiums == {
        DD: D("96.00"), "accidental_medical": D("60.00"), "hospital_allowance": D("43.20"),
    }
    check_lines(full)


@pytest.mark.parametrize(
    ("age", "occ", "sums", "mode", "freq", "annual", "instalment", "count", "total"),
    [
        # 96.00 × 0.09 = 8.64; × 12 = 103.68
        (45, 2, {DD: "100000"}, "instalments", "monthly", "96.00", "8.64", 12, "103.68"),
        (45, 2, {DD: "100000"}, "auto_debit", "monthly", "96.00", "8.64", 12, "103.68"),
        # 96.00 × 0.265 = 25.44; × 4 = 101.76
        (45, 2, {DD: "100000"}, "instalments", "quarterly", "96.00", "25.44", 4, "101.76"),
        # 96.00 × 0.52 = 49.92; × 2 = 99.84
        (45, 2, {DD: "100000"}, "instalments", "semiannual", "96.00", "49.92", 2, "99.84"),
        # instalments but yearly: one payment, no surcharge
        (45, 2, {DD: "100000"}, "instalments", "annual", "96.00", "96.00", 1, "96.00"),
        # round half up: age 45 class 3, 8.00 + 15 × 5.00 = 83.00 × 1.5 = 124.50;
        # 124.50 × 0.09 = 11.205 → 11.21 (banker's rounding would give 11.20); × 12 = 134.52
        (45, 3, {DD: "10000", "accidental_medical": "15000"}, "instalments", "monthly",
         "124.50", "11.21", 12, "134.52"),
        # age 30 class 3: 2 × 6.00 + 50 ÷ 10 × 3.00 = 27.00 × 1.5 = 40.50;
        # × 0.09 = 3.645 → 3.65; × 12 = 43.80
        (30, 3, {DD: "20000", "hospital_allowance": "50"}, "auto_debit", "monthly",
         "40.50", "3.65", 12, "43.80"),
        # 40.50 × 0.265 = 10.7325 → 10.73; × 4 = 42.92
        (30, 3, {DD: "20000", "hospital_allowance": "50"}, "instalments", "quarterly",
         "40.50", "10.73", 4, "42.92"),
    ],
)
def test_instalments(
    age: int, occ: int, sums: dict[str, str], mode: str, freq: str,
    annual: str, instalment: str, count: int, total: str,
) -> None:
    q = quote(load("PA-GUARD"), age, occ, {k: D(v) for k, v in sums.items()},
              payment_mode=mode, frequency=freq)
    assert q.annual_premium == D(annual)
    assert q.instalment_amount == D(instalment)
    assert q.instalments == count
    assert q.total_premium == D(total)
    check_lines(q)
    if D(total) != D(annual):
        surcharge = [line for line in q.lines if "比年缴多" in line.text]
        assert len(surcharge) == 1
        assert surcharge[0].amount == D(total) - D(annual)


@pytest.mark.parametrize(
    ("mode", "freq", "field"),
    [
        ("cash", "annual", "payment_mode"),
        ("", "annual", "payment_mode"),
        ("single", "monthly", "frequency"),
        ("instalments", "weekly", "frequency"),
        ("auto_debit", "daily", "frequency"),
    ],
)
def test_invalid_payment_refused(mode: str, freq: str, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        quote(load("PA-GUARD"), 45, 2, {DD: D(100000)}, payment_mode=mode, frequency=freq)
    assert err.value.field == field


def test_payment_mode_not_offered_by_the_product() -> None:
    elder = load("CN-ELDER-ACC")
    with pytest.raises(ValidationError) as err:
        quote(elder, 65, 1, {"accidental_death": D(3000)}, payment_mode="instalments",
              frequency="annual")
    assert err.value.field == "payment_mode"


@pytest.mark.parametrize(
    ("age", "occ", "sums", "field"),
    [
        (45, 0, {DD: "100000"}, "occupation_class"),
        (45, 5, {DD: "100000"}, "occupation_class"),
        (45, 6, {DD: "100000"}, "occupation_class"),
        (45, 2, {}, "coverages"),  # required coverage missing
        (45, 2, {"accidental_medical": "10000"}, "coverages"),
        (45, 2, {DD: "100000", "critical_illness": "10000"}, "coverages"),  # unknown
        (45, 2, {DD: "15000"}, f"coverages.{DD}.sum_insured"),
        (45, 2, {DD: "600000"}, f"coverages.{DD}.sum_insured"),
        (45, 2, {DD: "100000", "hospital_allowance": "20"},
         "coverages.hospital_allowance.sum_insured"),
        (17, 2, {DD: "100000"}, "birth_date"),  # no rate for the age
        (77, 2, {DD: "100000"}, "birth_date"),
    ],
)
def test_invalid_quote_refused_naming_the_field(
    age: int, occ: int, sums: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        quote(load("PA-GUARD"), age, occ, {k: D(v) for k, v in sums.items()})
    assert err.value.field == field


def test_group_quote_for_the_elder_scheme() -> None:
    """rules.md §4: 10 元 × 215,864 residents = 2,158,640 元."""
    q = group_quote(load("CN-ELDER-ACC"), 215_864)
    assert q.total_premium == D("2158640.00")
    assert q.annual_premium == D("2158640.00")
    assert q.instalments == 1
    assert "215,864" in q.lines[0].text
    assert "10.00 元" in q.lines[0].text
    check_lines(q)


@pytest.mark.parametrize(("members", "total"), [(1, "10.00"), (0, "0.00"), (1000, "10000.00")])
def test_group_quote_scales_per_head(members: int, total: str) -> None:
    assert group_quote(load("CN-ELDER-ACC"), members).total_premium == D(total)


def test_group_quote_refuses_an_individual_product() -> None:
    with pytest.raises(ValidationError) as err:
        group_quote(load("PA-GUARD"), 10)
    assert err.value.field == "product_code"
