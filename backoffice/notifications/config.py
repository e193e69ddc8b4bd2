"""Which sender serves which channel, from XIAOBAO_* settings (see the README's table)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from backoffice.notifications.base import Sender
from backoffice.notifications.log import LogSender
from backoffice.notifications.sms import HttpJsonSmsProvider, SmsSender
from backoffice.notifications.wechat import (
    DEFAULT_API_BASE,
    DbTokenCache,
    RedisTokenCache,
    TokenCache,
    WeChatSender,
)
from backoffice.store.db import Database

DEFAULT_MAX_ATTEMPTS = 6


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    wechat_api_base: str = DEFAULT_API_BASE
    wechat_appid: str | None = None
    wechat_secret: str | None = None
    wechat_template_id: str | None = None
    sms_url: str | None = None
    sms_key: str | None = None
    redis_url: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NotifyConfig:
        env = os.environ if env is None else env

        def opt(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        attempts = opt("XIAOBAO_NOTIFY_MAX_ATTEMPTS")
        if attempts is not None and (not attempts.isdigit() or int(attempts) < 1):
            raise ValueError("XIAOBAO_NOTIFY_MAX_ATTEMPTS must be a whole number ≥ 1")
        return cls(
            wechat_api_base=opt("XIAOBAO_WECHAT_API_BASE") or DEFAULT_API_BASE,
            wechat_appid=opt("XIAOBAO_WECHAT_APPID"),
            wechat_secret=opt("XIAOBAO_WECHAT_SECRET"),
            wechat_template_id=opt("XIAOBAO_WECHAT_TEMPLATE_ID"),
            sms_url=opt("XIAOBAO_SMS_URL"),
            sms_key=opt("XIAOBAO_SMS_KEY"),
            redis_url=opt("XIAOBAO_REDIS_URL"),
            max_attempts=int(attempts) if attempts else DEFAULT_MAX_ATTEMPTS,
        )


def token_cache(config: NotifyConfig, db: Database) -> TokenCache:
    return RedisTokenCache(config.redis_url) if config.redis_url else DbTokenCache(db)


def build_senders(config: NotifyConfig, db: Database) -> dict[str, Sender]:
    """A sender per channel; a channel without credentials logs instead of sending."""
    fallback = LogSender()
    senders: dict[str, Sender] = {"log": fallback, "wechat": fallback, "sms": fallback}
    if config.wechat_appid and config.wechat_secret:
        senders["wechat"] = WeChatSender(
            config.wechat_appid, config.wechat_secret, cache=token_cache(config, db),
            api_base=config.wechat_api_base, template_id=config.wechat_template_id)
    if config.sms_url:
        senders["sms"] = SmsSender(HttpJsonSmsProvider(config.sms_url, config.sms_key))
    return senders
