"""Whole dialogs over Rasa's REST channel against a real back office; then its state is checked."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from backoffice.domain.identity import make_id_number
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import (
    ChannelBinding,
    ClaimRow,
    ComplaintRow,
    EndorsementRequestRow,
    HomeVisit,
    Notification,
    Party,
)
from bench.ocr_synth import discharge_photo
from tests.bot_stack import BotStack, new_sender

SHANGHAI = ZoneInfo("Asia/Shanghai")


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(r.get("text")) for r in replies if r.get("text"))


def handoffs(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["custom"]["handoff"] for r in replies
            if isinstance(r.get("custom"), dict) and "handoff" in r["custom"]]


def db_of(bot_stack: BotStack) -> Database:
    return Database(bot_stack.database_url)


def party(bot_stack: BotStack, id_number: str) -> Party:
    db = db_of(bot_stack)
    with db.read() as s:
        found = s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", id_number))).scalar_one()
        s.expunge(found)
    db.dispose()
    return found


def answer_form(bot_stack: BotStack, sender: str, replies: list[dict[str, Any]],
                answers: dict[str, str], limit: int = 12) -> list[dict[str, Any]]:
    """Answer the bot's questions by what they ask until it stops asking; all replies."""
    seen = list(replies)
    for _ in range(limit):
        asked = texts(replies)
        reply = next((a for key, a in answers.items() if key in asked.splitlines()[-1]), None) \
            if asked else None
        if reply is None:
            return seen
        replies = bot_stack.say(sender, reply)
        seen += replies
    return seen


def test_family_member_reports_an_incident_with_a_correction(bot_stack: BotStack) -> None:
    insured = bot_stack.seed["sample_id_numbers"][0]
    sender = new_sender("wechat")
    first = bot_stack.say(sender, "我妈今天早上在菜市场摔倒了，现在在潮南区人民医院")
    assert "报案" in texts(first)
    answers = {"身份证": insured, "伤得怎么样": "右手腕骨折了", "联系": "13922334455",
               "经过": "买菜的时候踩到菜叶滑倒的", "什么地方": "菜市场",
               "哪天": "今天", "本人，还是您的家人": "我妈", "怎么称呼": "我是她女儿，叫李丽"}
    replies = answer_form(bot_stack, sender, first, answers)
    summary = texts(replies)
    assert "信息对吗" in summary
    assert "报案人：李*" in summary and "李丽" not in summary  # the family reporter, masked
    assert "13922334455" not in summary and "139****4455" in summary
    assert insured not in summary
    corrected = bot_stack.say(sender, "不对，是10月3号")
    assert "10月3日" in texts(corrected)
    done = texts(bot_stack.say(sender, "对"))
    assert "报案成功" in done and "报案号" in done
    assert "一次性告知" in done
    claim_no = done.split("报案号是 ")[1].split("，")[0]

    today = datetime.now(SHANGHAI).date()
    expected = date(today.year, 10, 3)
    expected = expected if expected <= today else date(today.year - 1, 10, 3)
    db = db_of(bot_stack)
    with db.read() as s:
        claim = s.execute(select(ClaimRow).where(ClaimRow.claim_no == claim_no)).scalar_one()
        assert claim.incident_date == expected
        assert (claim.reporter_name, claim.reporter_relation) == ("李丽", "parent")
        assert claim.reporter_phone == "13922334455"
        assert "菜市场" in claim.incident_place
        assert "潮南区人民医院" in claim.description and "骨折" in claim.description
        assert claim.claim_type == "hospital_allowance"
        assert claim.channel == "wechat"
        assert claim.insured_party_id == party(bot_stack, insured).id
    db.dispose()


