"""WeChat Official Account: the push protocol (`/wechat`) and the customer-service API.

Protocol (all of it in `WeChatProtocol`):
- GET `/wechat?signature&timestamp&nonce&echostr`: URL verification, `sha1(sort(token,
  timestamp, nonce))` must equal `signature`; the answer is `echostr`.
- POST `/wechat?signature&timestamp&nonce[&encrypt_type=aes&msg_signature]`: one message as
  XML. Plain mode: the message itself. Compatible and safe mode (`encrypt_type=aes`): an
  `<Encrypt>` element (AES-256-CBC, WXBizMsgCrypt) signed by `msg_signature`; the passive reply
  is then encrypted and signed the same way.
- XML is parsed with defusedxml (no entities, no DTDs) after removing the control characters
  XML 1.0 forbids (user text may carry them); the body is limited in size; a bad signature or
  a timestamp outside the replay window is refused with 403; nothing answers 5xx: WeChat would
  retry, and the user would see "该公众号暂时无法提供服务".

Delivery (`WeChatChannel`): WeChat waits 5 s for the answer and retries three times. Each push
is deduplicated (MsgId; FromUserName + CreateTime for events; `Deduper`). A message for the
bot (text, recognised voice, location, menu click, a picture as its media id) is stored in
the transcript with its dedupe
key, in one transaction, before anything answers WeChat, whatever the sender's earlier turns
are doing; a push that could be neither stored nor spooled gets no `success` (503) so that
WeChat retries it. The turn then runs in a task: when the
bot answers within `passive_wait` (3.5 s) the answer is the passive reply (all texts of the
turn, in order, in one message); otherwise WeChat gets `success` at once and the answer goes
out through the customer-service API, message by message, in order. Outside the 48-hour
window (errcode 45015) the text is queued in the notification outbox (template message, or
SMS when the phone is known).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from defusedxml import ElementTree as SafeET
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply

from backoffice.notifications.base import SendError
from backoffice.notifications.wechat import DEFAULT_API_BASE, OUTSIDE_48_HOURS, WeChatSender
from channels.port import Backoffice, BackofficeUnavailable, Upload, clip
from channels.router import Recorded, Reply, Router
from xiaobao.logs import mask_text

log = logging.getLogger("xiaobao.channels.wechat")

MAX_BODY = 64 * 1024
REPLAY_WINDOW = 300
# WeChat waits 5 s; the rest of the second is for the network and a busy machine
PASSIVE_WAIT = 3.5
DEDUPE_TTL = 600
MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
PICTURE = re.compile(r"（图片 ([A-Za-z0-9_-]{1,128})）")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

WELCOME = ("您好，欢迎关注！我是小保，您的保险服务助手。\n"
           "我可以帮您：报案、查询理赔进度、上传理赔资料（直接发照片）、投诉建议。\n"
           "直接发文字或语音告诉我即可；需要人工服务请发送“转人工”。")
VOICE_NOT_UNDERSTOOD = ("抱歉，小保没有听懂这段语音。您可以发文字，或回复："
                        "报案、查询理赔进度、投诉、转人工。")
UNSUPPORTED = "抱歉，小保暂时只能处理文字、语音、图片和位置消息。"
IMAGE_FAILED = "抱歉，图片没有接收成功，请稍后重新发送。"


class BadRequest(Exception):
    """The push is malformed (400)."""


class Forbidden(Exception):
    """Signature or timestamp refused (403)."""


@dataclass(frozen=True, slots=True)
class WeChatConfig:
    token: str
    aes_key: str | None = None
    appid: str | None = None
    secret: str | None = None
    api_base: str = DEFAULT_API_BASE
    template_id: str | None = None
    replay_window: int = REPLAY_WINDOW
    passive_wait: float = PASSIVE_WAIT

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> WeChatConfig | None:
        """None when XIAOBAO_WECHAT_TOKEN is not set (the channel is then not mounted)."""
        env = dict(os.environ) if env is None else env

        def opt(name: str) -> str | None:
            return env.get(name, "").strip() or None

        token = opt("XIAOBAO_WECHAT_TOKEN")
        if token is None:
            return None
        return cls(token=token, aes_key=opt("XIAOBAO_WECHAT_AES_KEY"),
                   appid=opt("XIAOBAO_WECHAT_APPID"), secret=opt("XIAOBAO_WECHAT_SECRET"),
                   api_base=opt("XIAOBAO_WECHAT_API_BASE") or DEFAULT_API_BASE,
                   template_id=opt("XIAOBAO_WECHAT_TEMPLATE_ID"),
                   replay_window=int(opt("XIAOBAO_WECHAT_REPLAY_WINDOW") or REPLAY_WINDOW),
                   passive_wait=float(opt("XIAOBAO_WECHAT_PASSIVE_WAIT") or PASSIVE_WAIT))


# ---- the protocol ------------------------------------------------------------------------------

def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def parse_xml(text: str) -> dict[str, str]:
    """A flat `<xml>` document as a dict; control characters removed first."""
    try:
        root = SafeET.fromstring(_CONTROL.sub("", text))
    except Exception:  # ParseError, and defusedxml's refusals of entities and DTDs
        raise BadRequest("not a well-formed WeChat XML message") from None
    if root.tag != "xml":
        raise BadRequest("the root element is not <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


class WeChatProtocol:
    """Signatures, replay window, XML and AES: everything WeChat's push protocol defines."""

    def __init__(self, config: WeChatConfig, now: Callable[[], float] = time.time) -> None:
        self.config = config
        self.now = now
        self.crypto = (WeChatCrypto(config.token, config.aes_key, config.appid or "")
                       if config.aes_key else None)

    def check(self, query: dict[str, str]) -> None:
        sig, timestamp, nonce = (query.get(k, "") for k in ("signature", "timestamp", "nonce"))
        if not sig or not timestamp.isdigit() or not nonce:
            raise Forbidden("signature, timestamp and nonce are required")
        if signature(self.config.token, timestamp, nonce) != sig:
            raise Forbidden("bad signature")
        window = self.config.replay_window
        if window and abs(self.now() - int(timestamp)) > window:
            raise Forbidden("timestamp outside the replay window")

    def verify_url(self, query: dict[str, str]) -> str:
        self.check(query)
        return query.get("echostr", "")

    def message(self, query: dict[str, str], body: str) -> tuple[dict[str, str], bool]:
        """The pushed message and whether it came encrypted (then reply encrypted)."""
        self.check(query)
        plain_mode = query.get("encrypt_type", "raw").lower() != "aes"
        if plain_mode and self.crypto is not None:
            # in safe mode WeChat encrypts every push: a plain one was not sent by WeChat,
            # and it would bypass msg_signature
            raise BadRequest("safe mode: a push without encrypt_type=aes is refused")
        outer = parse_xml(body)
        if plain_mode:
            if "Encrypt" in outer and "MsgType" not in outer:
                raise BadRequest("encrypted message without encrypt_type=aes")
            return outer, False
        if self.crypto is None:
            raise BadRequest("safe mode message but no AES key configured")
        if "Encrypt" not in outer:
            raise BadRequest("Encrypt element missing")
        try:
            plain = self.crypto.decrypt_message({"Encrypt": outer["Encrypt"]},
                                                query.get("msg_signature", ""),
                                                query["timestamp"], query["nonce"])
        except InvalidSignatureException:
            raise Forbidden("bad msg_signature") from None
        except Exception:  # bad base64, padding, appid mismatch
            raise BadRequest("the message does not decrypt") from None
        return parse_xml(plain), True

    def reply(self, message: dict[str, str], text: str, encrypted: bool, nonce: str) -> str:
        # the reply's fields are CDATA sections: a "]]>" inside would end one early
        xml = TextReply(source=message.get("ToUserName", ""),
                        target=message.get("FromUserName", ""),
                        content=_CONTROL.sub("", text).replace("]]>", "]] >")).render()
        if encrypted and self.crypto is not None:
            return str(self.crypto.encrypt_message(xml, nonce, str(int(self.now()))))
        return str(xml)


