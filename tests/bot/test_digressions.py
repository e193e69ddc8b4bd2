"""Digressions inside every form, against the real Rasa server, action server and back office:
a question asked mid-form is answered and the form asks its pending question again, then
completes with the right data; 算了 ends the form with nothing kept or sent and no question
asked again; 转人工 hands off with what the form had collected in the summary agents see."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from sqlalchemy import func, select

from backoffice.store.models import (
    ChannelBinding,
    ClaimRow,
    ComplaintRow,
    EndorsementRequestRow,
    HomeVisit,
)
from tests.bot.test_conversations import handoffs, individual_policy, party, texts
from tests.bot_stack import AGREE, RASA_TOKEN, BotStack, asks_consent, new_sender

# what the forms ask (bot/domain.yml), by a part of the question
ASK_RELATION = "本人，还是您的家人"
ASK_INSURED_ID = "出险人（被保险人）的18位身份证号码"
ASK_PLACE = "事故发生在什么地方"
ASK_DESCRIPTION = "事情经过"
ASK_INJURY = "伤得怎么样"
ASK_HOSPITAL = "哪家医院"
ASK_REPORTER = "请问您怎么称呼"
ASK_CONTACT = "方便联系的手机号码"
ASK_CONFIRM = "信息对吗"
ASK_ID = "请告诉我被保险人（或投保人）的18位身份证号码"
ASK_PROOF = "手机号码或保单号"
# what the forms must never say to a question: it was taken as an answer
TAKEN_AS_ANSWER = ("好像不对", "请再说一遍", "没听清", "请告诉我您的姓名", "请说11位")


class Talk:
    """One user talking to the bot over Rasa's REST channel, as the router sends it."""

    def __init__(self, stack: BotStack, channel: str = "wechat") -> None:
        self.stack = stack
        self.sender = new_sender(channel)
        self.replies: list[dict[str, Any]] = []

    @property
    def user(self) -> str:
        return self.sender.split(":", 1)[1]

    def say(self, text: str) -> str:
        self.replies = self.stack.say(self.sender, text)
        return texts(self.replies)

    def fill(self, said: str, answers: dict[str, str], until: str | None = None,
             limit: int = 14) -> str:
        """Answer the questions by what they ask, until the question `until` (or none we
        know) is asked; what the bot said last."""
        for _ in range(limit):
            last = said.strip().splitlines()[-1] if said.strip() else ""
            if until and until in last:
                return said
            reply = next((a for key, a in answers.items() if key in last), None)
            if reply is None:
                return said
            said = self.say(reply)
        return said

    def slots(self) -> dict[str, Any]:
        url = (f"{self.stack.rasa_url}/conversations/{self.sender}/tracker?token={RASA_TOKEN}")
        with urllib.request.urlopen(url, timeout=60) as resp:
            return dict(json.loads(resp.read())["slots"])


def digress(talk: Talk, question: str, answered: str | None, asked_again: str) -> str:
    """A question mid-form: an answer (with `answered` in it, when the answer is this part's
    to say), then the pending question again, nothing else."""
    said = talk.say(question)
    assert asked_again in said.strip().splitlines()[-1], said
    first = texts(talk.replies[:1])
    assert asked_again not in first, said  # something was answered before the question
    if answered:
        assert answered in said and said.index(answered) < said.rindex(asked_again), said
    assert not any(w in said for w in TAKEN_AS_ANSWER), said
    assert not handoffs(talk.replies), said
    return said


def stopped(talk: Talk, text: str, *not_asked: str) -> str:
    """A stop mid-form: acknowledged once, no question of the form asked in the same turn."""
    said = talk.say(text)
    assert "已为您取消" in said and "没有保存" in said, said
    assert not any(q in said for q in not_asked), said
    assert "？" not in said, said
    assert not handoffs(talk.replies), said
    return said


