"""Adjudication (理算), every expected amount worked out by hand from rules.md §4–§5 and the
product files.

CN-ELDER-ACC: death 3,000 元; transport death 30,000 / 30,000 / 50,000 / 100,000 元 instead of
it; disability 3,000 元 × (100, 90, …, 10 %) by level; hospital allowance 30 元/day, 90 days a
stay, 180 days a calendar year; death / disability within 180 days of the accident.
PA-GUARD: death / disability 100,000 元 by default; allowance = the sum insured per day (100 元
by default), the first 3 days of each stay unpaid; medical (expenses − social insurance − 100 元)
× 90 %, at most the sum insured (10,000 元 by default).
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import backoffice.products
from backoffice.domain.adjudication import (
    FACT_KEYS,
    Adjudication,
    adjudicate,
    days_by_year,
    governing_level,
    stay_days,
)
from backoffice.domain.errors import ValidationError
from backoffice.domain.product import Product, parse_product

PRODUCTS_DIR = Path(backoffice.products.__file__).parent
CJK = re.compile(r"[\u4e00-\u9fff]")
D = Decimal
ACCIDENT = date(2024, 1, 1)  # 2024 is a leap year: 2024-06-29 is day 180, 2024-06-30 day 181


@cache
def load(code: str) -> Product:
    return parse_product(json.loads((PRODUCTS_DIR / f"{code}.json").read_text(encoding="utf-8")))


def elder() -> Product:
    return load("CN-ELDER-ACC")


def guard() -> Product:
    return load("PA-GUARD")


def run(
    code: str,
    claim_type: str,
    facts: dict[str, Any],
    incident: date = ACCIDENT,
    **kwargs: Any,
) -> Adjudication:
    return adjudicate(load(code), claim_type, incident, facts, **kwargs)


def after(days: int, start: date = ACCIDENT) -> str:
    return (start + timedelta(days=days)).isoformat()


def assert_statement(result: Adjudication) -> None:
    """The statement adds up, is in Chinese, and ends with the total."""
    assert result.lines, "a statement has at least the total line"
    *body, total = result.lines
    assert total.amount == result.payable
    assert "应付合计" in total.text
    assert sum((ln.amount for ln in body), D(0)) == result.payable
    assert result.payable >= 0
    for ln in result.lines:
        assert CJK.search(ln.text), ln.text
        assert ln.amount == ln.amount.quantize(D("0.01")), ln
    assert result.payable == result.payable.quantize(D("0.01"))


def texts(result: Adjudication) -> str:
    return "\n".join(ln.text for ln in result.lines)


# --------------------------------------------------------------------------------------------
# death


@pytest.mark.parametrize(
    ("death_date", "paid_before", "payable"),
    [
        (after(0), D(0), D("3000.00")),  # died on the day of the accident
        (after(30), D(0), D("3000.00")),
        ("2024-06-29", D(0), D("3000.00")),  # day 180 pays
        ("2024-06-30", D(0), D("0.00")),  # day 181 does not
        (after(180), D(0), D("3000.00")),
        (after(181), D(0), D("0.00")),
        (after(400), D(0), D("0.00")),
        (after(10), D("600.00"), D("2400.00")),  # level-8 disability (30 %) paid first
        (after(10), D("2999.99"), D("0.01")),
        (after(10), D("3000.00"), D("0.00")),
        (after(10), D("5000.00"), D("0.00")),  # never below 0
        (after(181), D("600.00"), D("0.00")),
    ],
)
def test_elder_accidental_death(death_date: str, paid_before: Decimal, payable: Decimal) -> None:
    result = run("CN-ELDER-ACC", "death", {"death_date": death_date}, paid_before=paid_before)
    assert result.payable == payable
    assert not result.excluded
    assert result.days_paid_by_year == {}
    assert_statement(result)


def test_death_deduction_and_late_death_are_explained() -> None:
    deducted = run("CN-ELDER-ACC", "death", {"death_date": after(10)}, paid_before=D("600"))
    assert "扣除同一事故已给付的伤残保险金 600.00 元" in texts(deducted)
    assert [ln.amount for ln in deducted.lines] == [D("3000.00"), D("-600.00"), D("2400.00")]
    assert deducted.reasons
    late = run("CN-ELDER-ACC", "death", {"death_date": "2024-06-30"})
    assert "181 日" in texts(late)
    assert "180 日" in texts(late)
    assert not late.excluded
    assert any("181" in r for r in late.reasons)


# --------------------------------------------------------------------------------------------
# death in public transport


@pytest.mark.parametrize(
    ("transport", "death_date", "paid_before", "payable"),
    [
        ("motor_vehicle", after(0), D(0), D("30000.00")),
        ("rail", after(5), D(0), D("30000.00")),
        ("ship", after(5), D(0), D("50000.00")),
        ("aircraft", after(5), D(0), D("100000.00")),
        ("aircraft", after(180), D(0), D("100000.00")),
        ("aircraft", after(181), D(0), D("0.00")),
        ("ship", after(20), D("2400.00"), D("47600.00")),  # level-3 disability paid first
        ("rail", after(20), D("3000.00"), D("27000.00")),  # the 3,000 death paid by mistake
    ],
)
def test_elder_transport_death(
    transport: str, death_date: str, paid_before: Decimal, payable: Decimal
) -> None:
    result = run(
        "CN-ELDER-ACC",
        "transport_death",
        {"death_date": death_date, "transport": transport},
        paid_before=paid_before,
    )
    assert result.payable == payable
    assert_statement(result)


@pytest.mark.parametrize(
    ("transport", "mode_text"),
    [("motor_vehicle", "机动车"), ("rail", "轨道交通"), ("ship", "轮船"), ("aircraft", "客机")],
)
def test_transport_death_is_instead_of_accidental_death(transport: str, mode_text: str) -> None:
    result = run(
        "CN-ELDER-ACC", "transport_death", {"death_date": after(3), "transport": transport}
    )
    first = result.lines[0].text
    assert mode_text in first
    assert "代替意外身故保险金 3,000.00 元" in first
    assert "不重复给付" in first
    assert len(result.lines) == 2  # one benefit line and the total: never both amounts


# --------------------------------------------------------------------------------------------
# disability


@pytest.mark.parametrize(
    ("levels", "payable", "governing"),
    [
        ([1], D("3000.00"), 1),
        ([2], D("2700.00"), 2),
        ([3], D("2400.00"), 3),
        ([4], D("2100.00"), 4),
        ([5], D("1800.00"), 5),
        ([6], D("1500.00"), 6),
        ([7], D("1200.00"), 7),
        ([8], D("900.00"), 8),
        ([9], D("600.00"), 9),
        ([10], D("300.00"), 10),
        ([3, 5], D("2400.00"), 3),  # the most severe governs
        ([5, 3], D("2400.00"), 3),
        ([3, 3], D("2700.00"), 2),  # two at the most severe level: raised one level
        ([3, 3, 3], D("2700.00"), 2),  # raised once only
        ([5, 3, 3, 8], D("2700.00"), 2),
        ([4, 3, 4], D("2400.00"), 3),  # a pair below the most severe does not raise
        ([10, 10], D("600.00"), 9),
        ([2, 2], D("3000.00"), 1),
        ([1, 1], D("3000.00"), 1),  # never above level 1
        ([1, 1, 1, 2], D("3000.00"), 1),
    ],
)
def test_elder_disability_levels(levels: list[int], payable: Decimal, governing: int) -> None:
    result = run("CN-ELDER-ACC", "disability", {"disability_levels": levels})
    assert result.payable == payable
    assert f"{governing} 级" in result.lines[0].text
    assert_statement(result)


def test_disability_lines_explain_most_severe_and_raise() -> None:
    several = texts(run("CN-ELDER-ACC", "disability", {"disability_levels": [3, 5]}))
    assert "最重" in several
    assert "晋升" not in several
    assert "80%" in several
    raised = texts(run("CN-ELDER-ACC", "disability", {"disability_levels": [3, 3]}))
    assert "晋升一级至 2 级" in raised
    assert "90%" in raised
    top = texts(run("CN-ELDER-ACC", "disability", {"disability_levels": [1, 1]}))
    assert "不再晋级" in top
    assert "100%" in top


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ([7], (7, 1, False)),
        ([3, 5], (3, 1, False)),
        ([3, 3], (3, 2, True)),
        ([1, 1], (1, 2, False)),
        ([6, 6, 6], (6, 3, True)),
    ],
)
def test_governing_level(levels: list[int], expected: tuple[int, int, bool]) -> None:
    assert governing_level(levels) == expected


@pytest.mark.parametrize(
    ("facts", "paid_before", "payable"),
    [
        ({"assessment_date": after(180)}, D(0), D("2400.00")),
        ({"assessment_date": "2024-06-29"}, D(0), D("2400.00")),
        # the 180 days run to the disability, not to its assessment (JR/T 0083: assessed after
        # treatment, at day 180 at the latest for the condition then, so usually dated later)
        ({"assessment_date": "2024-06-30"}, D(0), D("2400.00")),  # day 181
        ({"assessment_date": after(181)}, D(0), D("2400.00")),
        ({"assessment_date": after(200)}, D(0), D("2400.00")),
        ({"assessment_date": after(400)}, D(0), D("2400.00")),
        ({}, D("900.00"), D("1500.00")),  # re-assessment: earlier disability deducted
        ({}, D("3000.00"), D("0.00")),
    ],
)
def test_elder_disability_within_180_days_and_paid_before(
    facts: dict[str, Any], paid_before: Decimal, payable: Decimal
) -> None:
    result = run(
        "CN-ELDER-ACC",
        "disability",
        {"disability_levels": [3], **facts},
        paid_before=paid_before,
    )
    assert result.payable == payable
    assert_statement(result)


def test_an_assessment_after_day_180_says_the_condition_at_day_180_governs() -> None:
    """rules.md §4: the 180-day rule concerns when the disability results from the accident;
    an injury still treated at day 180 is assessed on the condition then, usually later."""
    within = texts(run("CN-ELDER-ACC", "disability",
                       {"disability_levels": [3], "assessment_date": after(150)}))
    assert f"{after(150)} 鉴定，事故后 150 日" in within and "第 180 日" not in within
    late = run("CN-ELDER-ACC", "disability",
               {"disability_levels": [3], "assessment_date": after(210)})
    assert late.payable == D("2400.00") and late.reasons == ()
    assert "事故后 210 日" in texts(late) and "按第 180 日的身体状况鉴定" in texts(late)
    assert_statement(late)
    # still refused: an assessment before the accident, or after today
    for day, today in ((after(-1), None), (after(210), ACCIDENT + timedelta(days=200))):
        with pytest.raises(ValidationError) as err:
            run("CN-ELDER-ACC", "disability", {"disability_levels": [3], "assessment_date": day},
                today=today)
        assert err.value.field == "facts.assessment_date"
    # a death is still dated by the death: day 181 pays nothing
    assert run("CN-ELDER-ACC", "death", {"death_date": after(181)}).payable == D("0.00")


# --------------------------------------------------------------------------------------------
# hospital allowance, CN-ELDER-ACC: 30 元/day, 90 a stay, 180 a calendar year


@pytest.mark.parametrize(
    ("admission", "discharge", "used", "payable", "days_paid"),
    [
        ("2024-03-01", "2024-03-11", {}, D("300.00"), {2024: 10}),
        ("2024-03-01", "2024-03-02", {}, D("30.00"), {2024: 1}),
        ("2024-03-01", "2024-03-01", {}, D("0.00"), {}),  # 0 days pays nothing
        ("2024-03-01", "2024-05-30", {}, D("2700.00"), {2024: 90}),  # 90 days pays 90
        ("2024-03-01", "2024-05-31", {}, D("2700.00"), {2024: 90}),  # 91 days pays 90
        ("2024-03-01", "2024-09-01", {}, D("2700.00"), {2024: 90}),
        ("2024-03-01", "2024-03-21", {2024: 170}, D("300.00"), {2024: 10}),  # 170 + 20 → 10
        ("2024-03-01", "2024-03-21", {2024: 160}, D("600.00"), {2024: 20}),  # exactly 180
        ("2024-03-01", "2024-03-02", {2024: 179}, D("30.00"), {2024: 1}),  # 180th day
        ("2024-03-01", "2024-03-03", {2024: 180}, D("0.00"), {}),  # 181st day is not paid
        ("2024-03-01", "2024-03-21", {2024: 200}, D("0.00"), {}),
        ("2024-03-01", "2024-06-01", {2024: 100}, D("2400.00"), {2024: 80}),
        ("2024-03-01", "2024-03-21", {2023: 180}, D("600.00"), {2024: 20}),  # other year
        # crossing New Year: 12 days in 2024 (20th–31st), 8 in 2025 (1st–8th)
        ("2024-12-20", "2025-01-09", {}, D("600.00"), {2024: 12, 2025: 8}),
        ("2024-12-20", "2025-01-09", {2024: 175}, D("390.00"), {2024: 5, 2025: 8}),
        ("2024-12-20", "2025-01-09", {2024: 180}, D("240.00"), {2025: 8}),
        ("2024-12-20", "2025-01-09", {2024: 175, 2025: 178}, D("210.00"), {2024: 5, 2025: 2}),
        # 120 days from 1 Dec: the 90 payable are Dec (31) + Jan (31) + Feb (28)
        ("2024-12-01", "2025-03-31", {}, D("2700.00"), {2024: 31, 2025: 59}),
        ("2024-12-01", "2025-03-31", {2024: 170}, D("2070.00"), {2024: 10, 2025: 59}),
        ("2024-12-31", "2025-01-01", {2024: 179}, D("30.00"), {2024: 1}),  # discharge day unpaid
    ],
)
def test_elder_hospital_allowance(
    admission: str,
    discharge: str,
    used: dict[int, int],
    payable: Decimal,
    days_paid: dict[int, int],
) -> None:
    incident = date.fromisoformat(admission)
    result = run(
        "CN-ELDER-ACC",
        "hospital_allowance",
        {"admission_date": admission, "discharge_date": discharge},
        incident,
        allowance_days_by_year=used,
    )
    assert result.payable == payable
    assert dict(result.days_paid_by_year) == days_paid
    assert sum(result.days_paid_by_year.values()) * 30 == payable
    assert_statement(result)


def test_allowance_statement_names_the_caps() -> None:
    stay = run(
        "CN-ELDER-ACC",
        "hospital_allowance",
        {"admission_date": "2024-03-01", "discharge_date": "2024-05-31"},
    )
    assert "每次住院最多给付 90 天，超出的 1 天不给付" in texts(stay)
    assert [ln.amount for ln in stay.lines] == [D("2730.00"), D("-30.00"), D("2700.00")]
    year = run(
        "CN-ELDER-ACC",
        "hospital_allowance",
        {"admission_date": "2024-12-20", "discharge_date": "2025-01-09"},
        date(2024, 12, 20),
        allowance_days_by_year={2024: 175},
    )
    text = texts(year)
    assert "2024 年 12 天、2025 年 8 天" in text
    assert "2024 年度已给付 175 天" in text
    assert "7 天不给付" in text
    zero = run(
        "CN-ELDER-ACC",
        "hospital_allowance",
        {"admission_date": "2024-03-01", "discharge_date": "2024-03-01"},
    )
    assert "0 天" in texts(zero)
    assert zero.reasons


@pytest.mark.parametrize(
    ("facts", "incident", "kwargs", "payable", "days_paid"),
    [
        # hospital_days alone: all days count against the incident's year
        ({"hospital_days": 20}, ACCIDENT, {}, D("600.00"), {2024: 20}),
        ({"hospital_days": 0}, ACCIDENT, {}, D("0.00"), {}),
        ({"hospital_days": 91}, ACCIDENT, {}, D("2700.00"), {2024: 90}),
        (
            {"hospital_days": 20, "allowance_days_used_this_year": 170},
            ACCIDENT,
            {},
            D("300.00"),
            {2024: 10},
        ),
        # the facts figure and the per-year mapping are the same number: the larger counts
        (
            {"hospital_days": 20, "allowance_days_used_this_year": 170},
            ACCIDENT,
            {"allowance_days_by_year": {2024: 165}},
            D("300.00"),
            {2024: 10},
        ),
        (
            {"hospital_days": 20, "allowance_days_used_this_year": 165},
            ACCIDENT,
            {"allowance_days_by_year": {2024: 170}},
            D("300.00"),
            {2024: 10},
        ),
        # the dates and the day count agree
        (
            {"admission_date": "2024-03-01", "discharge_date": "2024-03-11", "hospital_days": 10},
            date(2024, 3, 1),
            {},
            D("300.00"),
            {2024: 10},
        ),
        # admission and days: the stay still splits at New Year
        (
            {"admission_date": "2024-12-25", "hospital_days": 10},
            date(2024, 12, 25),
            {"allowance_days_by_year": {2024: 178}},
            D("150.00"),
            {2024: 2, 2025: 3},
        ),
        # discharge and days
        (
            {"discharge_date": "2025-01-04", "hospital_days": 10},
            date(2024, 12, 25),
            {"allowance_days_by_year": {2025: 180}},
            D("210.00"),
            {2024: 7},
        ),
        # the incident's-year figure does not apply to the next year
        (
            {
                "admission_date": "2025-01-02",
                "discharge_date": "2025-01-12",
                "allowance_days_used_this_year": 180,
            },
            date(2024, 12, 30),
            {},
            D("300.00"),
            {2025: 10},
        ),
        # a level-1 hospital when the product requires level 2
        ({"hospital_days": 10, "hospital_level": 1}, ACCIDENT, {}, D("0.00"), {}),
        ({"hospital_days": 10, "hospital_level": 2}, ACCIDENT, {}, D("300.00"), {2024: 10}),
        ({"hospital_days": 10, "hospital_level": 3}, ACCIDENT, {}, D("300.00"), {2024: 10}),
    ],
)
def test_elder_allowance_from_day_counts(
    facts: dict[str, Any],
    incident: date,
    kwargs: dict[str, Any],
    payable: Decimal,
    days_paid: dict[int, int],
) -> None:
    result = run("CN-ELDER-ACC", "hospital_allowance", facts, incident, **kwargs)
    assert result.payable == payable
    assert dict(result.days_paid_by_year) == days_paid
    assert_statement(result)


# --------------------------------------------------------------------------------------------
# PA-GUARD: allowance = sum insured per day, first 3 days of each stay unpaid


@pytest.mark.parametrize(
    ("admission", "discharge", "kwargs", "payable", "days_paid"),
    [
        ("2024-03-01", "2024-03-11", {}, D("700.00"), {2024: 7}),  # 10 − 3 days × 100
        ("2024-03-01", "2024-03-05", {}, D("100.00"), {2024: 1}),
        ("2024-03-01", "2024-03-04", {}, D("0.00"), {}),  # 3 days: all deductible
        ("2024-03-01", "2024-03-03", {}, D("0.00"), {}),
        ("2024-03-01", "2024-03-01", {}, D("0.00"), {}),
        ("2024-03-01", "2024-06-02", {}, D("9000.00"), {2024: 90}),  # 93 days − 3 = 90
        ("2024-03-01", "2024-06-03", {}, D("9000.00"), {2024: 90}),  # 94 days − 3 = 91 → 90
        (
            "2024-03-01",
            "2024-03-11",
            {"sums_insured": {"hospital_allowance": D("300.00")}},
            D("2100.00"),
            {2024: 7},
        ),
        (
            "2024-03-01",
            "2024-03-21",
            {"allowance_days_by_year": {2024: 170}},
            D("1000.00"),
            {2024: 10},
        ),
        # 30 Dec – 9 Jan: 30, 31 Dec and 1 Jan are the deductible days; 7 days paid in 2025
        ("2024-12-30", "2025-01-09", {}, D("700.00"), {2025: 7}),
        (
            "2024-12-30",
            "2025-01-09",
            {"allowance_days_by_year": {2024: 180, 2025: 178}},
            D("200.00"),
            {2025: 2},
        ),
    ],
)
def test_guard_hospital_allowance(
    admission: str,
    discharge: str,
    kwargs: dict[str, Any],
    payable: Decimal,
    days_paid: dict[int, int],
) -> None:
    result = run(
        "PA-GUARD",
        "hospital_allowance",
        {"admission_date": admission, "discharge_date": discharge},
        date.fromisoformat(admission),
        **kwargs,
    )
    assert result.payable == payable
    assert dict(result.days_paid_by_year) == days_paid
    assert_statement(result)


def test_guard_allowance_explains_deductible_days() -> None:
    result = run(
        "PA-GUARD",
        "hospital_allowance",
        {"admission_date": "2024-03-01", "discharge_date": "2024-03-11"},
    )
    assert [ln.amount for ln in result.lines] == [D("1000.00"), D("-300.00"), D("700.00")]
    assert "前 3 天不给付" in texts(result)


# --------------------------------------------------------------------------------------------
# PA-GUARD: death, disability, medical


@pytest.mark.parametrize(
    ("claim_type", "facts", "kwargs", "payable"),
    [
        ("death", {"death_date": after(10)}, {}, D("100000.00")),
        ("death", {"death_date": after(180)}, {}, D("100000.00")),
        ("death", {"death_date": after(181)}, {}, D("0.00")),
        ("death", {"death_date": after(10)}, {"paid_before": D("30000")}, D("70000.00")),
        (
            "death",
            {"death_date": after(10)},
            {"sums_insured": {"accidental_death_disability": D("500000")}},
            D("500000.00"),
        ),
        ("disability", {"disability_levels": [3]}, {}, D("80000.00")),
        ("disability", {"disability_levels": [4, 4]}, {}, D("80000.00")),
        (
            "disability",
            {"disability_levels": [10]},
            {"sums_insured": {"accidental_death_disability": D("200000")}},
            D("20000.00"),
        ),
        ("disability", {"disability_levels": [1], "assessment_date": after(181)}, {},
         D("100000.00")),  # assessed after day 180: still a disability from the accident
    ],
)
def test_guard_death_and_disability(
    claim_type: str, facts: dict[str, Any], kwargs: dict[str, Any], payable: Decimal
) -> None:
    result = run("PA-GUARD", claim_type, facts, **kwargs)
    assert result.payable == payable
    assert_statement(result)


@pytest.mark.parametrize(
    ("facts", "kwargs", "payable"),
    [
        ({"expenses": "2000.00", "social_insurance_paid": "500.00"}, {}, D("1260.00")),
        ({"expenses": "2000.00"}, {}, D("1710.00")),  # (2000 − 100) × 90 %
        ({"expenses": "1000.55"}, {}, D("810.50")),  # 900.55 × 0.9 = 810.495 → half up
        ({"expenses": "100.00"}, {}, D("0.00")),  # all deductible
        ({"expenses": "50.00"}, {}, D("0.00")),
        ({"expenses": "100.01"}, {}, D("0.01")),  # 0.009 → 0.01
        ({"expenses": "600.00", "social_insurance_paid": "600.00"}, {}, D("0.00")),
        ({"expenses": "20000.00"}, {}, D("10000.00")),  # 17,910 capped at the sum insured
        (
            {"expenses": "20000.00"},
            {"sums_insured": {"accidental_medical": D("50000")}},
            D("17910.00"),
        ),
        ({"expenses": "2000.00"}, {"paid_before": D("9500")}, D("500.00")),  # remaining cover
        ({"expenses": "2000.00"}, {"paid_before": D("10000")}, D("0.00")),
        (
            {"expenses": "2000.00", "social_insurance_paid": "500", "out_of_scope_expenses": "300"},
            {},
            D("990.00"),  # (2000 − 500 − 300 − 100) × 90 %
        ),
        ({"expenses": 2000}, {}, D("1710.00")),  # an integer amount is fine
    ],
)
def test_guard_medical_reimbursement(
    facts: dict[str, Any], kwargs: dict[str, Any], payable: Decimal
) -> None:
    result = run("PA-GUARD", "medical", facts, **kwargs)
    assert result.payable == payable
    assert_statement(result)


def test_medical_statement() -> None:
    result = run("PA-GUARD", "medical", {"expenses": "2000.00", "social_insurance_paid": "500"})
    assert [ln.amount for ln in result.lines] == [
        D("2000.00"),
        D("-500.00"),
        D("-100.00"),
        D("-140.00"),
        D("1260.00"),
    ]
    text = texts(result)
    assert "免赔额 100.00 元" in text
    assert "90%" in text
    capped = run("PA-GUARD", "medical", {"expenses": "20000.00"})
    assert "以保额 10,000.00 元 为限" in texts(capped)


# --------------------------------------------------------------------------------------------
# exclusions


ELDER_FACTS: dict[str, dict[str, Any]] = {
    "death": {"death_date": after(10)},
    "transport_death": {"death_date": after(10), "transport": "rail"},
    "disability": {"disability_levels": [5]},
    "hospital_allowance": {"admission_date": after(0), "discharge_date": after(10)},
}


@pytest.mark.parametrize("claim_type", list(ELDER_FACTS))
@pytest.mark.parametrize(
    ("cause", "text"),
    [
        ("sudden_death", "猝死"),
        ("suicide", "自杀"),
        ("fighting", "殴斗"),
        ("drunkenness", "醉酒"),
        ("disease", "疾病"),
        ("intentional_crime", "故意犯罪"),
        ("drunk_driving", "酒后驾驶"),
    ],
)
def test_elder_exclusions(claim_type: str, cause: str, text: str) -> None:
    result = run("CN-ELDER-ACC", claim_type, {**ELDER_FACTS[claim_type], "cause": cause})
    assert result.excluded
    assert result.payable == D("0.00")
    assert text in result.lines[0].text
    assert "责任免除" in result.lines[0].text
    assert any(text in r for r in result.reasons)
    assert result.days_paid_by_year == {}
    assert_statement(result)


@pytest.mark.parametrize(
    ("claim_type", "excluded", "payable"),
    [
        ("hospital_allowance", True, D("0.00")),
        ("death", False, D("3000.00")),  # dental is an allowance-only exclusion
        ("disability", False, D("1800.00")),
    ],
)
def test_dental_excludes_only_the_allowance(
    claim_type: str, excluded: bool, payable: Decimal
) -> None:
    result = run("CN-ELDER-ACC", claim_type, {**ELDER_FACTS[claim_type], "cause": "dental"})
    assert result.excluded is excluded
    assert result.payable == payable
    if excluded:
        assert "牙齿治疗" in result.lines[0].text


@pytest.mark.parametrize(
    ("cause", "excluded"),
    [
        ("accident", False),
        ("", False),
        (None, False),
        ("slipped_on_wet_floor", False),  # unknown: treated as an accident
        ("ACCIDENT", False),
        (" suicide ", True),
        ("Suicide", True),
    ],
)
def test_cause_covered_or_not(cause: str | None, excluded: bool) -> None:
    result = run("CN-ELDER-ACC", "death", {"death_date": after(10), "cause": cause})
    assert result.excluded is excluded
    assert result.payable == (D("0.00") if excluded else D("3000.00"))


@pytest.mark.parametrize(
    ("claim_type", "facts", "cause", "text"),
    [
        ("death", {"death_date": after(1)}, "high_risk_sports", "高风险运动"),
        ("death", {"death_date": after(1)}, "war", "战争"),
        ("death", {"death_date": after(1)}, "sudden_death", "猝死"),  # listed under disease
        ("medical", {"expenses": "500"}, "drunkenness", "醉酒"),
        ("hospital_allowance", {"hospital_days": 10}, "dental", "牙齿"),
    ],
)
def test_guard_exclusions(claim_type: str, facts: dict[str, Any], cause: str, text: str) -> None:
    result = run("PA-GUARD", claim_type, {**facts, "cause": cause})
    assert result.excluded
    assert result.payable == D("0.00")
    assert text in result.lines[0].text


def test_excluded_claim_needs_no_other_facts() -> None:
    result = run("CN-ELDER-ACC", "death", {"cause": "suicide"})
    assert result.excluded


# --------------------------------------------------------------------------------------------
# bad input names the field


@pytest.mark.parametrize(
    ("code", "claim_type", "facts", "field"),
    [
        ("CN-ELDER-ACC", "theft", {}, "claim_type"),
        ("CN-ELDER-ACC", "", {}, "claim_type"),
        ("CN-ELDER-ACC", "medical", {"expenses": "100"}, "claim_type"),  # not covered
        ("PA-GUARD", "transport_death", {"transport": "rail"}, "claim_type"),
        (
            "CN-ELDER-ACC",
            "hospital_allowance",
            {"admission_date": "2024-03-10", "discharge_date": "2024-03-01"},
            "facts.discharge_date",
        ),
        (
            "CN-ELDER-ACC",
            "hospital_allowance",
            {"admission_date": "2024-03-01", "discharge_date": "2024-03-11", "hospital_days": 9},
            "facts.hospital_days",
        ),
        ("CN-ELDER-ACC", "hospital_allowance", {"hospital_days": -1}, "facts.hospital_days"),
        ("CN-ELDER-ACC", "hospital_allowance", {"hospital_days": "5"}, "facts.hospital_days"),
        ("CN-ELDER-ACC", "hospital_allowance", {"hospital_days": 2.5}, "facts.hospital_days"),
        ("CN-ELDER-ACC", "hospital_allowance", {"hospital_days": True}, "facts.hospital_days"),
        (
            "CN-ELDER-ACC",
            "hospital_allowance",
            {"hospital_days": 5, "allowance_days_used_this_year": -3},
            "facts.allowance_days_used_this_year",
        ),
        ("CN-ELDER-ACC", "hospital_allowance", {}, "facts.admission_date"),
        (
            "CN-ELDER-ACC",
            "hospital_allowance",
            {"admission_date": "2024-03-01"},
            "facts.discharge_date",
        ),
        (
            "CN-ELDER-ACC",
            "hospital_allowance",
            {"admission_date": "2023-12-01", "discharge_date": "2023-12-05"},
            "facts.admission_date",  # before the accident
        ),
        (
            "CN-ELDER-ACC",
            "hospital_allowance",
            {"admission_date": "2024/03/01", "discharge_date": "2024-03-05"},
            "facts.admission_date",
        ),
        (
            "CN-ELDER-ACC",
            "hospital_allowance",
            {"hospital_days": 5, "hospital_level": 4},
            "facts.hospital_level",
        ),
        ("CN-ELDER-ACC", "disability", {"disability_levels": [0]}, "facts.disability_levels"),
        ("CN-ELDER-ACC", "disability", {"disability_levels": [11]}, "facts.disability_levels"),
        ("CN-ELDER-ACC", "disability", {"disability_levels": [3, 12]}, "facts.disability_levels"),
        ("CN-ELDER-ACC", "disability", {"disability_levels": ["3"]}, "facts.disability_levels"),
        ("CN-ELDER-ACC", "disability", {"disability_levels": [True]}, "facts.disability_levels"),
        ("CN-ELDER-ACC", "disability", {"disability_levels": []}, "facts.disability_levels"),
        ("CN-ELDER-ACC", "disability", {"disability_levels": 3}, "facts.disability_levels"),
        ("CN-ELDER-ACC", "disability", {"disability_levels": "3"}, "facts.disability_levels"),
        ("CN-ELDER-ACC", "disability", {}, "facts.disability_levels"),
        (
            "CN-ELDER-ACC",
            "disability",
            {"disability_levels": [3], "assessment_date": "2023-12-31"},
            "facts.assessment_date",
        ),
        (
            "CN-ELDER-ACC",
            "transport_death",
            {"death_date": "2024-01-05", "transport": "bus"},
            "facts.transport",
        ),
        ("CN-ELDER-ACC", "transport_death", {"death_date": "2024-01-05"}, "facts.transport"),
        ("CN-ELDER-ACC", "transport_death", {"transport": "rail"}, "facts.death_date"),
        ("CN-ELDER-ACC", "death", {}, "facts.death_date"),
        ("CN-ELDER-ACC", "death", {"death_date": "2023-12-31"}, "facts.death_date"),
        ("CN-ELDER-ACC", "death", {"death_date": "yesterday"}, "facts.death_date"),
        ("CN-ELDER-ACC", "death", {"death_date": "2024-02-30"}, "facts.death_date"),
        ("CN-ELDER-ACC", "death", {"death_date": "20240105"}, "facts.death_date"),
        ("CN-ELDER-ACC", "death", {"death_date": 20240105}, "facts.death_date"),
        ("CN-ELDER-ACC", "death", {"death_date": "2024-01-05", "cause": 3}, "facts.cause"),
        ("PA-GUARD", "medical", {}, "facts.expenses"),
        ("PA-GUARD", "medical", {"expenses": 12.5}, "facts.expenses"),  # a float
        ("PA-GUARD", "medical", {"expenses": "-1"}, "facts.expenses"),
        ("PA-GUARD", "medical", {"expenses": "abc"}, "facts.expenses"),
        (
            "PA-GUARD",
            "medical",
            {"expenses": "100", "social_insurance_paid": "200"},
            "facts.social_insurance_paid",
        ),
    ],
)
def test_bad_input_names_the_field(
    code: str, claim_type: str, facts: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        run(code, claim_type, facts)
    assert err.value.field == field
    assert CJK.search(err.value.message)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"paid_before": D("-1")}, "paid_before"),
        ({"sums_insured": {"accidental_death": D("-5")}}, "sums_insured.accidental_death"),
        ({"allowance_days_by_year": {2024: -1}}, "allowance_days_by_year"),
    ],
)
def test_bad_context_names_the_argument(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        run("CN-ELDER-ACC", "death", {"death_date": after(1)}, **kwargs)
    assert err.value.field == field


def test_bad_incident_date_and_facts_shape() -> None:
    with pytest.raises(ValidationError) as err:
        adjudicate(elder(), "death", "2024-13-01", {"death_date": "2024-01-05"})
    assert err.value.field == "incident_date"
    with pytest.raises(ValidationError) as err:
        adjudicate(elder(), "death", ACCIDENT, ["death_date"])  # type: ignore[arg-type]
    assert err.value.field == "facts"


# --------------------------------------------------------------------------------------------
# shape


def test_dates_may_be_strings_or_dates_and_unknown_keys_are_ignored() -> None:
    as_strings = adjudicate(
        elder(),
        "hospital_allowance",
        "2024-12-20",
        {"admission_date": "2024-12-20", "discharge_date": "2025-01-09", "note": "x"},
    )
    as_dates = adjudicate(
        elder(),
        "hospital_allowance",
        date(2024, 12, 20),
        {"admission_date": date(2024, 12, 20), "discharge_date": date(2025, 1, 9)},
    )
    assert as_strings == as_dates
    assert as_strings.payable == D("600.00")


def test_result_is_frozen_and_serialises_for_the_api() -> None:
    result = run("CN-ELDER-ACC", "disability", {"disability_levels": [3, 3]})
    with pytest.raises(AttributeError):
        result.payable = D(1)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        result.lines[0].amount = D(1)  # type: ignore[misc]
    body = result.to_api()
    assert body["payable"] == "2700.00"
    assert body["lines"][-1] == {"text": "应付合计：2,700.00 元", "amount": "2700.00"}
    assert all(isinstance(ln["amount"], str) for ln in body["lines"])
    json.dumps(body, ensure_ascii=False)


def test_helpers() -> None:
    assert stay_days(date(2024, 12, 20), date(2025, 1, 9)) == 20
    assert days_by_year(date(2024, 12, 20), 20) == {2024: 12, 2025: 8}
    assert days_by_year(date(2024, 1, 1), 366) == {2024: 366}
    assert days_by_year(date(2023, 12, 31), 368) == {2023: 1, 2024: 366, 2025: 1}
    assert days_by_year(date(2024, 5, 1), 0) == {}
    assert "assessment_date" in FACT_KEYS
    assert "expenses" in FACT_KEYS
