"""Requests of the data subject in the chat (查阅、复制、更正、删除 one's own personal
information, PIPL Art. 44–47).

The customer is identified as for every personal answer (identify_form, the consent notice
first), and the proof that identification took — the phone on file or one of their own policy
numbers — goes with the request: the back office checks it again by the channels' rule. The
form `privacy_request_form` asks which of the four kinds if the request did not say, what is
wrong and what is right for a correction, then reads it back; on "是" the request is filed
(/channel/privacy-requests) and the customer gets its number, the 15-working-day clock and the
word that staff answer (the export's link of an access or copy request is sent by them).
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
from actions.common import POLICY_RE, apologize_down, channel_user, client, intent_of, text_of
from actions.forms import SWITCHED, AnswersOnly, calling_number, free_answer, requested

Slots = dict[str, Any]
INTENT = "personal_data_request"
KIND_NAMES = {"access": "查阅", "copy": "复制", "correction": "更正", "deletion": "删除"}
PDR_SLOTS = ("pdr_kind", "pdr_details", "pdr_confirmed")
# the kind said in the request, the strongest first ("删掉…不要保存" is no copy)
_KIND_WORDS = (
    ("deletion", ("删除", "删掉", "删了", "删去", "注销", "清除", "销毁", "抹掉", "不要保存",
                  "别保存", "不想让你们保存", "不要再保存")),
    ("correction", ("更正", "错了", "有误", "不对", "录错", "写错", "登记错", "填错", "改正",
                    "纠正", "要改", "修改", "改一下")),
    ("copy", ("复制", "副本", "一份", "导出", "下载", "拷", "复印", "发给我", "发我")),
    ("access", ("查看", "查阅", "看看", "看一下", "哪些", "什么信息", "什么资料", "有啥",
                "存了啥", "都存了", "查一下", "了解")),
)
_CHOICE_RE = re.compile(r"^\s*(?:第)?\s*([1-4一二三四])\s*(?:个|项|种|条)?\s*[。.！!]?\s*$")
_CHOICES = {"1": "access", "一": "access", "2": "copy", "二": "copy", "3": "correction",
            "三": "correction", "4": "deletion", "四": "deletion"}
_MIN_DETAILS = 4  # characters: what is wrong and what is right
_NO_FIRST = re.compile(r"^\s*(不是|不对|不要|不用|不了|别|算了|再想想|我再想想|先不)")
_YES_FIRST = re.compile(r"^\s*(是|对|好|确认|没错|嗯|可以|行|提交)")


def kind_in(text: str) -> str | None:
    """The kind of request the words name (查阅 access, 复制 copy, 更正 correction, 删除
    deletion), or None when they name none."""
    for kind, words in _KIND_WORDS:
        if any(w in text for w in words):
            return kind
    return None


def kind_answer(text: str) -> str | None:
    """The answer to "which of the four": its number (1–4, 第一个…) or its words."""
    choice = _CHOICE_RE.match(text)
    if choice:
        return _CHOICES[choice.group(1)]
    return kind_in(text)


def proof_of(tracker: Tracker) -> dict[str, str] | None:
    """The proof this conversation's identification took: the phone on file or an own policy
    number (on a call, the caller's number with the ID number's last 6); None when the
    customer did not identify in this conversation."""
    proof = str(tracker.get_slot("identity_proof") or "")
    if proof and proof != SWITCHED:
        return {"policy_no": proof} if POLICY_RE.fullmatch(proof) else {"phone": proof}
    last6 = str(tracker.get_slot("id_last6") or "")
    if last6 and last6 != SWITCHED:
        if POLICY_RE.fullmatch(last6):
            return {"policy_no": last6}
        phone = calling_number(tracker)
        if phone:
            return {"phone": phone}
    return None


def _request_text(tracker: Tracker) -> str:
    """The latest message asking for it (before the identification's answers)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and ((event.get("parse_data") or {}).get(
                "intent") or {}).get("name") == INTENT:
            return str(event.get("text") or "")
    return text_of(tracker)


@personal
class ActionStartPersonalDataRequest(PersonalAction):
    """Identification first, in this conversation (its proof goes with the request); then the
    form."""

    def name(self) -> str:
        return "action_start_personal_data_request"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     binding: Binding) -> list[EventType]:
        if proof_of(tracker) is None:  # identified in an earlier conversation: once more
            if tracker.active_loop_name:
                dispatcher.utter_message(text="个人信息的申请需要先核验身份，等这件事办完，"
                                              "您再跟我说一次就可以。")
                return []
            dispatcher.utter_message(text="办理个人信息的申请前，需要先核验您的身份。")
            return [SlotSet("pending_action", self.name()), SlotSet("id_number", None),
                    SlotSet("identity_proof", None), SlotSet("id_last6", None),
                    FollowupAction("identify_form")]
        return [*(SlotSet(s, None) for s in PDR_SLOTS),
                SlotSet("pdr_kind", kind_in(_request_text(tracker))),
                FollowupAction("privacy_request_form")]


