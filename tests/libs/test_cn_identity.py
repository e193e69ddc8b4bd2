"""cn_identity: the three 18-character PRC identity numbers, their check character and contents.

Each valid number below was checked by hand, Σ digit × weight (7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2)
mod 11 through "10X98765432", e.g.
  830000 19700704 003 → Σ = 225, 225 mod 11 = 5 → 7
  9 44 840 19850612 01 1 → Σ = 365, 365 mod 11 = 2 → X
and `iso7064_ok` below checks all of them by the standard's own definition.
"""

from __future__ import annotations

from datetime import date

import cn_identity as c
import pytest

# (number, kind, area code, birth date, gender, nationality)
VALID = [
    # resident ID: the standard's sample, and 潮南区 (440514, created 2003) for people born before
    ("11010519491231002X", c.RESIDENT_ID, "110105", date(1949, 12, 31), "female", None),
    ("440514195003150021", c.RESIDENT_ID, "440514", date(1950, 3, 15), "female", None),
    ("44051419600315123X", c.RESIDENT_ID, "440514", date(1960, 3, 15), "male", None),
    # 港澳台居民居住证: Hong Kong, Macao, Taiwan
    ("810000199001010019", c.HMT_RESIDENCE_PERMIT, "810000", date(1990, 1, 1), "male", None),
    ("820000198512300023", c.HMT_RESIDENCE_PERMIT, "820000", date(1985, 12, 30), "female", None),
    ("830000197007040037", c.HMT_RESIDENCE_PERMIT, "830000", date(1970, 7, 4), "male", None),
    ("830000200102280041", c.HMT_RESIDENCE_PERMIT, "830000", date(2001, 2, 28), "female", None),
    # 外国人永久居留身份证 (2023): 9, province of issue, nationality (840 US, 410 KR, 392 JP)
    ("94484019850612011X", c.FOREIGN_PERMANENT_RESIDENCE_ID, "440000", date(1985, 6, 12),
     "male", "840"),
    ("911410199003050224", c.FOREIGN_PERMANENT_RESIDENCE_ID, "110000", date(1990, 3, 5),
     "female", "410"),
    ("931392197811110102", c.FOREIGN_PERMANENT_RESIDENCE_ID, "310000", date(1978, 11, 11),
     "female", "392"),
]


def iso7064_ok(value: str) -> bool:
    """ISO 7064 MOD 11-2 as the standard defines it: Σ aᵢ·2^(i-1) ≡ 1 (mod 11), i from the right,
    X = 10. Independent of the weight table the library uses."""
    total = sum((10 if ch == "X" else int(ch)) * pow(2, 17 - k, 11) for k, ch in enumerate(value))
    return total % 11 == 1


@pytest.mark.parametrize(("value", "kind", "area", "born", "gender", "nationality"), VALID)
def test_valid_numbers_parse(value: str, kind: str, area: str, born: date, gender: str,
                             nationality: str | None) -> None:
    idn = c.parse(value, today=date(2026, 1, 1))
    assert (idn.value, str(idn), idn.kind, idn.area_code, idn.birth_date, idn.gender,
            idn.nationality_code) == (value, value, kind, area, born, gender, nationality)
    assert c.kind_of(value) == kind
    assert c.is_valid(value)


@pytest.mark.parametrize("value", [v[0] for v in VALID])
def test_check_char_agrees_with_iso_7064(value: str) -> None:
    assert iso7064_ok(value)
    assert c.check_char(value[:17]) == value[17]
    assert c.with_check_char(value[:17]) == value


@pytest.mark.parametrize("value", [v[0] for v in VALID])
def test_every_other_check_char_is_refused(value: str) -> None:
    for wrong in (ch for ch in "0123456789X" if ch != value[17]):
        with pytest.raises(c.IdentityNumberError) as err:
            c.parse(value[:17] + wrong)
        assert err.value.reason == "check_char"
        assert not iso7064_ok(value[:17] + wrong)


@pytest.mark.parametrize("area", ["110105", "810000", "830000", "944840"])
@pytest.mark.parametrize("birth", ["20230229", "19491331", "19490230", "19490001", "19491200"])
def test_impossible_birth_date_is_refused(area: str, birth: str) -> None:
    value = c.with_check_char(f"{area}{birth}001")  # a right check char: only the date is wrong
    with pytest.raises(c.IdentityNumberError) as err:
        c.parse(value)
    assert err.value.reason == "birth_date"
    assert c.birth_date_of(value) is None


