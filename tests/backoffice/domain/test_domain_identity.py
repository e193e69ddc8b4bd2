"""Resident ID numbers (GB 11643-1999), phones, ages and masking.

Every valid ID below was checked by hand: Σ digit × weight (7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2),
mod 11, mapped through "10X98765432".
"""

from __future__ import annotations

from datetime import date

import cn_identity
import pytest

from backoffice.domain.errors import ValidationError
from backoffice.domain.identity import (
    age_on,
    check_char,
    check_id_consistency,
    make_id_number,
    mask_id_number,
    mask_name,
    mask_phone,
    parse_id_number,
    parse_phone,
)

# (id, birth date, gender) — sums worked out by hand:
#   110105 19491231 002 → Σ = 167, 167 mod 11 = 2 → X  (the published sample)
#   110105 19491231 001 → Σ = 165, mod 11 = 0 → 1
#   110105 19491231 003 → Σ = 169, mod 11 = 4 → 8
#   110105 19491231 004 → Σ = 171, mod 11 = 6 → 6
#   440514 19600315 123 → Σ = 244, mod 11 = 2 → X
#   440514 19661115 001 → Σ = 231, mod 11 = 0 → 1
#   440514 19500315 002 → Σ = 220, mod 11 = 0 → 1
VALID_IDS = [
    ("11010519491231002X", date(1949, 12, 31), "female"),
    ("110105194912310011", date(1949, 12, 31), "male"),
    ("110105194912310038", date(1949, 12, 31), "male"),
    ("110105194912310046", date(1949, 12, 31), "female"),
    ("44051419600315123X", date(1960, 3, 15), "male"),
    ("440514196611150011", date(1966, 11, 15), "male"),
    ("440514195003150021", date(1950, 3, 15), "female"),
]


@pytest.mark.parametrize(("value", "born", "gender"), VALID_IDS)
def test_valid_id_numbers_parse(value: str, born: date, gender: str) -> None:
    idn = parse_id_number(value)
    assert idn.value == value
    assert str(idn) == value
    assert idn.area_code == value[:6]
    assert idn.birth_date == born
    assert idn.gender == gender


@pytest.mark.parametrize(("value", "born", "gender"), VALID_IDS)
def test_check_char_matches_hand_computed(value: str, born: date, gender: str) -> None:
    assert check_char(value[:17]) == value[17]


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        # Σ mod 11 → char, one case per position of "10X98765432" that is easy to reach
        ("11010519491231001", "1"),  # 165 → 0
        ("11010519491231002", "X"),  # 167 → 2
        ("11010519491231003", "8"),  # 169 → 4
        ("11010519491231004", "6"),  # 171 → 6
        ("11010519491231005", "4"),  # 173 → 8
        ("11010519491231006", "2"),  # 175 → 10
    ],
)
def test_check_char_table(first17: str, expected: str) -> None:
    assert check_char(first17) == expected


def test_lower_case_x_is_accepted_and_normalised() -> None:
    idn = parse_id_number("11010519491231002x")
    assert idn.value == "11010519491231002X"


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_id_number("  110105194912310011 ").value == "110105194912310011"


@pytest.mark.parametrize(
    "value",
    [
        "110105194912310012",  # 1 expected
        "110105194912310020",  # X expected
        "110105194912310039",  # 8 expected
        "440514196611150012",  # 1 expected
        "440514195003150022",  # 1 expected
    ],
)
def test_wrong_check_digit_is_refused_with_its_own_message(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_id_number(value)
    assert err.value.field == "id_number"
    assert "校验码" in err.value.message


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        None,
        110105194912310011,
        "11010519491231001",  # 17 characters
        "1101051949123100111",  # 19 characters
        "1101051949123100X1",  # X not last
        "X10105194912310011",
        "110105-19491231-0011",
        "１１０１０５１９４９１２３１００１１",  # full-width digits
        "110105194912310O11",  # letter O
    ],
)
def test_bad_shape_is_refused(value: object) -> None:
    with pytest.raises(ValidationError) as err:
        parse_id_number(value, "insured.id_number")
    assert err.value.field == "insured.id_number"