def test_identification_then_progress_of_the_open_claim(bot_stack: BotStack) -> None:
    insured = bot_stack.seed["sample_id_numbers"][1]
    phone = party(bot_stack, insured).phone
    assert phone
    reported = bot_stack.api("POST", "/claims", {
        "policy_no": bot_stack.seed["group_policy_no"], "insured_id_number": insured,
        "claim_type": "hospital_allowance",
        "incident_date": (datetime.now(SHANGHAI).date() - timedelta(days=3)).isoformat(),
        "incident_place": "家里", "description": "在家摔倒",
        "reporter": {"name": "本人", "relation": "self", "phone": phone}, "channel": "web"})
    sender = new_sender("web")
    asked = texts(bot_stack.say(sender, "我的理赔到哪一步了"))
    assert "核验身份" in asked and reported["claim_no"] not in asked
    assert "好像不对" not in asked  # no ID number was given yet: nothing to call wrong
    assert "手机号码或保单号" in texts(bot_stack.say(sender, insured))
    wrong = texts(bot_stack.say(sender, "13000000000" if phone != "13000000000" else "13100000000"))
    assert "不一致" in wrong
    bot_stack.say(sender, insured)
    progress = texts(bot_stack.say(sender, phone))
    assert "身份核验通过" in progress
    assert f"理赔 {reported['claim_no']}：住院津贴" in progress, progress
    assert insured not in progress and phone not in progress
    again = texts(bot_stack.say(sender, "理赔进度怎么样了"))
    assert reported["claim_no"] in again

    db = db_of(bot_stack)
    with db.read() as s:
        binding = s.execute(select(ChannelBinding).where(
            ChannelBinding.user == sender.split(":")[1])).scalar_one()
        assert binding.channel == "web"
        assert binding.party_id == party(bot_stack, insured).id
    db.dispose()


def test_human_handoff_on_request_and_handback(bot_stack: BotStack) -> None:
    sender = new_sender("wechat")
    bot_stack.say(sender, "你好")
    replies = bot_stack.say(sender, "转人工")
    [handoff] = handoffs(replies)
    assert handoff["reason"] == "user_request"
    assert handoff["summary"]["text"] and "intent" in handoff["summary"]
    back = texts(bot_stack.say(sender, "/agent_handback"))
    assert "回来" in back


def test_two_fallbacks_in_a_row_hand_off(bot_stack: BotStack) -> None:
    sender = new_sender("web")
    first = bot_stack.say(sender, "/nlu_fallback")
    assert not handoffs(first) and "没太明白" in texts(first)
    [handoff] = handoffs(bot_stack.say(sender, "/nlu_fallback"))
    assert handoff["reason"] == "fallback"


def outbox_to(bot_stack: BotStack, recipient: str) -> list[Notification]:
    db = db_of(bot_stack)
    with db.read() as s:
        found = list(s.execute(select(Notification).where(
            Notification.recipient == recipient)).scalars())
        s.expunge_all()
    db.dispose()
    return found


def test_complaint_is_filed_with_the_complainants_name(bot_stack: BotStack) -> None:
    sender = new_sender("wechat")
    openid = sender.split(":")[1]
    first = bot_stack.say(sender, "我要投诉")
    replies = answer_form(bot_stack, sender, first, {
        "哪方面": "理赔太慢了", "发生了什么": "报案一个月了还没人联系我",
        "怎么处理": "希望尽快处理赔款", "怎么称呼": "我叫王秀英", "联系电话": "13811112222"})
    said = texts(replies)
    assert not handoffs(replies), said
    assert "15日内" in said and "138****2222" in said and "13811112222" not in said
    found = re.search(r"投诉编号 ([A-Z0-9]+)", said)
    assert found, said
    complaint = bot_stack.api("GET", f"/complaints/{found.group(1)}")
    assert complaint["complainant"] == {"name": "王秀英", "phone": "13811112222"}
    assert complaint["channel"] == "wechat" and complaint["category"] == "claim_delay"
    assert "一个月" in complaint["description"] and "尽快处理赔款" in complaint["description"]
    assert complaint["due_by"] in said  # the 15-day promise with its date
    db = db_of(bot_stack)
    with db.read() as s:
        row = s.execute(select(ComplaintRow).where(
            ComplaintRow.complaint_no == complaint["complaint_no"])).scalar_one()
        assert row.channel_user == openid
    db.dispose()
    # the desk reaches the customer where they wrote: the acknowledgment goes to the openid
    [ack] = outbox_to(bot_stack, openid)
    assert ack.channel == "wechat" and complaint["complaint_no"] in ack.text


