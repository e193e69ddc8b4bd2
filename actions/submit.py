"""Starting and submitting the incident report, the complaint and the home visit."""

from __future__ import annotations

import hashlib
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import claim_types as kinds
from actions import cover, product_answers
from actions import policy_choice as choice
from actions import transport as script
from actions.backoffice import ApiError, BackofficeDown
from actions.common import (
    apologize_down,
    channel_user,
    client,
    handoff,
    is_angry,
    mask_phone,
    on_phone,
    public_product_code,
    text_of,
)
from actions.ear import DOCUMENTS_BY_EAR, grouped_phone
from actions.forms import (
    CATEGORY_NAMES,
    incident_summary,
    is_masked,
    policy_choices,
    script_slots,
    transport_case,
)

INCIDENT_SLOTS = ("relation", "insured_id_number", "incident_date", "incident_place",
                  "description", "injury", "hospital", "claim_type", "reporter_name",
                  "contact_phone", "incident_confirmed", "claim_policy_no",
                  *script.SCRIPT_SLOTS)
COMPLAINT_SLOTS = ("complaint_category", "complaint_description", "complaint_outcome",
                   "complainant_name", "complainant_phone")
VISIT_SLOTS = ("visit_name", "visit_phone", "visit_address")
_OPEN_POLICY = ("in_force", "premium_due", "grace_period")


class ActionStartIncident(Action):
    def name(self) -> str:
        return "action_start_incident"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = text_of(tracker)
        if await answered_how_to_report(dispatcher, text):
            return [FollowupAction("action_listen")]  # a question, not a report: no form
        if product_answers.asks_about_cover(text):  # "没住院，医药费能报吗": answered first
            await answer_from_product(dispatcher, text)
        if product_answers.asks_where_to_report(text):
            dispatcher.utter_message(text="在这里就可以报案，我来帮您，问您几个问题。"
                                          "（也可以拨打客服热线或到就近服务网点办理。）")
        else:
            dispatcher.utter_message(text="别着急，我来帮您报案，问您几个问题。")
        return [SlotSet(s, None) for s in INCIDENT_SLOTS]


async def answer_from_product(dispatcher: CollectingDispatcher, text: str) -> None:
    """The public answer to the question asked with the report; none when the product
    cannot be read (the report goes on regardless)."""
    try:
        product = await client().product(public_product_code())
    except (BackofficeDown, ApiError):
        return
    dispatcher.utter_message(text=product_answers.answer(product, text))


async def answered_how_to_report(dispatcher: CollectingDispatcher, text: str) -> bool:
    """"怎么报案" asks how, from the product (the time bar); it tells no incident. When the
    product cannot be read, the report itself starts: a report is never held up."""
    if not product_answers.asks_how_to_report(text):
        return False
    try:
        product = await client().product(public_product_code())
    except (BackofficeDown, ApiError):
        return False
    dispatcher.utter_message(text=product_answers.report(product, text))
    return True


class ActionAskIncidentConfirmed(Action):
    def name(self) -> str:
        return "action_ask_incident_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if on_phone(tracker):  # numbers whole and grouped: the caller checks what was heard
            dispatcher.utter_message(text=f"我核对一下：{incident_summary(tracker, ear=True)}。"
                                          "\n信息对吗？对的话请说“对”，要更正请直接说。")
            return []
        dispatcher.utter_message(text=f"我核对一下：{incident_summary(tracker)}。\n信息对吗？"
                                      "对的话请回复“对”，需要更正请直接说，比如“不对，是10月3号”。")
        return []


class ActionAskClaimType(Action):
    """Asked when the words do not decide a covered type: the covered types as the options
    (buttons where the channel shows them, and always in words for the phone)."""

    def name(self) -> str:
        return "action_ask_claim_type"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        covered = await cover.covered_types(tracker, tracker.get_slot("insured_id_number"))
        buttons = [{"title": kinds.CLAIM_TYPE_NAMES[t], "payload": kinds.CLAIM_TYPE_NAMES[t]}
                   for t in kinds.options(covered)]
        dispatcher.utter_message(text=f"请问出险人是哪种情况：{kinds.options_text(covered)}"
                                      "可以直接说，比如“住院了”或“伤残”。", buttons=buttons)
        return []


