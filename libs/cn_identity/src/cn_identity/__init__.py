"""18-character PRC identity numbers: their kind, check character, birth date and gender.

Three documents share the layout of GB 11643-1999 and its ISO 7064 MOD 11-2 check character:

- the resident identity card (居民身份证): the GB/T 2260 area code of the place of issue,
  birth date YYYYMMDD, a 3-digit sequence, the check character;
- the Hong Kong, Macao and Taiwan residents' residence permit (港澳台居民居住证): area code
  810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan), then the same;
- the foreigners' permanent residence ID card of December 2023 (外国人永久居留身份证): 9, the
  2-digit province of issue, the 3-digit nationality (ISO 3166 numeric), birth date, a 2-digit
  sequence, a gender digit, the check character.

In all three the birth date is characters 7-14 and the 17th character is odd for men, even for
women. The area code records where a number was issued, not where its holder was born, so only
its province is checked: a district created after the birth date (440514 潮南区, 2003) is fine.

Pure and stdlib only (Python >= 3.10): nothing is looked up, and no clock is read — a caller
that wants a future birth date refused passes `today`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

__all__ = [
    "FOREIGN_PERMANENT_RESIDENCE_ID",
    "HMT_RESIDENCE_PERMIT",
    "RESIDENT_ID",
    "IdentityNumber",
    "IdentityNumberError",
    "birth_date_of",
    "check_char",
    "find_in_text",
    "gender_of",
    "is_valid",
    "is_well_formed",
    "kind_of",
    "normalise",
    "parse",
    "with_check_char",
]

Kind = Literal["resident_id", "hmt_residence_permit", "foreign_permanent_residence_id"]
Gender = Literal["male", "female"]
# which check refused a string: callers word their own messages from it
Reason = Literal["shape", "area", "birth_date", "check_char"]

RESIDENT_ID: Final = "resident_id"
HMT_RESIDENCE_PERMIT: Final = "hmt_residence_permit"
FOREIGN_PERMANENT_RESIDENCE_ID: Final = "foreign_permanent_residence_id"

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
# [0-9], not \d: \d also matches full-width and other Unicode digits, never valid in a number
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_FIRST17 = re.compile(r"[0-9]{17}")
_DATE8 = re.compile(r"[0-9]{8}")

# Province-level codes of GB/T 2260 that issue cards: the 31 of the mainland.
_MAINLAND = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65".split()
)
# GB/T 2260 also lists 71 Taiwan, 81 Hong Kong and 82 Macao; the resident ID's layout allows them
_RESIDENT_PROVINCES = _MAINLAND | {"71", "81", "82"}
_HMT_AREAS = frozenset({"810000", "820000", "830000"})

# full-width digits and x in any width: what a Chinese input method or a lower-case x gives
_FOLD = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)}, "x": "X", "ｘ": "X", "Ｘ": "X"}
)


class IdentityNumberError(ValueError):
    """Why a string is not an identity number; `reason` names the check that refused it."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason


@dataclass(frozen=True)
class IdentityNumber:
    """A checked 18-character number with what it encodes."""

    value: str
    kind: Kind
    # GB/T 2260 code of the place of issue; province level (e.g. 440000) on the foreigners' card
    area_code: str
    birth_date: date
    gender: Gender
    nationality_code: str | None = None  # ISO 3166 numeric: the foreigners' card only

    def __str__(self) -> str:
        return self.value


def check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of 17 ASCII digits."""
    if not _FIRST17.fullmatch(first17):
        raise ValueError(f"17 ASCII digits expected, got {first17!r}")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def with_check_char(first17: str) -> str:
    """17 digits completed with their check character."""
    return first17 + check_char(first17)


def is_well_formed(value: str) -> bool:
    """17 ASCII digits then an ASCII digit or X: the only characters a stored number holds."""
    return bool(_SHAPE.fullmatch(value))


def kind_of(value: str) -> Kind | None:
    """The kind the leading digits name, or None; nothing after them is checked."""
    if value[:6] in _HMT_AREAS:
        return HMT_RESIDENCE_PERMIT
    if value[:1] == "9":
        return FOREIGN_PERMANENT_RESIDENCE_ID if value[1:3] in _MAINLAND else None
    if value[:2] in _RESIDENT_PROVINCES:
        return RESIDENT_ID
    return None


def birth_date_of(value: str) -> date | None:
    """The birth date in characters 7-14, or None when they are not a calendar date."""
    digits = value[6:14]
    if not _DATE8.fullmatch(digits):
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def gender_of(value: str) -> Gender:
    """From the 17th character of a well-formed number: odd male, even female."""
    return "male" if int(value[16]) % 2 == 1 else "female"


def parse(value: str, *, today: date | None = None) -> IdentityNumber:
    """Check a number as stored (see `normalise` for typed input); raise IdentityNumberError.

    The checks run in this order: shape, kind (area code), birth date, check character.
    """
    if not is_well_formed(value):
        raise IdentityNumberError(
            "shape", "18 characters expected: 17 ASCII digits and a digit or X"
        )
    kind = kind_of(value)
    if kind is None:
        raise IdentityNumberError("area", f"no identity number starts with {value[:6]}")
    born = birth_date_of(value)
    if born is None:
        raise IdentityNumberError("birth_date", f"{value[6:14]} is not a date")
    if today is not None and born > today:
        raise IdentityNumberError("birth_date", f"birth date {born} is after {today}")
    if check_char(value[:17]) != value[17]:
        raise IdentityNumberError("check_char", f"check character {value[17]} is wrong")
    foreign = kind == FOREIGN_PERMANENT_RESIDENCE_ID
    return IdentityNumber(
        value=value,
        kind=kind,
        area_code=value[1:3] + "0000" if foreign else value[:6],
        birth_date=born,
        gender=gender_of(value),
        nationality_code=value[3:6] if foreign else None,
    )


def is_valid(value: str, *, today: date | None = None) -> bool:
    """Whether `parse` accepts the value."""
    try:
        parse(value, today=today)
    except IdentityNumberError:
        return False
    return True


def normalise(raw: str) -> str:
    """Typed input in stored form: surrounding whitespace dropped, a lower-case x upper-cased.

    Nothing else is mapped: full-width or other Unicode digits stay, and `parse` refuses them.
    """
    return raw.strip().replace("x", "X")


def find_in_text(text: str, look_alikes: Mapping[str, str] | None = None) -> str | None:
    """The first 17 digits + digit-or-X in free text, in stored form, or None; not checked.

    Spaces and hyphens are dropped, full-width digits and x/ｘ/Ｘ become 0-9 and X.
    `look_alikes` maps single characters first, e.g. a recogniser's O read for 0.
    """
    compact = re.sub(r"[\s\-]", "", text)
    if look_alikes:
        compact = compact.translate(str.maketrans(dict(look_alikes)))
    found = _SHAPE.search(compact.translate(_FOLD))
    return found.group(0) if found else None
