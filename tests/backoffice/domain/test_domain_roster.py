"""Group rosters: header, per-row errors naming the column, automatic enrollment dates."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from backoffice.domain.errors import ValidationError
from backoffice.domain.identity import age_on
from backoffice.domain.policy import add_months
from backoffice.domain.roster import (
    ROSTER_COLUMNS,
    Removal,
    check_header,
    check_removal_date,
    check_removal_header,
    covered_on,
    enrollment_date,
    in_progress_after,
    paid_after,
    parse_reason,
    parse_removal_row,
    parse_row,
    removal_outcome,
)

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


# ---- removals ---------------------------------------------------------------------------------

TODAY = date(2026, 6, 10)


@pytest.mark.parametrize(("raw", "reason"), [
    ("death", "death"), ("死亡", "death"), (" 身故 ", "death"), ("DEATH", "death"),
    ("moved_away", "moved_away"), ("迁出", "moved_away"),
    ("correction", "correction"), ("更正", "correction"),
])
def test_reasons_in_either_language(raw: str, reason: str) -> None:
    assert parse_reason(raw) == reason


@pytest.mark.parametrize("raw", ["", "dead", "死", "moved", None, 3, "death\x00", "ｄｅａｔｈ"])
def test_unknown_reasons_are_refused(raw: Any) -> None:
    with pytest.raises(ValidationError) as err:
        parse_reason(raw)
    assert err.value.field == "reason"


@pytest.mark.parametrize(("day", "covered"), [
    (date(2026, 1, 31), False),  # before enrollment
    (date(2026, 2, 1), True),  # the enrollment date
    (date(2026, 5, 9), True),
    (date(2026, 5, 10), True),  # the removal date itself: the day of death is covered
    (date(2026, 5, 11), False),  # from the day after, not
])
def test_cover_runs_through_the_removal_date(day: date, covered: bool) -> None:
    assert covered_on(date(2026, 2, 1), date(2026, 5, 10), day) is covered
    assert covered_on(date(2026, 2, 1), None, day) is (day >= date(2026, 2, 1))


def test_a_member_removed_before_enrollment_was_never_covered() -> None:
    enrolled, died = date(2026, 3, 1), date(2026, 2, 20)
    assert not any(covered_on(enrolled, died, enrolled + timedelta(days=n)) for n in range(-30, 60))


@pytest.mark.parametrize(("day", "birth", "ok"), [
    (TODAY, None, True),  # today: a death reported the same day
    (TODAY + timedelta(days=1), None, False),  # no future removals, of any kind
    (date(2099, 1, 1), None, False),
    (date(1950, 3, 14), date(1950, 3, 15), False),  # before the person was born
    (date(1950, 3, 15), date(1950, 3, 15), True),
])
def test_removal_dates(day: date, birth: date | None, ok: bool) -> None:
    if ok:
        assert check_removal_date(day, TODAY, birth) == day
    else:
        with pytest.raises(ValidationError) as err:
            check_removal_date(day, TODAY, birth)
        assert err.value.field == "date"


@pytest.mark.parametrize(("current", "reason", "day", "outcome"), [
    (None, "death", date(2026, 5, 1), "removed"),
    (("death", date(2026, 5, 1)), "death", date(2026, 5, 1), "unchanged"),
    (("death", date(2026, 5, 1)), "death", date(2026, 5, 2), "corrected"),
    (("moved_away", date(2026, 5, 1)), "death", date(2026, 5, 1), "corrected"),
])
def test_removal_outcomes(current: tuple[str, date] | None, reason: str, day: date,
                          outcome: str) -> None:
    assert removal_outcome(current, reason, day) == outcome


CLAIMS = [  # (claim_no, status, incident, money decided)
    ("R1", "paid", date(2026, 5, 10), True),
    ("R2", "approved", date(2026, 5, 20), True),
    ("R3", "under_review", date(2026, 5, 25), False),
    ("R4", "rejected", date(2026, 5, 26), False),
    ("R5", "documents_pending", date(2026, 5, 1), False),
]


@pytest.mark.parametrize(("day", "paid", "review"), [
    (date(2026, 5, 9), ["R1", "R2"], ["R3"]),
    (date(2026, 5, 10), ["R2"], ["R3"]),  # R1's incident on the removal date: covered
    (date(2026, 5, 20), [], ["R3"]),
    (date(2026, 5, 25), [], []),
    (date(2026, 4, 30), ["R1", "R2"], ["R3", "R5"]),  # rejected claims never count
])
def test_decided_claims_refuse_an_earlier_date_and_undecided_ones_are_reviewed(
        day: date, paid: list[str], review: list[str]) -> None:
    assert paid_after(day, CLAIMS) == paid
    assert in_progress_after(day, CLAIMS) == review


def removal(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"id_number": ELDER_ID, "name": "陈秀兰", "reason": "死亡",
                            "date": "2026-05-10", "note": "民政局名单"}
    data.update(overrides)
    return data


def test_a_valid_removal_row() -> None:
    assert parse_removal_row(removal(), TODAY) == Removal(
        ELDER_ID, "陈秀兰", "death", date(2026, 5, 10), "民政局名单")
    assert parse_removal_row(removal(note=" "), TODAY).note is None
    assert parse_removal_row({k: v for k, v in removal().items() if k != "note"}, TODAY).note \
        is None


@pytest.mark.parametrize(("overrides", "field"), [
    ({"id_number": ""}, "id_number"),
    ({"id_number": ELDER_ID[:-1] + "9"}, "id_number"),  # check character
    ({"name": " "}, "name"),
    ({"name": "陈" * 51}, "name"),
    ({"reason": "dead"}, "reason"),
    ({"reason": ""}, "reason"),
    ({"date": "2026-02-30"}, "date"),
    ({"date": "10/05/2026"}, "date"),
    ({"date": "2026-5-1"}, "date"),
    ({"date": "2026-06-11"}, "date"),  # tomorrow
    ({"date": "1950-03-14"}, "date"),  # before the birth the ID number gives
    ({"note": "长" * 201}, "note"),
])
def test_removal_row_errors_name_the_column(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_removal_row(removal(**overrides), TODAY)
    assert err.value.field == field


@pytest.mark.parametrize(("header", "ok"), [
    (["id_number", "name", "reason", "date"], True),
    (["\ufeffid_number", "name", "reason", "date", "note"], True),
    (["date", "reason", "name", "id_number"], True),
    (["id_number", "name", "date"], False),
    (None, False),
])
def test_removal_header(header: list[str] | None, ok: bool) -> None:
    if ok:
        check_removal_header(header)
    else:
        with pytest.raises(ValidationError) as err:
            check_removal_header(header)
        assert err.value.field == "header"