class ActionAskClaimPolicyNo(Action):
    """Several policies pay for the claim: which one, by product name and period."""

    def name(self) -> str:
        return "action_ask_claim_policy_no"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        offered = await policy_choices(tracker)
        buttons = [{"title": f"第{i}份：{choice.name_of(p)}", "payload": f"第{i}份"}
                   for i, p in enumerate(offered, 1)]
        dispatcher.utter_message(text=f"出险人名下有 {len(offered)} 份保单都保这种情况：\n"
                                      f"{choice.choices_text(offered)}\n"
                                      "请问这次用哪一份报案？请说序号，比如“第一份”。",
                                 buttons=buttons)
        return []


def claim_type(tracker: Tracker) -> str:
    """The type the form settled; for an older conversation without it, what the words say."""
    chosen = tracker.get_slot("claim_type")
    if chosen in kinds.CLAIM_TYPE_NAMES:
        return str(chosen)
    said = "；".join(str(tracker.get_slot(s) or "") for s in ("description", "injury"))
    return kinds.guess(said, kinds.ALL_TYPES, tracker.get_slot("hospital")) or "medical"


def claim_body(tracker: Tracker, policy_no: str) -> dict[str, Any]:
    channel, user = channel_user(tracker)
    g = tracker.get_slot
    relation = g("relation") or "other"
    injury = g("injury") or ""
    hospital = g("hospital") or ""
    insured: dict[str, Any] = {"insured_id_number": g("insured_id_number")}
    if is_masked(g("insured_id_number")):  # known from the binding, not said in this chat
        insured = {"insured": {"channel": channel, "user": user}}
    # the call script's answers: the back office lists the accident report, photos, ticket
    facts = script.facts_of({s: g(s) for s in script_slots(tracker)}) \
        if transport_case(tracker) else {}
    return {
        "policy_no": policy_no,
        **insured,
        **({"facts": facts} if facts else {}),
        "claim_type": claim_type(tracker),
        "incident_date": g("incident_date"),
        "incident_place": (g("incident_place") or "")[:200],
        "description": f"{g('description') or ''}；伤情：{injury}；就医：{hospital}"[:1000],
        "reporter": {"name": "本人" if relation == "self" else (g("reporter_name") or "家属"),
                     "relation": relation, "phone": g("contact_phone")},
        "channel": channel if channel in ("wechat", "ivr", "web") else "web",
    }


class ActionSubmitIncident(Action):
    """报案: POST /api/v1/claims, the report number read back, missing documents listed once."""

    def name(self) -> str:
        return "action_submit_incident"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        reset = [SlotSet(s, None) for s in INCIDENT_SLOTS]
        insured = tracker.get_slot("insured_id_number")
        try:
            policies = [p for p in await cover.policies_of_insured(tracker, insured)
                        if p.get("status") in _OPEN_POLICY] if insured else []
            # the one the user chose among several, else one that pays for the type
            paying = await policy_choices(tracker)
            picked = tracker.get_slot("claim_policy_no")
            policies = ([p for p in paying if p.get("policy_no") == picked] or paying
                        or policies)
            if not policies:
                dispatcher.utter_message(text="没有查到出险人名下有效的保单，已为您转接人工客服核实，报案信息已转交，不用重复说明。")
                handoff(dispatcher, tracker, "unsure", "客户报案但未查到有效保单："
                                                       f"{incident_summary(tracker)}")
                return reset
            body = claim_body(tracker, str(policies[0]["policy_no"]))
            key = "bot-" + hashlib.sha256(
                f"{tracker.sender_id}|{sorted(body.items())}".encode()).hexdigest()[:40]
            claim = await client().report_claim(body, key)
        except BackofficeDown:
            apologize_down(dispatcher, tracker, f"报案（{incident_summary(tracker)}）")
            return reset
        except ApiError as e:
            dispatcher.utter_message(text=f"报案没有成功：{e.message}。已为您转接人工客服继续办理。")
            handoff(dispatcher, tracker, "unsure", f"报案被后台拒绝（{e.code}）："
                                                   f"{incident_summary(tracker)}")
            return reset
        claim_no = claim.get("claim_no")
        ear = on_phone(tracker)
        phone = str(body["reporter"]["phone"] or "")
        text = (f"报案成功，您的报案号是 {claim_no}，请记好。"
                f"理赔人员会通过 {grouped_phone(phone) if ear else mask_phone(phone)} 联系您。")
        missing = claim.get("missing_documents") or []
        if missing:
            names = "\n".join(f"{i}. {m.get('name')}" for i, m in enumerate(missing, 1))
            how = DOCUMENTS_BY_EAR if ear else "可以直接拍照发给我，我会附到这个理赔里。"
            text += f"\n请准备以下材料（一次性告知）：\n{names}\n{how}"
        dispatcher.utter_message(text=text)
        return [*reset, SlotSet("claim_no", claim_no), SlotSet("policy_no", body["policy_no"])]


