"""SMS: a provider interface and an HTTP JSON provider; numbers are masked in every log line."""

from __future__ import annotations

import logging
from typing import Protocol

from backoffice.domain.errors import ValidationError
from backoffice.domain.identity import mask_phone, parse_phone
from backoffice.notifications.base import SendError, http_json
from backoffice.store.models import Notification

log = logging.getLogger("xiaobao.notifications.sms")


class SmsProvider(Protocol):
    """An SMS gateway. Returns the provider's message id; raises SendError."""

    def send_sms(self, phone: str, text: str) -> str: ...


class HttpJsonSmsProvider:
    """A gateway spoken to in JSON: `POST {url}` with `Authorization: Bearer {key}` and
    `{"phone": "13800001111", "text": "…"}`; a 2xx answer `{"message_id": "…"}` (or `"id"`)
    means accepted. A 2xx answer with `{"error": "…"}` is refused for good unless it says
    `"retryable": true`; HTTP 5xx, 408, 429 and no answer are retried."""

    def __init__(self, url: str, key: str | None = None, *, timeout: float = 10.0) -> None:
        self.url = url
        self.key = key
        self.timeout = timeout

    def send_sms(self, phone: str, text: str) -> str:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        answer = http_json("POST", self.url, {"phone": phone, "text": text}, headers=headers,
                           timeout=self.timeout, what="sms gateway")
        if not isinstance(answer, dict):
            raise SendError("sms gateway: unexpected answer", retryable=True)
        if answer.get("error"):
            raise SendError(f"sms gateway: {str(answer['error'])[:200]}",
                            retryable=bool(answer.get("retryable")))
        return str(answer.get("message_id") or answer.get("id") or "")


class SmsSender:
    """The `sms` channel: checks the number, hands the text to the provider."""

    def __init__(self, provider: SmsProvider) -> None:
        self.provider = provider

    def send(self, notification: Notification) -> str:
        try:
            phone = parse_phone(notification.recipient)
        except ValidationError:
            raise SendError("sms: the recipient is not a phone number", retryable=False) from None
        message_id = self.provider.send_sms(phone, notification.text)
        log.info("sms %s to %s accepted (%s)", notification.id, mask_phone(phone),
                 message_id or "-")
        return "sms"