class ValidatePrivacyRequestForm(AnswersOnly):
    def name(self) -> str:
        return "validate_privacy_request_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        details = ["pdr_details"] if tracker.get_slot("pdr_kind") == "correction" else []
        return ["pdr_kind", *details, "pdr_confirmed"]

    async def extract_pdr_kind(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Slots:
        if not requested(tracker, "pdr_kind"):
            return {}
        kind = kind_answer(text_of(tracker))
        if kind is None:
            dispatcher.utter_message(text="请回复序号 1–4，或直接说“查阅”“复制”“更正”“删除”。")
        return {"pdr_kind": kind}

    async def extract_pdr_details(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Slots:
        said = free_answer(tracker, "pdr_details")
        if said is None:
            return {}
        if len(said.strip()) < _MIN_DETAILS:
            dispatcher.utter_message(text="请具体说一下哪项信息有误、正确的应该是什么。")
            return {"pdr_details": None}
        return {"pdr_details": said.strip()[:2000]}

    async def extract_pdr_confirmed(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Slots:
        if not requested(tracker, "pdr_confirmed"):
            return {}
        intent = intent_of(tracker)
        said = text_of(tracker)
        if _NO_FIRST.match(said):
            return {"pdr_confirmed": False}
        if _YES_FIRST.match(said):
            return {"pdr_confirmed": True}
        if intent in ("affirm", "deny"):
            return {"pdr_confirmed": intent == "affirm"}
        dispatcher.utter_message(text="请回答“是”或“不是”。")
        return {"pdr_confirmed": None}


class ActionAskPdrKind(Action):
    def name(self) -> str:
        return "action_ask_pdr_kind"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(text="关于您的个人信息，您要办理哪一项？\n"
                                      "1. 查阅：看看我们存了您哪些信息\n"
                                      "2. 复制：要一份您的个人信息\n"
                                      "3. 更正：有信息登记错了\n"
                                      "4. 删除：删除您的个人信息\n请回复序号或直接说。")
        return []


class ActionAskPdrDetails(Action):
    def name(self) -> str:
        return "action_ask_pdr_details"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(text="请说明哪项信息登记有误、正确的应该是什么"
                                      "（例如：地址应为××镇××村××号）。")
        return []


class ActionAskPdrConfirmed(Action):
    def name(self) -> str:
        return "action_ask_pdr_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        kind = str(tracker.get_slot("pdr_kind") or "access")
        text = {"access": "请确认：申请查阅我们保存的您的个人信息。",
                "copy": "请确认：申请获取一份您的个人信息副本。",
                "correction": "请确认：申请更正您的个人信息，内容：“"
                              f"{str(tracker.get_slot('pdr_details') or '')[:80]}”。",
                "deletion": "请确认：申请删除您的个人信息。删除后将无法再查询您的保单和理赔记录，"
                            "依法须保存的理赔档案会保留到期满后删除。"}[kind]
        dispatcher.utter_message(text=text + "提交吗？（请回答“是”或“不是”）")
        return []


class ActionSubmitPersonalDataRequest(Action):
    """The confirmed request, filed through the back office; its number and clock told."""

    def name(self) -> str:
        return "action_submit_personal_data_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        kind = str(tracker.get_slot("pdr_kind") or "")
        done = [SlotSet(s, None) for s in PDR_SLOTS]
        if not tracker.get_slot("pdr_confirmed") or kind not in KIND_NAMES:
            dispatcher.utter_message(text="好的，没有提交。还有其他需要帮忙的吗？")
            return done
        proof = proof_of(tracker)
        if proof is None:
            dispatcher.utter_message(text="需要先核验身份才能提交，请再跟我说一次您的申请。")
            return done
        channel, user = channel_user(tracker)
        body: dict[str, Any] = {"channel": channel, "user": user, "kind": kind, **proof}
        if tracker.get_slot("pdr_details"):
            body["details"] = str(tracker.get_slot("pdr_details"))
        try:
            made = await client().post("/channel/privacy-requests", body)
        except BackofficeDown:
            apologize_down(dispatcher, tracker, f"个人信息{KIND_NAMES[kind]}申请")
            return done
        except ApiError as e:
            dispatcher.utter_message(text=f"没能提交：{e.message or '申请未被受理'}。"
                                          "您也可以带上身份证件到就近网点办理，或说“转人工”。")
            return done
        dispatcher.utter_message(text=told(made))
        return done


def told(made: dict[str, Any]) -> str:
    """What the customer is told of the filed request (or of the open one already there)."""
    name = KIND_NAMES.get(str(made.get("kind")), "")
    no, due = made.get("privacy_request_no"), made.get("due_by")
    head = (f"您已有一件处理中的个人信息{name}申请，编号 {no}，不用重复提交。" if made.get("replay")
            else f"已受理您的个人信息{name}申请，编号 {no}。")
    exported = made.get("kind") in ("access", "copy")
    how = ("办理结果和导出文件的下载链接由工作人员发送给您。" if exported
           else "办理结果由工作人员告知您。")
    return f"{head}我们会在15个工作日内（最迟 {due}）答复，{how}查询进度时请提供这个编号。"
