"""Logging that never writes personal data: ID numbers, phones and bank cards are masked."""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

# The masking itself is pure and lives with the domain; kept importable from here.
from backoffice.domain.masking import mask_text

__all__ = ["BadRequestFilter", "MaskingFilter", "configure", "mask_text"]


class BadRequestFilter(logging.Filter):
    """A request the HTTP parser refuses (a line beyond 8,190 bytes, a NUL in a header) is the
    client's fault, answered 400: one line at WARNING, not an ERROR with a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "bad request refused: %s", (type(exc).__name__,)
            record.exc_info = record.exc_text = None
        return True


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
    logging.getLogger("aiohttp.server").addFilter(BadRequestFilter())
