"""Logging that never writes personal data: ID numbers, phones and bank cards are masked."""

from __future__ import annotations

import logging

# The masking itself is pure and lives with the domain; kept importable from here.
from backoffice.domain.masking import mask_text

__all__ = ["MaskingFilter", "configure", "mask_text"]


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
