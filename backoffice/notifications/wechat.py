"""WeChat Official Account messages: customer-service text, template message as the fallback.

- Access token: `GET {api_base}/cgi-bin/token?grant_type=client_credential&appid=…&secret=…`
  answers `{"access_token": "…", "expires_in": 7200}`. It is cached until shortly before it
  expires, in the database (table `access_tokens`) or in Redis, so every platform process uses
  the same token: WeChat limits how often one may be fetched, and a fresh one replaces the old.
- Customer-service message: `POST {api_base}/cgi-bin/message/custom/send?access_token=…` with
  `{"touser": openid, "msgtype": "text", "text": {"content": …}}`.
- errcode 45015: the user has not written to the account in the last 48 hours, so a
  customer-service message may not be sent: the same notice goes out as a template message
  (`POST {api_base}/cgi-bin/message/template/send`) with the configured template id.
- errcode 40001 / 40014 / 42001: the token is invalid or expired (another process may have
  fetched a new one): the token is fetched again once and the call repeated.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from backoffice import clock
from backoffice.notifications.base import SendError, http_json
from backoffice.store.db import Database
from backoffice.store.models import AccessToken, Notification

log = logging.getLogger("xiaobao.notifications.wechat")

DEFAULT_API_BASE = "https://api.weixin.qq.com"
OK = 0
OUTSIDE_48_HOURS = 45015
TOKEN_INVALID = frozenset({40001, 40014, 42001})
# the message can never be delivered as addressed: retrying does not help
PERMANENT = frozenset({
    40003,  # invalid openid
    40037,  # invalid template_id
    43004,  # the user does not follow the account
    43019,  # the user is on the blacklist
    47001,  # malformed request body
})
TOKEN_MARGIN = timedelta(minutes=5)

Fetch = Callable[[], tuple[str, datetime]]


class TokenCache(Protocol):
    """Where access tokens live between processes."""

    def get(self, name: str) -> str | None:
        """The cached token when it is still valid, else None."""
        ...

    def refresh(self, name: str, fetch: Fetch, stale: str | None = None) -> str:
        """A valid token: the cached one unless missing, expired or equal to `stale` (a
        token WeChat just refused); otherwise fetch a new one and store it."""
        ...


class DbTokenCache:
    """Tokens in the `access_tokens` table. On PostgreSQL the refresh holds the row lock, so
    concurrent processes fetch one new token, not one each."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str) -> str | None:
        with self.db.read() as s:
            row = s.get(AccessToken, name)
            if row is not None and row.expires_at > clock.utcnow():
                return row.token
        return None

    def refresh(self, name: str, fetch: Fetch, stale: str | None = None) -> str:
        with self.db.transaction() as s:
            row = s.execute(select(AccessToken).where(AccessToken.name == name)
                            .with_for_update()).scalar()
            if row is not None and row.expires_at > clock.utcnow() and row.token != stale:
                return row.token  # another process refreshed it meanwhile
            token, expires_at = fetch()
            values = {"name": name, "token": token, "expires_at": expires_at,
                      "updated_at": clock.utcnow()}
            insert = pg_insert if self.db.engine.dialect.name == "postgresql" else sqlite_insert
            stmt = insert(AccessToken).values(**values)
            s.execute(stmt.on_conflict_do_update(
                index_elements=[AccessToken.name],
                set_={"token": token, "expires_at": expires_at,
                      "updated_at": values["updated_at"]}))
            return token


class RedisTokenCache:
    """Tokens under `xiaobao:token:{name}` in Redis (XIAOBAO_REDIS_URL), expiring with them.
    Needs the `redis` package."""

    def __init__(self, url: str, client: Any | None = None) -> None:
        if client is None:
            try:
                import redis
            except ImportError:
                raise RuntimeError("XIAOBAO_REDIS_URL is set but the `redis` package is not "
                                   "installed: pip install redis") from None
            client = redis.Redis.from_url(url)
        self.client = client

    @staticmethod
    def _key(name: str) -> str:
        return f"xiaobao:token:{name}"

    def get(self, name: str) -> str | None:
        value = self.client.get(self._key(name))
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def refresh(self, name: str, fetch: Fetch, stale: str | None = None) -> str:
        current = self.get(name)
        if current is not None and current != stale:
            return current
        token, expires_at = fetch()
        ttl_ms = int((expires_at - clock.utcnow()).total_seconds() * 1000)
        if ttl_ms > 0:
            self.client.set(self._key(name), token, px=ttl_ms)
        return token


