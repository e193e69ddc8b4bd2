"""Logging that never writes personal data (ID numbers, phones and bank cards are masked) nor
credentials (the query strings of signed links and pushes are left out of the access log)."""

from __future__ import annotations

import logging
import re
import urllib.parse

from aiohttp.http_exceptions import HttpProcessingError

# The masking itself is pure and lives with the domain; kept importable from here.
from backoffice.domain.masking import mask_text

__all__ = ["BadRequestFilter", "HideSignedQuery", "MaskingFilter", "configure",
           "hide_signed_queries", "mask_text"]

# Paths whose whole query string is a credential or personal: WeChat's signature, nonce and
# echostr; the VoiceXML dialog's signed links; the policy documents' signed links; the web
# chat's id. Elsewhere, a query carrying one of SECRET_PARAMS is hidden all the same.
SECRET_QUERY_PATHS = ("/wechat", "/ivr/vxml", "/documents/", "/chat")
SECRET_PARAMS = frozenset({"sig", "signature", "msg_signature", "nonce", "echostr", "token",
                           "access_token", "exp"})
_URL_WITH_QUERY = re.compile(r"(/[^\s?\"]*)\?([^\s\"]*)")


def _hide(m: re.Match[str]) -> str:
    path, query = m.group(1), m.group(2)
    names = {part.split("=", 1)[0].lower() for part in query.split("&")}
    if path.startswith(SECRET_QUERY_PATHS) or names & SECRET_PARAMS:
        return f"{path}?…"
    # a personal number in a query is percent-encoded (`151%205174%202938`): masked decoded
    plain = urllib.parse.unquote_plus(query)
    masked = mask_text(plain)
    if masked != plain:
        return f"{path}?" + urllib.parse.quote(masked, safe="=&*")
    return m.group(0)


def hide_query(text: str) -> str:
    """`text` with the query string of every signed path (or signed-looking query) cut."""
    return _URL_WITH_QUERY.sub(_hide, text) if "?" in text else text


class HideSignedQuery(logging.Filter):
    """The access log keeps every path but never a signature, nonce or signed link's query:
    whoever reads the log could otherwise replay them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = hide_query(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        line = getattr(record, "first_request_line", None)
        if isinstance(line, str):
            record.first_request_line = hide_query(line)
        return True


def hide_signed_queries() -> None:
    """Installs the filter on aiohttp's access log (once)."""
    access = logging.getLogger("aiohttp.access")
    if not any(isinstance(f, HideSignedQuery) for f in access.filters):
        access.addFilter(HideSignedQuery())


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
    hide_signed_queries()
