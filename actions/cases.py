"""The customer's own claim steps in the chat: withdrawal (撤案), the payout bank account
(收款账户, typed or read from a bank card photo) and the appeal of a rejection (复核).

One form, `case_form`, for the three: the journey (`case_kind`) decides what it asks — which
claim (only the customer's own that allow the step), then the account or the reasons, then a
read-back to confirm. Identification first, as for progress. The step itself is the back
office's (/channel/claims/{claim_no}/withdrawal, …/bank-account, /channel/appeals): the bot
only reads back, masked, what the customer said.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.actions import Binding, PersonalAction, personal
from actions.backoffice import ApiError, BackofficeDown
from actions.bank_cards import card_in, mask_card
from actions.common import (
    CLAIM_RE,
    apologize_down,
    channel_user,
    client,
    entity,
    intent_of,
    text_of,
)
from actions.consent import AsksConsent
from actions.forms import AnswersOnly, free_answer, requested

Slots = dict[str, Any]
WITHDRAW, BANK_ACCOUNT, APPEAL = "withdraw", "bank_account", "appeal"
KIND_NAMES = {WITHDRAW: "撤案", BANK_ACCOUNT: "设置收款账户", APPEAL: "申请复核"}
# the claims each journey can act on, by status (backoffice.domain.claim)
_STEP_STATUSES = {
    WITHDRAW: ("reported", "registered", "documents_pending", "under_review", "investigating"),
    BANK_ACCOUNT: ("reported", "registered", "documents_pending", "under_review",
                   "investigating", "adjudicated", "pending_approval", "approved"),
    APPEAL: ("rejected",),
}
_NONE_TEXT = {
    WITHDRAW: "您名下没有可以撤案的理赔（已审批、已赔付、已结案或已拒赔的案件不能撤案）。",
    BANK_ACCOUNT: "您名下没有需要设置收款账户的进行中理赔。",
    APPEAL: "您名下近两年没有被拒赔的理赔，不需要申请复核。",
}
CASE_SLOTS = ("case_kind", "case_choices", "case_claim_no", "case_account", "case_document_id",
              "case_account_masked", "case_reasons", "case_confirmed")
_ORDINALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_ORDINAL_RE = re.compile(r"^(?:第)?\s*([1-5一二两三四五])\s*(?:个|件|条|号)?$")
_MIN_REASONS = 4  # characters of the customer's own reasons
_NO_FIRST = re.compile(r"^\s*(不是|不对|不要|不用|不了|别|算了|再想想|我再想想)")
_YES_FIRST = re.compile(r"^\s*(是|对|好|确认|没错|嗯|可以|行)")


# ---- starting a journey --------------------------------------------------------------------

async def _candidates(tracker: Tracker, kind: str) -> list[dict[str, Any]]:
    channel, user = channel_user(tracker)
    cases = await client().cases(channel, user)
    return [c for c in cases.get("claims") or [] if c.get("status") in _STEP_STATUSES[kind]]


def _request_text(tracker: Tracker, intent: str) -> str:
    """The latest message asking for the journey (before the identification's answers)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and ((event.get("parse_data") or {}).get(
                "intent") or {}).get("name") == intent:
            return str(event.get("text") or "")
    return text_of(tracker)


class StartCase(PersonalAction):
    """Identification first; then the customer's claims that allow the step, and the form."""

    kind = ""  # the subclasses' name() is action_start_<kind>; this one is abstract
    intent = ""

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     binding: Binding) -> list[EventType]:
        found = await _candidates(tracker, self.kind)
        reset = [SlotSet(s, None) for s in CASE_SLOTS]
        if not found:
            dispatcher.utter_message(
                text=_NONE_TEXT[self.kind] + "需要的话可以说“查理赔进度”或“转人工”。")
            return reset
        numbers = [str(c["number"]) for c in found]
        # the request may have come before the identification: its words, not the last answer
        said = _request_text(tracker, self.intent)
        named = CLAIM_RE.search(said)
        asked = (entity(tracker, "claim_no") or (named.group(1) if named else "")).upper()
        chosen = asked if asked in numbers else (numbers[0] if len(numbers) == 1 else None)
        events = [*reset, SlotSet("case_kind", self.kind), SlotSet("case_choices", numbers),
                  SlotSet("case_claim_no", chosen)]
        if self.kind == BANK_ACCOUNT:  # "收款账号 6222 …": the number said with the request
            number, _ = card_in(said)
            if number:
                events.append(SlotSet("case_account", number))
        return [*events, FollowupAction("case_form")]


@personal
class ActionStartWithdraw(StartCase):
    kind = WITHDRAW
    intent = "withdraw_claim"

    def name(self) -> str:
        return f"action_start_{self.kind}"


@personal
class ActionStartBankAccount(StartCase):
    kind = BANK_ACCOUNT
    intent = "give_bank_account"

    def name(self) -> str:
        return f"action_start_{self.kind}"


@personal
class ActionStartAppeal(StartCase):
    kind = APPEAL
    intent = "appeal_rejection"

    def name(self) -> str:
        return f"action_start_{self.kind}"