@pytest.mark.parametrize(
    "value",
    [
        "11０10519491231002X",  # one full-width digit after a valid province
        "1101051949123100²X",  # superscript two
        "110105١٩٤٩1231002X",  # Arabic-Indic digits
    ],
)
def test_digits_other_than_ascii_are_refused_anywhere(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_id_number(value)
    assert "18位" in err.value.message


# Both were refused as an unknown area code before (83 and 9 are no resident ID's province).
#   830000 19700704 003 → Σ = 225, mod 11 = 5 → 7  (Taiwan residents' residence permit)
#   9 44 840 19850612 01 1 → Σ = 365, mod 11 = 2 → X  (foreigners' permanent residence ID, 2023:
#   issued in Guangdong (44) to a US national (840))
@pytest.mark.parametrize(
    ("value", "kind", "area", "born", "gender"),
    [
        ("830000197007040037", cn_identity.HMT_RESIDENCE_PERMIT, "830000", date(1970, 7, 4),
         "male"),
        ("810000199001010019", cn_identity.HMT_RESIDENCE_PERMIT, "810000", date(1990, 1, 1),
         "male"),
        ("820000198512300023", cn_identity.HMT_RESIDENCE_PERMIT, "820000", date(1985, 12, 30),
         "female"),
        ("94484019850612011X", cn_identity.FOREIGN_PERMANENT_RESIDENCE_ID, "440000",
         date(1985, 6, 12), "male"),
        ("911410199003050224", cn_identity.FOREIGN_PERMANENT_RESIDENCE_ID, "110000",
         date(1990, 3, 5), "female"),
    ],
)
def test_residence_permits_and_foreigners_ids_are_accepted(
    value: str, kind: str, area: str, born: date, gender: str
) -> None:
    idn = parse_id_number(value)
    assert (idn.value, idn.kind, idn.area_code, idn.birth_date, idn.gender) == (
        value, kind, area, born, gender)
    check_id_consistency(idn, born, gender)
    assert mask_id_number(idn.value) == value[:6] + "********" + value[-4:]


def test_resident_ids_say_their_kind() -> None:
    assert parse_id_number("11010519491231002X").kind == cn_identity.RESIDENT_ID


def test_a_wrong_check_char_on_a_permit_is_refused_as_such() -> None:
    with pytest.raises(ValidationError) as err:
        parse_id_number("830000197007040038")
    assert "校验码" in err.value.message


def test_future_birth_date_is_refused_given_today() -> None:
    value = make_id_number("440514", date(2026, 6, 1), 1)
    with pytest.raises(ValidationError) as err:
        parse_id_number(value, "insured.id_number", today=date(2026, 5, 31))
    assert err.value.field == "insured.id_number"
    assert "出生日期" in err.value.message
    assert parse_id_number(value, today=date(2026, 6, 1)).birth_date == date(2026, 6, 1)


def test_birth_before_1900_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        parse_id_number(make_id_number("110105", date(1899, 12, 31), 1))
    assert "出生日期" in err.value.message


@pytest.mark.parametrize(
    "birth",
    ["20230229", "20230230", "19490230", "19491331", "19490001", "19491200", "19490431"],
)
def test_impossible_birth_date_is_refused(birth: str) -> None:
    first17 = f"110105{birth}001"
    value = first17 + check_char(first17)  # a correct check char: only the date is wrong
    with pytest.raises(ValidationError) as err:
        parse_id_number(value)
    assert err.value.field == "id_number"
    assert "出生日期" in err.value.message


def test_leap_day_birth_is_valid_in_a_leap_year() -> None:
    first17 = "11010520000229001"
    assert parse_id_number(first17 + check_char(first17)).birth_date == date(2000, 2, 29)


@pytest.mark.parametrize("prefix", ["00", "10", "19", "20", "39", "55", "66", "80", "99"])
def test_unknown_province_is_refused(prefix: str) -> None:
    first17 = f"{prefix}010519491231001"
    value = first17 + check_char(first17)
    with pytest.raises(ValidationError) as err:
        parse_id_number(value)
    assert err.value.field == "id_number"
    assert "地区码" in err.value.message


@pytest.mark.parametrize(
    ("seventeenth", "gender"),
    [(0, "female"), (1, "male"), (2, "female"), (3, "male"), (4, "female"),
     (5, "male"), (6, "female"), (7, "male"), (8, "female"), (9, "male")],
)
def test_gender_comes_from_the_17th_digit(seventeenth: int, gender: str) -> None:
    first17 = f"4405141960031512{seventeenth}"
    assert parse_id_number(first17 + check_char(first17)).gender == gender


def test_consistency_accepts_matching_or_missing_values() -> None:
    idn = parse_id_number("11010519491231002X")
    check_id_consistency(idn, date(1949, 12, 31), "female")
    check_id_consistency(idn, None, None)
    check_id_consistency(idn, None, "female")
    check_id_consistency(idn, date(1949, 12, 31), None)


@pytest.mark.parametrize(
    ("birth", "gender", "field"),
    [
        (date(1949, 12, 30), "female", "birth_date"),
        (date(1950, 12, 31), None, "birth_date"),
        (None, "male", "gender"),
        (date(1949, 12, 31), "male", "gender"),
        (date(1948, 1, 1), "male", "birth_date"),  # the birth date is checked first
    ],
)
def test_consistency_errors_name_the_field(
    birth: date | None, gender: str | None, field: str
) -> None:
    idn = parse_id_number("11010519491231002X")
    with pytest.raises(ValidationError) as err:
        check_id_consistency(idn, birth, gender)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("area", "born", "seq"),
    [
        ("110105", date(1949, 12, 31), 2),
        ("440514", date(1960, 3, 15), 123),
        ("440514", date(2000, 2, 29), 0),
        ("440514", date(1966, 11, 15), 999),
        ("650102", date(1999, 1, 1), 57),
        ("820000", date(1988, 8, 8), 888),
    ],
)
def test_make_id_number_round_trips(area: str, born: date, seq: int) -> None:
    value = make_id_number(area, born, seq)
    assert len(value) == 18
    idn = parse_id_number(value)
    assert idn.area_code == area
    assert idn.birth_date == born
    assert idn.gender == ("male" if seq % 2 else "female")
    assert idn.value[14:17] == f"{seq:03d}"


