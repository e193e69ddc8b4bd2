"""Parties: a person's stated birth date and gender must agree with the ID number."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from backoffice.domain.errors import ValidationError
from backoffice.domain.party import parse_person

# 11010519491231002X: published sample, female, born 1949-12-31 (check char verified by hand).
FEMALE_ID = "11010519491231002X"
# 440514196611150011: Σ = 231 → 1; male, born 1966-11-15.
MALE_ID = "440514196611150011"


def person(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "王秀英", "id_number": FEMALE_ID, "phone": "13812345678"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_gender_and_birth_date_default_from_the_id() -> None:
    p = parse_person(person())
    assert p.gender == "female"
    assert p.birth_date == date(1949, 12, 31)
    assert p.id_number == FEMALE_ID
    assert p.name == "王秀英"
    assert p.phone == "13812345678"


def test_male_id_gives_male() -> None:
    p = parse_person(person(id_number=MALE_ID))
    assert (p.gender, p.birth_date) == ("male", date(1966, 11, 15))


@pytest.mark.parametrize(
    "extra",
    [
        {"gender": "female"},
        {"gender": "女"},
        {"birth_date": "1949-12-31"},
        {"gender": "female", "birth_date": "1949-12-31"},
        {"id_number": "11010519491231002x"},  # lower-case x
    ],
)
def test_consistent_values_are_accepted(extra: dict[str, Any]) -> None:
    p = parse_person(person(**extra), "insured.")
    assert (p.gender, p.birth_date, p.id_number) == ("female", date(1949, 12, 31), FEMALE_ID)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"birth_date": "1949-12-30"}, "insured.birth_date"),
        ({"birth_date": "1950-12-31"}, "insured.birth_date"),
        ({"gender": "male"}, "insured.gender"),
        ({"gender": "男"}, "insured.gender"),
        ({"gender": "unknown"}, "insured.gender"),
        ({"birth_date": "1949-02-30"}, "insured.birth_date"),
        ({"birth_date": "31/12/1949"}, "insured.birth_date"),
        ({"id_number": "110105194912310020"}, "insured.id_number"),
        ({"id_number": None}, "insured.id_number"),
        ({"name": None}, "insured.name"),
        ({"name": "  "}, "insured.name"),
        ({"name": "张3"}, "insured.name"),
        ({"phone": None}, "insured.phone"),
        ({"phone": "12345"}, "insured.phone"),
        ({"occupation_class": 7}, "insured.occupation_class"),
        ({"occupation_class": 0}, "insured.occupation_class"),
        ({"occupation_class": True}, "insured.occupation_class"),
        ({"occupation_class": "2"}, "insured.occupation_class"),
        ({"address": "x" * 201}, "insured.address"),
        ({"occupation": 3}, "insured.occupation"),
    ],
)
def test_refusals_name_the_prefixed_field(extra: dict[str, Any], field: str) -> None:
    raw = person()
    for k, v in extra.items():
        if v is None:
            raw.pop(k, None)
        else:
            raw[k] = v
    with pytest.raises(ValidationError) as err:
        parse_person(raw, "insured.")
    assert err.value.field == field


def test_without_prefix_the_field_is_bare() -> None:
    with pytest.raises(ValidationError) as err:
        parse_person(person(birth_date="1949-01-01"))
    assert err.value.field == "birth_date"


def test_phone_optional_when_not_needed() -> None:
    raw = person()
    del raw["phone"]
    assert parse_person(raw, "beneficiary.", need_phone=False).phone is None
    # but a phone that is given is still validated
    with pytest.raises(ValidationError) as err:
        parse_person({**raw, "phone": "123"}, "beneficiary.", need_phone=False)
    assert err.value.field == "beneficiary.phone"


def test_optional_fields_are_kept() -> None:
    p = parse_person(
        person(address="  汕头市潮南区峡山街道 ", occupation="教师", occupation_class=1)
    )
    assert p.address == "汕头市潮南区峡山街道"
    assert p.occupation == "教师"
    assert p.occupation_class == 1


def test_not_a_mapping_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        parse_person(["王秀英"], "insured.")  # type: ignore[arg-type]
    assert err.value.field == "insured"

