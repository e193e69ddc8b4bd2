"""Parties (当事人): a person with validated identity and contact details."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from backoffice.domain.errors import ValidationError
from backoffice.domain.identity import check_id_consistency, parse_id_number, parse_phone

GENDERS = ("male", "female")
GENDER_NAMES = {"male": "男", "female": "女", "男": "male", "女": "female"}
OCCUPATION_CLASSES = range(1, 7)
CONTACT_FIELDS = ("phone", "address")
# 信息更新 may change these; who the person is (name, gender, birth date, ID number) it may not
UPDATABLE_FIELDS = ("phone", "address", "occupation", "occupation_class")


@dataclass(frozen=True, slots=True)
class PersonData:
    name: str
    gender: str
    birth_date: date
    id_number: str
    phone: str | None
    address: str | None
    occupation: str | None
    occupation_class: int | None


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_name(raw: object, field: str = "name") -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError(field, "姓名不能为空")
    name = raw.strip()
    if len(name) > 40 or any(c.isdigit() for c in name):
        raise ValidationError(field, "姓名格式不正确")
    return name


def parse_gender(raw: object, field: str = "gender") -> str:
    if raw in GENDERS:
        return str(raw)
    if isinstance(raw, str) and raw.strip() in ("男", "女"):
        return GENDER_NAMES[raw.strip()]
    raise ValidationError(field, "性别须为 male/female（男/女）")


def parse_date(raw: object, field: str) -> date:
    """A date, or YYYY-MM-DD exactly: fromisoformat alone also takes "20260105" and week
    dates. The one date parser of the domain (facts of adjudication use it too)."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if not isinstance(raw, str) or not _ISO_DATE.fullmatch(raw.strip()):
        raise ValidationError(field, "日期须为 YYYY-MM-DD")
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationError(field, f"日期 {raw!r} 不是有效的 YYYY-MM-DD") from None


def parse_occupation_class(raw: object, field: str = "occupation_class") -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw not in OCCUPATION_CLASSES:
        raise ValidationError(field, "职业类别须为 1–6 的整数")
    return raw


def parse_person(
    raw: Mapping[str, Any], prefix: str = "", *, need_phone: bool = True
) -> PersonData:
    """Validate a person; birth date and gender default to what the ID number says."""
    if not isinstance(raw, Mapping):
        raise ValidationError(prefix.rstrip(".") or "person", "须为对象")
    p = prefix
    name = parse_name(raw.get("name"), f"{p}name")
    idn = parse_id_number(raw.get("id_number"), f"{p}id_number")
    gender = parse_gender(raw["gender"], f"{p}gender") if raw.get("gender") else None
    birth = parse_date(raw["birth_date"], f"{p}birth_date") if raw.get("birth_date") else None
    try:
        check_id_consistency(idn, birth, gender)
    except ValidationError as exc:
        raise ValidationError(f"{p}{exc.field}", exc.message) from None
    phone = raw.get("phone")
    if phone or need_phone:
        phone = parse_phone(phone, f"{p}phone")
    address = raw.get("address")
    if address is not None and (not isinstance(address, str) or len(address) > 200):
        raise ValidationError(f"{p}address", "地址须为不超过 200 字的文本")
    occ_class = raw.get("occupation_class")
    if occ_class is not None:
        occ_class = parse_occupation_class(occ_class, f"{p}occupation_class")
    occupation = raw.get("occupation")
    if occupation is not None and not isinstance(occupation, str):
        raise ValidationError(f"{p}occupation", "职业须为文本")
    return PersonData(
        name=name,
        gender=idn.gender,
        birth_date=idn.birth_date,
        id_number=idn.value,
        phone=phone or None,
        address=(address or "").strip() or None,
        occupation=occupation,
        occupation_class=occ_class,
    )

