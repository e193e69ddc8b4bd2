"""The project's own bot behind the platform's channels, driven exactly as WeChat's servers and a
telephony platform send: signed XML pushes to /wechat (images fetched from the WeChat API
stand-in), signed JSON events to /ivr/events. The shared real stack (tests/bot_stack.py):
platform, action server and Rasa with the trained model; the back office's state is checked
afterwards through its API."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from channel_kit import ivr_event, openid
from sqlalchemy import select
from wechat_client import WeChatPusher, message_xml, reply_text, text_xml

from backoffice.store.models import Notification
from bench.ocr_synth import discharge_photo
from channels.ivr import spell
from tests.bot_stack import AGREE, BotStack, asks_consent

_NOTICE_START = "【个人信息告知】"

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return datetime.now(SHANGHAI).date()


class WeChatUser:
    """One follower of the Official Account, as WeChat's servers push their messages."""

    def __init__(self, stack: BotStack, http: aiohttp.ClientSession) -> None:
        self.stack = stack
        self.openid = openid()
        self.pusher = WeChatPusher(stack.url("/wechat"), session=http)

    async def push(self, xml: str) -> str:
        """The passive reply's text ('' for `success`)."""
        status, reply = await self.pusher.push(xml)
        assert status == 200, reply
        return reply_text(reply)

    async def send(self, xml: str) -> str:
        """What the user reads after one message: the stack's platform waits for the bot
        however slow the machine is, so every answer is the passive reply."""
        text = await self.push(xml)
        assert text, "the bot's turn gave no answer"
        return text

    async def say(self, text: str) -> str:
        said = await self.send(text_xml(self.openid, text))
        if asks_consent(said):  # the user agrees (tests/bot_stack.py)
            before = said.split(_NOTICE_START)[0]
            said = before + await self.send(text_xml(self.openid, AGREE))
        return said

    async def answer(self, said: str, answers: dict[str, str], limit: int = 12) -> str:
        """Answer the bot's questions by what they ask until it stops asking."""
        seen = [said]
        for _ in range(limit):
            last = said.strip().splitlines()[-1] if said.strip() else ""
            reply = next((a for key, a in answers.items() if key in last), None)
            if reply is None:
                break
            said = await self.say(reply)
            seen.append(said)
        return "\n".join(seen)


def claim_no_in(text: str) -> str:
    found = re.search(r"报案号是 (R\d+)", text)
    assert found, text
    return found.group(1)


def outbox(stack: BotStack, recipient: str) -> list[Notification]:
    db = stack.db()
    try:
        with db.read() as s:
            rows = list(s.execute(select(Notification).where(
                Notification.recipient == recipient)).scalars())
            s.expunge_all()
    finally:
        db.dispose()
    return rows


async def test_wechat_incident_report_then_an_agent(bot_stack: BotStack) -> None:
    insured, _, _ = bot_stack.member(1)
    async with aiohttp.ClientSession() as http:
        user = WeChatUser(bot_stack, http)
        first = await user.say("我爸昨天在村口骑车摔倒了，现在在潮南区人民医院")
        said = await user.answer(first, {
            "本人，还是您的家人": "我爸", "身份证": insured, "哪天": "昨天",
            "什么地方": "村口", "经过": "骑自行车下坡没刹住摔倒了", "伤得怎么样": "左腿骨折",
            "医院": "潮南区人民医院", "怎么称呼": "张建国", "联系": "13566778899"})
        assert "信息对吗" in said and "135****8899" in said and insured not in said
        done = await user.say("对")
        assert "报案成功" in done and "一次性告知" in done
        claim_no = claim_no_in(done)

        claim = bot_stack.api("GET", f"/claims/{claim_no}")
        assert claim["channel"] == "wechat"
        assert claim["incident_date"] == (today() - timedelta(days=1)).isoformat()
        assert claim["claim_type"] == "hospital_allowance"
        assert claim["timeline"][0]["note"].startswith("张建国（parent）")  # who reported
        mine = bot_stack.api("GET", f"/claims?insured_id_number={insured}")["items"]
        assert claim_no in [c["claim_no"] for c in mine]

        handed = await user.say("转人工")
        assert "人工客服" in handed
        queued = [c for c in bot_stack.api("GET", "/conversations?state=queued")["items"]
                  if c["channel"] == "wechat" and c["user"] == user.openid]
        assert len(queued) == 1
        summary = queued[0]["handoff_summary"]
        assert queued[0]["handoff_reason"] == "user_request"
        assert "转人工" in summary["text"] and summary["claim_no"] == claim_no
        # the user's next message waits for the agent instead of going to the bot
        assert await user.push(text_xml(user.openid, "我等着")) == ""
        talk = bot_stack.api("GET", f"/conversations/{queued[0]['id']}")
        assert talk["state"] == "queued"
        assert [m["text"] for m in talk["messages"] if m["role"] == "user"][-1] == "我等着"


