"""The phone channel as a telephony platform drives it: signed JSON events, and VoiceXML
documents for VoiceXML platforms (a signed start, then the documents' signed links); against
the running platform and a real Rasa server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
import urllib.parse
import uuid
from datetime import date
from typing import Any
from xml.etree import ElementTree

import aiohttp
from channel_kit import IVR_SECRET, Platform, ivr_event, signed_start
from sqlalchemy import select

from backoffice.domain.identity import make_id_number
from backoffice.services import conversations as conv
from backoffice.store.models import ChannelBinding, Conversation, Notification, Party
from channels.ivr import MENU, LinkSigner, StartSigner, spell

VXML = "{http://www.w3.org/2001/vxml}"


class Phone:
    """One call, as the telephony platform reports it."""

    def __init__(self, platform: Platform) -> None:
        self.url = platform.url("/ivr/events")
        self.call_id = uuid.uuid4().hex
        self.caller = f"139{random.randint(10**7, 10**8 - 1)}"

    async def send(self, event: str, secret: str = IVR_SECRET, **fields: Any
                   ) -> tuple[int, dict[str, Any]]:
        body, headers = ivr_event(self.call_id, event, self.caller, secret, **fields)
        async with aiohttp.ClientSession() as session, session.post(
                self.url, data=body, headers=headers) as r:
            return r.status, await r.json()

    async def actions(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        status, body = await self.send(event, **fields)
        assert status == 200, body
        return body["actions"]


def said(actions: list[dict[str, Any]]) -> str:
    return " ".join(a["text"] for a in actions if a["type"] == "say")


def calls_of(platform: Platform, number: str) -> list[Conversation]:
    """The conversations of a caller's number: one per call, each with the call's own user."""
    with platform.db.read() as s:
        rows = list(s.execute(select(Conversation).where(Conversation.phone == number)
                              .order_by(Conversation.id)).scalars())
        s.expunge_all()
    return rows


async def test_an_incident_report_by_phone(platform: Platform) -> None:
    phone = Phone(platform)
    start = await phone.actions("start")
    assert MENU in said(start) and start[-1]["type"] == "collect"
    assert set(start[-1]["input"]) == {"speech", "dtmf"}
    assert "出险日期" in said(await phone.actions("dtmf", digits="1"))
    assert "哪里" in said(await phone.actions("speech", text="昨天", confidence=0.9))
    done = await phone.actions("speech", text="在家里", confidence=0.8)
    sms = [a for a in done if a["type"] == "sms"]
    assert sms and sms[0]["to"] == phone.caller and "R2026" in sms[0]["text"]
    number = sms[0]["text"].split("为")[1].split("，")[0]
    assert spell(number) in said(done)  # read digit by digit: "R 2 0 2 6 …"
    assert " ".join(number) in said(done)
    assert await phone.actions("hangup") == []


async def test_repeat_reprompt_then_transfer(platform: Platform) -> None:
    phone = Phone(platform)
    await phone.actions("start")
    assert MENU in said(await phone.actions("speech", text="请再说一遍"))
    assert "没有听清" in said(await phone.actions("noinput"))
    assert "没有听清" in said(await phone.actions("nomatch"))
    last = await phone.actions("noinput")
    assert last[-1] == {"type": "transfer", "queue": "agents"}
    async with aiohttp.ClientSession() as http, http.get(
            platform.url("/api/v1/conversations?state=queued"),
            headers={"Authorization": "Bearer test-token"}) as r:
        items = (await r.json())["items"]
    ours = {c.user_id for c in calls_of(platform, phone.caller)}
    queued = [c for c in items if c["user"] in ours]
    assert queued and queued[0]["channel"] == "ivr"
    assert phone.caller not in str(items)  # the number is no user, nor shown unmasked


async def test_zero_hands_off_and_id_numbers_take_star_for_x(platform: Platform) -> None:
    phone = Phone(platform)
    await phone.actions("start")
    actions = await phone.actions("dtmf", digits="0")
    assert actions[-1]["type"] == "transfer" and "人工" in said(actions)
    # an agent's written message to a caller goes out by SMS through the outbox
    cid = next(c.id for c in calls_of(platform, phone.caller) if c.state == "queued")
    async with aiohttp.ClientSession() as http, http.post(
            platform.url(f"/api/v1/conversations/{cid}/messages"),
            headers={"Authorization": "Bearer test-token"},
            json={"agent": "a9", "text": "您的案件已加急处理。"}) as r:
        assert r.status == 201 and (await r.json())["delivered"] is True
    with platform.db.read() as s:
        note = s.execute(select(Notification).where(
            Notification.recipient == phone.caller)).scalar_one()
    assert (note.channel, note.text) == ("sms", "您的案件已加急处理。")
    # closed: the rating is asked by SMS at the caller's number, not at the call's user
    async with aiohttp.ClientSession() as http, http.post(
            platform.url(f"/api/v1/conversations/{cid}/close"),
            headers={"Authorization": "Bearer test-token"},
            json={"agent": "a9", "disposition": "已答复"}) as r:
        assert r.status == 200 and (await r.json())["satisfaction_asked"] is True, \
            await r.text()
    with platform.db.read() as s:
        kinds = list(s.execute(select(Notification.template).where(
            Notification.recipient == phone.caller, Notification.channel == "sms")).scalars())
    assert "satisfaction_request" in kinds
    other = Phone(platform)
    await other.actions("start")
    await other.actions("dtmf", digits="1")
    await other.actions("dtmf", digits="11010119800506123*#")
    items = calls_of(platform, other.caller)
    texts = [m["text"] for m in conv.get_conversation(
        platform.db, {"conversation_id": items[0].id})["messages"]]
    assert "11010119800506123X" in texts


async def test_voicexml_keys_take_star_for_x(platform: Platform) -> None:
    """The documents' keypad grammar has `*` (the builtin digits grammar has not), and keys
    submitted as the grammar's tokens reach the bot as one number, `*` read as X."""
    call, number = uuid.uuid4().hex, f"139{random.randint(10**7, 10**8 - 1)}"
    async with aiohttp.ClientSession() as session:
        async def doc(url: str, **data: str) -> ElementTree.Element:
            async with session.post(platform.url(url), data=data) as r:
                assert r.status == 200, await r.text()
                return ElementTree.fromstring(await r.text())

        first = await doc(signed_start(call, number), event="start")
        keys = [i.text for i in first.iter(f"{VXML}item")]
        assert "*" in keys and "#" not in keys  # `#` ends the input
        asked = await doc(_next_url(first), event="dtmf", answer="1")
        await doc(_next_url(asked), event="dtmf", answer="1 1 0 1 0 1 1 9 8 0 0 5 0 6 1 2 3 *")
    items = calls_of(platform, number)
    texts = [m["text"] for m in conv.get_conversation(
        platform.db, {"conversation_id": items[0].id})["messages"]]
    assert "11010119800506123X" in texts