class ActionStartComplaint(Action):
    def name(self) -> str:
        return "action_start_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if is_angry(text_of(tracker)):
            dispatcher.utter_message(text="非常抱歉让您这么生气，马上为您转接人工客服处理。")
            handoff(dispatcher, tracker, "anger", "客户情绪激动，要求投诉")
            return []
        from rasa_sdk.events import FollowupAction

        return [*(SlotSet(s, None) for s in COMPLAINT_SLOTS), FollowupAction("complaint_form")]


class ActionSubmitComplaint(Action):
    """POST /api/v1/complaints (built by the desk part); its absence ends in a handoff."""

    def name(self) -> str:
        return "action_submit_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        g = tracker.get_slot
        channel, user = channel_user(tracker)
        # the channel user lets the desk answer the customer where they wrote (WeChat openid)
        body: dict[str, Any] = {
            "channel": channel if channel in ("wechat", "ivr", "web") else "web", "user": user,
            "complainant": {"name": g("complainant_name") or "客户",
                            "phone": g("complainant_phone")},
            "category": g("complaint_category") or "other",
            "description": f"{g('complaint_description') or ''}；诉求："
                           f"{g('complaint_outcome') or ''}"[:2000],
        }
        if g("claim_no"):
            body["claim_no"] = g("claim_no")
        if g("policy_no"):
            body["policy_no"] = g("policy_no")
        reset = [SlotSet(s, None) for s in COMPLAINT_SLOTS]
        note = (f"客户投诉（{CATEGORY_NAMES.get(body['category'], '其他')}）："
                f"{g('complaint_description')}；诉求：{g('complaint_outcome')}")
        try:
            done = await client().post("/complaints", body)
        except (BackofficeDown, ApiError):
            dispatcher.utter_message(text="非常抱歉，投诉暂时无法自动登记，已为您转接人工客服，您说的内容已转交，不用重复。")
            handoff(dispatcher, tracker, "complaint", note)
            return reset
        due = done.get("due_by")
        dispatcher.utter_message(text=f"您的投诉已登记，投诉编号 {done.get('complaint_no')}。"
                                      "我们会在15日内处理并答复您"
                                      f"{f'（最迟 {due}）' if due else ''}，处理人员会通过 "
                                      f"{mask_phone(g('complainant_phone'))} 联系您。")
        return reset


class ActionSubmitHomeVisit(Action):
    """POST /api/v1/home-visits (built by the desk part); its absence ends in a handoff."""

    def name(self) -> str:
        return "action_submit_home_visit"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        g = tracker.get_slot
        channel, user = channel_user(tracker)
        body = {"channel": channel if channel in ("wechat", "ivr", "web") else "web",
                "user": user, "name": g("visit_name"), "phone": g("visit_phone"),
                "address": g("visit_address"),
                "reason": "客户通过小保预约上门服务"}
        reset = [SlotSet(s, None) for s in VISIT_SLOTS]
        try:
            done = await client().post("/home-visits", body)
        except (BackofficeDown, ApiError):
            dispatcher.utter_message(text="非常抱歉，上门预约暂时无法自动登记，已为您转接人工客服安排。")
            handoff(dispatcher, tracker, "unsure", f"客户预约上门服务，地址：{g('visit_address')}")
            return reset
        dispatcher.utter_message(text=f"已为您预约上门服务，预约编号 {done.get('visit_no')}。"
                                      "工作人员会在24小时内"
                                      f"联系 {mask_phone(g('visit_phone'))}，48小时内上门。")
        return reset