def fingerprint(message: dict[str, str]) -> str:
    """What a true retry repeats exactly: the whole message (its MsgId, sender, content)."""
    text = json.dumps(sorted(message.items()), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _unsubscribe(message: dict[str, str]) -> bool:
    """The user unfollowed: their binding ends and the retention clock starts (nothing is said
    back, WeChat delivers nothing to a user who left)."""
    return (message.get("MsgType") == "event"
            and message.get("Event", "").lower() == "unsubscribe")


def dedupe_key(message: dict[str, str]) -> str:
    if message.get("MsgId"):
        return f"wechat:msg:{message['MsgId']}"
    return f"wechat:event:{message.get('FromUserName', '')}:{message.get('CreateTime', '')}"


# ---- dedupe --------------------------------------------------------------------------------------

class Deduper:
    """Push keys seen before.

    A message for the bot: its key goes into the database with the message, in one
    transaction, and the database alone decides whether a push is new (a retry of a push
    that was never stored, because its process died first, is stored then). `stored` is a
    shortcut for retries of pushes stored already: Redis when configured (every process
    sees it), else the keys this process stored lately (WeChat's retries reach the process
    of the first push: routing is sticky by openid); `remember` records a key once stored.

    Other pushes (events, images, unsupported kinds) keep nothing in the transcript: `first`
    is Redis `SET NX EX`, or this process's recent keys followed by `first_in_database`."""

    def __init__(self, backoffice: Backoffice, redis_url: str | None = None,
                 pair_ttl: int = 2 * REPLAY_WINDOW + 60) -> None:
        self.backoffice = backoffice
        # a (timestamp, nonce) pair is fresh while its timestamp is inside the replay window,
        # that is up to twice the window after its first sight (timestamps may run ahead)
        self.pair_ttl = pair_ttl
        self.pairs: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self.seen = 0
        self.recent: OrderedDict[str, float] = OrderedDict()
        self.redis: Any = None
        if redis_url:
            import redis.asyncio as aioredis

            self.redis = aioredis.Redis.from_url(redis_url)

    @property
    def keep(self) -> bool:
        """Whether a push that does not reach the router keeps its key in the database (on
        its own, `first_in_database`): without Redis."""
        return self.redis is None

    async def first(self, key: str) -> bool:
        if self.redis is not None:
            return bool(await self.redis.set(f"xiaobao:dedupe:{key}", b"1", nx=True,
                                             ex=DEDUPE_TTL))
        self._prune()
        if key in self.recent:
            return False
        self.recent[key] = time.monotonic()
        await self._count()
        return True

    async def stored(self, key: str) -> bool:
        """Whether the push of a bot message is known to be stored already."""
        if self.redis is not None:
            return bool(await self.redis.exists(f"xiaobao:stored:{key}"))
        self._prune()
        return key in self.recent

    async def remember(self, key: str) -> None:
        if self.redis is not None:
            await self.redis.set(f"xiaobao:stored:{key}", b"1", ex=DEDUPE_TTL)
        else:
            self.recent[key] = time.monotonic()
            self.recent.move_to_end(key)
        await self._count()

    def _prune(self) -> None:
        now = time.monotonic()
        while self.recent and next(iter(self.recent.values())) < now - DEDUPE_TTL:
            self.recent.popitem(last=False)

    async def _count(self) -> None:
        self.seen += 1
        if self.seen % 1000 == 0:  # keys older than WeChat's retries are of no use any more
            before = datetime.now(UTC) - timedelta(seconds=max(DEDUPE_TTL, self.pair_ttl))
            await self.backoffice.forget_seen_before(before)

    async def fresh_pair(self, timestamp: str, nonce: str, message_print: str) -> bool:
        """A signature's (timestamp, nonce) signs one message: True for its first push and
        for WeChat's own retries of it (the same message, `fingerprint`); False for any other
        message under it (a captured signature replayed with another body or openid)."""
        pair = hashlib.sha256(f"{timestamp}|{nonce}".encode()).hexdigest()[:32]
        if self.redis is not None:
            name = f"xiaobao:wechat-pair:{pair}"
            mine = message_print.encode()
            if await self.redis.set(name, mine, nx=True, ex=self.pair_ttl):
                return True
            return bool(await self.redis.get(name) == mine)
        now = time.monotonic()
        while self.pairs and next(iter(self.pairs.values()))[1] < now - self.pair_ttl:
            self.pairs.popitem(last=False)
        if pair in self.pairs:  # taken through this process: no database work
            return self.pairs[pair][0] == message_print
        # the database, shared by every process: the message under the pair first, then the
        # pair itself; a retry finds its message there, another message finds the pair taken
        try:
            fresh = (not await self.backoffice.first_seen(f"wechat:pair:{pair}:{message_print}")
                     or await self.backoffice.first_seen(f"wechat:pair:{pair}"))
        except BackofficeUnavailable:
            # the push is still taken (and spooled by the router): losing a customer's
            # message weighs more than this process alone guarding the pair for a while
            log.warning("back office unavailable: the push's nonce is checked in this process")
            fresh = True
        if fresh:  # only the message the pair signs is remembered for it
            self.pairs[pair] = (message_print, now)
        return fresh

    async def first_in_database(self, key: str) -> bool:
        """For pushes answered without the router: the key on its own."""
        if self.redis is not None:
            return True
        return await self.backoffice.first_seen(key)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


# ---- the customer-service API ------------------------------------------------------------------

def render(message: dict[str, Any]) -> str:
    """A bot message as WeChat text: buttons become a list, an image a link."""
    lines = [str(message["text"])] if message.get("text") else []
    buttons = message.get("buttons") or []
    if buttons:
        lines.append("您可以回复：" + "、".join(str(b.get("title", "")) for b in buttons
                                             if isinstance(b, dict)))
    if message.get("image"):
        lines.append(str(message["image"]))
    return "\n".join(lines)


class WeChatApi:
    """Customer-service messages and media downloads, with the token shared by all processes
    (backoffice.notifications: the access_tokens table, or Redis)."""

    def __init__(self, sender: WeChatSender, backoffice: Backoffice) -> None:
        self.sender = sender  # synchronous HTTP: called in a worker thread
        self.backoffice = backoffice

    async def send_texts(self, openid: str, texts: list[str], phone: str | None = None) -> None:
        """Each text in order; outside the 48-hour window the rest go to the outbox."""
        for i, text in enumerate(texts):
            try:
                answer = await asyncio.to_thread(
                    self.sender.api, "/cgi-bin/message/custom/send",
                    {"touser": openid, "msgtype": "text", "text": {"content": text}})
            except SendError as exc:
                log.warning("customer-service message failed: %s; queued in the outbox", exc)
                answer = {"errcode": OUTSIDE_48_HOURS}
            code = answer.get("errcode", 0)
            if code == OUTSIDE_48_HOURS:
                rest = clip("\n".join(texts[i:]))
                await self.backoffice.offline_notice("wechat", openid, rest, phone,
                                                     template=bool(self.sender.template_id))
                return
            if code != 0:
                log.warning("customer-service message refused: errcode %s", code)

    async def media(self, media_id: str) -> tuple[bytes, str]:
        """The file of a media_id (image pushed by the user) and its content type."""
        token = await asyncio.to_thread(self.sender.access_token)
        query = urllib.parse.urlencode({"access_token": token, "media_id": media_id})
        timeout = aiohttp.ClientTimeout(total=20)
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.get(f"{self.sender.api_base}/cgi-bin/media/get?{query}") as response:
            kind = response.headers.get("Content-Type", "application/octet-stream")
            data = await response.read()
        if response.status != 200 or kind.startswith(("application/json", "text/")):
            raise SendError("wechat media/get refused", retryable=False)
        return data, kind.split(";")[0]


# ---- the channel -------------------------------------------------------------------------------

Turn = Callable[[], Awaitable[Reply]]


class WeChatChannel:
    """The `/wechat` endpoint: protocol in, router through, passive reply or CS API out."""

    def __init__(self, config: WeChatConfig, router: Router, deduper: Deduper,
                 api: WeChatApi | None, backoffice: Backoffice,
                 answers: Any = None) -> None:
        self.config = config
        self.protocol = WeChatProtocol(config)
        self.router = router
        self.deduper = deduper
        self.api = api
        self.backoffice = backoffice
        self.tasks: set[asyncio.Future[Any]] = set()
        # per user, the last answer on its way by the CS API
        self.chains: dict[str, asyncio.Future[None]] = {}
        # a prometheus Counter labelled by how turns were answered: passive | cs_api
        self.answers = answers
        router.register("wechat", self.deliver)
        router.register_preparer("wechat", self.prepare)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/wechat", self.get)
        app.router.add_post("/wechat", self.post)

    async def get(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        try:
            echo = self.protocol.verify_url(query)
        except Forbidden:
            return web.Response(status=403, text="forbidden")
        # the verification's signature is WeChat's like a push's: its (timestamp, nonce) is
        # spent on this echo, so it cannot sign a forged push afterwards
        print_ = "verify:" + hashlib.sha256(echo.encode()).hexdigest()[:32]
        if not await self.deduper.fresh_pair(query["timestamp"], query["nonce"], print_):
            return web.Response(status=403, text="forbidden")
        return web.Response(text=echo)

    async def post(self, request: web.Request) -> web.Response:
        try:
            return await self._post(request, asyncio.get_running_loop().time())
        except Forbidden as exc:
            log.info("wechat push refused: %s", exc)
            return web.Response(status=403, text="forbidden")
        except BadRequest as exc:
            log.info("wechat push refused: %s", exc)
            return web.Response(status=400, text=f"bad request: {exc}")
        except Exception:  # never a 5xx: WeChat would show the user an error
            log.exception("wechat push failed")
            return web.Response(text="success")

    async def _read(self, request: web.Request) -> str:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise BadRequest("body too large")
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            raise BadRequest("body too large")
        return raw.decode("utf-8", errors="replace")

    async def _post(self, request: web.Request, started: float) -> web.Response:
        query = dict(request.query)
        message, encrypted = self.protocol.message(query, await self._read(request))
        user = message.get("FromUserName", "")
        if not user or len(user) > 80:
            raise BadRequest("FromUserName missing")
        if not await self.deduper.fresh_pair(query["timestamp"], query["nonce"],
                                             fingerprint(message)):
            raise Forbidden("timestamp and nonce already used for another message")
        key = dedupe_key(message)
        said = bot_text(message)
        stored: Recorded | Reply | None = None
        try:
            if _unsubscribe(message):
                # before the acknowledgement, so a back office that is down gets WeChat's
                # retry; ending a binding twice is harmless
                await self.backoffice.unsubscribed("wechat", user)
            if said is None:
                if not await self.deduper.first(key):
                    return web.Response(text="success")  # a retry: the first is answered
            elif await self.deduper.stored(key):
                return web.Response(text="success")  # a retry of a push stored already
            else:
                stored = await self.router.record("wechat", user, said[0], metadata=said[1],
                                                  push_key=key)
        except Exception:
            # neither in the transcript nor in the spool: no `success`, so WeChat retries
            log.exception("wechat push not stored: not acknowledged")
            return web.Response(status=503, text="not stored")
        if stored is not None:
            await self._remember(key)
        task = asyncio.create_task(self._answer(message, stored,
                                                key if self.deduper.keep else None))
        # the wait counts from the push's arrival: reading, checks and dedupe are part of it
        left = self.config.passive_wait - (asyncio.get_running_loop().time() - started)
        done, _ = await asyncio.wait({task}, timeout=max(left, 0.001))
        if not done or user in self.chains:
            # too slow for a passive reply, or an earlier answer is still on its way by the
            # CS API and this one must not overtake it
            self._count("cs_api")
            self._keep(task, user)
            return web.Response(text="success")
        if task.result().duplicate:  # a retry that reached another process first
            return web.Response(text="success")
        self._count("passive")
        text = "\n\n".join(t for t in (render(m) for m in task.result().messages) if t)
        if not text:
            return web.Response(text="success")
        body = self.protocol.reply(message, text, encrypted, query.get("nonce", ""))
        return web.Response(text=body, content_type="application/xml")

    async def _remember(self, key: str) -> None:
        try:
            await self.deduper.remember(key)
        except Exception:  # Redis gone: a retry then goes to the database, which knows it
            log.exception("a stored push's key not remembered")

    async def _answer(self, message: dict[str, str], stored: Recorded | Reply | None,
                      key: str | None) -> Reply:
        if isinstance(stored, Recorded):
            return await self.router.answer(stored)
        if isinstance(stored, Reply):
            return stored
        return await self._turn(message, key)

    def _count(self, how: str) -> None:
        if self.answers is not None:
            self.answers.labels(how).inc()

    def _keep(self, turn: asyncio.Task[Reply], user: str) -> None:
        """The turn's answer goes by the CS API once the turn is over, and after any earlier
        answer to the same user still on its way: a user reads the answers in order."""
        previous = self.chains.get(user)

        async def deliver_in_order() -> None:
            try:
                reply = await turn
                if previous is not None:
                    await asyncio.wait([previous])
                await self.deliver(user, reply.messages, None)
            except Exception:
                log.exception("late delivery failed")

        chained = asyncio.ensure_future(deliver_in_order())
        self.chains[user] = chained
        self.tasks.add(chained)

        def forget(t: asyncio.Future[None]) -> None:
            self.tasks.discard(t)
            if self.chains.get(user) is t:
                del self.chains[user]

        chained.add_done_callback(forget)

    async def deliver(self, user: str, messages: list[dict[str, Any]], phone: str | None
                      ) -> None:
        texts = [t for t in (render(m) for m in messages) if t]
        if not texts:
            return
        if self.api is None:
            log.warning("no WeChat API credentials: %d message(s) to %s not delivered",
                        len(texts), mask_text(user))
            return
        await self.api.send_texts(user, texts, phone)

    async def close(self) -> None:
        if self.tasks:
            # turns still running at shutdown get a moment, together, to deliver their answers
            await asyncio.wait(list(self.tasks), timeout=10)
        await self.deduper.close()

    # ---- message types --------------------------------------------------------------------

    async def _turn(self, message: dict[str, str], key: str | None) -> Reply:
        """A push that is not a message for the bot (`bot_text`). `key`: its dedupe key when
        it is still to be stored in the database on its own."""
        user = message["FromUserName"]
        kind = message.get("MsgType", "").lower()
        if key is not None and not await self.deduper.first_in_database(key):
            return Reply([], duplicate=True)
        if kind == "voice":
            return Reply([{"text": VOICE_NOT_UNDERSTOOD}])
        if kind == "image":  # no media id WeChat could give back
            return Reply([{"text": IMAGE_FAILED}])
        if kind == "event":
            return await self._event(user, message)
        return Reply([{"text": UNSUPPORTED}])

    async def prepare(self, user: str, text: str, metadata: dict[str, Any]) -> str | Reply:
        """A stored picture line (`picture_line`) becomes the document: fetched from WeChat,
        attached to the user's open claim and read, then the bot hears that it arrived. In the
        turn, not before `success`: a picture acknowledged then killed is fetched after the
        restart (WeChat keeps media 3 days). Any other text goes to the bot as it is."""
        found = PICTURE.fullmatch(text)
        if found is None or not (metadata.get("picture") == found.group(1)
                                 or metadata.get("recovered")):
            return text  # a user typing the line's shape fetches nothing
        if self.api is None:
            return Reply([{"text": IMAGE_FAILED}])
        try:
            data, kind = await self.api.media(found.group(1))
        except (SendError, aiohttp.ClientError, TimeoutError):
            log.warning("image download failed")
            return Reply([{"text": IMAGE_FAILED}])
        suffix = {"image/png": "png", "image/gif": "gif"}.get(kind, "jpg")
        upload = Upload(data, f"{found.group(1)[:40]}.{suffix}", kind)
        try:
            attached = await self.backoffice.attach_document("wechat", user, upload)
            claim_no, document_id = attached.claim_no or "", attached.document_id or ""
        except BackofficeUnavailable:
            log.warning("document not attached: the back office is unavailable")
            claim_no, document_id = "", ""
        return document_uploaded(claim_no, document_id)

    async def _event(self, user: str, message: dict[str, str]) -> Reply:
        event = message.get("Event", "").lower()
        if event == "subscribe":
            return Reply([{"text": WELCOME}])
        if event == "scan":
            return Reply([{"text": "欢迎回来！请问有什么可以帮您？"}])
        return Reply([])  # unsubscribe, VIEW, template/send receipts: nothing to say


def bot_text(message: dict[str, str]) -> tuple[str, dict[str, Any]] | None:
    """What a push says to the bot, with its metadata: text, recognised voice, location, a
    picture (its line, fetched in the turn: `prepare`), a menu click (menu keys are intent
    names, CONTRACTS.md, NLU: the bot starts that flow); None for the other kinds."""
    kind = message.get("MsgType", "").lower()
    if kind == "text":
        return message.get("Content", ""), {}
    if kind == "voice" and message.get("Recognition"):
        return message["Recognition"], {"voice": True}
    if kind == "location":
        label = message.get("Label", "")
        text = f"我的位置：{label}（{message.get('Location_X')},{message.get('Location_Y')}）"
        return text, {"location": {"label": label, "lat": message.get("Location_X"),
                                   "lng": message.get("Location_Y")}}
    if kind == "image" and MEDIA_ID.fullmatch(message.get("MediaId", "")):
        return picture_line(message["MediaId"]), {"picture": message["MediaId"]}
    key = message.get("EventKey", "")
    if kind == "event" and message.get("Event", "").lower() == "click" \
            and re.fullmatch(r"[a-z_]{1,40}", key):
        return f"/{key}", {}
    return None


def picture_line(media_id: str) -> str:
    """How a picture stands in the transcript until its turn fetches it (`prepare`)."""
    return f"（图片 {media_id}）"


def document_uploaded(claim_no: str, document_id: str) -> str:
    """The message that tells the bot a document arrived (BRIEF interface 3)."""
    entities = {"claim_no": claim_no, "document_id": document_id} if document_id \
        else {"claim_no": ""}
    return "/document_uploaded" + json.dumps(entities, ensure_ascii=False)


def load_menu(path: Path) -> dict[str, Any]:
    menu = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(menu, dict) or not isinstance(menu.get("button"), list):
        raise ValueError("the menu file must hold {\"button\": [...]}")
    return menu