async def test_wechat_photo_is_attached_to_the_open_claim_and_read(bot_stack: BotStack) -> None:
    insured, name, phone = bot_stack.member(2)
    incident = today() - timedelta(days=14)
    claim = bot_stack.api("POST", "/claims", {
        "policy_no": bot_stack.seed["group_policy_no"], "insured_id_number": insured,
        "claim_type": "hospital_allowance", "incident_date": incident.isoformat(),
        "incident_place": "家里", "description": "在家摔倒住院",
        "reporter": {"name": "本人", "relation": "self", "phone": phone}, "channel": "wechat"})
    discharged = incident + timedelta(days=10)
    media_id = "MEDIA" + uuid.uuid4().hex
    bot_stack.wechat.media[media_id] = discharge_photo(11, name, incident, discharged)
    async with aiohttp.ClientSession() as http:
        user = WeChatUser(bot_stack, http)
        assert "核验身份" in await user.say("我的理赔到哪一步了")
        await user.say(insured)
        progress = await user.say(phone)
        assert "身份核验通过" in progress and claim["claim_no"] in progress
        said = await user.send(message_xml(user.openid, "image", {
            "PicUrl": f"http://mmbiz.qpic.cn/{media_id}", "MediaId": media_id}))
        assert claim["claim_no"] in said and "识别到" in said and said.endswith("对吗？"), said
        assert f"出院日期{discharged.month}月{discharged.day}日" in said and "住院10天" in said
        assert name not in said
        assert "已确认" in await user.say("对")

    after = bot_stack.api("GET", f"/claims/{claim['claim_no']}")
    assert "discharge_summary" in [d["doc_type"] for d in after["documents"]]
    assert "discharge_summary" not in [m["type"] for m in after["missing_documents"]]


