"""The phone as its own channel (issue 16, item 8), against the real stack (tests/bot_stack.py):
calls as a telephony platform makes them — signed JSON events to /ivr/events, and VoiceXML
documents from a signed start following their signed links — with numbers said as speech
recognition writes them; the back office's state is checked afterwards. Plus the rule of every
channel: no form asks the same question more than three times."""

from __future__ import annotations

import html
import random
import re
import urllib.parse
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import select

from actions.ear import grouped_id, grouped_phone
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import ClaimRow, Conversation, Party
from channels.ivr import spell
from tests.bot_stack import AGREE, CONSENT_ASKED, BotStack, asks_consent, new_sender
from tests.channels.channel_kit import ivr_event, signed_start

SHANGHAI = ZoneInfo("Asia/Shanghai")
VXML = "{http://www.w3.org/2001/vxml}"
NUMERALS = dict(zip("0123456789X", "零一二三四五六七八九叉", strict=True))
# nothing a caller cannot do: see a photo, take one, tap a link
NOT_FOR_THE_EAR = ("照片", "拍照", "链接")


def today() -> date:
    return datetime.now(SHANGHAI).date()


def said_in_numerals(digits: str, groups: tuple[int, ...] = ()) -> str:
    """Digits as speech recognition writes them ("四四零五一五…"), 1 as 幺 in a phone."""
    words = "".join(NUMERALS[d] for d in digits)
    if digits.startswith("1") and len(digits) == 11:
        words = words.replace("一", "幺")
    out, at = [], 0
    for size in groups:
        out.append(words[at:at + size])
        at += size
    return " ".join([*out, words[at:]]) if groups else words


def caller_number() -> str:
    return f"139{random.randint(10**7, 10**8 - 1)}"