async def test_bad_signatures_and_bodies(platform: Platform) -> None:
    phone = Phone(platform)
    status, body = await phone.send("start", secret="wrong")
    assert status == 403 and body["error"]["field"] == "X-Xiaobao-Signature"
    status, body = await phone.send("explode")
    assert status == 400 and body["error"]["field"] == "event"
    status, body = await phone.send("dtmf", digits="12a")
    assert status == 400 and body["error"]["field"] == "digits"
    raw = b"{not json"
    sig = hmac.new(IVR_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    async with aiohttp.ClientSession() as session, session.post(
            phone.url, data=raw, headers={"X-Xiaobao-Signature": sig}) as r:
        assert r.status == 400


def _next_url(root: ElementTree.Element) -> str:
    """Where the document submits the caller's input (what a VoiceXML browser follows)."""
    submit = root.find(f".//{VXML}submit")
    assert submit is not None and submit.get("namelist") == "event answer"
    return str(submit.get("next"))


async def test_voicexml_documents(platform: Platform) -> None:
    call = uuid.uuid4().hex
    number = f"139{random.randint(10**7, 10**8 - 1)}"  # a caller new to the bot
    async with aiohttp.ClientSession() as session:
        async def doc(url: str, **data: str) -> ElementTree.Element:
            async with session.post(platform.url(url), data=data) as r:
                assert r.status == 200, await r.text()
                assert r.headers["Content-Type"].startswith("application/voicexml+xml")
                root = ElementTree.fromstring(await r.text())  # well-formed
            assert root.tag == f"{VXML}vxml" and root.get("version") == "2.1"
            return root

        # the platform's first request opens the call; then it follows the documents' links
        first = await doc(signed_start(call, number), event="start")
        prompts = "".join(p.text or "" for p in first.iter(f"{VXML}prompt"))
        assert MENU in prompts
        assert first.find(f".//{VXML}field/{VXML}filled/{VXML}submit") is not None
        assert first.find(f".//{VXML}noinput") is not None
        second = await doc(_next_url(first), event="dtmf", answer="1")
        assert "出险日期" in "".join(p.text or "" for p in second.iter(f"{VXML}prompt"))
        other = uuid.uuid4().hex
        caller = {"from": f"139{random.randint(10**7, 10**8 - 1)}"}  # another caller
        opened = await doc(signed_start(other, caller["from"]), event="start")
        handoff = await doc(_next_url(opened), event="speech", answer="转人工")
        assert handoff.find(f".//{VXML}transfer") is not None
        async with session.get(platform.url("/ivr/vxml/grammar.grxml")) as r:
            grammar = ElementTree.fromstring(await r.text())
        assert grammar.tag == "{http://www.w3.org/2001/06/grammar}grammar"


async def test_voicexml_follow_ups_need_the_gateways_signature(platform: Platform) -> None:
    call, number = uuid.uuid4().hex, f"139{random.randint(10**7, 10**8 - 1)}"
    async with aiohttp.ClientSession() as session:
        async def post(url: str, **data: str) -> tuple[int, str]:
            async with session.post(platform.url(url), data=data) as r:
                return r.status, await r.text()

        status, text = await post(signed_start(call, number), event="start")
        assert status == 200
        link = _next_url(ElementTree.fromstring(text))
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link).query))
        assert set(query) == {"call_id", "from", "exp", "turn", "sig"}
        assert query["call_id"] == call and query["turn"] == "1"

        def url(**changed: str) -> str:
            return "/ivr/vxml?" + urllib.parse.urlencode({**query, **changed})

        forged_sig = hmac.new(b"not-the-secret", b"x", hashlib.sha256).hexdigest()
        expired = LinkSigner(IVR_SECRET.encode()).sign(call, number, now=time.time() - 3600)
        for refused, data in [
                ("/ivr/vxml", {"call_id": call, "from": number, "event": "dtmf",
                               "answer": "1"}),                        # unsigned follow-up
                (url(sig=forged_sig), {"event": "dtmf", "answer": "1"}),  # forged
                (url(call_id=uuid.uuid4().hex), {"event": "dtmf", "answer": "1"}),  # other call
                (url(exp=str(int(query["exp"]) + 86400)), {"event": "dtmf", "answer": "1"}),
                (url(turn="2"), {"event": "dtmf", "answer": "1"}),       # another turn
                (url(turn="\u0663"), {"event": "dtmf", "answer": "1"}),  # not an ASCII digit
                (link, {"turn": "7", "event": "dtmf", "answer": "1"}),   # turn in the body
                ("/ivr/vxml?" + urllib.parse.urlencode(expired),        # expired
                 {"event": "dtmf", "answer": "1"}),
                (link, {"call_id": "someone-else", "event": "dtmf", "answer": "1"}),
                ("/ivr/vxml", {"call_id": call, "from": number, "event": "start"}),  # takeover
        ]:
            status, text = await post(refused, **data)
            assert status == 403, (refused, data, text)
            assert json.loads(text)["error"]["code"] == "bad_signature"
        # a signed start may not take over the call either
        status, text = await post(signed_start(call, number), event="start")
        assert status == 403 and json.loads(text)["error"] == {
            "code": "call_in_progress", "message": json.loads(text)["error"]["message"],
            "field": "call_id"}
        # nothing moved: the signed link still continues the call from its menu
        status, text = await post(link, event="dtmf", answer="1")
        assert status == 200 and "出险日期" in text