class WebChat:
    """A web chat user through the platform (router, transcript, agents' queue)."""

    def __init__(self, stack: BotStack) -> None:
        self.stack = stack
        body = self._post("/chat/session", {}, None)
        self.user, self.token = str(body["user"]), str(body["token"])

    def _post(self, path: str, body: dict[str, Any], token: str | None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.stack.url(path), data=json.dumps(body).encode(),
                                     headers=headers)
        with urllib.request.urlopen(req, timeout=120) as resp:
            return dict(json.loads(resp.read()))

    def say(self, text: str) -> str:
        answer = self._post("/chat/messages", {"text": text}, self.token)
        self.state = answer["state"]
        said = "\n".join(str(m["text"]) for m in answer["messages"] if m.get("text"))
        return self.say(AGREE) if asks_consent(said) else said  # tests/bot_stack.py

    def fill(self, said: str, answers: dict[str, str], until: str) -> str:
        for _ in range(14):
            last = said.strip().splitlines()[-1] if said.strip() else ""
            if until in last:
                return said
            reply = next((a for key, a in answers.items() if key in last), None)
            assert reply is not None, said
            said = self.say(reply)
        raise AssertionError(said)

    def handed_off(self) -> dict[str, Any]:
        """The queued conversation as the agents' API shows it; its handoff summary."""
        queued = [c for c in self.stack.api("GET", "/conversations?state=queued")["items"]
                  if c["channel"] == "web" and c["user"] == self.user]
        assert len(queued) == 1, queued
        assert queued[0]["handoff_reason"] == "user_request"
        return dict(queued[0]["handoff_summary"])


def claims_of(stack: BotStack, id_number: str) -> list[dict[str, Any]]:
    return list(stack.api("GET", f"/claims?insured_id_number={id_number}")["items"])


def count(stack: BotStack, column: Any, value: str) -> int:
    db = stack.db()
    try:
        with db.read() as s:
            return int(s.execute(select(func.count()).where(column == value)).scalar_one())
    finally:
        db.dispose()


INCIDENT = {ASK_RELATION: "我妈", ASK_PLACE: "菜市场", ASK_DESCRIPTION: "买菜的时候踩到菜叶滑倒的",
            ASK_INJURY: "右手腕骨折了", ASK_HOSPITAL: "潮南区人民医院",
            ASK_REPORTER: "我是她女儿，叫林晓燕", ASK_CONTACT: "13922330001",
            "哪天": "今天"}


# ---- incident report ------------------------------------------------------------------------

def test_questions_inside_the_incident_report_are_answered_then_it_goes_on(
        bot_stack: BotStack) -> None:
    insured, _, _ = bot_stack.member(20)
    outlets = bot_stack.api("GET", "/service-outlets")["items"]
    talk = Talk(bot_stack)
    talk.fill(talk.say("我妈今天早上在菜市场摔倒了"), INCIDENT, until=ASK_INSURED_ID)
    # the case: a coverage question at the ID number's question
    digress(talk, "坐公交出事赔多少", None, ASK_INSURED_ID)
    digress(talk, "最近的服务网点在哪里", outlets[0]["name"], ASK_INSURED_ID)
    talk.fill(talk.say(insured), INCIDENT, until=ASK_INJURY)
    # a free-text question: its text is not taken as the injury
    digress(talk, "住院津贴要交什么材料", "出院小结", ASK_INJURY)
    talk.fill(talk.say("右手腕骨折了"), INCIDENT, until=ASK_HOSPITAL)
    digress(talk, "理赔流程是怎样的", "理赔流程", ASK_HOSPITAL)
    talk.fill(talk.say("潮南区人民医院"), INCIDENT, until=ASK_CONTACT)
    digress(talk, "保费怎么交", "交费方式", ASK_CONTACT)
    talk.fill(talk.say("13922330001"), INCIDENT, until=ASK_CONFIRM)
    # at the read-back: answered, then the whole read-back again
    again = digress(talk, "我的理赔到哪一步了", "核验身份", ASK_CONFIRM)
    assert "右手腕骨折了" in again and "交什么材料" not in again
    done = talk.say("对")
    assert "报案成功" in done, done
    claim_no = done.split("报案号是 ")[1].split("，")[0]

    claim = bot_stack.api("GET", f"/claims/{claim_no}")
    assert claim["claim_type"] == "hospital_allowance" and claim["channel"] == "wechat"
    assert "菜市场" in claim["incident_place"]
    db = bot_stack.db()
    try:
        with db.read() as s:
            row = s.execute(select(ClaimRow).where(ClaimRow.claim_no == claim_no)).scalar_one()
            facts = f"{row.description}{row.incident_place}"
            assert (row.reporter_name, row.reporter_phone) == ("林晓燕", "13922330001")
    finally:
        db.dispose()
    for question in ("赔多少", "网点", "材料", "流程", "交费", "保费", "进度"):
        assert question not in facts, facts
    assert "右手腕骨折了" in facts and "潮南区人民医院" in facts
    [mine] = claims_of(bot_stack, insured)
    assert mine["claim_no"] == claim_no