class Call:
    """One call over the JSON protocol: signed events to /ivr/events; every say heard."""

    def __init__(self, stack: BotStack, number: str) -> None:
        self.url = stack.url("/ivr/events")
        self.call_id = uuid.uuid4().hex
        self.number = number
        self.heard: list[str] = []

    async def event(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        body, headers = ivr_event(self.call_id, event, self.number, **fields)
        async with aiohttp.ClientSession() as http, http.post(
                self.url, data=body, headers=headers) as r:
            assert r.status == 200, await r.text()
            actions = list((await r.json())["actions"])
        self.heard += [a["text"] for a in actions if a["type"] == "say"]
        asked = next((i for i, a in enumerate(actions)
                      if a["type"] == "say" and asks_consent(a["text"])), None)
        if asked is not None and event != "hangup":  # the caller agrees (tests/bot_stack.py)
            before = [a for a in actions[:asked] if a["type"] == "say"]
            return before + await self.event("speech", text=AGREE, confidence=0.9)
        return actions

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self.event("speech", text=text, confidence=0.9)


def last_line(actions: list[dict[str, Any]]) -> str:
    says = [a["text"] for a in actions if a["type"] == "say"]
    return says[-1].splitlines()[-1] if says else ""


def spoken(actions: list[dict[str, Any]]) -> str:
    return " ".join(a["text"] for a in actions if a["type"] == "say")


def family_answers(insured: str) -> dict[str, str]:
    """A daughter reporting for her mother, as she says it (the ID number in numerals)."""
    return {CONSENT_ASKED[1]: AGREE,  # asked first, and its text names 身份证 too
            "本人，还是您的家人": "是我妈", "身份证": said_in_numerals(insured),
            "哪天": "昨天", "什么地方": "菜市场",
            "经过": "买菜的时候地上湿滑摔倒了", "伤得怎么样": "右手腕骨折了",
            "医院": "潮南区人民医院", "哪种情况": "住院了",
            "怎么称呼": "我是她女儿，叫李丽"}


def claim_row(stack: BotStack, claim_no: str) -> ClaimRow:
    db = stack.db()
    try:
        with db.read() as s:
            row = s.execute(select(ClaimRow).where(ClaimRow.claim_no == claim_no)).scalar_one()
            s.expunge(row)
            return row
    finally:
        db.dispose()


def party_id(stack: BotStack, id_number: str) -> int:
    db = stack.db()
    try:
        with db.read() as s:
            return int(s.execute(select(Party.id).where(
                    Party.id_number_hash == keyed_hash("id_number", id_number)))
                       .scalar_one())
    finally:
        db.dispose()


def queued_call(stack: BotStack, number: str) -> Conversation:
    """The phone conversation of `number` handed to the agents."""
    db = stack.db()
    try:
        with db.read() as s:
            row = s.execute(select(Conversation).where(
                Conversation.channel == "ivr", Conversation.phone == number,
                Conversation.state == "queued")).scalar_one()
            s.expunge(row)
            return row
    finally:
        db.dispose()


def check_family_claim(stack: BotStack, claim_no: str, insured: str, phone: str) -> None:
    claim = claim_row(stack, claim_no)
    assert claim.insured_party_id == party_id(stack, insured)
    assert (claim.reporter_name, claim.reporter_relation) == ("李丽", "parent")
    assert claim.reporter_phone == phone
    assert claim.channel == "ivr"
    assert claim.incident_date == today() - timedelta(days=1)
    assert claim.incident_place == "菜市场"
    assert "伤情：右手腕骨折" in claim.description and "菜市场" not in claim.description
    assert "潮南区人民医院" in claim.description


async def test_a_daughter_reports_for_her_mother_over_the_json_protocol(
        bot_stack: BotStack) -> None:
    insured, _, _ = bot_stack.member(11)
    number = caller_number()
    call = Call(bot_stack, number)
    await call.event("start")
    actions = await call.event("dtmf", digits="1")
    answers = {**family_answers(insured),
               # the number calling is offered, not assumed: she gives her own mobile
               "打来的这个号码": "不是这个", "方便联系": "幺三八 一二三四 五六七八",
               "信息对吗": "对"}
    for _ in range(16):
        reply = next((a for key, a in answers.items() if key in last_line(actions)), None)
        if reply is None:
            break
        actions = await call.say(reply)
    heard = "\n".join(call.heard)
    assert f"打来的这个号码 {spell(grouped_phone(number))} 吗" in heard, heard
    # the read-back the caller can check: the numbers whole, in groups
    assert spell(grouped_id(insured)) in heard and spell("138 1234 5678") in heard
    done = spoken(actions)
    assert "报案成功" in done, heard
    # every answer taken the first time: nothing called wrong or unheard
    assert "好像不对" not in heard and "没听清" not in heard, heard
    assert not any(word in heard for word in NOT_FOR_THE_EAR), heard
    assert "微信公众号" in done and "短信" in done
    claim_no = re.search(r"R\d{12}", next(a["text"] for a in actions if a["type"] == "sms"))
    assert claim_no, actions
    check_family_claim(bot_stack, claim_no.group(0), insured, "13812345678")
    assert await call.event("hangup") == []


def _prompts(root: ElementTree.Element) -> str:
    return " ".join(p.text or "" for p in root.iter(f"{VXML}prompt"))


def _next(root: ElementTree.Element) -> str:
    submit = root.find(f".//{VXML}submit")
    assert submit is not None
    return html.unescape(str(submit.get("next")))


async def test_the_same_report_over_voicexml(bot_stack: BotStack) -> None:
    insured, _, _ = bot_stack.member(12)
    number = caller_number()
    call_id = uuid.uuid4().hex
    heard: list[str] = []
    async with aiohttp.ClientSession() as http:
        async def document(url: str, **data: str) -> ElementTree.Element:
            async with http.post(bot_stack.url(url), data=data) as r:
                assert r.status == 200, await r.text()
                root = ElementTree.fromstring(await r.text())
            heard.append(_prompts(root))
            return root

        root = await document(signed_start(call_id, number), event="start")
        root = await document(_next(root), event="dtmf", answer="1")
        answers = {**family_answers(insured), "身份证": said_in_numerals(insured, (6, 8)),
                   "打来的这个号码": "是的", "信息对吗": "对"}
        for _ in range(16):
            last = _prompts(root).strip().splitlines()[-1] if _prompts(root).strip() else ""
            reply = next((a for key, a in answers.items() if key in last), None)
            if reply is None:
                break
            root = await document(_next(root), event="speech", answer=reply)
    everything = "\n".join(heard)
    assert "报案成功" in heard[-1], everything
    assert "好像不对" not in everything and "没听清" not in everything, everything
    assert not any(word in everything for word in NOT_FOR_THE_EAR), everything
    claim_no = re.search(r"R(?: \d){12}", heard[-1])
    assert claim_no, heard[-1]
    # the number calling, confirmed "是的", is the contact phone
    check_family_claim(bot_stack, claim_no.group(0).replace(" ", ""), insured, number)
    link = urllib.parse.parse_qs(urllib.parse.urlsplit(_next(root)).query)
    assert link["call_id"] == [call_id]


async def test_keypad_after_two_misses_then_a_person_with_what_was_collected(
        bot_stack: BotStack) -> None:
    number = caller_number()
    call = Call(bot_stack, number)
    await call.event("start")
    await call.event("dtmf", digits="1")
    asked = await call.say("我妈摔倒了")
    assert "身份证" in last_line(asked), spoken(asked)
    first = await call.say("四四零五一五一九")  # cut off: not an ID number
    assert "身份证" in spoken(first) and "按键" not in spoken(first)
    second = await call.say("四四零五 一五")
    assert "请在电话按键上输入出险人的身份证号，X 请按星号" in spoken(second), spoken(second)
    assert second[-1]["type"] == "collect" and second[-1]["max_digits"] >= 18
    third = await call.event("dtmf", digits="4405*#")
    assert third[-1] == {"type": "transfer", "queue": "agents"}, third
    assert "人工" in spoken(third) and "身份证" not in spoken(third)
    queued = queued_call(bot_stack, number)
    summary = queued.handoff_summary or {}
    assert queued.handoff_reason == "unsure"
    assert summary["form"] == "incident_form"
    assert summary["requested_slot"] == "insured_id_number"
    assert summary["slots"]["relation"] == "parent"
    # nothing more goes to the bot: an event after the transfer is the caller back from the
    # agent's leg, asked to rate the call on the keypad
    back = await call.say("喂")
    assert back[0] == {"type": "say", "text": "请为本次服务打分：非常满意请按5，非常不满意请按1。",
                       "bargein": True}
    assert back[1]["type"] == "collect" and back[1]["max_digits"] == 1
    assert "身份证" not in spoken(back)


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(r.get("text")) for r in replies if r.get("text"))