async def test_the_start_document_needs_the_platforms_signature(platform: Platform) -> None:
    call, number = uuid.uuid4().hex, f"139{random.randint(10**7, 10**8 - 1)}"
    good = StartSigner(IVR_SECRET.encode()).sign(call, number)
    now = int(good["ts"])
    other_secret = StartSigner(b"not-the-secret").sign(call, number)
    link = LinkSigner(IVR_SECRET.encode()).sign(call, number)

    def query(**changed: str) -> str:
        return "/ivr/vxml?" + urllib.parse.urlencode({**good, **changed})

    def stale(ts: int) -> str:
        return "/ivr/vxml?" + urllib.parse.urlencode(
            StartSigner(IVR_SECRET.encode()).sign(call, number, now=ts))

    async with aiohttp.ClientSession() as http:
        async def fetch(method: str, url: str, **data: str) -> tuple[int, dict[str, Any]]:
            async with http.request(method, platform.url(url), data=data or None) as r:
                assert r.content_type == "application/json", await r.text()
                return r.status, await r.json()

        for method, url, data, code, field in [
                ("GET", f"/ivr/vxml?call_id={call}&from={number}", {}, "bad_signature", "sig"),
                ("POST", "/ivr/vxml", {"call_id": call, "from": number, "event": "start"},
                 "bad_signature", "sig"),
                ("GET", f"/ivr/vxml?call_id={call}&from={number}&session.callerid={number}",
                 {}, "bad_signature", "sig"),
                ("GET", query(sig=other_secret["sig"]), {}, "bad_signature", "sig"),
                ("GET", query(sig="zz" * 40), {}, "bad_signature", "sig"),
                ("GET", query(**{"from": "13900000000"}), {}, "bad_signature", "sig"),
                ("GET", query(call_id=uuid.uuid4().hex), {}, "bad_signature", "sig"),
                ("GET", query(ts=str(now + 1)), {}, "bad_signature", "sig"),
                ("GET", query(ts="-5"), {}, "bad_signature", "ts"),
                # the fields cannot carry the message's separator (re-split a signed start)
                ("GET", query(call_id=call[:4] + "\n" + number), {}, "bad_signature",
                 "call_id"),
                ("GET", query(**{"from": "139\r\n" + good["ts"]}), {}, "bad_signature",
                 "from"),
                ("GET", query(ts="1e9"), {}, "bad_signature", "ts"),
                ("GET", query(ts="9" * 40), {}, "bad_signature", "ts"),
                ("GET", stale(now - 400), {}, "expired", "ts"),  # well past: the clock moves
                ("GET", stale(now + 400), {}, "expired", "ts"),
                ("GET", "/ivr/vxml?" + urllib.parse.urlencode(link), {},
                 "call_not_in_progress", "call_id"),  # a document's link starts nothing
                ("POST", "/ivr/vxml?" + urllib.parse.urlencode(link),
                 {"event": "dtmf", "answer": "2"}, "call_not_in_progress", "call_id"),
                ("POST", query(), {"from": "13900000000"}, "bad_signature", "from"),
                ("POST", query(), {"call_id": "another"}, "bad_signature", "call_id"),
        ]:
            status, body = await fetch(method, url, **data)
            assert status == 403, (url, data, body)
            assert (body["error"]["code"], body["error"]["field"]) == (code, field), (url, body)
            assert body["error"]["message"]
        assert calls_of(platform, number) == []  # nothing started, nothing stored
        # the good one opens the call once; its replay, or another start, is refused
        async with http.get(platform.url(query())) as r:
            assert r.status == 200 and MENU in await r.text()
        status, body = await fetch("GET", query())
        assert (status, body["error"]["code"], body["error"]["field"]) == (
            403, "call_in_progress", "call_id")


