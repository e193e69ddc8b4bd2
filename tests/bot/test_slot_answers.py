"""Slot answers as people give them, against the real bot and back office: a sentence is no
name, numbers are spoken in Chinese or grouped, dates are relative, corrections come late.
The back office's state is checked afterwards."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from actions.dates import spoken
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import ChannelBinding, ClaimRow, Party
from tests.bot_stack import BotStack, new_sender

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAY_DIGIT = dict(zip("0123456789X", "洞幺两三四五六拐八九叉", strict=True))
READ_DIGIT = dict(zip("0123456789X", "零一二三四五六七八九叉", strict=True))
NAME_QUESTION = "请问您怎么称呼"


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(r.get("text")) for r in replies if r.get("text"))


def last_line(replies: list[dict[str, Any]]) -> str:
    said = texts(replies)
    return said.splitlines()[-1] if said else ""


def in_words(number: str, table: dict[str, str]) -> str:
    return "".join(table[c] for c in number)


def drive(bot_stack: BotStack, sender: str, first: list[dict[str, Any]],
          answers: dict[str, list[str]], until: str, limit: int = 20) -> list[dict[str, Any]]:
    """Answer each question by the next of its answers until `until` is asked; all replies.
    A question asked again takes the next answer: the test says how often it may be asked."""
    seen, replies = list(first), first
    for _ in range(limit):
        asked = last_line(replies)
        if until in asked:
            return seen
        key = next((k for k in answers if k in asked), None)
        assert key is not None and answers[key], f"unexpected question: {texts(seen)}"
        replies = bot_stack.say(sender, answers[key].pop(0))
        seen += replies
    raise AssertionError(texts(seen))


def claim_of(bot_stack: BotStack, said: str) -> ClaimRow:
    found = re.search(r"报案号是 ([A-Z0-9]+)", said)
    assert found, said
    db = bot_stack.db()
    try:
        with db.read() as s:
            claim = s.execute(select(ClaimRow).where(
                ClaimRow.claim_no == found.group(1))).scalar_one()
            s.expunge(claim)
    finally:
        db.dispose()
    return claim


def party_id(bot_stack: BotStack, id_number: str) -> int:
    db = bot_stack.db()
    try:
        with db.read() as s:
            return int(s.execute(select(Party.id).where(
                    Party.id_number_hash == keyed_hash("id_number", id_number))).scalar_one())
    finally:
        db.dispose()


def test_a_family_report_by_spoken_numbers_with_late_corrections(bot_stack: BotStack) -> None:
    insured, _, _ = bot_stack.member(21)
    today = datetime.now(SHANGHAI).date()
    sender = new_sender("wechat")
    first = bot_stack.say(sender, "我妈在菜市场摔倒了，要报案")
    replies = drive(bot_stack, sender, first, {
        "本人，还是您的家人": ["我妈"],
        "身份证": ["四四零五", in_words(insured, READ_DIGIT)],  # too short first: asked again
        "哪天": ["三天前"],
        "什么地方": ["菜市场"],
        "经过": ["买菜时地上湿滑摔倒"],
        "伤得怎么样": ["右手腕骨折"],
        "医院": ["潮南区人民医院"],
        NAME_QUESTION: ["买菜时地上湿滑摔倒，右手腕骨折，现在住院", "王小明的女儿",
                        "我是她女儿，叫李丽"],
        "手机号码": ["幺三九 两两三三 四四五五"],
    }, until="信息对吗")
    said = texts(replies)
    # the sentence and the kinship were refused with a re-ask, never read back as a name
    assert said.count("没听清您的姓名") == 2, said
    assert sum(NAME_QUESTION in line for line in said.splitlines()) == 3, said
    assert "报案人：李*" in said and "买*" not in said and "王*" not in said
    assert f"时间：{spoken(today - timedelta(days=3))}" in said
    assert "139****4455" in said and insured not in said

    corrected = texts(bot_stack.say(sender, "不对，是前天"))
    assert f"时间：{spoken(today - timedelta(days=2))}" in corrected, corrected
    assert "信息对吗" in corrected and "139****4455" in corrected
    phone = "13800007777"
    corrected = texts(bot_stack.say(sender, f"说错了，电话是{in_words(phone, SAY_DIGIT)}"))
    assert "138****7777" in corrected and "139****4455" not in corrected, corrected
    assert f"时间：{spoken(today - timedelta(days=2))}" in corrected
    corrected = texts(bot_stack.say(sender, "名字说错了，我叫李晓丽"))
    assert "报案人：李*" in corrected and "信息对吗" in corrected, corrected
    done = texts(bot_stack.say(sender, "对"))
    assert "报案成功" in done and "138****7777" in done, done

    claim = claim_of(bot_stack, done)
    assert claim.incident_date == today - timedelta(days=2)
    assert (claim.reporter_name, claim.reporter_relation) == ("李晓丽", "parent")
    assert claim.reporter_phone == phone
    assert claim.incident_place == "菜市场"


def test_a_future_day_and_a_day_that_does_not_exist_are_asked_again(bot_stack: BotStack) -> None:
    insured, _, _ = bot_stack.member(22)
    other, _, _ = bot_stack.member(24)
    today = datetime.now(SHANGHAI).date()
    sender = new_sender("web")
    first = bot_stack.say(sender, "我本人摔伤了，想报案")
    replies = drive(bot_stack, sender, first, {
        "本人，还是您的家人": ["本人"],
        "身份证": [" ".join(other[i:i + 6] for i in range(0, 18, 6))],
        "哪天": ["明天", "2月30号", "大前天"],
        "什么地方": ["家门口"],
        "经过": ["下台阶踩空摔倒"],
        "伤得怎么样": ["脚踝扭伤"],
        "医院": ["没有"],
        # a sprain, no hospital: no type the scheme pays is decided, so it is asked
        "哪种情况": ["可能会落下残疾"],
        "手机号码": ["+86 138-1234-5678"],
    }, until="信息对吗")
    said = texts(replies)
    assert "不能晚于今天" in said and "没听清是哪天" in said, said
    assert f"时间：{spoken(today - timedelta(days=3))}" in said
    assert "138****5678" in said
    assert f"身份证 {other[:6]}" in said and other[-4:] in said
    # the ID number corrected at the read-back, said with dashes
    fixed = texts(bot_stack.say(sender, f"身份证号说错了，是{insured[:6]}-{insured[6:14]}-"
                                        f"{insured[14:]}"))
    assert insured[-4:] in fixed and "信息对吗" in fixed, fixed
    done = texts(bot_stack.say(sender, "对"))
    claim = claim_of(bot_stack, done)
    assert claim.insured_party_id == party_id(bot_stack, insured)
    assert claim.incident_date == today - timedelta(days=3)
    assert claim.reporter_phone == "13812345678"
    assert claim.claim_type == "disability"


def test_identification_by_spoken_id_and_phone(bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(23)
    sender = new_sender("web")
    asked = texts(bot_stack.say(sender, "我的理赔到哪一步了"))
    assert "核验身份" in asked
    # said the telephone way (幺, 两, 拐, 洞, 叉); the phone in full-width digits with dashes
    spoken_id = in_words(insured, SAY_DIGIT)
    assert "手机号码或保单号" in texts(bot_stack.say(sender, f"身份证是{spoken_id}"))
    grouped = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}".translate(
        str.maketrans("0123456789", "０１２３４５６７８９"))
    assert "身份核验通过" in texts(bot_stack.say(sender, grouped))
    db = bot_stack.db()
    try:
        with db.read() as s:
            binding = s.execute(select(ChannelBinding).where(
                ChannelBinding.user == sender.split(":")[1])).scalar_one()
            assert binding.channel == "web"
    finally:
        db.dispose()


def test_complaint_and_home_visit_names_and_phones_as_people_say_them(
        bot_stack: BotStack) -> None:
    sender = new_sender("wechat")
    replies = drive(bot_stack, sender, bot_stack.say(sender, "我要投诉"), {
        "哪方面": ["理赔太慢了"], "发生了什么": ["报案一个月了还没人联系我"],
        "怎么处理": ["希望尽快处理赔款"],
        "怎么称呼": ["投保人的儿子", "我是他儿子陈建华"],
        "联系电话": ["+86 137 0000 2222"]}, until="投诉编号")
    said = texts(replies)
    assert said.count("没听清您的姓名") == 1, said
    found = re.search(r"投诉编号 ([A-Z0-9]+)", said)
    assert found, said
    complaint = bot_stack.api("GET", f"/complaints/{found.group(1)}")
    assert complaint["complainant"] == {"name": "陈建华", "phone": "13700002222"}

    sender = new_sender("wechat")
    replies = drive(bot_stack, sender,
                    bot_stack.say(sender, "我妈八十多了走不动路，能不能派人上门办理"), {
        "怎么称呼": ["她走不动路，住在村里", "古丽•买买提"],
        "联系电话": ["幺三六 洞洞洞洞 幺幺幺幺"],
        "详细地址": ["潮南区峡山街道东里村三巷12号"]}, until="预约编号")
    said = texts(replies)
    assert said.count("没听清老人家的姓名") == 1, said
    found = re.search(r"预约编号 ([A-Z0-9]+)", said)
    assert found, said
    visit = bot_stack.api("GET", f"/home-visits/{found.group(1)}")
    assert (visit["name"], visit["phone"]) == ("古丽·买买提", "13600001111")


def test_the_elders_name_said_before_it_is_asked(bot_stack: BotStack) -> None:
    sender = new_sender("web")
    first = bot_stack.say(sender, "我妈叫李桂兰，八十多了走不动路，能不能派人上门")
    replies = drive(bot_stack, sender, first, {
        "联系电话": ["一三七 洞洞洞洞 三三三三"],
        "详细地址": ["潮南区陇田镇东华村二巷8号"]}, until="预约编号")
    said = texts(replies)
    assert "怎么称呼" not in said, said
    found = re.search(r"预约编号 ([A-Z0-9]+)", said)
    assert found, said
    visit = bot_stack.api("GET", f"/home-visits/{found.group(1)}")
    assert (visit["name"], visit["phone"]) == ("李桂兰", "13700003333")