def test_a_stop_inside_the_incident_report_keeps_nothing(bot_stack: BotStack) -> None:
    insured, _, _ = bot_stack.member(21)
    talk = Talk(bot_stack)
    talk.fill(talk.say("我爸昨天在村口骑车摔倒了"), {**INCIDENT, ASK_RELATION: "我爸"},
              until=ASK_INSURED_ID)
    assert ASK_HOSPITAL in talk.fill(talk.say(insured), INCIDENT, until=ASK_HOSPITAL)
    stopped(talk, "算了，不报了", ASK_HOSPITAL, ASK_INSURED_ID, "身份证")
    slots = talk.slots()
    for name in ("relation", "insured_id_number", "incident_date", "incident_place",
                 "description", "injury", "requested_slot", "pending_action"):
        assert slots[name] is None, (name, slots[name])
    assert claims_of(bot_stack, insured) == []
    # the form is over: the next answer is not taken for its question
    after = talk.say("潮南区人民医院")
    assert ASK_CONTACT not in after and "报案成功" not in after
    assert claims_of(bot_stack, insured) == []
    # a new report starts from nothing: none of the stopped one's answers is kept
    assert ASK_INSURED_ID in talk.say("我要报案")
    slots = talk.slots()
    assert (slots["incident_place"], slots["injury"], slots["insured_id_number"]) == \
        (None, None, None)


def test_stop_at_the_read_back_sends_nothing(bot_stack: BotStack) -> None:
    insured, _, _ = bot_stack.member(22)
    talk = Talk(bot_stack)
    said = talk.fill(talk.say("我妈今天早上在菜市场摔倒了"),
                     {**INCIDENT, ASK_INSURED_ID: insured}, until=ASK_CONFIRM)
    assert ASK_CONFIRM in said
    stopped(talk, "取消吧", ASK_CONFIRM)
    assert "报案成功" not in talk.say("对")
    assert claims_of(bot_stack, insured) == []


def test_handoff_inside_the_incident_report_carries_what_was_said(bot_stack: BotStack) -> None:
    insured, _, _ = bot_stack.member(23)
    chat = WebChat(bot_stack)
    chat.fill(chat.say("我妈今天早上在菜市场摔倒了"), {**INCIDENT, ASK_INSURED_ID: insured},
              until=ASK_HOSPITAL)
    handed = chat.say("转人工")
    assert "人工客服" in handed and chat.state == "queued"
    assert "好像不对" not in handed and ASK_HOSPITAL not in handed
    summary = chat.handed_off()
    slots = summary["slots"]
    assert summary["form"] == "incident_form" and summary["requested_slot"] == "hospital"
    assert "报案中途" in summary["text"]
    assert slots["relation"] == "parent" and slots["incident_place"] == "菜市场"
    assert slots["description"] == "我妈今天早上在菜市场摔倒了"  # the opening sentence
    assert slots["injury"] == "右手腕骨折了" and slots["incident_date"]
    assert slots["insured_id_number"] != insured  # masked as everywhere
    assert slots["insured_id_number"][:6] == insured[:6]
    assert slots["insured_id_number"][-4:] == insured[-4:]
    assert claims_of(bot_stack, insured) == []


