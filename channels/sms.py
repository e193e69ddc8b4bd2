"""Inbound SMS: `POST /sms/inbound`, the SMS gateway's push of a message a customer sent to
the service number — most often the reply to the satisfaction question ("5", "不满意…") or to
the 回访 question sent by SMS.

Signed like the IVR's events: header `X-Xiaobao-Signature`, the hex HMAC-SHA256 of the raw
body with XIAOBAO_SMS_SECRET, checked first (403). Body: `{"event_id", "timestamp", "from",
"text", "to"?}`; `event_id` (≤ 64 characters) and `timestamp` (Unix seconds, at most 5 minutes
away, else 403) make a push run once: the same id again gets the first answer and nothing is
recorded twice; the same id with another body is refused (409).

The back office takes the text as the answer to the question waiting for a reply from that
phone (backoffice.services.customer_answers) or else keeps it for the agents: the message
goes into the phone's SMS conversation, queued. Answer: `{"status": "satisfaction" |
"follow_up" | "kept", "reply": "…" | null}`; `reply` is the thanks the gateway may send back.
An agent's answer in an SMS conversation goes out by SMS through the outbox.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from typing import Any

from aiohttp import web

from channels.ivr import Invalid, Stale, check_envelope, encodable, signed
from channels.port import Backoffice, BackofficeRefused, BackofficeUnavailable, StatePut, clip
from channels.router import Router
from channels.state import EVENT_TTL, SharedState

log = logging.getLogger("xiaobao.channels.sms")

MAX_BODY = 16 * 1024
MAX_TEXT = 1000  # an SMS is at most a few hundred characters; a longer body is no SMS
SIGNATURE = "X-Xiaobao-Signature"
PHONE = re.compile(r"\+?[0-9][0-9 -]{4,24}")
WAIT = 10.0  # how long a copy of a push waits for its first request's answer


def _error(status: int, code: str, message: str, field: str | None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, "field": field}},
                             status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def validate(data: Any, now: float | None = None) -> dict[str, Any]:
    """The push's fields, or Invalid naming the first bad one (Stale: outside the window)."""
    if not isinstance(data, dict):
        raise Invalid("body", "请求体须为 JSON 对象")
    event_id = data.get("event_id")
    sender = data.get("from")
    if not isinstance(sender, str) or not PHONE.fullmatch(sender.strip()):
        raise Invalid("from", "from 须为发送方手机号")
    text = data.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT \
            or "\x00" in text or not encodable(text) or not encodable(str(event_id)):
        raise Invalid("text", f"text 须为 1 至 {MAX_TEXT} 字的文本")
    check_envelope(data, now)
    return {"event_id": event_id, "from": re.sub(r"[ -]", "", sender.strip()),
            "text": text.strip()}


class SmsChannel:
    def __init__(self, secret: str, backoffice: Backoffice, state: SharedState,
                 router: Router | None = None, wait: float = WAIT) -> None:
        self.secret = secret.encode("utf-8")
        self.backoffice = backoffice
        self.state = state
        self.wait = wait
        if router is not None:
            router.register("sms", self.deliver)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/sms/inbound", self.inbound)

    async def inbound(self, request: web.Request) -> web.Response:
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            return _error(413, "too_large", "请求体过大", "body")
        given = request.headers.get(SIGNATURE, "")
        if not signed(raw, given, self.secret):
            return _error(403, "bad_signature", "签名无效", SIGNATURE)
        try:
            push = validate(json.loads(raw.decode("utf-8")))
        except (ValueError, RecursionError):
            return _error(400, "invalid", "请求体不是有效的 JSON", "body")
        except Stale as exc:
            return _error(403, "stale_event", exc.message, exc.field)
        except Invalid as exc:
            return _error(400, "invalid", exc.message, exc.field)
        return await self._once(push, hashlib.sha256(raw).hexdigest())

    async def _once(self, push: dict[str, Any], digest: str) -> web.Response:
        """The push's answer, computed once per event id (atomically claimed first)."""
        key = "sms:event:" + push["event_id"]
        try:
            got = await self.state.claim(StatePut(key, {"digest": digest,
                                                        "since": time.time()}, EVENT_TTL))
        except BackofficeUnavailable:
            return _error(503, "unavailable", "暂时无法处理，请稍后重试", None)
        if not got.claimed:
            return await self._replayed(key, digest, got.values.get(key))
        try:
            answer = await self.backoffice.sms_message(push["from"], clip(push["text"]), key)
        except BackofficeRefused as exc:
            await self._forget(key)
            field = "from" if exc.field == "phone" else exc.field
            return _error(400, "invalid", exc.message, field)
        except BackofficeUnavailable:
            await self._forget(key)  # not recorded: the gateway's retry runs it
            return _error(503, "unavailable", "暂时无法处理，请稍后重试", None)
        body = answer.as_dict()
        await self.state.write([StatePut(key, {"digest": digest, "answer": body},
                                         EVENT_TTL)])
        return web.json_response(body, dumps=lambda d: json.dumps(d, ensure_ascii=False))

    async def _forget(self, key: str) -> None:
        try:
            await self.state.write([], [key])
        except BackofficeUnavailable:
            log.warning("an SMS push mark could not be dropped; it expires")

    async def _replayed(self, key: str, digest: str, record: dict[str, Any] | None
                        ) -> web.Response:
        until = time.monotonic() + self.wait
        delay = 0.02
        while True:
            if record is not None and record.get("digest") != digest:
                return _error(409, "event_id_reused", "该 event_id 已用于另一条短信", "event_id")
            if record is not None and isinstance(record.get("answer"), dict):
                return web.json_response(record["answer"],
                                         dumps=lambda d: json.dumps(d, ensure_ascii=False))
            if time.monotonic() >= until:  # the first is still running: the gateway retries
                return _error(503, "in_progress", "该短信正在处理，请稍后重试", None)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
            record = (await self.state.read([key])).get(key)

    async def deliver(self, user: str, messages: list[dict[str, Any]], phone: str | None
                      ) -> None:
        """An agent's answer in an SMS conversation: by SMS to the phone (the SMS channel's
        user), through the outbox."""
        texts = [str(m["text"]) for m in messages if m.get("text")]
        if texts:
            await self.backoffice.offline_notice("ivr", user, clip("\n".join(texts)),
                                                 phone or user, template=False)
