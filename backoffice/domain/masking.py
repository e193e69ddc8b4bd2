"""Personal data masked in free text: ID numbers, bank cards and mobile phones found anywhere
in a string (a log line, a chat message, a notification) are replaced by their masked form.

Pure, so that every room (services, senders, the desk, the log filter) can mask the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from backoffice.domain.identity import mask_bank_card, mask_id_number, mask_phone

# Order matters: the longest digit runs first, so a card number is not read as a phone.
_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),
     lambda m: mask_id_number(m.group(0))),
    # not after a letter: P2026… policy and G… group numbers stay readable
    (re.compile(r"(?<![0-9A-Za-z])\d{12,19}(?!\d)"), lambda m: mask_bank_card(m.group(0))),
    (re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)"), lambda m: mask_phone(m.group(0))),
)


def mask_text(text: str) -> str:
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text