def test_giving_up_for_a_person_hands_off_with_what_was_said(bot_stack: BotStack) -> None:
    insured, _, _ = bot_stack.member(49)
    chat = WebChat(bot_stack)
    chat.fill(chat.say("我妈今天早上在菜市场摔倒了"), {**INCIDENT, ASK_INSURED_ID: insured},
              until=ASK_HOSPITAL)
    handed = chat.say("算了，你帮我转人工吧")  # a stop's words, but a person is asked for
    assert "人工客服" in handed and chat.state == "queued", handed
    summary = chat.handed_off()
    assert summary["slots"]["incident_place"] == "菜市场"
    assert claims_of(bot_stack, insured) == []


def test_giving_up_a_complaint_for_a_person_in_other_words_hands_off(
        bot_stack: BotStack) -> None:
    """However the words are classified (a stop, 转人工, or neither for sure), a person asked
    for is a handoff, not an answer to the question pending."""
    chat = WebChat(bot_stack)
    chat.fill(chat.say("我要投诉"), COMPLAINT, until="怎么称呼您")
    handed = chat.say("不弄了，还是给我接个客服吧")
    assert "人工客服" in handed and chat.state == "queued", handed
    summary = chat.handed_off()
    assert summary["slots"]["complaint_outcome"] == "希望尽快处理赔款"
    assert "complainant_name" not in summary["slots"]
    assert count(bot_stack, ComplaintRow.channel_user, chat.user) == 0


def test_handoff_at_the_id_question_is_not_an_id_number(bot_stack: BotStack) -> None:
    """Before: 转人工 at the ID number's question was answered "身份证号码好像不对"."""
    talk = Talk(bot_stack)
    talk.fill(talk.say("我妈今天早上在菜市场摔倒了"), INCIDENT, until=ASK_INSURED_ID)
    said = talk.say("转人工")
    [handoff] = handoffs(talk.replies)
    assert "好像不对" not in said and ASK_INSURED_ID not in said
    assert handoff["summary"]["slots"]["relation"] == "parent"
    assert handoff["summary"]["requested_slot"] == "insured_id_number"
    # handed back, the bot does not resume the form: an answer now fills nothing
    assert "回来" in talk.say("/agent_handback")
    talk.say("潮南区人民医院")
    slots = talk.slots()
    assert (slots["relation"], slots["hospital"], slots["requested_slot"]) == (None, None, None)


def test_odd_questions_and_stops(bot_stack: BotStack) -> None:
    """A question with emoji and repeated marks, the same question three times, a stop at the
    very first question, a stop typed as an intent outside any form."""
    outlets = bot_stack.api("GET", "/service-outlets")["items"]
    talk = Talk(bot_stack)
    first = talk.say("老人行动不便，想预约上门服务")
    assert "怎么称呼" in first
    for _ in range(3):
        digress(talk, "网点在哪？？😀", outlets[0]["name"], "怎么称呼")
    stopped(talk, "算了", "怎么称呼")
    assert count(bot_stack, HomeVisit.channel_user, talk.user) == 0
    idle = talk.say("/stop")
    assert "随时找我" in idle and "已为您取消" not in idle and "？" not in idle


# ---- identification ---------------------------------------------------------------------------

