"""What every sender shares: the Sender protocol, SendError, and a small JSON-over-HTTP call."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol

from backoffice.store.models import Notification


class SendError(Exception):
    """The message did not go out. `retryable`: worth trying again later (network, 5xx, rate
    limit); otherwise it is dead-lettered at once (bad recipient, unsubscribed user…)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class Sender(Protocol):
    """Sends one notification; returns how it went out (stored as `sent_via`, ≤ 20 chars)."""

    def send(self, notification: Notification) -> str: ...


def http_json(method: str, url: str, body: Mapping[str, Any] | None = None, *,
              headers: Mapping[str, str] | None = None, timeout: float = 10.0,
              what: str = "request") -> Any:
    """One JSON request; the parsed JSON answer of a 2xx.

    Errors become SendError: no answer, 5xx, 429 and an unreadable answer are retryable; other
    4xx are not. Messages never contain the URL (it may carry a secret or an access token).
    """
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json; charset=utf-8")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        retryable = exc.code >= 500 or exc.code in (408, 429)
        raise SendError(f"{what}: HTTP {exc.code}", retryable=retryable) from None
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
        reason = getattr(exc, "reason", exc)
        raise SendError(f"{what}: no answer ({type(reason).__name__})", retryable=True) from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SendError(f"{what}: the answer is not JSON", retryable=True) from None