def test_a_complaints_opening_words_stay_in_its_description(bot_stack: BotStack) -> None:
    sender = new_sender("web")
    first = bot_stack.say(sender, "一个多月了还没赔，投诉")
    replies = answer_form(bot_stack, sender, first, {
        "哪方面": "理赔慢", "发生了什么": "材料都交齐了一直说在审核",
        "怎么处理": "尽快赔付", "怎么称呼": "我叫陈丽华", "联系电话": "13811113333"})
    found = re.search(r"投诉编号 ([A-Z0-9]+)", texts(replies))
    assert found, texts(replies)
    complaint = bot_stack.api("GET", f"/complaints/{found.group(1)}")
    assert "一个多月了还没赔" in complaint["description"], complaint["description"]
    assert "一直说在审核" in complaint["description"]


def test_a_short_complaints_facts_stay_when_the_description_sounds_like_a_complaint(
        bot_stack: BotStack) -> None:
    """The opening's facts (too short to be the description) go before the description, and
    a description that reads as a complaint itself is still the answer to its question."""
    sender = new_sender("wechat")
    first = bot_stack.say(sender, "赔款拖了好久，投诉你们")
    replies = answer_form(bot_stack, sender, first, {
        "哪方面": "理赔太慢", "发生了什么": "你们太不负责了，打了五六次电话都说还在走流程",
        "怎么处理": "给个准确的到账时间", "怎么称呼": "我叫黄志强", "联系电话": "13811114444"})
    found = re.search(r"投诉编号 ([A-Z0-9]+)", texts(replies))
    assert found, texts(replies)
    complaint = bot_stack.api("GET", f"/complaints/{found.group(1)}")
    assert complaint["description"].startswith("赔款拖了好久"), complaint["description"]
    assert "走流程" in complaint["description"]


def test_home_visit_for_an_elderly_mother(bot_stack: BotStack) -> None:
    sender = new_sender("wechat")
    openid = sender.split(":")[1]
    first = bot_stack.say(sender, "我妈八十多了走不动路，能不能派人上门办理")
    replies = answer_form(bot_stack, sender, first, {
        "怎么称呼": "李桂兰", "联系电话": "13700001111",
        "详细地址": "潮南区峡山街道东里村三巷12号"})
    said = texts(replies)
    found = re.search(r"预约编号 ([A-Z0-9]+)", said)
    assert found, said
    assert "137****1111" in said and "13700001111" not in said
    visit = bot_stack.api("GET", f"/home-visits/{found.group(1)}")
    assert visit["status"] == "requested" and visit["channel"] == "wechat"
    assert (visit["name"], visit["phone"]) == ("李桂兰", "13700001111")
    assert visit["address"] == "潮南区峡山街道东里村三巷12号"
    db = db_of(bot_stack)
    with db.read() as s:
        row = s.execute(select(HomeVisit).where(
            HomeVisit.visit_no == visit["visit_no"])).scalar_one()
        assert row.channel_user == openid
    db.dispose()
    [ack] = outbox_to(bot_stack, openid)
    assert ack.channel == "wechat" and visit["visit_no"] in ack.text


def open_claim(bot_stack: BotStack, insured: str, days_ago: int = 15) -> dict[str, Any]:
    phone = party(bot_stack, insured).phone
    return dict(bot_stack.api("POST", "/claims", {
        "policy_no": bot_stack.seed["group_policy_no"], "insured_id_number": insured,
        "claim_type": "hospital_allowance",
        "incident_date": (datetime.now(SHANGHAI).date() - timedelta(days=days_ago)).isoformat(),
        "incident_place": "家里", "description": "在家摔倒住院",
        "reporter": {"name": "本人", "relation": "self", "phone": phone}, "channel": "wechat"}))


def discharge_summary(bot_stack: BotStack, insured: str, claim: dict[str, Any]) -> bytes:
    """A phone photo of the insured's discharge summary: in on the incident day, 10 days."""
    admitted = date.fromisoformat(claim["incident_date"])
    return discharge_photo(7, party(bot_stack, insured).name, admitted,
                           admitted + timedelta(days=10))