def test_questions_inside_identification_then_the_question_it_was_for(
        bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(24)
    outlets = bot_stack.api("GET", "/service-outlets")["items"]
    talk = Talk(bot_stack, "web")
    assert ASK_ID in talk.say("我的理赔到哪一步了")
    digress(talk, "最近的服务网点在哪里", outlets[0]["name"], ASK_ID)
    digress(talk, "理赔要什么材料", "出院小结", ASK_ID)
    assert ASK_PROOF in talk.say(insured)
    # another personal question while identifying: answered once identified
    digress(talk, "我的保单还有效吗", "核验身份后", ASK_PROOF)
    done = talk.say(phone)
    assert "身份核验通过" in done and "您名下的保单" in done, done
    assert bot_stack.seed["group_policy_no"] in done
    assert talk.slots()["identified"] is True
    db = bot_stack.db()
    try:
        with db.read() as s:
            bound = s.execute(select(ChannelBinding).where(
                ChannelBinding.user == talk.user)).scalar_one()
            assert (bound.channel, bound.party_id) == ("web", party(bot_stack, insured).id)
    finally:
        db.dispose()


def test_a_stop_inside_identification_does_not_ask_again(bot_stack: BotStack) -> None:
    """Before: "算了不查了" was acknowledged and the ID question asked again in the same turn."""
    insured, _, phone = bot_stack.member(25)
    talk = Talk(bot_stack, "web")
    assert ASK_ID in talk.say("我的理赔到哪一步了")
    assert ASK_PROOF in talk.say(insured)
    stopped(talk, "算了不查了", "身份证", ASK_PROOF)
    slots = talk.slots()
    assert (slots["id_number"], slots["pending_action"], slots["identified"]) == \
        (None, None, False)
    # the phone given afterwards identifies no one and answers nothing personal
    after = talk.say(phone)
    assert "身份核验通过" not in after and "当前进度" not in after
    assert talk.slots()["identified"] is False


def test_handoff_inside_identification_masks_the_id_number(bot_stack: BotStack) -> None:
    insured, _, _ = bot_stack.member(26)
    chat = WebChat(bot_stack)
    assert ASK_ID in chat.say("帮我查一下保单")
    assert ASK_PROOF in chat.say(insured)
    chat.say("转人工")
    summary = chat.handed_off()
    assert summary["form"] == "identify_form"
    assert summary["requested_slot"] == "identity_proof"
    assert summary["slots"]["id_number"][-4:] == insured[-4:]
    assert insured not in json.dumps(summary)


# ---- complaint ----------------------------------------------------------------------------------

COMPLAINT = {"哪方面": "理赔太慢了", "发生了什么": "报案一个月了还没人联系我",
             "怎么处理": "希望尽快处理赔款", "怎么称呼您": "我叫陈美玲", "联系电话": "13811110021"}


def test_questions_inside_a_complaint_then_it_is_filed(bot_stack: BotStack) -> None:
    talk = Talk(bot_stack)
    talk.fill(talk.say("我要投诉"), COMPLAINT, until="发生了什么")
    digress(talk, "理赔要什么材料", "出院小结", "发生了什么")
    talk.fill(talk.say("报案一个月了还没人联系我"), COMPLAINT, until="怎么处理")
    digress(talk, "理赔流程是怎样的", "理赔流程", "怎么处理")
    said = talk.fill(talk.say("希望尽快处理赔款"), COMPLAINT)
    assert "投诉编号" in said, said
    complaint_no = said.split("投诉编号 ")[1].split("。")[0]
    complaint = bot_stack.api("GET", f"/complaints/{complaint_no}")
    assert complaint["category"] == "claim_delay"
    assert complaint["complainant"] == {"name": "陈美玲", "phone": "13811110021"}
    assert "一个月" in complaint["description"] and "尽快处理赔款" in complaint["description"]
    assert "材料" not in complaint["description"] and "流程" not in complaint["description"]


def test_a_stop_inside_a_complaint_files_nothing(bot_stack: BotStack) -> None:
    talk = Talk(bot_stack)
    talk.fill(talk.say("我要投诉"), COMPLAINT, until="怎么称呼您")
    stopped(talk, "不投诉了", "怎么称呼您", "联系电话")
    assert count(bot_stack, ComplaintRow.channel_user, talk.user) == 0
    assert talk.slots()["complaint_description"] is None


def test_handoff_inside_a_complaint_carries_what_was_said(bot_stack: BotStack) -> None:
    chat = WebChat(bot_stack)
    chat.fill(chat.say("我要投诉"), COMPLAINT, until="联系电话")
    chat.say("转人工")
    summary = chat.handed_off()
    assert summary["form"] == "complaint_form"
    assert summary["slots"]["complaint_category"] == "claim_delay"
    assert summary["slots"]["complaint_description"] == "报案一个月了还没人联系我"
    assert summary["slots"]["complaint_outcome"] == "希望尽快处理赔款"
    assert summary["slots"]["complainant_name"] == "陈美玲"
    assert count(bot_stack, ComplaintRow.channel_user, chat.user) == 0


# ---- contact change ---------------------------------------------------------------------------

def test_a_question_inside_a_contact_change_then_the_phone_is_changed(
        bot_stack: BotStack) -> None:
    _, insured = individual_policy(bot_stack, 311, "13733330311")
    outlets = bot_stack.api("GET", "/service-outlets")["items"]
    talk = Talk(bot_stack, "web")
    answers = {"身份证号码": insured, ASK_PROOF: "13733330311", "新的联系地址": "不改"}
    talk.fill(talk.say("我手机号变了"), answers, until="新的手机号码")
    digress(talk, "网点在哪", outlets[0]["name"], "新的手机号码")
    said = talk.fill(talk.say("13955550311"), answers)
    assert "手机号改为 139****0311" in said, said
    assert party(bot_stack, insured).phone == "13955550311"


def test_a_stop_inside_a_contact_change_changes_nothing(bot_stack: BotStack) -> None:
    _, insured = individual_policy(bot_stack, 312, "13733330312")
    talk = Talk(bot_stack, "web")
    answers = {"身份证号码": insured, ASK_PROOF: "13733330312"}
    talk.fill(talk.say("我要改手机号"), answers, until="新的手机号码")
    assert "新的联系地址" in talk.say("13955550312")  # the new phone given, not yet saved
    stopped(talk, "先不办了", "新的联系地址")
    assert party(bot_stack, insured).phone == "13733330312"
    assert talk.slots()["new_phone"] is None
    assert talk.slots()["identified"] is True  # identification made stays


def test_handoff_inside_a_contact_change_masks_the_new_phone(bot_stack: BotStack) -> None:
    _, insured = individual_policy(bot_stack, 313, "13733330313")
    chat = WebChat(bot_stack)
    answers = {"身份证号码": insured, ASK_PROOF: "13733330313", "新的手机号码": "13955550313"}
    chat.fill(chat.say("我手机号变了"), answers, until="新的联系地址")
    chat.say("转人工")
    summary = chat.handed_off()
    assert summary["form"] == "contact_form"
    assert summary["slots"]["new_phone"] == "139****0313"
    assert "13955550313" not in json.dumps(summary)
    assert party(bot_stack, insured).phone == "13733330313"


# ---- beneficiary change -----------------------------------------------------------------------

def test_a_question_inside_a_beneficiary_change_then_the_request_is_made(
        bot_stack: BotStack) -> None:
    policy_no, insured = individual_policy(bot_stack, 314, "13733330314")
    talk = Talk(bot_stack)
    answers = {"身份证号码": insured, ASK_PROOF: "13733330314", "受益人姓名": "许晓婷"}
    talk.fill(talk.say("我要改受益人"), answers, until="什么关系")
    digress(talk, "退保怎么办理", "退保", "什么关系")
    said = talk.say("我女儿")
    assert "申请编号 BQ" in said, said
    request_no = said.split("申请编号 ")[1].split("：")[0]
    db = bot_stack.db()
    try:
        with db.read() as s:
            row = s.execute(select(EndorsementRequestRow).where(
                EndorsementRequestRow.request_no == request_no)).scalar_one()
            assert (row.policy_no, row.status) == (policy_no, "submitted")
            assert row.details["beneficiaries"][0]["name"] == "许晓婷"
            assert row.details["beneficiaries"][0]["relation"] == "child"
    finally:
        db.dispose()


def test_a_stop_inside_a_beneficiary_change_requests_nothing(bot_stack: BotStack) -> None:
    policy_no, insured = individual_policy(bot_stack, 315, "13733330315")
    talk = Talk(bot_stack)
    answers = {"身份证号码": insured, ASK_PROOF: "13733330315", "受益人姓名": "许晓婷"}
    talk.fill(talk.say("我要改受益人"), answers, until="什么关系")
    stopped(talk, "受益人先不改了", "什么关系")
    assert count(bot_stack, EndorsementRequestRow.policy_no, policy_no) == 0
    assert talk.slots()["beneficiary_name"] is None


def test_handoff_inside_a_beneficiary_change_carries_the_name(bot_stack: BotStack) -> None:
    policy_no, insured = individual_policy(bot_stack, 316, "13733330316")
    chat = WebChat(bot_stack)
    answers = {"身份证号码": insured, ASK_PROOF: "13733330316", "受益人姓名": "许晓婷"}
    chat.fill(chat.say("我要改受益人"), answers, until="什么关系")
    chat.say("转人工")
    summary = chat.handed_off()
    assert summary["form"] == "beneficiary_form"
    assert summary["slots"]["beneficiary_name"] == "许晓婷"
    assert count(bot_stack, EndorsementRequestRow.policy_no, policy_no) == 0


# ---- home visit -------------------------------------------------------------------------------

VISIT = {"怎么称呼": "李桂兰", "联系电话": "13700000041",
         "详细地址": "潮南区峡山街道东里村三巷12号"}


def test_a_question_inside_a_home_visit_booking_then_it_is_booked(bot_stack: BotStack) -> None:
    talk = Talk(bot_stack)
    talk.fill(talk.say("我妈八十多了走不动路，能不能派人上门办理"), VISIT, until="联系电话")
    digress(talk, "理赔流程是怎样的", "理赔流程", "联系电话")
    said = talk.fill(talk.say("13700000041"), VISIT)
    assert "预约编号" in said, said
    visit_no = said.split("预约编号 ")[1].split("。")[0]
    visit = bot_stack.api("GET", f"/home-visits/{visit_no}")
    assert (visit["name"], visit["phone"]) == ("李桂兰", "13700000041")
    assert visit["address"] == "潮南区峡山街道东里村三巷12号"


def test_a_stop_inside_a_home_visit_booking_books_nothing(bot_stack: BotStack) -> None:
    talk = Talk(bot_stack)
    talk.fill(talk.say("老人行动不便，想预约上门服务"), VISIT, until="详细地址")
    stopped(talk, "上门的事算了", "详细地址")
    assert count(bot_stack, HomeVisit.channel_user, talk.user) == 0
    slots = talk.slots()
    assert (slots["visit_name"], slots["visit_phone"]) == (None, None)


def test_handoff_inside_a_home_visit_booking_carries_name_and_phone(bot_stack: BotStack) -> None:
    chat = WebChat(bot_stack)
    chat.fill(chat.say("老人行动不便，想预约上门服务"), VISIT, until="详细地址")
    chat.say("转人工")
    summary = chat.handed_off()
    assert summary["form"] == "home_visit_form"
    assert summary["slots"]["visit_name"] == "李桂兰"
    assert summary["slots"]["visit_phone"] == "137****0041"
    assert count(bot_stack, HomeVisit.channel_user, chat.user) == 0


# ---- answers that only look like questions ----------------------------------------------------

def test_answers_classified_as_questions_still_answer_the_form(bot_stack: BotStack) -> None:
    """A complaint's description the NLU reads as a progress question (no question word, not
    sure) is the description; the form goes on."""
    talk = Talk(bot_stack)
    talk.fill(talk.say("我要投诉"), COMPLAINT, until="发生了什么")
    assert "怎么处理" in talk.say("报案一个月了还没人联系我")
    assert talk.slots()["complaint_description"] == "报案一个月了还没人联系我"
