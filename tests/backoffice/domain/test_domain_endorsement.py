"""Endorsements (保全): beneficiaries, prorated premium, surrender refunds, who may change what."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backoffice.domain.endorsement import (
    KINDS,
    check_effective_date,
    check_endorsable,
    contact_changes,
    parse_beneficiaries,
    prorated_difference,
    surrender_refund,
)
from backoffice.domain.errors import DomainError, ValidationError
from backoffice.domain.policy import (
    ACCEPTED,
    APPLIED,
    CANCELLED,
    DECLINED,
    EXPIRED,
    GRACE_PERIOD,
    IN_FORCE,
    LAPSED,
    POSTPONED,
    PREMIUM_DUE,
    SURRENDERED,
    Instalment,
    payment_schedule,
)

# Hand-checked IDs (see test_domain_identity.py): Σ 165 → 1, Σ 169 → 8, Σ 167 → X.
SON_ID = "110105194912310011"
DAUGHTER_ID = "110105194912310038"
WIFE_ID = "11010519491231002X"


def ben(name: str, relation: str, id_number: str, share: object) -> dict[str, Any]:
    return {"name": name, "relation": relation, "id_number": id_number, "share_pct": share}


def test_beneficiaries_valid() -> None:
    result = parse_beneficiaries(
        [ben(" 张伟 ", "child", SON_ID, 60), ben("张丽", "child", DAUGHTER_ID, 40)]
    )
    assert [(b.name, b.relation, b.id_number, b.share_pct) for b in result] == [
        ("张伟", "child", SON_ID, 60),
        ("张丽", "child", DAUGHTER_ID, 40),
    ]


@pytest.mark.parametrize("relation", ["self", "spouse", "child", "parent", "sibling", "other"])
def test_every_relation_is_accepted(relation: str) -> None:
    (b,) = parse_beneficiaries([ben("李梅", relation, WIFE_ID, 100)])
    assert b.relation == relation


def test_lower_case_x_in_a_beneficiary_id_is_normalised() -> None:
    (b,) = parse_beneficiaries([ben("李梅", "spouse", WIFE_ID.lower(), 100)])
    assert b.id_number == WIFE_ID


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (None, "beneficiaries"),
        ([], "beneficiaries"),
        ({"name": "x"}, "beneficiaries"),
        (["张伟"], "beneficiaries[0]"),
        # shares must add up to 100
        ([ben("张伟", "child", SON_ID, 50), ben("张丽", "child", DAUGHTER_ID, 40)],
         "beneficiaries"),
        ([ben("张伟", "child", SON_ID, 60), ben("张丽", "child", DAUGHTER_ID, 60)],
         "beneficiaries"),
        ([ben("张伟", "child", SON_ID, 99)], "beneficiaries"),
        # the same person twice
        ([ben("张伟", "child", SON_ID, 50), ben("张伟", "child", SON_ID, 50)], "beneficiaries"),
        ([ben("张伟", "child", SON_ID, 50), ben("张伟", "child", SON_ID.lower(), 50)],
         "beneficiaries"),
        # per item
        ([ben("张伟", "child", SON_ID, 50), ben("张丽", "child", "110105194912310039", 50)],
         "beneficiaries[1].id_number"),
        ([ben("张伟", "child", SON_ID, 50), ben("张丽", "child", "", 50)],
         "beneficiaries[1].id_number"),
        ([ben("", "child", SON_ID, 100)], "beneficiaries[0].name"),
        ([ben("张伟", "friend", SON_ID, 100)], "beneficiaries[0].relation"),
        ([ben("张伟", "儿子", SON_ID, 100)], "beneficiaries[0].relation"),
        ([ben("张伟", "child", SON_ID, 0), ben("张丽", "child", DAUGHTER_ID, 100)],
         "beneficiaries[0].share_pct"),
        ([ben("张伟", "child", SON_ID, 101)], "beneficiaries[0].share_pct"),
        ([ben("张伟", "child", SON_ID, "100")], "beneficiaries[0].share_pct"),
        ([ben("张伟", "child", SON_ID, 100.0)], "beneficiaries[0].share_pct"),
        ([ben("张伟", "child", SON_ID, True)], "beneficiaries[0].share_pct"),
        ([ben("张伟", "child", SON_ID, -10)], "beneficiaries[0].share_pct"),
    ],
)
def test_beneficiary_refusals(raw: object, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_beneficiaries(raw)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("old", "new", "effective", "start", "end", "expected"),
    [
        # leap-year term, 366 days; 2 Jul → 1 Jan is 30+31+30+31+30+31 = 183 days = half
        ("100.00", "200.00", date(2024, 7, 2), date(2024, 1, 1), date(2025, 1, 1), "50.00"),
        ("200.00", "100.00", date(2024, 7, 2), date(2024, 1, 1), date(2025, 1, 1), "-50.00"),
        # common year, 365 days: 100 × 183 / 365 = 50.1369… → 50.14
        ("100.00", "200.00", date(2025, 7, 2), date(2025, 1, 1), date(2026, 1, 1), "50.14"),
        ("200.00", "100.00", date(2025, 7, 2), date(2025, 1, 1), date(2026, 1, 1), "-50.14"),
        # from the first day: the whole difference; on the last day: one day's worth
        ("96.00", "115.20", date(2025, 1, 10), date(2025, 1, 10), date(2026, 1, 10), "19.20"),
        # 19.20 × 1 / 365 = 0.0526… → 0.05
        ("96.00", "115.20", date(2026, 1, 9), date(2025, 1, 10), date(2026, 1, 10), "0.05"),
        ("96.00", "115.20", date(2026, 1, 10), date(2025, 1, 10), date(2026, 1, 10), "0.00"),
        # 12.37 × 183 / 366 = 6.185 exactly → 6.19 half up (banker's: 6.18)
        ("100.00", "112.37", date(2024, 7, 2), date(2024, 1, 1), date(2025, 1, 1), "6.19"),
        # 96.00 → 199.20 (adding medical + allowance) with 73 of 365 days left: 103.20 / 5
        ("96.00", "199.20", date(2025, 10, 29), date(2025, 1, 10), date(2026, 1, 10), "20.64"),
        ("96.00", "96.00", date(2025, 7, 2), date(2025, 1, 1), date(2026, 1, 1), "0.00"),
    ],
)
def test_prorated_difference(
    old: str, new: str, effective: date, start: date, end: date, expected: str
) -> None:
    result = prorated_difference(Decimal(old), Decimal(new), effective, start, end)
    assert result == Decimal(expected)
    assert str(result) == expected


def single(amount: str, start: date = date(2025, 1, 1)) -> list[Instalment]:
    return list(payment_schedule(start, 12, 1, Decimal(amount)))


@pytest.mark.parametrize(
    ("paid", "on", "unearned", "fee", "refund"),
    [
        # 96.00 paid for 2025; surrender 2 Jul: 183 of 365 days left.
        # 96 × 183 / 365 = 48.1315… → 48.13; fee 25 % = 12.0325 → 12.03; refund 36.10
        (single("96.00"), date(2025, 7, 2), "48.13", "12.03", "36.10"),
        # on the first day nothing is earned yet: 96.00 − 24.00
        (single("96.00"), date(2025, 1, 1), "96.00", "24.00", "72.00"),
        # after the period: nothing to give back
        (single("96.00"), date(2026, 1, 1), "0.00", "0.00", "0.00"),
        (single("96.00"), date(2026, 3, 1), "0.00", "0.00", "0.00"),
        # leap year, 366 days, 2 Jul 2024: exactly half → 57.60; fee 14.40; refund 43.20
        (single("115.20", date(2024, 1, 1)), date(2024, 7, 2), "57.60", "14.40", "43.20"),
        # monthly 8.64 from 1 Jan; Jan–Mar paid; surrender 17 Mar: Jan and Feb are used up,
        # March has 15 of 31 days left: 8.64 × 15 / 31 = 4.1806… → 4.18;
        # fee 4.18 × 25 % = 1.045 → 1.05 (half up); refund 3.13
        (list(payment_schedule(date(2025, 1, 1), 12, 12, Decimal("8.64")))[:3],
         date(2025, 3, 17), "4.18", "1.05", "3.13"),
        # same with April paid in advance: 4.1806… + 8.64 = 12.8206… → 12.82;
        # fee 3.205 → 3.21; refund 9.61
        (list(payment_schedule(date(2025, 1, 1), 12, 12, Decimal("8.64")))[:4],
         date(2025, 3, 17), "12.82", "3.21", "9.61"),
    ],
)
def test_surrender_refund_after_cooling_off(
    paid: list[Instalment], on: date, unearned: str, fee: str, refund: str
) -> None:
    r = surrender_refund(paid, on, Decimal(25), in_cooling_off=False)
    assert r.amount == Decimal(refund)
    amounts = [amount for _, amount in r.lines]
    assert amounts[0] == sum(i.amount for i in paid)
    assert amounts[1] == Decimal(unearned)
    assert amounts[2] == -Decimal(fee)
    assert amounts[-1] == Decimal(refund)
    assert Decimal(unearned) - Decimal(fee) == Decimal(refund)


@pytest.mark.parametrize(
    ("paid", "total"),
    [
        (single("96.00"), "96.00"),
        (list(payment_schedule(date(2025, 1, 1), 12, 12, Decimal("8.64")))[:1], "8.64"),
        (list(payment_schedule(date(2025, 1, 1), 12, 4, Decimal("25.44")))[:2], "50.88"),
    ],
)
def test_surrender_in_cooling_off_refunds_everything(
    paid: list[Instalment], total: str
) -> None:
    r = surrender_refund(paid, date(2025, 1, 5), Decimal(25), in_cooling_off=True)
    assert r.amount == Decimal(total)
    assert r.lines[-1][1] == Decimal(total)
    assert "犹豫期" in r.lines[0][0]


def test_surrender_without_fee() -> None:
    r = surrender_refund(single("96.00"), date(2025, 7, 2), Decimal(0), in_cooling_off=False)
    assert r.amount == Decimal("48.13")


@pytest.mark.parametrize(
    "status",
    [APPLIED, ACCEPTED, DECLINED, POSTPONED, LAPSED, SURRENDERED, EXPIRED, CANCELLED],
)
@pytest.mark.parametrize("kind", KINDS)
def test_only_covered_policies_are_endorsable(status: str, kind: str) -> None:
    with pytest.raises(DomainError) as err:
        check_endorsable(status, kind)
    assert err.value.field == "policy_no"


@pytest.mark.parametrize("status", [IN_FORCE, PREMIUM_DUE, GRACE_PERIOD])
@pytest.mark.parametrize("kind", KINDS)
def test_covered_policies_are_endorsable(status: str, kind: str) -> None:
    check_endorsable(status, kind)


def test_unknown_endorsement_kind() -> None:
    with pytest.raises(ValidationError) as err:
        check_endorsable(IN_FORCE, "change_insured")
    assert err.value.field == "kind"


@pytest.mark.parametrize(
    ("effective", "today", "ok"),
    [
        (date(2025, 3, 1), date(2025, 3, 1), True),  # today
        (date(2025, 12, 31), date(2025, 3, 1), True),  # last covered day
        (date(2025, 2, 28), date(2025, 3, 1), False),  # backdated
        (date(2026, 1, 1), date(2025, 3, 1), False),  # the end date is not in the term
        (date(2026, 6, 1), date(2025, 3, 1), False),
        (date(2024, 12, 15), date(2024, 12, 1), False),  # before the policy starts
        (date(2025, 1, 1), date(2024, 12, 1), True),  # from the start date
    ],
)
def test_check_effective_date(effective: date, today: date, ok: bool) -> None:
    start, end = date(2025, 1, 1), date(2026, 1, 1)
    if ok:
        check_effective_date(effective, today, start, end)
    else:
        with pytest.raises(ValidationError) as err:
            check_effective_date(effective, today, start, end)
        assert err.value.field == "effective_date"


def test_contact_changes_keeps_only_real_changes() -> None:
    current = {"phone": "13812345678", "address": "汕头市潮南区"}
    assert contact_changes(current, {"phone": "13812345678", "address": "汕头市潮阳区"}) == {
        "address": "汕头市潮阳区"
    }
    assert contact_changes(current, dict(current)) == {}


@pytest.mark.parametrize(
    ("paid_count", "expected"),
    [
        # monthly 8.64 → 10.00 from 17 Mar; Jan and Feb are over, March has 15 of 31 days left:
        # 1.36 × 15 / 31 = 0.658… → 0.66
        (3, "0.66"),
        # April paid in advance: the whole 1.36 more → 2.02
        (4, "2.02"),
        (2, "0.00"),
    ],
)
def test_instalment_difference(paid_count: int, expected: str) -> None:
    from backoffice.domain.endorsement import instalment_difference

    paid = list(payment_schedule(date(2025, 1, 1), 12, 12, Decimal("8.64")))[:paid_count]
    diff = instalment_difference(paid, Decimal("8.64"), Decimal("10.00"), date(2025, 3, 17))
    assert diff == Decimal(expected)
