"""Bank card numbers as people type or say them (pure): spaces, dashes, Chinese numerals; the
length and the Luhn check every card number passes, with what is wrong named."""

from __future__ import annotations

import re

from actions.spoken import digits_of


def mask_card(number: str) -> str:
    """As the back office masks a card (all but the last four), spaced for reading."""
    return "**** " + number[-4:] if len(number) > 4 else "****"


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_in(text: str) -> tuple[str | None, str | None]:
    """(the card number, None) or (None, what is wrong with the digits said) or (None, None)
    when no run of digits was said. Spaces, dashes and Chinese numerals are understood."""
    runs = re.findall(r"[0-9]+", digits_of(text, loose=True).replace("X", ""))
    longest = max(runs, key=len, default="")
    if len(longest) < 8:
        return None, None
    if not 12 <= len(longest) <= 19:
        return None, f"银行卡号一般是16–19位数字，您给的是{len(longest)}位"
    if not luhn_ok(longest):
        return None, "这个卡号校验不通过，可能有一位输错了"
    return longest, None


_TYPED_RUN = re.compile(r"(?<![0-9*])[0-9](?:[0-9]|[\s\-](?=[0-9])){11,22}(?![0-9])")


def mask_cards(text: str) -> str:
    """Typed card numbers in free text (a handoff summary's last words) masked; other digit
    runs (ID and phone numbers are masked elsewhere) as they were."""
    def masked(m: re.Match[str]) -> str:
        number = re.sub(r"[\s\-]", "", m.group(0))
        return mask_card(number) if 12 <= len(number) <= 19 and luhn_ok(number) else m.group(0)
    return _TYPED_RUN.sub(masked, text)
