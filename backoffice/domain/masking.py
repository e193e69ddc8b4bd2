"""Personal data masked in free text: ID numbers, bank cards and mobile phones found anywhere
in a string (a log line, a chat message, a notification) are replaced by their masked form.

Pure, so that every room (services, senders, the desk, the log filter) can mask the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import cn_identity

from backoffice.domain.identity import mask_bank_card, mask_id_number, mask_phone


def _id_after_letters(m: re.Match[str]) -> str:
    """Eighteen characters glued to letters ("ID440514…"): masked when they are a real ID
    number (its check character holds), so P2026… policy numbers stay readable."""
    return mask_id_number(m.group(0)) if cn_identity.is_valid(m.group(0).upper()) else m.group(0)


# Order matters: the longest digit runs first, so a card number is not read as a phone.
_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),
     lambda m: mask_id_number(m.group(0))),
    (re.compile(r"(?<=[A-Za-z])\d{17}[\dXx](?![0-9])"), _id_after_letters),
    # not after a letter: P2026… policy and G… group numbers stay readable
    (re.compile(r"(?<![0-9A-Za-z])\d{12,19}(?!\d)"), lambda m: mask_bank_card(m.group(0))),
    (re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)"), lambda m: mask_phone(m.group(0))),
    # written in groups: 138-1234-5678, 138 1234 5678; landlines with their area code
    (re.compile(r"(?<![\d-])1[3-9]\d(?:[- ]\d{4}){2}(?![\d-])"),
     lambda m: mask_phone(m.group(0))),
    (re.compile(r"(?<![\d-])0\d{2,3}-\d{7,8}(?![\d-])"), lambda m: mask_phone(m.group(0))),
)


# Full-width digits and X, the ideographic space, no-break space and dash look-alikes, read as
# their ASCII forms: one character for one, so positions in the text stay the same.
_HALF_WIDTH = str.maketrans({**{chr(0xFF10 + d): str(d) for d in range(10)},
                             "Ｘ": "X", "ｘ": "x", "\u3000": " ", "\u00a0": " ",
                             "－": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-",
                             "\u2013": "-", "\u2212": "-", "．": ".", "／": "/", "＿": "_",
                             "（": "(", "）": ")",
                             # invisible characters slipped between digits read as a space
                             "\u200b": " ", "\u200c": " ", "\u200d": " ", "\u2060": " ",
                             "\ufeff": " "})
# what people put between groups of digits: spaces or tabs, or one of - . / _ with spaces
# around it or not
SEP = r"(?:[ \t]*[-./_][ \t]*|[ \t]+)"
_SEPARATOR = re.compile(r"[^0-9Xx]")


def _keep(span: str, first: int, last: int) -> str:
    """The digits of `span` but its first `first` and last `last` hidden; separators stay."""
    total = sum(ch.isdigit() or ch in "Xx" for ch in span)
    out, i = [], 0
    for ch in span:
        if not (ch.isdigit() or ch in "Xx"):
            out.append(ch)
            continue
        out.append(ch if i < first or i >= total - last else "*")
        i += 1
    return "".join(out)


def _grouped_id(m: re.Match[str]) -> str:
    """An ID number written in groups (4405 1419 5811 2713 07, 440514-19581127-1307): masked
    when the characters make a real one (area, birth date, check character)."""
    written = m.group(0)
    if len(written) == 18:  # no separator: the plain patterns below decide
        return written
    plain = _SEPARATOR.sub("", written).upper()
    return _keep(written, 6, 4) if cn_identity.is_valid(plain) else written


def _grouped_card(m: re.Match[str]) -> str:
    """A card number written in fours (6222 0212 3456 7890 123): 16 to 19 digits."""
    digits = len(_SEPARATOR.sub("", m.group(0)))
    return _keep(m.group(0), 0, 4) if digits <= 19 else m.group(0)


# Numbers written with spaces or dashes. Dates (2026-11-22), times, amounts and our own
# numbers never form these groups: an ID number must be a real one, a card starts like a card
# (3, 4, 5, 6 or 9) and is grouped in fours.
_GROUPED: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(rf"(?<![0-9A-Za-z./_-])(?:\d{SEP}?){{17}}[\dXx](?![0-9A-Za-z])"), _grouped_id),
    (re.compile(rf"(?<![0-9A-Za-z./_-])[3-69]\d{{3}}(?:{SEP}\d{{4}}){{3}}(?:{SEP}\d{{1,4}})?"
                rf"(?![0-9A-Za-z]|{SEP}\d)"), _grouped_card),
    # a mobile number in groups: 151-5174-2938, 151.5174.2938, 151 - 5174 - 2938, (151)5174 2938
    (re.compile(rf"(?<![\d./_-])\(?1[3-9]\d\)?(?:{SEP}|(?<=\)))\d{{4}}{SEP}?\d{{4}}"
                rf"(?![\d]|{SEP}\d)"), lambda m: _keep(m.group(0), 3, 4)),
)


def _mask_ascii(text: str) -> str:
    for pattern, repl in (*_GROUPED, *_PATTERNS):
        text = pattern.sub(repl, text)
    return text


def mask_text(text: str) -> str:
    """`text` with every ID number, bank card and phone number masked, however written
    (spaces, dashes, full-width digits); the rest of the text is left exactly as it was."""
    plain = text if text.isascii() else text.translate(_HALF_WIDTH)
    masked = _mask_ascii(plain)
    if plain == text or len(masked) != len(plain):
        return masked
    # the hidden characters become "*" in the text as written (full-width stays full-width)
    return "".join("*" if new == "*" and was != "*" else orig
                   for orig, was, new in zip(text, plain, masked, strict=True))


# ---- a JSON value: by field name, and inside any text by shape --------------------------------

_ID_KEYS = ("id_number",)
_PHONE_KEYS = ("phone",)
_CARD_KEYS = ("card_number", "account", "bank_account")
_DROPPED = {"document_url"}  # a capability to the unmasked policy document


def _mask_value(key: str, value: str) -> str:
    if key.endswith(_ID_KEYS):
        return mask_id_number(value)
    if key.endswith(_PHONE_KEYS):
        return mask_phone(value)
    if key.endswith(_CARD_KEYS):
        return mask_bank_card(value) if len(value) > 4 else value
    return mask_text(value)


def mask_personal(value: Any, key: str = "") -> Any:
    """A JSON value with ID, phone and bank card numbers masked: by field name, and inside
    any text (a transcript, a note) by their shape."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in _DROPPED:
                continue
            # an OCR field {"value": …, "confidence": …} is masked by the field's name
            out[k] = mask_personal(v, k if k != "value" else key)
        return out
    if isinstance(value, list):
        return [mask_personal(v, key) for v in value]
    if isinstance(value, str):
        return _mask_value(key, value)
    return value