class Caller:
    """One call, as the telephony platform reports its events."""

    def __init__(self, stack: BotStack, number: str) -> None:
        self.url = stack.url("/ivr/events")
        self.call_id = uuid.uuid4().hex
        self.number = number

    async def actions(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        body, headers = ivr_event(self.call_id, event, self.number, **fields)
        async with aiohttp.ClientSession() as http, http.post(
                self.url, data=body, headers=headers) as r:
            assert r.status == 200
            actions = list((await r.json())["actions"])
        asked = next((i for i, a in enumerate(actions)
                      if a["type"] == "say" and asks_consent(a["text"])), None)
        if asked is not None and event != "hangup":  # the caller agrees (tests/bot_stack.py)
            before = [a for a in actions[:asked] if a["type"] == "say"]
            return before + await self.actions("speech", text=AGREE, confidence=0.9)
        return actions


def spoken(actions: list[dict[str, Any]]) -> str:
    return " ".join(a["text"] for a in actions if a["type"] == "say")


async def asks_for_progress(stack: BotStack, number: str) -> tuple[Caller, str]:
    """A new call from `number` asking for claim progress (menu key 2): what it hears."""
    caller = Caller(stack, number)
    hello = spoken(await caller.actions("start"))
    assert "*" not in hello
    return caller, spoken(await caller.actions("dtmf", digits="2"))


async def test_a_callers_number_needs_a_second_factor_every_call(bot_stack: BotStack) -> None:
    """Issue 14, attack 1, against the real bot: a customer's number (easily faked) gets no
    personal answer without the last six of the ID number; a call identified that way ends
    identified for nobody else; wrong tries are counted until the caller is told what to do."""
    insured, name, phone = bot_stack.member(7)
    reported = bot_stack.api("POST", "/claims", {
        "policy_no": bot_stack.seed["group_policy_no"], "insured_id_number": insured,
        "claim_type": "hospital_allowance",
        "incident_date": (today() - timedelta(days=4)).isoformat(),
        "incident_place": "家里", "description": "在家摔倒",
        "reporter": {"name": "本人", "relation": "self", "phone": phone}, "channel": "web"})
    claim_no = str(reported["claim_no"])
    wrong = next(f"{n:06d}" for n in range(314159, 999999) if f"{n:06d}" != insured[-6:])

    first, asked = await asks_for_progress(bot_stack, phone)
    assert "最后6位" in asked and "星号" in asked
    assert spell(claim_no) not in asked and name[0] not in asked
    refused = spoken(await first.actions("dtmf", digits=wrong + "#"))
    assert "核对不一致" in refused and "18位身份证号码" in refused
    assert spell(claim_no) not in refused
    assert await first.actions("hangup") == []

    second, _ = await asks_for_progress(bot_stack, phone)
    keyed = insured[-6:].replace("X", "*") + "#"  # X keyed as the star
    answered = spoken(await second.actions("dtmf", digits=keyed))
    assert "身份核验通过" in answered and spell(claim_no) in answered
    assert insured not in answered and phone not in answered
    assert await second.actions("hangup") == []

    # after hang-up the same number is nobody again
    third, asked = await asks_for_progress(bot_stack, phone)
    assert "最后6位" in asked and spell(claim_no) not in asked
    assert await third.actions("hangup") == []
    # a stranger with the number: each wrong try counted across calls until it must wait
    told = ""
    for _ in range(12):
        call, _ = await asks_for_progress(bot_stack, phone)
        actions = await call.actions("dtmf", digits=wrong + "#")
        told = spoken(actions)
        if "核对不一致" not in told:
            break
        await call.actions("hangup")
    assert "次数过多" in told and "人工" in told and "网点" in told, told
    assert actions[-1] == {"type": "transfer", "queue": "agents"}
    assert spell(claim_no) not in told


async def test_ivr_incident_report_by_a_caller(bot_stack: BotStack) -> None:
    insured, name, phone = bot_stack.member(3)
    caller = Caller(bot_stack, phone)
    hello = spoken(await caller.actions("start"))
    # the number is the customer's, but proves nothing: no name, not even masked
    assert name[0] not in hello and "*" not in hello and "报案请按1" in hello
    actions = await caller.actions("dtmf", digits="1")
    heard = [spoken(actions)]
    answers = {"本人，还是您的家人": "是我自己", "身份证号码": insured, "哪天": "前天",
               "什么地方": "在家门口",
               "经过": "下楼梯的时候踩空摔倒了", "伤得怎么样": "脚踝扭伤了",
               "医院": "潮南区人民医院", "打来的这个号码": "是的", "信息对吗": "对"}
    for _ in range(12):
        last = [a["text"] for a in actions if a["type"] == "say"][-1].splitlines()[-1]
        reply = next((a for key, a in answers.items() if key in last), None)
        if reply is None:
            break
        actions = await caller.actions("speech", text=reply, confidence=0.9)
        heard.append(spoken(actions))
    everything = "\n".join(heard)
    assert "身份证号码" in everything, everything  # not known by the number: ID asked
    # the number calling is offered as the contact phone, not assumed
    assert f"打来的这个号码 {spell(phone[:3] + ' ' + phone[3:7] + ' ' + phone[7:])} 吗" \
        in everything, everything
    assert "报案成功" in spoken(actions), everything
    sms = [a for a in actions if a["type"] == "sms"]
    assert sms and sms[0]["to"] == phone
    claim_no = re.search(r"R\d{12}", sms[0]["text"]).group(0)  # type: ignore[union-attr]
    assert spell(claim_no) in spoken(actions) and " ".join(claim_no) in spoken(actions)
    assert actions[-1]["type"] == "collect"

    claim = bot_stack.api("GET", f"/claims/{claim_no}")
    assert claim["channel"] == "ivr"
    assert claim["incident_date"] == (today() - timedelta(days=2)).isoformat()
    mine = bot_stack.api("GET", f"/claims?insured_id_number={insured}")["items"]
    assert claim_no in [c["claim_no"] for c in mine]
    # the documents to send, once, by SMS to the caller through the outbox
    notices = [n for n in outbox(bot_stack, phone) if claim_no in n.text]
    assert [n.channel for n in notices] == ["sms"]
    assert await caller.actions("hangup") == []


async def test_rasas_http_api_wants_its_token_but_the_rest_channel_does_not(
        bot_stack: BotStack) -> None:
    tracker = f"{bot_stack.rasa_url}/conversations/web:token-check/tracker"
    async with aiohttp.ClientSession() as http:
        for url in (tracker, f"{tracker}?token=wrong", f"{bot_stack.rasa_url}/status"):
            async with http.get(url) as resp:
                assert resp.status in (401, 403), url
        async with http.get(f"{tracker}?token={bot_stack.rasa_token}") as resp:
            assert resp.status == 200
    assert bot_stack.say("web:token-check", "你好")  # the channel's webhook: no token