def test_document_sent_during_an_open_claim_is_read_and_confirmed(bot_stack: BotStack) -> None:
    insured, _, _ = bot_stack.member(0)
    claim = open_claim(bot_stack, insured)
    receipt = bot_stack.upload(claim["claim_no"], discharge_summary(bot_stack, insured, claim))
    sender = new_sender("wechat")
    said = texts(bot_stack.say(sender, "/document_uploaded" + json.dumps(
        {"claim_no": claim["claim_no"], "document_id": receipt["document_id"]})))
    discharged = date.fromisoformat(claim["incident_date"]) + timedelta(days=10)
    assert claim["claim_no"] in said and said.endswith("对吗？"), said
    assert f"出院日期{discharged.month}月{discharged.day}日" in said and "住院10天" in said
    assert party(bot_stack, insured).name not in said  # a name read off the page is masked
    assert "已确认" in texts(bot_stack.say(sender, "对的"))
    document = bot_stack.api(
        "GET", f"/claims/{claim['claim_no']}/documents/{receipt['document_id']}")
    assert document["doc_type"] == "discharge_summary"
    assert document["fields"]["discharge_date"]["value"] == discharged.isoformat()


def test_document_upload_without_an_open_claim(bot_stack: BotStack) -> None:
    sender = new_sender("wechat")
    said = texts(bot_stack.say(sender, '/document_uploaded{"claim_no": ""}'))
    assert "没有找到" in said and "报案" in said


def test_service_outlets_from_the_back_office(bot_stack: BotStack) -> None:
    outlets = bot_stack.api("GET", "/service-outlets")["items"]
    said = texts(bot_stack.say(new_sender("web"), "最近的服务网点在哪里"))
    if outlets:
        assert outlets[0]["name"] in said


def individual_policy(bot_stack: BotStack, seq: int, phone: str) -> tuple[str, str]:
    """(policy number, insured's ID number) of a PA-GUARD policy issued through the API."""
    insured = make_id_number("440514", date(1979, 6, 1), seq)
    filed = bot_stack.api("POST", "/applications", {
        "product_code": "PA-GUARD", "payment_mode": "single",
        "insured": {"name": "许文华", "id_number": insured, "phone": phone,
                    "occupation_class": 1},
        "health_declarations": {"hospitalised_now": False, "disability_existing": False,
                                "epilepsy": False, "hypertension": False, "diabetes": False},
        "coverages": [{"code": "accidental_death_disability", "sum_insured": "100000.00"}]})
    no = filed["application_no"]
    accepted = bot_stack.api("POST", f"/applications/{no}/underwriting", {})
    bot_stack.api("POST", f"/applications/{no}/payments",
                  {"amount": accepted["premium_schedule"][0]["amount"], "method": "wechat_pay"})
    return bot_stack.api("POST", f"/applications/{no}/issue", {})["policy_no"], insured


def test_beneficiary_change_becomes_an_endorsement_request(bot_stack: BotStack) -> None:
    policy_no, insured = individual_policy(bot_stack, 301, "13711112222")
    sender = new_sender("wechat")
    first = bot_stack.say(sender, "我要改受益人")
    replies = answer_form(bot_stack, sender, first, {
        "身份证号码": insured, "手机号码或保单号": "13711112222",
        "受益人姓名": "许晓婷", "什么关系": "我女儿"})
    said = texts(replies)
    assert "身份核验通过" in said and "申请编号 BQ" in said
    assert "许晓婷" not in said and "许**" in said and policy_no in said
    assert not handoffs(replies)
    request_no = said.split("申请编号 ")[1].split("：")[0]
    db = db_of(bot_stack)
    with db.read() as s:
        row = s.execute(select(EndorsementRequestRow).where(
            EndorsementRequestRow.request_no == request_no)).scalar_one()
        assert (row.policy_no, row.kind, row.status) == (policy_no, "change_beneficiary",
                                                         "submitted")
        assert row.details["beneficiaries"] == [
            {"name": "许晓婷", "relation": "child", "share_pct": 100}]
        assert (row.channel, row.channel_user) == ("wechat", sender.split(":")[1])
    db.dispose()


