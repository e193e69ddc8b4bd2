"""Group rosters: header, per-row errors naming the column, automatic enrollment dates."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from backoffice.domain.errors import ValidationError
from backoffice.domain.identity import age_on
from backoffice.domain.policy import add_months
from backoffice.domain.roster import ROSTER_COLUMNS, check_header, enrollment_date, parse_row

# 440514 19500315 002 → Σ = 220, 220 mod 11 = 0 → "1": female, 潮南区, born 1950-03-15.
ELDER_ID = "440514195003150021"
# 440514 19661115 001 → Σ = 231 → "1": male, born 1966-11-15.
YOUNGER_ID = "440514196611150011"
ON = date(2025, 6, 1)


def row(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "陈秀兰",
        "gender": "女",
        "birth_date": "1950-03-15",
        "id_number": ELDER_ID,
        "phone": "0754-88881234",
        "address": "汕头市潮南区峡山街道",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "header",
    [
        list(ROSTER_COLUMNS),
        ["\ufeffname", "gender", "birth_date", "id_number", "phone", "address"],  # Excel BOM
        [" name ", "gender ", "birth_date", "id_number", "phone", "address", "remark"],
        ["address", "phone", "id_number", "birth_date", "gender", "name"],
    ],
)
def test_header_ok(header: list[str]) -> None:
    check_header(header)


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (None, None),
        ([], ["name", "gender", "birth_date", "id_number", "phone", "address"]),
        (["name", "gender", "birth_date", "id_number", "address"], ["phone"]),
        (["姓名", "性别", "出生日期", "身份证号", "电话", "地址"], list(ROSTER_COLUMNS)),
        (["name", "birth_date", "id_number", "phone"], ["gender", "address"]),
    ],
)
def test_header_missing_columns(header: list[str] | None, missing: list[str] | None) -> None:
    with pytest.raises(ValidationError) as err:
        check_header(header)
    assert err.value.field == "header"
    for col in missing or ():
        assert col in err.value.message


def test_valid_row() -> None:
    p = parse_row(row(), 60, ON)
    assert (p.name, p.gender, p.birth_date, p.id_number) == (
        "陈秀兰", "female", date(1950, 3, 15), ELDER_ID,
    )
    assert p.phone == "0754-88881234"
    assert p.address == "汕头市潮南区峡山街道"


def test_gender_may_be_given_in_english() -> None:
    assert parse_row(row(gender="female"), 60, ON).gender == "female"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": None}, "name"),
        ({"gender": ""}, "gender"),
        ({"birth_date": ""}, "birth_date"),
        ({"id_number": ""}, "id_number"),
        ({"phone": ""}, "phone"),
        ({"phone": None}, "phone"),
        ({"phone": "  "}, "phone"),
        ({"address": ""}, "address"),
        # the first empty column in column order is reported
        ({"phone": "", "address": "", "name": ""}, "name"),
        # bad values
        ({"id_number": "440514195003150022"}, "id_number"),  # wrong check digit
        ({"id_number": "44051419500315002"}, "id_number"),  # 17 characters
        ({"phone": "12345"}, "phone"),
        ({"birth_date": "1950-03-16"}, "birth_date"),  # disagrees with the ID
        ({"birth_date": "1950/03/15"}, "birth_date"),
        ({"gender": "男"}, "gender"),  # disagrees with the ID
        ({"gender": "F"}, "gender"),
        ({"name": "陈秀兰2"}, "name"),
        ({"address": "x" * 201}, "address"),
        # under 60 on the day of the check
        ({"id_number": YOUNGER_ID, "gender": "男", "birth_date": "1966-11-15"}, "birth_date"),
    ],
)
def test_row_errors_name_the_column(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_row(row(**overrides), 60, ON)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("on", "ok"),
    [(date(2026, 11, 14), False), (date(2026, 11, 15), True), (date(2027, 1, 1), True)],
)
def test_minimum_age_is_checked_on_the_given_day(on: date, ok: bool) -> None:
    r = row(id_number=YOUNGER_ID, gender="男", birth_date="1966-11-15")
    if ok:
        assert parse_row(r, 60, on).birth_date == date(1966, 11, 15)
    else:
        with pytest.raises(ValidationError) as err:
            parse_row(r, 60, on)
        assert err.value.field == "birth_date"


def test_no_minimum_age() -> None:
    r = row(id_number=YOUNGER_ID, gender="男", birth_date="1966-11-15")
    assert parse_row(r, None, ON).gender == "male"


@pytest.mark.parametrize(
    ("birth", "min_age", "expected"),
    [
        # turns 60 on 15 Nov 2026 → 1 Dec 2026
        (date(1966, 11, 15), 60, date(2026, 12, 1)),
        # turns 60 on 31 Dec 2026 → 1 Jan 2027 (year rolls over)
        (date(1966, 12, 31), 60, date(2027, 1, 1)),
        # turns 60 on the 1st: still the 1st of the *following* month
        (date(1966, 11, 1), 60, date(2026, 12, 1)),
        (date(1966, 1, 31), 60, date(2026, 2, 1)),
        (date(1966, 2, 28), 60, date(2026, 3, 1)),
        # 29 Feb 1964: 2024 is a leap year, 60th birthday 29 Feb 2024 → 1 Mar 2024
        (date(1964, 2, 29), 60, date(2024, 3, 1)),
        (date(1960, 6, 15), 65, date(2025, 7, 1)),
    ],
)
def test_enrollment_date(birth: date, min_age: int, expected: date) -> None:
    assert enrollment_date(birth, min_age) == expected


@pytest.mark.parametrize(
    ("birth", "registered_on", "expected"),
    [
        # long a resident: the birthday decides (the policy's start is the service's floor)
        (date(1966, 3, 15), date(2000, 1, 1), date(2026, 4, 1)),
        # moved in at 70: from the 1st of the month after registration, not back to any start
        (date(1956, 8, 8), date(2026, 5, 20), date(2026, 6, 1)),
        (date(1956, 8, 8), date(2026, 5, 1), date(2026, 6, 1)),  # registered on a 1st
        (date(1956, 8, 8), date(2026, 5, 31), date(2026, 6, 1)),
        (date(1956, 8, 8), date(2026, 12, 31), date(2027, 1, 1)),  # over the year end
        # moved in at 59, turns 60 later: the birthday decides
        (date(1966, 9, 10), date(2026, 2, 3), date(2026, 10, 1)),
        # turns 60 and registers in the same month: the 1st of the next
        (date(1966, 7, 2), date(2026, 7, 20), date(2026, 8, 1)),
        # registers the month after turning 60: the registration decides
        (date(1966, 7, 2), date(2026, 8, 3), date(2026, 9, 1)),
    ],
)
def test_a_new_resident_is_covered_from_the_month_after_registration(
        birth: date, registered_on: date, expected: date) -> None:
    """Tender (seeds/004): 起始时间为符合条件后的次月1日 — registered in the district and 60."""
    assert enrollment_date(birth, 60, registered_on) == expected
    assert enrollment_date(birth, 60, registered_on) >= enrollment_date(birth, 60)


def _first_day_of_age(birth: date, min_age: int) -> date:
    """The first day age_on reports min_age, found by walking (independent of add_months)."""
    day = date(birth.year + min_age, birth.month, 1) - timedelta(days=1)
    while age_on(birth, day) < min_age:
        day += timedelta(days=1)
    return day


@pytest.mark.parametrize(
    "birth",
    [date(1966, 1, 1) + timedelta(days=n) for n in range(0, 366 * 2, 7)]
    + [date(1964, 2, 29), date(1968, 2, 29)],
)
def test_enrollment_is_the_first_of_the_month_after_turning_the_age(birth: date) -> None:
    turned = _first_day_of_age(birth, 60)
    expected = add_months(date(turned.year, turned.month, 1), 1)
    got = enrollment_date(birth, 60)
    assert got == expected
    assert got.day == 1
    assert age_on(birth, got) >= 60


def test_enrollment_of_a_leap_day_birth_in_a_common_year_agrees_with_age_on() -> None:
    birth = date(1964, 2, 29)  # turns 61 in 2025, a common year
    turned = _first_day_of_age(birth, 61)
    assert turned == date(2025, 3, 1)
    assert enrollment_date(birth, 61) == date(2025, 4, 1)
