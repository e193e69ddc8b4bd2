"""Logging that never writes personal data: ID numbers, phones and bank cards are masked."""

from __future__ import annotations

import logging
import re

from backoffice.domain.identity import mask_bank_card, mask_id_number, mask_phone

# Order matters: the longest digit runs first, so a card number is not read as a phone.
_PATTERNS: tuple[tuple[re.Pattern[str], object], ...] = (
    (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),
     lambda m: mask_id_number(m.group(0))),
    # not after a letter: P2026… policy and G… group numbers stay readable
    (re.compile(r"(?<![0-9A-Za-z])\d{12,19}(?!\d)"), lambda m: mask_bank_card(m.group(0))),
    (re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)"), lambda m: mask_phone(m.group(0))),
)


def mask_text(text: str) -> str:
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)  # type: ignore[arg-type]
    return text


class MaskingFilter(logging.Filter):
    """Masks the formatted message, so arguments and access-log URLs are covered too."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        # Tracebacks (an IntegrityError lists its row) and stack info are text too.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