def default_template_data(notification: Notification) -> dict[str, dict[str, str]]:
    """The template message's fields: `payload["template_data"]` when the notice carries
    them, else the classic first / keyword1 (reference) / keyword2 (time) / remark layout."""
    given = (notification.payload or {}).get("template_data")
    if isinstance(given, dict) and given:
        return {str(k): {"value": str(v.get("value", "")) if isinstance(v, dict) else str(v)}
                for k, v in given.items()}
    payload = notification.payload or {}
    reference = payload.get("claim_no") or payload.get("policy_no") or notification.template
    at = (notification.created_at or clock.utcnow()).astimezone(clock.SHANGHAI)
    return {
        "first": {"value": notification.text[:200]},
        "keyword1": {"value": str(reference)},
        "keyword2": {"value": at.strftime("%Y-%m-%d %H:%M")},
        "remark": {"value": "如有疑问，请在公众号留言或拨打客服电话。"},
    }


class WeChatSender:
    """The `wechat` channel: recipient is the user's openid for this Official Account."""

    def __init__(self, appid: str, secret: str, *, cache: TokenCache,
                 api_base: str = DEFAULT_API_BASE, template_id: str | None = None,
                 timeout: float = 10.0,
                 template_data: Callable[[Notification], dict[str, Any]] = default_template_data
                 ) -> None:
        self.appid = appid
        self.secret = secret
        self.cache = cache
        self.api_base = api_base.rstrip("/")
        self.template_id = template_id or None
        self.timeout = timeout
        self.template_data = template_data
        self.cache_name = f"wechat:{appid}"

    # -- the access token ----------------------------------------------------------------

    def _fetch_token(self) -> tuple[str, datetime]:
        query = urllib.parse.urlencode({"grant_type": "client_credential", "appid": self.appid,
                                        "secret": self.secret})
        answer = http_json("GET", f"{self.api_base}/cgi-bin/token?{query}",
                           timeout=self.timeout, what="wechat token")
        if not isinstance(answer, dict) or not answer.get("access_token"):
            code = answer.get("errcode") if isinstance(answer, dict) else None
            message = answer.get("errmsg", "") if isinstance(answer, dict) else ""
            raise SendError(f"wechat token: errcode {code} {message}".strip(), retryable=True)
        lifetime = timedelta(seconds=int(answer.get("expires_in") or 7200))
        margin = min(TOKEN_MARGIN, lifetime / 2)
        log.info("wechat access token fetched, valid for %s", lifetime)
        return str(answer["access_token"]), clock.utcnow() + lifetime - margin

    def access_token(self) -> str:
        return self.cache.get(self.cache_name) or self.cache.refresh(self.cache_name,
                                                                     self._fetch_token)

    def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST with the token; a refused token is replaced once and the call repeated."""
        token = self.access_token()
        answer = self._post(path, token, body)
        if answer.get("errcode") in TOKEN_INVALID:
            token = self.cache.refresh(self.cache_name, self._fetch_token, stale=token)
            answer = self._post(path, token, body)
        return answer

    def api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Any JSON API of the account (customer-service messages, menus), with the shared
        token; the parsed answer, errcode included."""
        return self._call(path, body)

    def _post(self, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.api_base}{path}?{urllib.parse.urlencode({'access_token': token})}"
        answer = http_json("POST", url, body, timeout=self.timeout, what=f"wechat {path}")
        if not isinstance(answer, dict):
            raise SendError(f"wechat {path}: unexpected answer", retryable=True)
        return answer

    # -- sending -----------------------------------------------------------------------

    def send(self, notification: Notification) -> str:
        openid = notification.recipient
        if not openid:
            raise SendError("wechat: no openid", retryable=False)
        answer = self._call("/cgi-bin/message/custom/send", {
            "touser": openid, "msgtype": "text", "text": {"content": notification.text}})
        code = answer.get("errcode", OK)
        if code == OK:
            return "wechat"
        if code == OUTSIDE_48_HOURS:
            return self._send_template(notification)
        raise _error("custom/send", answer)

    def _send_template(self, notification: Notification) -> str:
        if not self.template_id:
            raise SendError("wechat: outside the 48-hour window (45015) and no template "
                            "configured (XIAOBAO_WECHAT_TEMPLATE_ID)", retryable=False)
        answer = self._call("/cgi-bin/message/template/send", {
            "touser": notification.recipient, "template_id": self.template_id,
            "data": self.template_data(notification)})
        if answer.get("errcode", OK) == OK:
            return "wechat_template"
        raise _error("template/send", answer)


def _error(api: str, answer: dict[str, Any]) -> SendError:
    code = answer.get("errcode")
    message = str(answer.get("errmsg", ""))[:200]
    return SendError(f"wechat {api}: errcode {code} {message}".strip(),
                     retryable=code not in PERMANENT)
