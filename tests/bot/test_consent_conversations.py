"""Separate consent to sensitive personal information in the chat, against the real bot and
back office: the short notice before the first ID number; "同意" records it and the report goes
on; a refusal keeps nothing and offers the hotline or an outlet; "撤回授权" and the next form
asks again; a later conversation of the same user is not asked again; on the phone the notice
is the short spoken one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backoffice.domain import consent
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import ClaimRow, ConsentRecord
from tests.bot.test_conversations import _claims_of, answer_form, db_of, texts
from tests.bot_stack import BotStack, asks_consent, new_sender

NOTICE = consent.packaged()
REPORT = "我妈今天早上在菜市场摔倒了，现在在潮南区人民医院"


def record(bot_stack: BotStack, sender: str) -> dict[str, Any]:
    channel, _, user = sender.partition(":")
    answer: dict[str, Any] = bot_stack.api("GET", f"/channel/consents/{channel}/{user}")
    return answer


def decisions(bot_stack: BotStack, sender: str) -> list[str]:
    channel, _, user = sender.partition(":")
    db = db_of(bot_stack)
    try:
        with db.read() as s:
            return list(s.execute(select(ConsentRecord.decision).where(
                ConsentRecord.channel == channel, ConsentRecord.channel_user == user)
                .order_by(ConsentRecord.id)).scalars())
    finally:
        db.dispose()


def claims_reported_by(bot_stack: BotStack, phone: str) -> int:
    db = db_of(bot_stack)
    try:
        with db.read() as s:
            return int(s.execute(select(func.count()).select_from(ClaimRow).where(
                ClaimRow.reporter_phone_hash == keyed_hash("phone", phone))).scalar_one())
    finally:
        db.dispose()


def test_consent_given_then_the_report_goes_on_and_is_recorded(bot_stack: BotStack) -> None:
    insured = bot_stack.seed["sample_id_numbers"][1]
    sender = new_sender("wechat")
    first = texts(bot_stack.say(sender, REPORT, consent=False))
    assert asks_consent(first), first
    assert "/privacy" in first and "身份证" in first and "撤回授权" in first
    assert "第十三条" in first  # a daughter reporting: what is kept about her mother, and why
    assert record(bot_stack, sender)["decision"] is None  # shown, not yet answered
    agreed = bot_stack.say(sender, "同意", consent=False)
    said = texts(agreed)
    assert "已记录您的授权" in said and "身份证" in said.splitlines()[-1], said
    kept = record(bot_stack, sender)
    assert kept["decision"] == "given" and kept["notice_version"] == NOTICE.version
    shown = bot_stack.api("GET", "/channel/consent-notice?channel=wechat")
    assert kept["notice_sha256"] == shown["sha256"]
    answers = {"身份证": insured, "伤得怎么样": "右手腕骨折了", "联系": "13922330001",
               "经过": "买菜的时候踩到菜叶滑倒的", "什么地方": "菜市场", "哪天": "今天",
               "怎么称呼": "我是她女儿，叫李丽"}
    summary = texts(answer_form(bot_stack, sender, agreed, answers))
    assert "信息对吗" in summary, summary
    done = texts(bot_stack.say(sender, "对"))
    assert "报案成功" in done, done
    assert not asks_consent(summary + done)  # asked once
    assert decisions(bot_stack, sender) == ["given"]


def test_a_refusal_keeps_nothing_and_offers_the_hotline_or_an_outlet(
        bot_stack: BotStack) -> None:
    sender = new_sender("wechat")
    first = texts(bot_stack.say(sender, "我妈昨天摔倒了，联系电话13922330002", consent=False))
    assert asks_consent(first), first
    refused = texts(bot_stack.say(sender, "不同意", consent=False))
    assert "95500" in refused and "网点" in refused, refused
    assert "？" not in refused.splitlines()[-1], refused  # the form asks nothing more
    assert decisions(bot_stack, sender) == ["refused"]
    assert claims_reported_by(bot_stack, "13922330002") == 0
    slots = bot_stack_slots(bot_stack, sender)
    assert slots["relation"] is None and slots["contact_phone"] is None, slots
    assert slots["privacy_consent"] is None
    # asking again later asks again
    again = texts(bot_stack.say(sender, "我要报案", consent=False))
    assert asks_consent(again), again


def test_withdrawn_then_the_next_form_asks_again(bot_stack: BotStack) -> None:
    sender = new_sender("web")
    asked = texts(bot_stack.say(sender, "我的理赔到哪一步了", consent=False))
    assert asks_consent(asked), asked
    assert "身份证" in texts(bot_stack.say(sender, "好的", consent=False)).splitlines()[-1]
    assert record(bot_stack, sender)["decision"] == "given"
    bot_stack.say(sender, "算了")
    withdrawn = texts(bot_stack.say(sender, "撤回授权", consent=False))
    assert "已为您撤回" in withdrawn, withdrawn
    assert decisions(bot_stack, sender) == ["given", "withdrawn"]
    again = texts(bot_stack.say(sender, "我的理赔进度怎么样了", consent=False))
    assert asks_consent(again), again


def test_a_later_conversation_of_the_same_user_is_not_asked_again(bot_stack: BotStack) -> None:
    sender = new_sender("wechat")
    bot_stack.say(sender, "我要查理赔进度")  # the kit agrees
    assert record(bot_stack, sender)["decision"] == "given"
    bot_stack.say(sender, "算了")
    bot_stack.say(sender, "/session_start", consent=False)  # a new conversation: slots reset
    asked = texts(bot_stack.say(sender, "我的理赔到哪一步了", consent=False))
    assert not asks_consent(asked) and "身份证" in asked, asked
    assert decisions(bot_stack, sender) == ["given"]


def test_on_the_phone_the_notice_is_the_short_spoken_one(bot_stack: BotStack) -> None:
    sender = new_sender("ivr")
    said = texts(bot_stack.say(sender, "我要查理赔进度", consent=False, phone="13922330003"))
    assert NOTICE.voice in said, said
    assert "http" not in said and "【" not in said
    bot_stack.say(sender, "同意", consent=False, phone="13922330003")
    kept = record(bot_stack, sender)
    assert kept["decision"] == "given" and kept["notice_sha256"] == consent.sha256(NOTICE.voice)


def test_the_bank_account_step_of_a_customer_identified_earlier_asks_first(
        bot_stack: BotStack) -> None:
    """Identified in an earlier conversation, no consent on record: the payout account is not
    asked before the notice; a refusal sets nothing; agreeing goes on to the card number."""
    insured, _, phone = bot_stack.member(52)  # nobody else's: one claim only
    [claim_no] = _claims_of(bot_stack, insured, [{}])
    sender = new_sender("web")
    bot_stack.api("POST", "/bindings", {"channel": "web", "user": sender.split(":", 1)[1],
                                        "id_number": insured, "phone": phone})
    asked = texts(bot_stack.say(sender, "我要设置收款账户", consent=False))
    assert asks_consent(asked.splitlines()[-1]), asked  # the notice, not the card question
    refused = texts(bot_stack.say(sender, "不同意", consent=False))
    assert "95500" in refused, refused
    db = db_of(bot_stack)
    try:
        with db.read() as s:
            assert s.execute(select(ClaimRow.bank_account).where(
                ClaimRow.claim_no == claim_no)).scalar() is None
    finally:
        db.dispose()
    again = texts(bot_stack.say(sender, "我要设置收款账户"))  # the kit agrees this time
    assert "银行卡号" in again.splitlines()[-1] and not asks_consent(again), again
    assert decisions(bot_stack, sender) == ["refused", "given"]
    assert record(bot_stack, sender)["consent_given"] is True


def bot_stack_slots(bot_stack: BotStack, sender: str) -> dict[str, Any]:
    import json
    import urllib.request

    url = f"{bot_stack.rasa_url}/conversations/{sender}/tracker?token={bot_stack.rasa_token}"
    with urllib.request.urlopen(url, timeout=60) as resp:
        return dict(json.loads(resp.read())["slots"])
