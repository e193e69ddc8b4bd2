"""Stand-in servers on 127.0.0.1 (random port) for the WeChat API and an SMS gateway.

They speak the real JSON shapes: `GET /cgi-bin/token` → `{"access_token", "expires_in"}` or
`{"errcode", "errmsg"}`; `POST /cgi-bin/message/custom/send` and `/template/send` →
`{"errcode": 0, "errmsg": "ok"}` or an error code. They run on their own event loop in a thread,
because the senders under test are synchronous (they run in the scheduler's worker threads).
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

APPID = "wx-test-appid"
SECRET = "test-secret-0123456789"
SMS_KEY = "sms-test-key"

ERRMSG = {
    0: "ok",
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    42001: "access_token expired",
    43004: "require subscribe",
    45015: "response out of time limit or subscription is canceled",
    40125: "invalid appsecret",
}


@dataclass
class WeChatStub:
    """What the stand-in WeChat server was asked, and how it will answer."""

    expires_in: int = 7200
    token_requests: list[dict[str, str]] = field(default_factory=list)
    custom: list[dict[str, Any]] = field(default_factory=list)  # body + "access_token"
    template: list[dict[str, Any]] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    expired_tokens: set[str] = field(default_factory=set)
    outside_window: set[str] = field(default_factory=set)  # openids → 45015
    custom_errors: list[int] = field(default_factory=list)  # answered first, one per call
    custom_http_status: list[int] = field(default_factory=list)
    always_invalid: bool = False
    _serial: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def expire_tokens(self) -> None:
        """WeChat expired every token it handed out (→ 42001)."""
        self.expired_tokens |= self.valid_tokens
        self.valid_tokens.clear()

    def revoke_tokens(self) -> None:
        """Someone else fetched a new token: the old ones are refused (→ 40001)."""
        self.valid_tokens.clear()

    def _token_error(self, token: str) -> int | None:
        if self.always_invalid:
            return 40001
        if token in self.expired_tokens:
            return 42001
        if token not in self.valid_tokens:
            return 40001
        return None

    async def token(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.token_requests.append(query)
        if query.get("grant_type") != "client_credential" or query.get("appid") != APPID:
            return _err(40013 if query.get("appid") != APPID else 40002)
        if query.get("secret") != SECRET:
            return _err(40125)
        token = f"TOKEN-{next(self._serial)}"
        self.valid_tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": self.expires_in})

    async def custom_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        token = request.query.get("access_token", "")
        self.custom.append({**body, "access_token": token})
        if self.custom_http_status:
            return web.Response(status=self.custom_http_status.pop(0), text="busy")
        error = self._token_error(token)
        if error:
            return _err(error)
        if self.custom_errors:
            return _err(self.custom_errors.pop(0))
        if body.get("touser") in self.outside_window:
            return _err(45015)
        assert body["msgtype"] == "text" and isinstance(body["text"]["content"], str)
        return _err(0)

    async def template_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        token = request.query.get("access_token", "")
        self.template.append({**body, "access_token": token})
        error = self._token_error(token)
        if error:
            return _err(error)
        assert body["template_id"] and isinstance(body["data"], dict)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 200228332})


@dataclass
class SmsStub:
    """A JSON SMS gateway: `POST /sms` with a bearer key."""

    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # HTTP statuses to answer first
    answers: list[dict[str, Any]] = field(default_factory=list)  # bodies to answer first

    async def send(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append({"auth": request.headers.get("Authorization"), **body})
        if self.statuses:
            status = self.statuses.pop(0)
            return web.json_response({"error": "stub"}, status=status)
        if request.headers.get("Authorization") != f"Bearer {SMS_KEY}":
            return web.json_response({"error": "unauthorised"}, status=401)
        if self.answers:
            return web.json_response(self.answers.pop(0))
        return web.json_response({"message_id": f"sms-{len(self.received)}"})


def _err(code: int) -> web.Response:
    return web.json_response({"errcode": code, "errmsg": ERRMSG.get(code, "error")})


@dataclass
class Stubs:
    base: str
    wechat: WeChatStub
    sms: SmsStub


@contextmanager
def running_stubs() -> Iterator[Stubs]:
    wechat, sms = WeChatStub(), SmsStub()
    app = web.Application()
    app.router.add_get("/cgi-bin/token", wechat.token)
    app.router.add_post("/cgi-bin/message/custom/send", wechat.custom_send)
    app.router.add_post("/cgi-bin/message/template/send", wechat.template_send)
    app.router.add_post("/sms", sms.send)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="notify-stubs", daemon=True)
    thread.start()

    async def start() -> tuple[web.AppRunner, int]:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        return runner, int(sock.getsockname()[1])

    runner, port = asyncio.run_coroutine_threadsafe(start(), loop).result()
    try:
        yield Stubs(f"http://127.0.0.1:{port}", wechat, sms)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
