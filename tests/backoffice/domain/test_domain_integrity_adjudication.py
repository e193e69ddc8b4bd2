"""What the integrity facts take off the adjudication: days another claim pays, a death benefit
already given for the same accident."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import backoffice.products
from backoffice.domain.adjudication import adjudicate
from backoffice.domain.product import Product, parse_product

D = date.fromisoformat


def elder() -> Product:
    path = Path(backoffice.products.__file__).parent / "CN-ELDER-ACC.json"
    return parse_product(json.loads(path.read_text(encoding="utf-8")))


def allowance(admission: str, discharge: str, paid: tuple[tuple[date, date], ...] = ()
              ) -> tuple[Decimal, dict[int, int], str]:
    result = adjudicate(elder(), "hospital_allowance", D(admission),
                        {"admission_date": admission, "discharge_date": discharge},
                        paid_stays=paid)
    text = "\n".join(ln.text for ln in result.lines)
    assert sum(ln.amount for ln in result.lines[:-1]) == result.payable
    return result.payable, dict(result.days_paid_by_year), text


@pytest.mark.parametrize(("paid", "payable", "days"), [
    ((), Decimal("300.00"), {2026: 10}),
    (((D("2026-03-02"), D("2026-03-12")),), Decimal("0.00"), {}),  # the same stay again
    (((D("2026-03-10"), D("2026-03-20")),), Decimal("240.00"), {2026: 8}),  # 2 days overlap
    (((D("2026-02-20"), D("2026-03-05")),), Decimal("210.00"), {2026: 7}),  # 3 days overlap
    (((D("2026-01-01"), D("2026-02-01")),), Decimal("300.00"), {2026: 10}),  # no overlap
    (((D("2026-03-03"), D("2026-03-04")), (D("2026-03-03"), D("2026-03-05"))),
     Decimal("240.00"), {2026: 8}),  # two claims over the same days count once
])
def test_overlapping_days_are_never_paid_twice(paid: tuple[tuple[date, date], ...],
                                               payable: Decimal, days: dict[int, int]) -> None:
    got, by_year, text = allowance("2026-03-02", "2026-03-12", paid)
    assert (got, by_year) == (payable, days)
    if payable < Decimal("300.00"):
        assert "不重复给付" in text


def test_overlap_across_new_year_takes_the_days_off_the_right_year() -> None:
    paid = ((D("2025-12-28"), D("2026-01-02")),)
    got, by_year, _ = allowance("2025-12-30", "2026-01-05", paid)
    assert (got, by_year) == (Decimal("90.00"), {2026: 3})


@pytest.mark.parametrize(("claim_type", "facts", "paid_before", "payable"), [
    ("transport_death", {"transport": "motor_vehicle", "death_date": "2026-03-01"},
     Decimal("3000"), Decimal("27000.00")),  # the difference only
    ("death", {"death_date": "2026-03-01"}, Decimal("30000"), Decimal("0.00")),
    ("death", {"death_date": "2026-03-01"}, Decimal("3000"), Decimal("0.00")),
])
def test_a_death_benefit_already_given_comes_off(claim_type: str, facts: dict[str, str],
                                                 paid_before: Decimal, payable: Decimal) -> None:
    result = adjudicate(elder(), claim_type, D("2026-03-01"), facts, paid_before=paid_before)
    assert result.payable == payable
