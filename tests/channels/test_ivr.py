"""The phone channel as a telephony platform drives it: signed JSON events, and VoiceXML
documents for VoiceXML platforms; against the running platform and a real Rasa server."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
import urllib.parse
import uuid
from typing import Any
from xml.etree import ElementTree

import aiohttp
from channel_kit import IVR_SECRET, Platform, ivr_event
from sqlalchemy import select

from backoffice.services import conversations as conv
from backoffice.store.models import Notification
from channels.ivr import MENU, LinkSigner, spell

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
        queued = [c for c in (await r.json())["items"] if c["user"] == phone.caller]
    assert queued and queued[0]["channel"] == "ivr"


async def test_zero_hands_off_and_id_numbers_take_star_for_x(platform: Platform) -> None:
    phone = Phone(platform)
    await phone.actions("start")
    actions = await phone.actions("dtmf", digits="0")
    assert actions[-1]["type"] == "transfer" and "人工" in said(actions)
    # an agent's written message to a caller goes out by SMS through the outbox
    cid = next(c["id"] for c in conv.list_conversations(platform.db, {"state": "queued"})
               if c["user"] == phone.caller)
    async with aiohttp.ClientSession() as http, http.post(
            platform.url(f"/api/v1/conversations/{cid}/messages"),
            headers={"Authorization": "Bearer test-token"},
            json={"agent": "a9", "text": "您的案件已加急处理。"}) as r:
        assert r.status == 201 and (await r.json())["delivered"] is True
    with platform.db.read() as s:
        note = s.execute(select(Notification).where(
            Notification.recipient == phone.caller)).scalar_one()
    assert (note.channel, note.text) == ("sms", "您的案件已加急处理。")
    other = Phone(platform)
    await other.actions("start")
    await other.actions("dtmf", digits="1")
    await other.actions("dtmf", digits="11010119800506123*#")
    items = [c for c in conv.list_conversations(platform.db, {}) if c["user"] == other.caller]
    texts = [m["text"] for m in conv.get_conversation(
        platform.db, {"conversation_id": items[0]["id"]})["messages"]]
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
        first = await doc("/ivr/vxml", call_id=call, event="start", **{"from": number})
        prompts = "".join(p.text or "" for p in first.iter(f"{VXML}prompt"))
        assert MENU in prompts
        assert first.find(f".//{VXML}field/{VXML}filled/{VXML}submit") is not None
        assert first.find(f".//{VXML}noinput") is not None
        second = await doc(_next_url(first), event="dtmf", answer="1")
        assert "出险日期" in "".join(p.text or "" for p in second.iter(f"{VXML}prompt"))
        other = uuid.uuid4().hex
        caller = {"from": f"139{random.randint(10**7, 10**8 - 1)}"}  # another caller
        opened = await doc("/ivr/vxml", call_id=other, event="start", **caller)
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

        status, text = await post("/ivr/vxml", call_id=call, event="start", **{"from": number})
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
        # nothing moved: the signed link still continues the call from its menu
        status, text = await post(link, event="dtmf", answer="1")
        assert status == 200 and "出险日期" in text
