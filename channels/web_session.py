"""Signed web chat sessions: the server chooses a web id and proves it with
`<web id>.<issued at, Unix seconds>.<HMAC-SHA256, base64url>`; the id alone proves nothing.

The key is derived from the platform's API token, so every platform process that shares the
token accepts the others' sessions; a session older than its lifetime is refused, and one past
half of it is re-issued on use (the client keeps using the site while the session lives)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

USER = re.compile(r"[A-Za-z0-9_-]{1,40}")
#: How far in the future an issued-at may lie (clocks of several processes).
SKEW = 60


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class Session:
    user: str
    issued: int
    token: str


class WebSessions:
    def __init__(self, api_token: str, lifetime: float) -> None:
        # a key of its own: a web credential must never be usable as, or reveal, the API token
        self._key = hmac.new(api_token.encode(), b"xiaobao web chat session",
                             hashlib.sha256).digest()
        self.lifetime = lifetime

    def _sign(self, user: str, issued: int) -> str:
        mac = hmac.new(self._key, f"{user}.{issued}".encode(), hashlib.sha256).digest()
        return _b64(mac)

    def issue(self, user: str | None = None, now: float | None = None) -> Session:
        """A session for `user`, or for a fresh server-chosen web id."""
        user = user or "web-" + secrets.token_hex(8)
        issued = int(time.time() if now is None else now)
        return Session(user, issued, f"{user}.{issued}.{self._sign(user, issued)}")

    def verify(self, token: str, now: float | None = None) -> Session | None:
        """The session a credential proves, or None (malformed, forged or expired)."""
        parts = token.split(".")
        if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 12:
            return None
        user, issued = parts[0], int(parts[1])
        if not USER.fullmatch(user):
            return None
        expected = self._sign(user, issued).encode()
        if not hmac.compare_digest(parts[2].encode("utf-8", "replace"), expected):
            return None
        age = (time.time() if now is None else now) - issued
        if age > self.lifetime or age < -SKEW:
            return None
        return Session(user, issued, token)

    def stale(self, session: Session, now: float | None = None) -> bool:
        """Past half its lifetime: re-issued on use, so an active chat does not expire."""
        return (time.time() if now is None else now) - session.issued > self.lifetime / 2