def test_make_id_number_agrees_with_the_published_sample() -> None:
    assert make_id_number("110105", date(1949, 12, 31), 2) == "11010519491231002X"


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(1960, 3, 15), date(2020, 3, 14), 59),
        (date(1960, 3, 15), date(2020, 3, 15), 60),
        (date(1960, 3, 15), date(2020, 3, 16), 60),
        (date(1960, 3, 15), date(2021, 3, 14), 60),
        (date(1960, 12, 31), date(2020, 12, 30), 59),
        (date(1960, 12, 31), date(2020, 12, 31), 60),
        (date(1960, 1, 1), date(2019, 12, 31), 59),
        (date(1960, 1, 1), date(2020, 1, 1), 60),
        (date(2000, 2, 29), date(2000, 2, 29), 0),
        (date(2000, 2, 29), date(2001, 2, 28), 0),  # common year: not yet on 28 Feb
        (date(2000, 2, 29), date(2001, 3, 1), 1),
        (date(2000, 2, 29), date(2004, 2, 28), 3),
        (date(2000, 2, 29), date(2004, 2, 29), 4),
        (date(1999, 3, 1), date(2000, 2, 29), 0),
        (date(1999, 3, 1), date(2000, 3, 1), 1),
    ],
)
def test_age_on(birth: date, on: date, age: int) -> None:
    assert age_on(birth, on) == age


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("440514196611150011", "440514********0011"),
        ("123456789", "*********"),
        ("", ""),
    ],
)
def test_mask_id_number(value: str, masked: str) -> None:
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("075488881234", "075*****1234"),
        ("123456", "******"),
    ],
)
def test_mask_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("张三", "张*"), ("欧阳娜娜", "欧***"), ("李", "李"), ("", "")],
)
def test_mask_name(value: str, masked: str) -> None:
    assert mask_name(value) == masked


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("13812345678", "13812345678"),
        ("19912345678", "19912345678"),
        (" 13812345678 ", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0754-88881234", "0754-88881234"),
        ("075488881234", "075488881234"),
        ("(0754)88881234", "075488881234"),
        ("010-12345678", "010-12345678"),
        ("020-1234567", "020-1234567"),
    ],
)
def test_parse_phone_accepts(raw: str, parsed: str) -> None:
    assert parse_phone(raw) == parsed


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        None,
        13812345678,
        "12812345678",  # no mobile network starts 12
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "88881234",  # landline without area code
        "0754-888812345",  # 9-digit local number
        "abc",
        "+1 4155550123",
    ],
)
def test_parse_phone_refuses(raw: object) -> None:
    with pytest.raises(ValidationError) as err:
        parse_phone(raw, "applicant.phone")
    assert err.value.field == "applicant.phone"
