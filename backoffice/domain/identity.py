"""PRC resident identity numbers (GB 11643-1999) and other personal identifiers.

Pure functions: they validate and derive, they never look anything up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from backoffice.domain.errors import ValidationError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_PHONE_SHAPE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_SHAPE = re.compile(r"^0\d{2,3}-?\d{7,8}$")

# Province-level prefixes of GB/T 2260 (first two digits of the area code).
_PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
     "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
     "63", "64", "65", "71", "81", "82"}
)


def check_char(first17: str) -> str:
    """The check character for the first 17 digits of an ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A validated 18-character resident ID number with what it encodes."""

    value: str
    area_code: str
    birth_date: date
    gender: str  # "male" | "female"

    def __str__(self) -> str:
        return self.value


def parse_id_number(raw: object, field: str = "id_number") -> IdNumber:
    """Validate an ID number: shape, province, birth date, check character."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError(field, "身份证号不能为空")
    value = raw.strip().upper()
    if not _ID_SHAPE.match(value):
        raise ValidationError(field, "身份证号应为18位：17位数字加1位校验码（数字或X）")
    if value[:2] not in _PROVINCES:
        raise ValidationError(field, f"身份证号地区码 {value[:6]} 无效")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValidationError(field, f"身份证号中的出生日期 {value[6:14]} 无效") from None
    if born.year < 1900:
        raise ValidationError(field, f"身份证号中的出生日期 {value[6:14]} 无效")
    if check_char(value[:17]) != value[17]:
        raise ValidationError(field, "身份证号校验码不正确")
    gender = "male" if int(value[16]) % 2 == 1 else "female"
    return IdNumber(value=value, area_code=value[:6], birth_date=born, gender=gender)


def check_id_consistency(
    id_number: IdNumber, birth_date: date | None, gender: str | None
) -> None:
    """A person's stated birth date and gender must agree with their ID number."""
    if birth_date is not None and birth_date != id_number.birth_date:
        raise ValidationError(
            "birth_date",
            f"出生日期 {birth_date.isoformat()} 与身份证号中的 "
            f"{id_number.birth_date.isoformat()} 不一致",
        )
    if gender is not None and gender != id_number.gender:
        raise ValidationError("gender", "性别与身份证号第17位不一致（奇数为男，偶数为女）")


def make_id_number(area_code: str, birth: date, sequence: int) -> str:
    """Build a valid ID number; sequence is 0..999 (odd = male)."""
    first17 = f"{area_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)


def parse_phone(raw: object, field: str = "phone") -> str:
    """A mainland mobile number (11 digits) or a landline with area code."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError(field, "电话号码不能为空")
    value = re.sub(r"[\s()]", "", raw.strip())
    if value.startswith("+86"):
        value = value[3:]
    if _PHONE_SHAPE.match(value) or _LANDLINE_SHAPE.match(value):
        return value
    raise ValidationError(field, "电话号码格式不正确：手机号11位，座机需带区号")


def age_on(birth: date, on: date) -> int:
    """Age in completed years on a given day (周岁)."""
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def mask_id_number(value: str) -> str:
    """110101********1234 style: area code and last four kept."""
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """138****5678 style."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """张** style: the surname stays."""
    if not value:
        return value
    return value[0] + "*" * (len(value) - 1)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def parse_bank_card(raw: object, field: str = "debit_account") -> str:
    """A bank card number: 12–19 digits passing the Luhn check."""
    if not isinstance(raw, str):
        raise ValidationError(field, "银行卡号不能为空")
    value = re.sub(r"[\s-]", "", raw)
    if not re.fullmatch(r"\d{12,19}", value):
        raise ValidationError(field, "银行卡号应为12–19位数字")
    if not luhn_ok(value):
        raise ValidationError(field, "银行卡号校验不通过，请核对")
    return value


def mask_bank_card(value: str) -> str:
    return "*" * (len(value) - 4) + value[-4:]
