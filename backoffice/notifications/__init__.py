"""Sender adapters: one class per channel, each with `send(notification) -> sent_via`.

The dispatcher (backoffice.services.notifications.dispatch_due) hands every pending
notification to the sender of its channel; a sender raises SendError(retryable=…) when the
message did not go out, and the dispatcher retries with backoff or dead-letters it.

- `wechat`: WeChatSender — the Official Account customer-service message API, falling back to a
  template message outside the 48-hour window (errcode 45015); the access token is cached in
  the database (or Redis) and shared between processes.
- `sms`: SmsSender over an SmsProvider (HttpJsonSmsProvider).
- `log`: LogSender — writes the masked text to the log; the default for any channel that is
  not configured, so development needs no credentials.
"""

from __future__ import annotations

from backoffice.notifications.base import Sender, SendError
from backoffice.notifications.config import NotifyConfig, build_senders
from backoffice.notifications.log import LogSender
from backoffice.notifications.sms import HttpJsonSmsProvider, SmsProvider, SmsSender
from backoffice.notifications.wechat import (
    DbTokenCache,
    RedisTokenCache,
    TokenCache,
    WeChatSender,
)

__all__ = [
    "DbTokenCache",
    "HttpJsonSmsProvider",
    "LogSender",
    "NotifyConfig",
    "RedisTokenCache",
    "SendError",
    "Sender",
    "SmsProvider",
    "SmsSender",
    "TokenCache",
    "WeChatSender",
    "build_senders",
]