def test_future_birth_date_is_refused_only_given_today() -> None:
    value = c.with_check_char("83000020991231001")
    with pytest.raises(c.IdentityNumberError) as err:
        c.parse(value, today=date(2026, 1, 1))
    assert err.value.reason == "birth_date"
    assert not c.is_valid(value, today=date(2099, 12, 30))
    assert c.is_valid(value, today=date(2099, 12, 31))  # born today
    assert c.is_valid(value)  # no clock is read


@pytest.mark.parametrize(
    "value",
    [
        "",
        "11010519491231002",  # 17 characters
        "11010519491231002X1",  # 19 characters
        "110105194912310021X",  # 19, the X last
        "1101051949123100X1",  # X not last
        "11010519491231002x",  # lower-case x: stored numbers hold X (normalise typed input)
        "１１０１０５１９４９１２３１００２X",  # full-width digits
        "11０10519491231002X",  # one full-width digit: \d would take it
        "1101051949123100²X",  # superscript two: isdigit() would take it
        "110105١٩٤٩1231002X",  # Arabic-Indic digits
        "11010519491231002Ｘ",  # full-width X
        " 11010519491231002X",  # spaces are the caller's to strip
        "110105-19491231-002X",
    ],
)
def test_bad_shape_is_refused(value: str) -> None:
    assert not c.is_well_formed(value)
    with pytest.raises(c.IdentityNumberError) as err:
        c.parse(value)
    assert err.value.reason == "shape"


@pytest.mark.parametrize("first17", ["1101051949123100", "110105194912310021", "1101051949123100²",
                                     "110105194912310０2"])
def test_check_char_wants_17_ascii_digits(first17: str) -> None:
    with pytest.raises(ValueError):
        c.check_char(first17)


@pytest.mark.parametrize(
    "first17",
    [
        "00010519491231001",
        "10010519491231001",
        "66010519491231001",
        "80000019900101001",  # no such permit area
        "84000019900101001",
        "83000119900101001",  # Taiwan permits are 830000 exactly
        "90084019850612011",  # foreigners' card: 00 is no province
        "97184019850612011",  # … nor is Taiwan (71) a place of issue
        "98184019850612011",  # … nor Hong Kong (81)
    ],
)
def test_unknown_area_is_refused(first17: str) -> None:
    value = c.with_check_char(first17)
    assert c.kind_of(value) is None
    with pytest.raises(c.IdentityNumberError) as err:
        c.parse(value)
    assert err.value.reason == "area"


@pytest.mark.parametrize(("digit", "gender"), [(0, "female"), (1, "male"), (4, "female"),
                                               (7, "male"), (8, "female"), (9, "male")])
@pytest.mark.parametrize("head", ["4405141960031512", "8300001970070400", "9448401985061201"])
def test_gender_is_the_17th_digit_in_every_kind(head: str, digit: int, gender: str) -> None:
    assert c.parse(c.with_check_char(f"{head}{digit}")).gender == gender


def test_normalise_mends_typing_but_not_other_digits() -> None:
    assert c.normalise("  11010519491231002x\n") == "11010519491231002X"
    assert c.is_valid(c.normalise("11010519491231002x"))
    full_width = "１１０１０５１９４９１２３１００２X"
    assert c.normalise(full_width) == full_width
    assert not c.is_valid(c.normalise(full_width))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("公民身份号码 110105 1949 1231 002x", "11010519491231002X"),
        ("居住证号码：８３００００１９７００７０４００３７", "830000197007040037"),
        ("9448-4019-8506-1201-1ｘ", "94484019850612011X"),
        ("no number here 12345", None),
        ("1101051949123100²X", None),  # a superscript is not a digit to fold
    ],
)
def test_find_in_text(text: str, found: str | None) -> None:
    assert c.find_in_text(text) == found


def test_find_in_text_maps_look_alikes_first() -> None:
    assert c.find_in_text("11O1O5 1949 1231 002×", {"O": "0", "×": "X"}) == "11010519491231002X"
    assert c.find_in_text("11O1O5 1949 1231 002X") is None
