"""Personal data masked in free text: ID numbers, bank cards and mobile phones found anywhere
in a string (a log line, a chat message, a notification) are replaced by their masked form.

Pure, so that every room (services, senders, the desk, the log filter) can mask the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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


def mask_text(text: str) -> str:
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text
