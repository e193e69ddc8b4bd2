"""The customer's own claim steps in the chat, against the real Rasa server, action server and
back office: withdrawal (撤案), the payout bank account typed or read from a bank card photo,
the appeal of a rejection (复核). The back office's state is checked afterwards."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from backoffice.store.models import AppealRow, ClaimEvent, ClaimRow, SatisfactionRow
from bench.ocr_synth import make_sample
from tests.bot.test_conversations import SHANGHAI, _claims_of, db_of, open_claim, texts
from tests.bot_stack import BotStack, new_sender

CARD = "6222020200112233446"  # passes Luhn


def _claim(bot_stack: BotStack, claim_no: str) -> ClaimRow:
    db = db_of(bot_stack)
    with db.read() as s:
        row = s.execute(select(ClaimRow).where(ClaimRow.claim_no == claim_no)).scalar_one()
        s.expunge(row)
    db.dispose()
    return row


def _steps(bot_stack: BotStack, claim_no: str, action: str) -> list[str]:
    db = db_of(bot_stack)
    with db.read() as s:
        found = list(s.execute(select(ClaimEvent.actor).join(
            ClaimRow, ClaimRow.id == ClaimEvent.claim_id).where(
            ClaimRow.claim_no == claim_no, ClaimEvent.action == action)).scalars())
    db.dispose()
    return found


def _identify(bot_stack: BotStack, sender: str, insured: str, phone: str,
              ask: str = "我的理赔到哪一步了") -> str:
    asked = texts(bot_stack.say(sender, ask))
    assert "核验身份" in asked, asked
    bot_stack.say(sender, insured)
    said = texts(bot_stack.say(sender, phone))
    assert "身份核验通过" in said, said
    return said


def test_a_claim_is_withdrawn_after_identification_and_confirmation(bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(27)
    first, second = _claims_of(bot_stack, insured, [{}, {}])
    sender = new_sender("wechat")
    listed = _identify(bot_stack, sender, insured, phone, "我要撤销报案")
    assert "撤案的是哪一件" in listed and first in listed and second in listed, listed
    assert listed.index(second) < listed.index(first)  # newest first
    # another customer's claim (or none) is not among the choices: asked again, nothing done
    other = open_claim(bot_stack, bot_stack.member(36)[0])["claim_no"]
    refused = texts(bot_stack.say(sender, f"撤 {other}"))
    assert "没有在可以办理的案件里找到" in refused and first in refused, refused
    assert _claim(bot_stack, other).status != "withdrawn"
    picked = texts(bot_stack.say(sender, "2"))  # the second listed: the older one
    assert f"撤销报案号 {first}" in picked, picked
    denied = texts(bot_stack.say(sender, "不是"))
    assert "没有撤案" in denied and _claim(bot_stack, first).status != "withdrawn"

    again = texts(bot_stack.say(sender, "不想赔了，撤案"))
    assert "哪一件" in again, again
    bot_stack.say(sender, first)
    done = texts(bot_stack.say(sender, "是的"))
    assert "已撤案" in done and first in done, done
    assert _claim(bot_stack, first).status == "withdrawn"
    assert _claim(bot_stack, second).status != "withdrawn"
    assert _steps(bot_stack, first, "withdraw") == ["customer"]


def test_a_typed_bank_account_is_checked_confirmed_and_set(bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(28)
    [claim_no] = _claims_of(bot_stack, insured, [{}])
    sender = new_sender("web")
    _identify(bot_stack, sender, insured, phone)
    asked = texts(bot_stack.say(sender, "我要设置收款账户"))
    assert "银行卡号" in asked, asked
    wrong = texts(bot_stack.say(sender, "6222 0202 0011 2233 447"))
    assert "校验不通过" in wrong, wrong
    short = texts(bot_stack.say(sender, "6222 0202 01"))
    assert "10位" in short, short
    read_back = texts(bot_stack.say(sender, "卡号 6222-0202-0011-2233-446"))
    assert "**** 3446" in read_back and claim_no in read_back and CARD not in read_back
    done = texts(bot_stack.say(sender, "对"))
    assert "收款账户已设为" in done and CARD not in done, done
    assert _claim(bot_stack, claim_no).bank_account == CARD
    assert _steps(bot_stack, claim_no, "set_bank_account") == ["customer"]


def test_a_bank_account_said_in_chinese_numerals(bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(35)
    [claim_no] = _claims_of(bot_stack, insured, [{}])
    sender = new_sender("wechat")
    _identify(bot_stack, sender, insured, phone)
    read_back = texts(bot_stack.say(sender, "收款账号六二二二零二零二零零一一二二三三四四六"))
    assert "**** 3446" in read_back, read_back
    bot_stack.say(sender, "是")
    assert _claim(bot_stack, claim_no).bank_account == CARD


def test_a_bank_card_photo_is_proposed_and_set_only_when_confirmed(bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(29)
    claim = open_claim(bot_stack, insured)
    sample = make_sample("bank_card", 5, variant="png")
    number = sample.truth["card_number"]
    receipt = bot_stack.upload(claim["claim_no"], sample.image)
    assert _claim(bot_stack, claim["claim_no"]).bank_account is None  # never set silently
    sender = new_sender("wechat")
    _identify(bot_stack, sender, insured, phone)
    said = texts(bot_stack.say(sender, "/document_uploaded" + json.dumps(
        {"claim_no": claim["claim_no"], "document_id": receipt["document_id"]})))
    assert f"**** {number[-4:]}" in said and number not in said, said
    assert "对吗" in said
    done = texts(bot_stack.say(sender, "对的"))
    assert "收款账户已设为" in done, done
    assert _claim(bot_stack, claim["claim_no"]).bank_account == number


def test_an_appeal_is_filed_with_the_customers_reasons(bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(34)
    [rejected] = _claims_of(bot_stack, insured, [
        {"status": "rejected", "rejection_reasons": ["住院原因为既往疾病，不属于意外伤害"],
         "rejected_on": datetime.now(SHANGHAI).date()}])
    sender = new_sender("wechat")
    _identify(bot_stack, sender, insured, phone)
    asked = texts(bot_stack.say(sender, "为什么拒赔，我不服"))
    assert "既往疾病" in asked and "理由" in asked, asked
    why = "我妈是在菜市场滑倒摔伤的，不是旧病，有急诊病历为证"
    confirm = texts(bot_stack.say(sender, why))
    assert rejected in confirm and "提交吗" in confirm, confirm
    done = texts(bot_stack.say(sender, "是的"))
    assert "复核申请" in done and "FH" in done and "10个工作日" in done, done
    db = db_of(bot_stack)
    with db.read() as s:
        appeal = s.execute(select(AppealRow).where(AppealRow.claim_no == rejected)).scalar_one()
        assert (appeal.status, appeal.reasons, appeal.channel) == ("open", why, "wechat")
        appeal_no = appeal.appeal_no
    db.dispose()
    progress = texts(bot_stack.say(sender, "理赔进度"))
    assert f"复核申请 {appeal_no} 已受理，正在复核" in progress, progress


def test_a_question_inside_the_case_form_then_a_stop_keeps_nothing(bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(37)
    [claim_no] = _claims_of(bot_stack, insured, [{}])
    sender = new_sender("wechat")
    _identify(bot_stack, sender, insured, phone)
    asked = texts(bot_stack.say(sender, "我要撤案"))
    assert f"撤销报案号 {claim_no}" in asked, asked  # the only one: read back at once
    answered = texts(bot_stack.say(sender, "住院津贴一天多少钱？"))
    assert "30" in answered and f"撤销报案号 {claim_no}" in answered, answered
    stopped = texts(bot_stack.say(sender, "算了"))
    assert "撤销报案号" not in stopped, stopped
    assert _claim(bot_stack, claim_no).status != "withdrawn"
    assert _steps(bot_stack, claim_no, "withdraw") == []
    # the form is over: a yes now confirms nothing
    bot_stack.say(sender, "是的")
    assert _claim(bot_stack, claim_no).status != "withdrawn"


def test_on_the_phone_a_card_number_said_aloud_is_read_back_for_the_ear(
        bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(38)
    [claim_no] = _claims_of(bot_stack, insured, [{}])
    sender = new_sender("ivr")
    asked = texts(bot_stack.say(sender, "我要登记收款的银行卡", phone=phone))
    assert "核验身份" in asked, asked
    said = texts(bot_stack.say(sender, insured[-6:], phone=phone))
    assert "身份核验通过" in said and "请说出" in said and "照片" not in said, said
    read_back = texts(bot_stack.say(sender, "六二二二 零二零二 零零幺幺 二二三三 四四六",
                                    phone=phone))
    assert "尾号 3 4 4 6" in read_back and CARD not in read_back, read_back
    done = texts(bot_stack.say(sender, "对", phone=phone))
    assert "收款账户已设为" in done, done
    assert _claim(bot_stack, claim_no).bank_account == CARD


def test_a_rating_said_in_the_chat_rates_the_newest_closed_claim(bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(47)
    older, newer, _open = _claims_of(bot_stack, insured, [
        {"status": "closed"}, {"status": "closed"}, {}])
    sender = new_sender("web")
    asked = texts(bot_stack.say(sender, "收到短信让我打分，我打4分，就是有点慢"))
    assert "核验身份" in asked, asked
    bot_stack.say(sender, insured)
    done = texts(bot_stack.say(sender, phone))
    assert "身份核验通过" in done and newer in done and "4 分" in done, done
    db = db_of(bot_stack)
    with db.read() as s:
        rows = list(s.execute(select(SatisfactionRow).where(
            SatisfactionRow.subject_id.in_([older, newer]))).scalars())
        assert [(r.subject_id, r.score, r.channel) for r in rows] == [(newer, 4, "web")]
        assert "有点慢" in (rows[0].comment or "")
    db.dispose()
    again = texts(bot_stack.say(sender, "5分"))  # rated once: the second is not taken
    assert "已经评价过" in again, again


def test_a_card_number_said_before_the_identification_is_kept(bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(48)
    [claim_no] = _claims_of(bot_stack, insured, [{}])
    sender = new_sender("web")
    asked = texts(bot_stack.say(sender, "收款卡号 6222 0202 0011 2233 446"))
    assert "核验身份" in asked, asked
    bot_stack.say(sender, insured)
    read_back = texts(bot_stack.say(sender, phone))  # the phone is no card number
    assert "**** 3446" in read_back and claim_no in read_back, read_back
    bot_stack.say(sender, "对")
    assert _claim(bot_stack, claim_no).bank_account == CARD