def propose_bank_card(claim_no: str, document_id: str, doc: dict[str, Any]
                      ) -> tuple[str, list[EventType]] | None:
    """A bank card photo read by OCR: its number (masked by the back office) is proposed as
    the payout account, for the customer to confirm — never set silently."""
    fields = doc.get("fields") or {}
    shown = str((fields.get("card_number") or {}).get("value") or "")
    if doc.get("doc_type") not in ("bank_account", "bank_card") or not shown \
            or "card_number" in (doc.get("needs_review") or []):
        return None
    bank = str((fields.get("bank_name") or {}).get("value") or "")
    masked = mask_card(shown)
    text = (f"已收到银行卡照片，附到报案号 {claim_no}。识别到卡号 {masked}"
            + (f"（{bank}）" if bank else "") + "。")
    events: list[EventType] = [
        *[SlotSet(s, None) for s in CASE_SLOTS], SlotSet("case_kind", BANK_ACCOUNT),
        SlotSet("case_choices", [claim_no]), SlotSet("case_claim_no", claim_no),
        SlotSet("case_document_id", document_id),
        SlotSet("case_account_masked", masked + (f"（{bank}）" if bank else "")),
        SlotSet("claim_no", claim_no), FollowupAction("case_form")]
    return text, events


# ---- the form ------------------------------------------------------------------------------