def handoffs(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["custom"]["handoff"] for r in replies
            if isinstance(r.get("custom"), dict) and "handoff" in r["custom"]]


def test_a_wechat_question_is_asked_three_times_at_most(bot_stack: BotStack) -> None:
    sender = new_sender("wechat")
    bot_stack.say(sender, "我要投诉")
    for answer in ("理赔太慢了", "报案一个月了还没人联系我", "希望尽快赔款", "我叫王秀英"):
        replies = bot_stack.say(sender, answer)
    assert "联系电话" in texts(replies)
    for _ in range(2):
        replies = bot_stack.say(sender, "138 12")
        assert not handoffs(replies) and "11位的手机号码" in texts(replies), texts(replies)
    replies = bot_stack.say(sender, "138 12")
    [handoff] = handoffs(replies)
    said = texts(replies)
    assert "人工客服" in said and "联系电话" not in said  # not asked a fourth time
    assert handoff["reason"] == "unsure"
    summary = handoff["summary"]
    assert summary["form"] == "complaint_form"
    assert summary["requested_slot"] == "complainant_phone"
    assert summary["slots"]["complainant_name"] == "王秀英"
    assert summary["slots"]["complaint_category"] == "claim_delay"
    # the form ended unsubmitted and forgot its answers: a new complaint starts afresh
    again = texts(bot_stack.say(sender, "我要投诉"))
    assert "哪方面" in again, again


def test_the_contact_phone_is_asked_as_before_off_the_phone(bot_stack: BotStack) -> None:
    """On WeChat no number is offered: the phone is asked for, and a wrong answer counted."""
    sender = new_sender("wechat")
    bot_stack.say(sender, "我要投诉")
    for answer in ("服务态度不好", "电话打过去没人理", "希望有人回电话", "我叫陈丽"):
        replies = bot_stack.say(sender, answer)
    assert "打来的这个号码" not in texts(replies) and "联系电话" in texts(replies)
    said = texts(bot_stack.say(sender, "幺三八 一二三四 五六七八"))
    assert "投诉编号" in said and "138****5678" in said, said


async def test_a_complaint_by_voice_keeps_the_number_calling_when_confirmed(
        bot_stack: BotStack) -> None:
    number = caller_number()
    call = Call(bot_stack, number)
    await call.event("start")
    actions = await call.event("dtmf", digits="3")
    answers = {"哪方面": "理赔太慢了", "发生了什么": "报案一个月了还没人联系我",
               "怎么处理": "希望尽快赔款", "怎么称呼": "我叫王秀英", "打来的这个号码": "对"}
    for _ in range(8):
        reply = next((a for key, a in answers.items() if key in last_line(actions)), None)
        if reply is None:
            break
        actions = await call.say(reply)
    heard = "\n".join(call.heard)
    assert f"打来的这个号码 {spell(grouped_phone(number))} 吗" in heard, heard
    found = re.search(r"投诉编号 ([A-Z0-9 ]+)。", spoken(actions))
    assert found, heard
    complaint = bot_stack.api("GET", f"/complaints/{found.group(1).replace(' ', '')}")
    assert complaint["complainant"] == {"name": "王秀英", "phone": number}
    assert complaint["channel"] == "ivr"