def test_contact_change_updates_the_party_phone(bot_stack: BotStack) -> None:
    _, insured = individual_policy(bot_stack, 303, "13733334444")
    sender = new_sender("web")
    first = bot_stack.say(sender, "我手机号变了")
    replies = answer_form(bot_stack, sender, first, {
        "身份证号码": insured, "手机号码或保单号": "13733334444",
        "新的手机号码": "13955556666", "新的联系地址": "不改"})
    said = texts(replies)
    assert "手机号改为 139****6666" in said and "13955556666" not in said
    assert party(bot_stack, insured).phone == "13955556666"


def _claims_of(bot_stack: BotStack, insured: str, states: list[dict[str, Any]]) -> list[str]:
    """Claims reported one after another, then put into the given states (a decision reached
    over weeks on the desk is written straight to the store)."""
    numbers = [open_claim(bot_stack, insured, days_ago=20 - i)["claim_no"]
               for i in range(len(states))]
    db = db_of(bot_stack)
    with db.transaction() as s:
        for claim_no, values in zip(numbers, states, strict=True):
            if values:
                row = s.execute(select(ClaimRow).where(ClaimRow.claim_no == claim_no)).scalar_one()
                for key, value in values.items():
                    setattr(row, key, value)
    db.dispose()
    return numbers


def _identified(bot_stack: BotStack, sender: str, insured: str, phone: str) -> str:
    """Ask the progress, prove who one is; the progress answer."""
    bot_stack.say(sender, "我的理赔到哪一步了")
    bot_stack.say(sender, insured)
    said = texts(bot_stack.say(sender, phone))
    assert "身份核验通过" in said, said
    return said


def test_a_rejected_claims_reasons_are_told(bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(30)
    [rejected] = _claims_of(bot_stack, insured, [
        {"status": "rejected", "rejection_reasons": ["住院原因为既往疾病，不属于意外伤害"],
         "rejected_on": datetime.now(SHANGHAI).date()}])
    said = _identified(bot_stack, new_sender("wechat"), insured, phone)
    assert rejected in said and "未予赔付" in said, said
    assert "原因：住院原因为既往疾病，不属于意外伤害" in said and "复核" in said
    assert "没有进行中的理赔" not in said and "如果需要报案" not in said
    assert insured not in said and phone not in said


def test_open_and_closed_claims_listed_newest_first(bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(31)
    closed, withdrawn, open_no = _claims_of(bot_stack, insured, [
        {"status": "closed", "approved_fen": 90000,
         "closed_on": datetime.now(SHANGHAI).date()},
        {"status": "withdrawn"}, {}])
    sender = new_sender("web")
    said = _identified(bot_stack, sender, insured, phone)
    assert open_no in said and closed in said and withdrawn not in said, said
    assert said.index(open_no) < said.index(closed)
    assert "已结案，赔付 900.00 元" in said
    # a claim number asked for by name: that claim only; someone else's is not found
    other = open_claim(bot_stack, bot_stack.member(32)[0])["claim_no"]
    asked = texts(bot_stack.say(sender, f"报案号 {other} 进度怎么样"))
    assert "没有找到" in asked and "在家摔倒" not in asked, asked


def test_a_complaints_status_is_told(bot_stack: BotStack) -> None:
    insured, name, phone = bot_stack.member(33)
    [claim_no] = _claims_of(bot_stack, insured, [{}])
    complaint = bot_stack.api("POST", "/complaints", {
        "channel": "phone", "category": "claims", "claim_no": claim_no,
        "complainant": {"name": name, "phone": phone}, "description": "理赔太慢"})
    said = _identified(bot_stack, new_sender("wechat"), insured, phone)
    assert complaint["complaint_no"] in said, said
    assert "理赔类投诉：已受理；等处理人员调查，预计" in said
    assert claim_no in said and phone not in said