class ValidateCaseForm(AsksConsent, AnswersOnly):
    def name(self) -> str:
        return "validate_case_form"

    def needs_consent(self, tracker: Tracker) -> bool:
        return tracker.get_slot("case_kind") == BANK_ACCOUNT  # a bank card number is asked

    async def form_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                         tracker: Tracker, domain: DomainDict) -> list[str]:
        kind = tracker.get_slot("case_kind")
        middle = {BANK_ACCOUNT: ["case_account"], APPEAL: ["case_reasons"]}.get(str(kind), [])
        if kind == BANK_ACCOUNT and tracker.get_slot("case_document_id"):
            middle = []  # the card's photo gave the number: only the confirmation is left
        return ["case_claim_no", *middle, "case_confirmed"]

    async def extract_case_claim_no(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Slots:
        if not requested(tracker, "case_claim_no"):
            return {}
        choices = list(tracker.get_slot("case_choices") or [])
        text = text_of(tracker)
        said = CLAIM_RE.search(text)
        ordinal = _ORDINAL_RE.match(text.strip())
        if said:
            value = said.group(1).upper()
        elif ordinal:
            said_n = ordinal.group(1)
            n = int(said_n) if said_n.isdigit() else _ORDINALS[said_n]
            value = choices[n - 1] if 1 <= n <= len(choices) else ""
        else:
            value = ""
        if value not in choices:  # an answer that names none of them: asked again
            dispatcher.utter_message(text="没有在可以办理的案件里找到这一件，请回复下面列出的序号或报案号。")
            return {"case_claim_no": None}
        return {"case_claim_no": value}

    async def extract_case_account(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Slots:
        asked = requested(tracker, "case_account")
        if not asked and intent_of(tracker) != "give_bank_account":
            return {}
        number, problem = card_in(text_of(tracker))
        if number:
            return {"case_account": number}
        if not asked:
            return {}
        # a wrong number is named and asked again (a slot set to None: the form goes on)
        dispatcher.utter_message(text=f"{problem}，请核对后再发一次。" if problem
                                 else "没有听到卡号。")
        return {"case_account": None}

    async def extract_case_reasons(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Slots:
        said = free_answer(tracker, "case_reasons")
        if said is None:
            return {}
        if len(said) < _MIN_REASONS:
            dispatcher.utter_message(text="请具体说一下您不同意拒赔的理由，比如有什么新的材料或情况。")
            return {"case_reasons": None}
        return {"case_reasons": said}

    async def extract_case_confirmed(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> Slots:
        if not requested(tracker, "case_confirmed"):
            return {}
        intent = intent_of(tracker)
        if intent in ("affirm", "deny"):
            return {"case_confirmed": intent == "affirm"}
        said = text_of(tracker)  # "是的，撤掉" / "不是，我再想想": the yes or no comes first
        if _NO_FIRST.match(said):
            return {"case_confirmed": False}
        if _YES_FIRST.match(said):
            return {"case_confirmed": True}
        if tracker.get_slot("case_kind") == BANK_ACCOUNT:  # another number: read back anew
            number, problem = card_in(text_of(tracker))
            if number:
                return {"case_account": number, "case_document_id": None,
                        "case_account_masked": None}
            if problem:
                dispatcher.utter_message(text=f"{problem}，请核对后再发一次卡号。")
                return {"case_confirmed": None}
        dispatcher.utter_message(text="请回答“是”或“不是”。")
        return {"case_confirmed": None}


class ActionAskCaseClaimNo(Action):
    def name(self) -> str:
        return "action_ask_case_claim_no"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        kind = str(tracker.get_slot("case_kind") or WITHDRAW)
        choices = list(tracker.get_slot("case_choices") or [])
        try:
            found = {str(c["number"]): str(c.get("text") or c["number"])
                     for c in await _candidates(tracker, kind)}
        except (BackofficeDown, ApiError):
            found = {}
        lines = [f"{i}. {found.get(no, '报案号 ' + no)}" for i, no in enumerate(choices, 1)]
        dispatcher.utter_message(text=f"您要{KIND_NAMES[kind]}的是哪一件？\n" + "\n".join(lines)
                                 + "\n请回复序号或报案号。")
        return []


class ActionAskCaseAccount(Action):
    def name(self) -> str:
        return "action_ask_case_account"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        channel, _ = channel_user(tracker)
        how = "请说出" if channel == "ivr" else "请发送"
        photo = "" if channel == "ivr" else "，也可以拍一张银行卡正面的照片发给我"
        dispatcher.utter_message(text=f"{how}用于收取赔款的银行卡号（须为本人或受益人的借记卡）{photo}。")
        return []


class ActionAskCaseReasons(Action):
    def name(self) -> str:
        return "action_ask_case_reasons"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        claim_no = str(tracker.get_slot("case_claim_no") or "")
        try:
            found = {str(c["number"]): c for c in await _candidates(tracker, APPEAL)}
        except (BackofficeDown, ApiError):
            found = {}
        reasons = "；".join(found.get(claim_no, {}).get("reasons") or []) or "详见拒赔通知书"
        dispatcher.utter_message(text=f"报案号 {claim_no} 拒赔的原因是：{reasons}。\n"
                                      "请说说您不同意的理由（比如有新的材料或情况），我会转交复核。")
        return []


class ActionAskCaseConfirmed(Action):
    def name(self) -> str:
        return "action_ask_case_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        kind = tracker.get_slot("case_kind")
        claim_no = tracker.get_slot("case_claim_no")
        if kind == BANK_ACCOUNT:
            masked = tracker.get_slot("case_account_masked") or mask_card(
                str(tracker.get_slot("case_account") or ""))
            if channel_user(tracker)[0] == "ivr":  # for the ear: the last four digits, spaced
                last4 = re.search(r"[0-9]{4}", masked)
                masked = "尾号 " + " ".join(last4.group(0) if last4 else "")
            text = f"请确认：报案号 {claim_no} 的赔款转入银行卡 {masked}。对吗？"
        elif kind == APPEAL:
            text = (f"请确认：对报案号 {claim_no} 的拒赔决定申请复核，理由：“"
                    f"{str(tracker.get_slot('case_reasons') or '')[:80]}”。提交吗？")
        else:
            text = f"请确认：撤销报案号 {claim_no} 的理赔申请？撤案后这件理赔不再处理。"
        dispatcher.utter_message(text=text + "（请回答“是”或“不是”）")
        return []


class ActionSubmitCase(Action):
    """The confirmed step, through the back office; its answer read back in plain words."""

    def name(self) -> str:
        return "action_submit_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        kind = str(tracker.get_slot("case_kind") or "")
        claim_no = str(tracker.get_slot("case_claim_no") or "")
        done = [SlotSet(s, None) for s in CASE_SLOTS]
        if not tracker.get_slot("case_confirmed") or kind not in KIND_NAMES or not claim_no:
            dispatcher.utter_message(text=f"好的，没有{KIND_NAMES.get(kind, '办理')}。"
                                          "还有其他需要帮忙的吗？")
            return done
        try:
            text = await _SUBMIT[kind](tracker, claim_no)
        except BackofficeDown:
            apologize_down(dispatcher, tracker, f"{KIND_NAMES[kind]}（报案号 {claim_no}）")
            return done
        except ApiError as e:
            text = f"没能{KIND_NAMES[kind]}：{e.message or '请求未被受理'}"
        dispatcher.utter_message(text=text)
        return [*done, SlotSet("claim_no", claim_no)]


async def _withdraw(tracker: Tracker, claim_no: str) -> str:
    channel, user = channel_user(tracker)
    made = await client().request("POST", f"/channel/claims/{claim_no}/withdrawal",
                                  {"channel": channel, "user": user}, idempotent=True)
    return str(made[1]["text"])


async def _bank_account(tracker: Tracker, claim_no: str) -> str:
    channel, user = channel_user(tracker)
    body: dict[str, Any] = {"channel": channel, "user": user}
    document_id = tracker.get_slot("case_document_id")
    if document_id:
        body["document_id"] = int(document_id)
    else:
        body["account"] = str(tracker.get_slot("case_account") or "")
    made = await client().request("POST", f"/channel/claims/{claim_no}/bank-account", body,
                                  idempotent=True)
    return str(made[1]["text"])


async def _appeal(tracker: Tracker, claim_no: str) -> str:
    channel, user = channel_user(tracker)
    made = await client().post("/channel/appeals", {
        "channel": channel, "user": user, "claim_no": claim_no,
        "reasons": str(tracker.get_slot("case_reasons") or "")})
    basis = str((made.get("clock") or {}).get("basis") or "")
    return (f"已提交复核申请，编号 {made['appeal_no']}。{basis}，最迟 {made['due_by']} 前"
            "把结果告诉您；查进度时也能看到复核的状态。")


_SUBMIT = {WITHDRAW: _withdraw, BANK_ACCOUNT: _bank_account, APPEAL: _appeal}
