"""ID and phone numbers as people type them and speech recognition writes them (pure).

"4405 1419-5811 2713 07", full-width "１３９…", "四四零五一五…", "幺三九…", "两", "洞", "拐",
"叉" for the check character, "+86 139…": all become the digits the slots hold. Whether an ID
number is valid is still its checksum's decision (cn_identity); this only finds the shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# digits as a caller may say them (幺 1, 两 2, 拐 7, 洞 0: the telephone way) or type them
_DIGITS = str.maketrans({
    "零": "0", "〇": "0", "○": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2",
    "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7", "八": "8", "九": "9",
    "叉": "X", "x": "X", "ｘ": "X", "Ｘ": "X",
    **{chr(0xFF10 + d): str(d) for d in range(10)},
})
# what people put between groups of digits; commas only when nothing else was found, since
# "七十一，13922334455" must not become a twelve-digit number
_GROUPING = re.compile(r"(?<=[0-9])[\s\-－—–‐_·.]+(?=[0-9X])")
_LOOSE_GROUPING = re.compile(r"(?<=[0-9])[\s\-－—–‐_·.,，、]+(?=[0-9X])")
# a phone's country code: +86, 0086 or 86 right before a mobile number
_COUNTRY = re.compile(r"(?<![0-9])(?:\+86|0086|86)(?=1[3-9][0-9]{9}(?![0-9]))")
ID_SHAPE = re.compile(r"(?<![0-9X])([1-9][0-9]{16}[0-9X])(?![0-9X])")
# "+1 415…" is another country's number, not a mobile of ours starting 141
PHONE_SHAPE = re.compile(r"(?<![0-9X+])(1[3-9][0-9]{9})(?![0-9X])")


def digits_of(text: str, loose: bool = False) -> str:
    """The text with spoken and full-width digits as 0-9 (X for the check character) and
    the separators inside a number dropped; other words may be garbled, so search it, never
    store it."""
    out = text.translate(_DIGITS)
    out = (_LOOSE_GROUPING if loose else _GROUPING).sub("", out)
    return _COUNTRY.sub("", out)


def _first(shape: re.Pattern[str], text: str) -> str | None:
    for loose in (False, True):
        found = shape.search(digits_of(text, loose))
        if found:
            return found.group(1)
    return None


def id_number_in(text: str) -> str | None:
    """The first 18-character ID-number shape in what was said, in stored form (upper X)."""
    return _first(ID_SHAPE, text)


def phone_in(text: str) -> str | None:
    """The first mobile number (11 digits, 1[3-9]…) in what was said, without +86."""
    return _first(PHONE_SHAPE, text)


_DIGITISH = "0-9０-９零〇○洞一幺二两三四五六七八九拐叉XxＸｘ"
_RUN = re.compile(rf"\+?[{_DIGITISH}](?:[{_DIGITISH}]|[\s\-－—–‐_·.](?=[{_DIGITISH}])){{10,}}")


def mask_spoken(text: str, mask_id: Callable[[str], str],
                mask_phone: Callable[[str], str]) -> str:
    """Each run of typed or spoken digits that holds an ID or phone number replaced by that
    number masked ("幺三九 二二三三 四四五五" → 139****4455); the rest of the text as it was."""
    def masked(m: re.Match[str]) -> str:
        run = m.group(0)
        found = id_number_in(run)
        if found:
            return mask_id(found)
        found = phone_in(run)
        return mask_phone(found) if found else run
    return _RUN.sub(masked, text)
