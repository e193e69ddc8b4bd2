"""PRC identity numbers and other personal identifiers.

An identity number is any of the three 18-character numbers of `cn_identity`: the resident ID
(GB 11643-1999), the Hong Kong/Macao/Taiwan residents' residence permit and the foreigners'
permanent residence ID of 2023. Pure functions: they validate and derive, they never look
anything up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import cn_identity

from backoffice.domain.errors import ValidationError

_PHONE_SHAPE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_SHAPE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
# the scheme's rule, not the standard's: nobody on the books was born before 1900
_MIN_BIRTH_YEAR = 1900


def check_char(first17: str) -> str:
    """The check character for the first 17 digits of an ID number."""
    return cn_identity.check_char(first17)


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A validated 18-character identity number with what it encodes."""

    value: str
    area_code: str
    birth_date: date
    gender: str  # "male" | "female"
    # cn_identity.RESIDENT_ID | HMT_RESIDENCE_PERMIT | FOREIGN_PERMANENT_RESIDENCE_ID
    kind: str = cn_identity.RESIDENT_ID

    def __str__(self) -> str:
        return self.value


def parse_id_number(
    raw: object, field: str = "id_number", *, today: date | None = None
) -> IdNumber:
    """Validate an ID number: shape, area code, birth date, check character.

    Surrounding spaces and a lower-case x are forgiven; anything but ASCII digits and X is
    refused (full-width digits too). Given `today`, a birth date after it is refused.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError(field, "身份证号不能为空")
    value = cn_identity.normalise(raw)
    try:
        parsed = cn_identity.parse(value, today=today)
    except cn_identity.IdentityNumberError as err:
        raise ValidationError(field, _refusal(err, value, today)) from None
    if parsed.birth_date.year < _MIN_BIRTH_YEAR:
        raise ValidationError(field, f"身份证号中的出生日期 {value[6:14]} 无效")
    return IdNumber(value=parsed.value, area_code=parsed.area_code,
                    birth_date=parsed.birth_date, gender=parsed.gender, kind=parsed.kind)


def _refusal(err: cn_identity.IdentityNumberError, value: str, today: date | None) -> str:
    """The message a person reads for the check that refused the number."""
    if err.reason == "shape":
        return "身份证号应为18位：17位数字加1位校验码（数字或X）"
    if err.reason == "area":
        return f"身份证号地区码 {value[:6]} 无效"
    if err.reason == "birth_date":
        born = cn_identity.birth_date_of(value)
        if born is not None and today is not None and born > today:
            return f"身份证号中的出生日期 {value[6:14]} 晚于今天"
        return f"身份证号中的出生日期 {value[6:14]} 无效"
    return "身份证号校验码不正确"


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
