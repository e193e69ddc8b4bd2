"""The phone channel: a telephony platform's JSON events (`POST /ivr/events`) and the same
dialog as VoiceXML 2.1 documents (`/ivr/vxml`) — CONTRACTS.md, "IVR".

Events carry `X-Xiaobao-Signature`: the hex HMAC-SHA256 of the raw body with
XIAOBAO_IVR_SECRET, checked first. Inside the signed body, `event_id` and `timestamp` (Unix
seconds) make an event run once: one more than MAX_SKEW seconds old or ahead is refused (403),
and an event id seen before gets the answer stored for it, without a second turn (two copies
at once: the second waits for the first's answer). The first sight of an id is recorded
atomically, together with reading the call, before the turn runs; its answer is stored with
the call's new state after it. The same id with another body is refused (409): it never gets
another event's answer. The dialog (`IvrDialog`) is one state machine for both renderings:
- a DTMF menu first ("报案请按1，查询理赔进度请按2，投诉请按3，人工服务请按0"); speech is
  accepted anywhere and goes to the bot;
- digits typed later are passed to the bot, `*` read as X (ID numbers end in X);
- report numbers are spoken digit by digit and sent by SMS;
- no input or no match: re-prompt twice, then transfer to an agent; "请再说一遍" repeats.
Prompts stay short: callers are often elderly.

Who is calling. A caller number is whatever the caller's network says it is, so it proves
nothing and discloses nothing: the greeting is the same for everyone, and the channel user the
bot, the transcript and the bindings see is the call's own (`Call.user`, fresh and random at
each start), never the number. An identification made during a call (the bot's identify_form:
the number on file plus the last six characters of the ID number or a policy number, or the
usual ID number plus phone or policy number) binds that call user only, so it ends with the
call: a later call from the same number, or a call id started again, is a new user that no
binding names, with no window in between. The number stays the call's `phone`: for SMS, for
the agents, and for the bot to offer as the phone already given.

VoiceXML: the platform's first request (the start document) must be signed with the shared
secret (`StartSigner`: `ts` and `sig` in the query, 5 minutes either way) and may not name a
call in progress. Each document then submits the caller's input to a `next` URL signed by the
gateway (`LinkSigner`: call id, caller, expiry and the number of the turn it answers): only
that link continues a call, and a link posted again (the same document submitted twice)
gets the document stored for that turn, not a second turn. Calls in progress and the
answers of events seen live in `channels.state`: in Redis when configured, else in the
database, shared by every platform process and kept across restarts.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from aiohttp import web

from backoffice.domain.customer_answer import read_rating
from channels.port import Backoffice, BackofficeRefused, BackofficeUnavailable, clip
from channels.router import Reply, Router
from channels.state import Begun, CallStore, DatabaseState, EventReused, Once

log = logging.getLogger("xiaobao.channels.ivr")

MENU = "报案请按1，查询理赔进度请按2，投诉请按3，人工服务请按0。"
MENU_KEYS = {"1": "/report_incident", "2": "/claim_progress", "3": "/complain",
             "0": "/human_handoff"}
NOT_HEARD = "抱歉，没有听清。"
TRANSFER = "正在为您转接人工服务，请稍候。"
REPEAT = ("再说一遍", "重复一遍", "没听清", "再讲一遍")
EVENTS = ("start", "speech", "dtmf", "noinput", "nomatch", "recording", "hangup")
MAX_MISSES = 2
MAX_BODY = 32 * 1024
# how long a VoiceXML document's follow-up link is good for (prompts, input, retries)
LINK_TTL = 600
MAX_SKEW = 300  # seconds an event's timestamp may be behind or ahead of this clock
# how long a copy of an event waits for its first request's answer by default: longer than a
# turn can take (the platform passes the bot's timeout, XIAOBAO_RASA_TIMEOUT, + 5 s); then a
# safe answer
REPLAY_WAIT = 35.0
BUSY = "抱歉，请您再说一遍。"
# how far a signed start request's `ts` may be from this clock, either way
START_WINDOW = 300
HELLO = "您好，这里是小保保险服务热线。"
RATE = "请为本次服务打分：非常满意请按5，非常不满意请按1。"
RATED = "感谢您的评价，再见。"
BYE = "感谢您的来电，再见。"
# what a caller says to end the call; after a report or an agent the keypad rating follows
CLOSING = ("再见", "拜拜", "没有了", "没别的", "没事了", "就这样", "不用了", "挂了")
REPORT_NO = re.compile(r"R\d{12}")
LONG_NUMBER = re.compile(r"[A-Z]?\d{5,}")
# a number the bot wrote in groups for the ear ("138 1234 5678", an ID number 6-8-4)
GROUPED = re.compile(r"(?<![0-9A-Z])\d{3,8}(?: (?:\d{3,8}|\d{3}X)){1,3}(?![0-9A-Z])")
VXML_NS = "http://www.w3.org/2001/vxml"
# what callers say at the menu; anything else is heard by the platform's dictation
GRAMMAR = ('<?xml version="1.0" encoding="UTF-8"?>'
           '<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="zh-CN" '
           'mode="voice" root="menu"><rule id="menu" scope="public"><one-of>'
           + "".join(f"<item>{w}</item>" for w in ("报案", "我要报案", "查询理赔进度", "理赔进度",
                                                   "投诉", "人工", "转人工", "人工服务",
                                                   "请再说一遍", "再说一遍"))
           + "</one-of></rule></grammar>")


class Invalid(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def spell(text: str) -> str:
    """Long numbers read digit by digit: "R202600000012" → "R 2 0 2 6 …"; a phone or ID
    number written in groups keeps them, with a pause between: "1 3 8，1 2 3 4，5 6 7 8"."""
    def grouped(m: re.Match[str]) -> str:
        groups = m.group(0).split(" ")
        if sum(len(g) for g in groups) < 10:  # not a phone or an ID number
            return m.group(0)
        return "，".join(" ".join(g) for g in groups)
    return LONG_NUMBER.sub(lambda m: " ".join(m.group(0)), GROUPED.sub(grouped, text))


def say(text: str) -> dict[str, Any]:
    return {"type": "say", "text": spell(text), "bargein": True}


def collect(max_digits: int = 1) -> dict[str, Any]:
    return {"type": "collect", "input": ["speech", "dtmf"], "max_digits": max_digits,
            "terminator": "#", "timeout_ms": 8000}


def call_user() -> str:
    """The channel user of one call: random, so no binding outlives the call it was made in
    (a platform reusing call ids or a number calling again gets a new one)."""
    return "call-" + secrets.token_hex(10)


@dataclass(slots=True)
class Call:
    caller: str  # the number the network reported: the `phone`, never the identity
    stage: str = "menu"  # menu | bot | agent | rating | ended
    misses: int = 0
    last: list[dict[str, Any]] = field(default_factory=list)
    user: str = field(default_factory=call_user)
    # the call had a report or an agent: the keypad rating is asked at its end (once)
    rate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"caller": self.caller, "stage": self.stage, "misses": self.misses,
                "last": self.last, "user": self.user, "rate": self.rate}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Call:
        return cls(str(data["caller"]), str(data.get("stage", "menu")),
                   int(data.get("misses", 0)), list(data.get("last") or []),
                   str(data.get("user") or call_user()), bool(data.get("rate")))


@dataclass(frozen=True, slots=True)
class Answered:
    """The actions answering an event; `fresh`: this request ran the turn (False: a copy of
    an event seen before, or no turn at all); `at`: when the answer was given (Unix seconds;
    a copy gets the first answer's time, so its VoiceXML document links where the first did)."""

    actions: list[dict[str, Any]]
    fresh: bool
    at: float | None = None


class IvrDialog:
    """One dialog for both renderings: an event in, the actions to perform out."""

    def __init__(self, router: Router, backoffice: Backoffice,
                 calls: CallStore | None = None, replay_wait: float = REPLAY_WAIT) -> None:
        self.router = router
        self.backoffice = backoffice
        # calls in progress and events seen: Redis, or the database through the port
        self.calls = calls or CallStore(DatabaseState(backoffice))
        self.replay_wait = replay_wait
        router.register("ivr", self.deliver)

    async def live(self, call_id: str) -> bool:
        return await self.calls.get(call_id) is not None

    async def event(self, event: dict[str, Any], once: Once | None = None
                    ) -> list[dict[str, Any]]:
        return (await self.answer(event, once)).actions

    async def answer(self, event: dict[str, Any], once: Once | None = None) -> Answered:
        """The actions answering `event` (see `Answered`); `once` says how to know the event
        again. `EventReused`: its id came with another body."""
        call_id = event["call_id"]
        try:
            begun = await self.calls.begin(call_id, once)
        except BackofficeUnavailable:
            # the call's state cannot be kept, nor the event recorded: an agent takes over
            log.warning("the calls' state is unreachable: the caller goes to an agent")
            return Answered([say(TRANSFER), {"type": "transfer", "queue": "agents"}], False)
        if not begun.first:
            assert once is not None
            return await self._replayed(call_id, once, begun)
        actions, call = await self._turn(event, begun.call)
        at = time.time()
        try:
            await self.calls.end(call_id, call, once, actions, at)
        except Exception:  # the turn happened: answer it all the same
            log.exception("the call's state was not stored")
        return Answered(actions, True, at)

    async def _turn(self, event: dict[str, Any], found: dict[str, Any] | None
                    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The actions and the call's new state (None: the call ended)."""
        kind = event["event"]
        if kind == "hangup":
            return [], None
        call = Call(caller=event["from"]) if kind == "start" or found is None \
            else Call.from_dict(found)
        try:
            if kind == "start" or found is None:
                return await self._start(call), call.as_dict()
            return await self._step(call, event), call.as_dict()
        except Exception:
            log.exception("ivr turn failed")
            return [say(TRANSFER), {"type": "transfer", "queue": "agents"}], call.as_dict()

    async def _replayed(self, call_id: str, once: Once, begun: Begun) -> Answered:
        """A copy of an event seen before: its stored answer, once its first request has
        stored it. A first request that never answers (its process died, or the turn outlives
        the wait) leaves the caller a re-prompt, never a second turn."""
        delay = 0.02
        # bounded from the first sight, and from now should another process's clock be ahead
        until = min(begun.since, time.time()) + self.replay_wait
        while begun.answer is None and time.time() < until:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
            begun = await self.calls.seen(once)
        if begun.answer is not None:
            return Answered(begun.answer, False, begun.at or None)
        log.warning("an event seen before has no answer yet: the caller is asked again")
        found = await self.calls.get(call_id)
        last = Call.from_dict(found).last if found else []
        return Answered([say(BUSY), *(last or [say(MENU), collect()])], False)

    async def _step(self, call: Call, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event["event"]
        if call.stage == "rating":
            return await self._rated(call, event)
        if call.stage == "agent":
            if call.rate:  # the platform brought the caller back after the agent's leg
                return self._ask_rating(call)
            return [{"type": "transfer", "queue": "agents"}]
        if kind in ("noinput", "nomatch"):
            return await self._missed(call)
        text = self._text(call, event)
        if text is None:
            return await self._missed(call)
        if any(word in text for word in REPEAT):
            return call.last or [say(MENU), collect()]
        call.misses = 0
        if call.rate and call.stage == "bot" and _closing(text):
            return self._ask_rating(call)
        call.stage = "bot"
        return await self._ask(call, text)

    # ---- the keypad rating at the end of a call with a report or an agent -------------------

    def _ask_rating(self, call: Call) -> list[dict[str, Any]]:
        call.stage, call.misses, call.rate = "rating", 0, False
        call.last = [say(RATE), collect(1)]
        return list(call.last)

    async def _rated(self, call: Call, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The keypad digit (or a spoken "五", "满意") as the call's rating; a wrong key is
        asked once more, then the call ends without a rating."""
        said = str(event.get("digits") or "").rstrip("#") if event["event"] == "dtmf" \
            else str(event.get("text") or "")
        rating = read_rating(said) if event["event"] in ("dtmf", "speech") else None
        if rating is None:
            call.misses += 1
            if call.misses > 1:
                call.stage = "ended"
                return [say(BYE), {"type": "hangup"}]
            return [say(NOT_HEARD), *call.last]
        call.stage = "ended"
        try:
            await self.backoffice.call_rating(call.user, rating.score)
        except (BackofficeUnavailable, BackofficeRefused):
            log.warning("the caller's rating was not recorded", exc_info=True)
        return [say(RATED), {"type": "hangup"}]

    def _text(self, call: Call, event: dict[str, Any]) -> str | None:
        if event["event"] == "dtmf":
            digits = str(event.get("digits") or "").rstrip("#")
            if call.stage == "menu":
                return MENU_KEYS.get(digits)
            return digits.replace("*", "X") or None
        text = str(event.get("text") or "").strip()
        return text or None

    async def _start(self, call: Call) -> list[dict[str, Any]]:
        # the same greeting for every caller: the number proves nothing (module docstring)
        call.last = [say(MENU), collect()]
        return [say(HELLO), *call.last]

    async def _missed(self, call: Call) -> list[dict[str, Any]]:
        call.misses += 1
        if call.misses > MAX_MISSES:
            call.stage = "agent"
            await self._queue(call)
            return [say(TRANSFER), {"type": "transfer", "queue": "agents"}]
        return [say(NOT_HEARD), *(call.last or [say(MENU), collect()])]

    async def _queue(self, call: Call) -> None:
        try:
            turn = await self.backoffice.user_message("ivr", call.user, "（多次未应答）",
                                                      phone=call.caller)
            if turn is not None:
                await self.backoffice.bot_failed(turn.conversation_id, "no_input",
                                                 "来电多次无输入或无法识别，转人工")
        except Exception:
            log.exception("could not queue the call for an agent")

    async def _ask(self, call: Call, text: str) -> list[dict[str, Any]]:
        reply: Reply = await self.router.handle("ivr", call.user, text, phone=call.caller)
        actions = [say(t) for t in reply.texts]
        for t in reply.texts:
            for number in REPORT_NO.findall(t):
                actions.append({"type": "sms", "to": call.caller,
                                "text": f"【小保】您的报案号为{number}，请妥善保存。"})
        if REPORT_NO.search(" ".join(reply.texts)):
            call.rate = True
        if reply.handoff or reply.failed:
            call.stage = "agent"
            call.rate = call.rate or reply.handoff
            return [*actions, {"type": "transfer", "queue": "agents"}]
        prompts = [a for a in actions if a["type"] == "say"]
        call.last = [*(prompts[-1:] or [say(MENU)]), collect(18)]
        return [*actions, collect(18)]

    async def deliver(self, user: str, messages: list[dict[str, Any]], phone: str | None
                      ) -> None:
        """An agent's message to a caller who has hung up: by SMS through the outbox."""
        texts = [str(m["text"]) for m in messages if m.get("text")]
        if texts:
            await self.backoffice.offline_notice("ivr", user, clip("\n".join(texts)),
                                                 phone or user, template=False)


def _closing(text: str) -> bool:
    return any(word in text for word in CLOSING)


def validate_event(data: Any, now: float | None = None) -> dict[str, Any]:
    """A JSON event (`validate`) with its `event_id` and `timestamp`; `Stale` when the
    timestamp is more than MAX_SKEW seconds away from `now`."""
    data = validate(data)
    for name in ("call_id", "from", "text", "digits", "to", "recording_url", "event_id"):
        if isinstance(data.get(name), str) and not encodable(data[name]):
            # JSON may escape a lone surrogate, which no store or log can write
            raise Invalid(name, f"{name} 含有无效字符")
    check_envelope(data, now)
    return data


def check_envelope(data: dict[str, Any], now: float | None = None) -> None:
    """The signed body's `event_id` and `timestamp`, as every signed webhook (phone events,
    SMS replies) carries them: Invalid naming the field, Stale outside MAX_SKEW."""
    event_id = data.get("event_id")
    if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > 64 \
            or "\x00" in event_id:
        raise Invalid("event_id", "event_id 须为 1 至 64 个字符")
    stamp = data.get("timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool):
        raise Invalid("timestamp", "timestamp 须为整数（Unix 秒）")
    # integers only: an absurd timestamp is stale, never an overflow
    if abs(int(time.time() if now is None else now) - stamp) > MAX_SKEW:
        raise Stale("timestamp", f"事件时间与服务器相差超过 {MAX_SKEW} 秒")


def signed(raw: bytes, given: str, secret: bytes) -> bool:
    """The body's HMAC-SHA256 (hex) against the one the platform sent, in constant time."""
    expected = hmac.new(secret, raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.strip().lower().encode("utf-8", "replace"),
                               expected.encode())


def encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Stale(Invalid):
    """A well-formed event outside the replay window."""


def validate(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Invalid("body", "请求体须为 JSON 对象")
    for name, limit in (("call_id", 64), ("from", 20)):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > limit \
                or "\x00" in value:
            raise Invalid(name, f"{name} 须为 1 至 {limit} 个字符")
    if data.get("event") not in EVENTS:
        raise Invalid("event", f"event 须为 {'|'.join(EVENTS)} 之一")
    for name in ("text", "digits", "to", "recording_url"):
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > 1000
                                  or "\x00" in value):
            raise Invalid(name, f"{name} 须为不超过 1000 字的文本")
    if data.get("digits") and not re.fullmatch(r"[0-9*#]{1,40}", data["digits"]):
        raise Invalid("digits", "digits 只能包含 0-9、* 和 #")
    return data


def _error(status: int, code: str, message: str, field: str | None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, "field": field}},
                             status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


class IvrChannel:
    """`/ivr/events` (JSON, signed) and `/ivr/vxml` (VoiceXML 2.1)."""

    def __init__(self, secret: str, dialog: IvrDialog, transfer_uri: str) -> None:
        self.secret = secret.encode("utf-8")
        self.dialog = dialog
        self.transfer_uri = transfer_uri
        self.links = LinkSigner(self.secret)
        self.starts = StartSigner(self.secret)
        self.opening: set[str] = set()  # call ids whose start is being served here

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/ivr/events", self.events)
        app.router.add_route("*", "/ivr/vxml", self.vxml)
        app.router.add_get("/ivr/vxml/grammar.grxml", self.grammar)

    async def grammar(self, request: web.Request) -> web.Response:
        return web.Response(text=GRAMMAR, content_type="application/srgs+xml", charset="utf-8")

    async def events(self, request: web.Request) -> web.Response:
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            return _error(413, "too_large", "请求体过大", "body")
        given = request.headers.get("X-Xiaobao-Signature", "")
        if not signed(raw, given, self.secret):
            return _error(403, "bad_signature", "签名无效", "X-Xiaobao-Signature")
        try:
            data = validate_event(json.loads(raw.decode("utf-8")))
            once = Once("ivr:event:" + data["event_id"], hashlib.sha256(raw).hexdigest())
            actions = await self.dialog.event(data, once)
        except (ValueError, RecursionError):
            return _error(400, "invalid", "请求体不是有效的 JSON", "body")
        except Stale as exc:
            return _error(403, "stale_event", exc.message, exc.field)
        except Invalid as exc:
            return _error(400, "invalid", exc.message, exc.field)
        except EventReused:
            return _error(409, "event_id_reused", "该 event_id 已用于另一事件", "event_id")
        except Exception:
            log.exception("ivr event failed")
            actions = [say(TRANSFER), {"type": "transfer", "queue": "agents"}]
        return web.json_response({"actions": actions},
                                 dumps=lambda d: json.dumps(d, ensure_ascii=False))

    def link(self, call_id: str, caller: str, now: float | None = None, turn: int = 1) -> str:
        """The signed URL of a call's next VoiceXML request (see `LinkSigner`)."""
        return "/ivr/vxml?" + urllib.parse.urlencode(self.links.sign(call_id, caller, now,
                                                                      turn))

    async def vxml(self, request: web.Request) -> web.Response:
        """The same dialog for VoiceXML platforms. The platform's first request (event
        `start`, or none) opens the call when signed with the shared secret (`StartSigner`);
        each document then submits the caller's input (or noinput/nomatch) to its signed
        `next` URL, which alone may continue the call."""
        params = {k: v for k, v in request.query.items()}
        signed = "sig" in params
        if request.method == "POST":
            form = await request.post()
            for k, v in form.items():
                if not isinstance(v, str):
                    continue
                if signed and k in SIGNED:
                    if params.get(k) != v:  # the signed query names the call, not the body
                        return _error(403, "bad_signature", "链接签名无效", k)
                    continue
                params[k] = v
        # the caller is the signed `from` only (a platform's session.callerid is not signed)
        event = {"call_id": params.get("call_id", ""), "event": params.get("event", "start"),
                 "from": params.get("from") or "unknown",
                 "text": params.get("text") or None, "digits": params.get("digits") or None}
        if event["event"] in ("speech", "dtmf") and params.get("answer"):
            key = "digits" if event["event"] == "dtmf" else "text"
            # keys come as the grammar's tokens ("4 4 0 5 *"): the digits without spaces
            event[key] = "".join(params["answer"].split()) if key == "digits" \
                else params["answer"]
        try:
            validate(event)
            refused = await self._refused(params, event)
            if refused is not None:
                return refused
            answered = await self._turn(event, params)
        except Invalid as exc:
            return _error(400, "invalid", exc.message, exc.field)
        except CallInProgress:
            return _error(403, "call_in_progress", "该通话已在进行中，不能再次开始", "call_id")
        except Exception:
            log.exception("ivr vxml turn failed")
            answered = Answered([say(TRANSFER), {"type": "transfer", "queue": "agents"}], False)
        actions = answered.actions
        for action in actions if answered.fresh else ():  # no SMS: it goes by the outbox
            if action["type"] == "sms":
                await self._sms(event["from"], action)
        # a copy links exactly where the first document did (same turn, same expiry)
        text = render_vxml(actions, self.link(event["call_id"], event["from"], answered.at,
                                              turn=_next_turn(params)), self.transfer_uri)
        return web.Response(text=text, content_type="application/voicexml+xml",
                            charset="utf-8")

    async def _turn(self, event: dict[str, Any], params: dict[str, str]) -> Answered:
        """One VoiceXML turn; a start holds its call id in this process until the call is
        stored, so two signed starts at once cannot both open it."""
        if event["event"] != "start":
            return await self.dialog.answer(event, _once(params))
        call_id = event["call_id"]
        if call_id in self.opening:
            raise CallInProgress
        self.opening.add(call_id)
        try:
            if await self.dialog.live(call_id):
                raise CallInProgress
            return await self.dialog.answer(event, None)
        finally:
            self.opening.discard(call_id)

    async def _sms(self, caller: str, action: dict[str, Any]) -> None:
        try:
            await self.dialog.backoffice.offline_notice(
                "ivr", caller, clip(action["text"]), action["to"], template=False)
        except (BackofficeUnavailable, BackofficeRefused):
            log.warning("the SMS of a VoiceXML turn was not queued", exc_info=True)

    async def _refused(self, params: dict[str, str], event: dict[str, Any]
                       ) -> web.Response | None:
        """403 unless the request continues a call through a link this gateway signed (not
        forged, not expired), or is a start the platform signed within the window."""
        if "exp" in params:  # a follow-up link of a document
            why = self.links.check(params)
            if why is not None:
                return _error(403, "bad_signature", why, "sig")
            # a link continues its call; it never (re)starts one: only the platform does
            if event["event"] == "start" or not await self.dialog.live(event["call_id"]):
                return _error(403, "call_not_in_progress", "该通话未在进行中，链接不能开始通话",
                              "call_id")
            return None
        if event["event"] != "start":
            return _error(403, "bad_signature", "后续请求须使用文档中的签名链接", "sig")
        refusal = self.starts.check(params)
        if refusal is None:
            return None
        code, field_name, message = refusal
        return _error(403, code, message, field_name)


class CallInProgress(Exception):
    """A start naming a call that is already going on."""


class StartSigner:
    """The platform's signed start request of a VoiceXML call:
    `/ivr/vxml?call_id=C&from=F&ts=T&sig=S` with T the Unix time in seconds and S the hex
    HMAC-SHA256 under XIAOBAO_IVR_SECRET of the UTF-8 text "start\nC\nF\nT" (README, "Phone").
    Refused when unsigned, forged, or T is more than START_WINDOW seconds away from now. The
    "start" prefix keeps a follow-up link's signature from passing as a start's."""

    def __init__(self, secret: bytes, window: int = START_WINDOW, now: Any = time.time
                 ) -> None:
        self.secret = secret
        self.window = window
        self.now = now

    def _mac(self, call_id: str, caller: str, ts: str) -> str:
        message = "\n".join(("start", call_id, caller, ts)).encode("utf-8")
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def sign(self, call_id: str, caller: str, now: float | None = None) -> dict[str, str]:
        ts = str(int(self.now() if now is None else now))
        return {"call_id": call_id, "from": caller, "ts": ts,
                "sig": self._mac(call_id, caller, ts)}

    def check(self, params: dict[str, str]) -> tuple[str, str, str] | None:
        """None for a good start, else (code, field, message) of the refusal."""
        ts, sig = params.get("ts", ""), params.get("sig", "")
        for name in ("call_id", "from"):  # the message's separator cannot be in a field
            if any(ord(c) < 32 for c in params.get(name, "")):
                return "bad_signature", name, f"{name} 不能包含控制字符"
        if not sig:
            return "bad_signature", "sig", "开始通话的请求须带平台签名（ts 与 sig）"
        if not ts.isdigit() or len(ts) > 12:
            return "bad_signature", "ts", "ts 须为 Unix 时间（秒）"
        expected = self._mac(params.get("call_id", ""), params.get("from", ""), ts)
        if not hmac.compare_digest(sig.encode("utf-8", "replace"), expected.encode()):
            return "bad_signature", "sig", "签名无效"
        if abs(int(ts) - self.now()) > self.window:
            return "expired", "ts", "请求时间超出 5 分钟有效范围"
        return None


# query fields a signed request's form body may not change
SIGNED = ("call_id", "from", "exp", "turn", "ts", "sig")
MAX_TURN = 10**6


def _turn_of(params: dict[str, str]) -> int | None:
    """The turn a signed follow-up link answers (`LinkSigner.check` vouched for it); None
    for a request that opens a call."""
    turn = params.get("turn", "")
    follow_up = "sig" in params and "exp" in params  # a start's signature covers no turn
    return int(turn) if follow_up and turn.isascii() and turn.isdigit() else None


def _once(params: dict[str, str]) -> Once | None:
    """A signed follow-up runs once: its link (call, caller, expiry, turn), named by its
    signature, is the event; whatever a copy submits, it gets the first answer's document."""
    return None if _turn_of(params) is None else Once("ivr:vxml:" + params["sig"], "vxml")


def _next_turn(params: dict[str, str]) -> int:
    """The turn the next document's link answers: 1 after a call's start."""
    return (_turn_of(params) or 0) + 1


class LinkSigner:
    """Signed follow-up URLs of VoiceXML documents: the call id, the caller, an expiry and the
    number of the turn the link answers, with the hex HMAC-SHA256 of them under
    XIAOBAO_IVR_SECRET. Whoever holds a document may continue that call until the link
    expires, each turn once; nobody can make a link for another call or turn."""

    def __init__(self, secret: bytes, ttl: int = LINK_TTL, now: Any = time.time) -> None:
        self.secret = secret
        self.ttl = ttl
        self.now = now

    def _mac(self, call_id: str, caller: str, exp: str, turn: str) -> str:
        message = "\n".join(("vxml", call_id, caller, exp, turn)).encode("utf-8")
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def sign(self, call_id: str, caller: str, now: float | None = None, turn: int = 1
             ) -> dict[str, str]:
        exp = str(int((self.now() if now is None else now) + self.ttl))
        return {"call_id": call_id, "from": caller, "exp": exp, "turn": str(turn),
                "sig": self._mac(call_id, caller, exp, str(turn))}

    def check(self, params: dict[str, str]) -> str | None:
        """None when the link is good, else why it is refused."""
        exp, sig = params.get("exp", ""), params.get("sig", "")
        turn = params.get("turn", "")
        if not exp.isdigit() or len(exp) > 12:
            return "链接缺少有效期"
        if not (turn.isdigit() and turn.isascii()) or not 0 < int(turn) < MAX_TURN:
            return "链接缺少轮次"
        expected = self._mac(params.get("call_id", ""), params.get("from", ""), exp, turn)
        if not hmac.compare_digest(sig.encode("utf-8", "replace"), expected.encode()):
            return "链接签名无效"
        if int(exp) < self.now():
            return "链接已过期"
        return None


def keypad_grammar(max_digits: int) -> str:
    """The keys a caller may press, `*` among them (X of an ID number; the platform's builtin
    digits grammar has no `*`); `#` ends the input (the default termchar)."""
    keys = "".join(f"<item>{k}</item>" for k in "0123456789*")
    return ('<grammar mode="dtmf" version="1.0" root="keys"><rule id="keys" scope="public">'
            f'<item repeat="1-{max_digits}"><one-of>{keys}</one-of></item></rule></grammar>')


def render_vxml(actions: list[dict[str, Any]], next_url: str, transfer_uri: str) -> str:
    """Actions as one VoiceXML 2.1 document; its input goes to `next_url` (signed)."""
    prompts = "".join(
        f'<prompt bargein="{str(a.get("bargein", True)).lower()}">{escape(a["text"])}</prompt>'
        for a in actions if a["type"] == "say")
    gather = next((a for a in actions if a["type"] == "collect"), None)
    transfer = any(a["type"] == "transfer" for a in actions)
    submit = f'<submit next={quoteattr(next_url)} method="post" namelist="event answer"/>'
    head = '<var name="event" expr="\'start\'"/><var name="answer" expr="\'\'"/>'
    if transfer:
        body = (f'<block>{prompts}</block><transfer name="agent" '
                f'dest={quoteattr(transfer_uri)} bridge="true"/>')
    elif gather:
        digits = int(gather.get("max_digits", 1))
        body = (
            f'<field name="input">{prompts}'
            + keypad_grammar(digits) +
            '<grammar mode="voice" src="/ivr/vxml/grammar.grxml" '
            'type="application/srgs+xml"/>'
            '<noinput><assign name="event" expr="\'noinput\'"/>' + submit + '</noinput>'
            '<nomatch><assign name="event" expr="\'nomatch\'"/>' + submit + '</nomatch>'
            '<filled><assign name="answer" expr="input"/>'
            '<if cond="input$.inputmode == \'dtmf\'"><assign name="event" expr="\'dtmf\'"/>'
            '<else/><assign name="event" expr="\'speech\'"/></if>' + submit + '</filled>'
            '</field>')
    else:
        body = f"<block>{prompts}<disconnect/></block>"
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<vxml version="2.1" xmlns="{VXML_NS}" xml:lang="zh-CN">'
            f'<form id="turn">{head}{body}</form></vxml>')