async def test_two_signed_starts_of_one_call_at_once(platform: Platform) -> None:
    call, number = uuid.uuid4().hex, f"139{random.randint(10**7, 10**8 - 1)}"
    url = platform.url(signed_start(call, number))
    async with aiohttp.ClientSession() as http:
        async def start() -> int:
            async with http.get(url) as r:
                return r.status

        statuses = sorted(await asyncio.gather(*(start() for _ in range(6))))
    assert statuses == [200] + [403] * 5


async def test_a_customers_number_discloses_nothing_and_identifies_no_call(
        platform: Platform) -> None:
    """The attack of issue 14: a stranger calls with a customer's number (caller ID is easy
    to fake). The customer was identified on an earlier call, and their number is also a
    binding left from before calls had their own users: neither shows."""
    with platform.db.transaction() as s:
        party = Party(name="蔡文姬", gender="female", birth_date=date(1960, 3, 4),
                      id_number=make_id_number("440514", date(1960, 3, 4), 82),
                      phone=f"139{random.randint(10**7, 10**8 - 1)}")
        s.add(party)
        s.flush()
        s.add(ChannelBinding(channel="ivr", user=party.phone, party_id=party.id))
        number = str(party.phone)
    first = Phone(platform)
    first.caller = number
    hello = said(await first.actions("start"))
    assert "蔡" not in hello and "*" not in hello and hello.startswith("您好")
    await first.actions("speech", text="你好")
    async with aiohttp.ClientSession() as http, http.get(
            platform.url(signed_start(uuid.uuid4().hex, number))) as r:
        assert r.status == 200 and "蔡" not in await r.text()
    await first.actions("hangup")
    again = Phone(platform)
    again.caller = number
    assert "蔡" not in said(await again.actions("start"))
    await again.actions("speech", text="你好")
    calls = calls_of(platform, number)
    users = {c.user_id for c in calls}
    # each call its own user (never the number): what one call proved binds no other
    assert len(calls) == 2 and len(users) == 2 and number not in users
    with platform.db.read() as s:
        bound = set(s.execute(select(ChannelBinding.user)).scalars())
    assert not users & bound
