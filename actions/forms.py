"""Form validation: identification, incident report, complaint, contact, beneficiary, home visit.

Form slots have custom mappings: the extract_* methods here read them from entities and, for the
question just asked, from the whole answer. They run on every turn of an active form, so a
correction like "不对，是10月3号" updates the slot it names whatever was asked.

A message that is not an answer (a question asked mid-form, 算了, 转人工) fills no slot: the form
is rejected and the rules of data/nlu/digressions.yml and rules.yml answer it, then the form
asks its question again, or ends.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import claim_types as kinds
from actions import cover
from actions import policy_choice as choice
from actions import transport as script
from actions.backoffice import ApiError, BackofficeDown
from actions.common import (
    PHONE_RE,
    POLICY_RE,
    caller_phone,
    channel_user,
    client,
    entity,
    entity_text,
    handoff,
    intent_of,
    mask_id,
    mask_name,
    mask_phone,
    mask_text,
    on_phone,
    source_of,
    text_of,
    valid_id_number,
)
from actions.consent import AsksConsent, tell_family
from actions.dates import parse_date, spoken
from actions.ear import DIGIT_SLOTS, grouped_id, grouped_phone
from actions.names import bare_name, person_name
from actions.person_words import asks_for_a_person
from actions.spoken import ID_SHAPE, digits_of, id_number_in, phone_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
Slots = dict[str, Any]
# intents that leave a free-text question unanswered (the rules take them)
_NOT_ANSWERS = {"human_handoff", "complain", "greet", "goodbye", "thank", "bot_challenge", "faq",
                "agent_handback", "document_uploaded"}
_RELATION_WORDS = [
    ("self", ("本人", "自己", "我")),
    ("spouse", ("老伴", "老公", "老婆", "爱人", "丈夫", "妻子", "配偶")),
    # 潮汕 kinship too: 老母 (mother), 阿兄 (elder brother), 阿嬷 / 阿公 (grandparents)
    ("parent", ("妈", "爸", "母亲", "父亲", "婆婆", "公公", "岳母", "岳父", "老人", "老母",
                "老父")),
    ("child", ("儿子", "女儿", "孩子", "子女")), ("sibling", ("哥", "姐", "弟", "妹", "阿兄")),
    ("other", ("奶奶", "爷爷", "外婆", "外公", "邻居", "朋友", "亲戚", "姑", "舅", "姨", "嬷",
               "阿公", "阿伯", "阿婆", "隔壁", "孙")),
]
RELATION_NAMES = {"self": "本人", "spouse": "配偶", "parent": "父母", "child": "子女",
                  "sibling": "兄弟姐妹", "other": "其他亲友"}
_NONE_WORDS = ("没有", "没去", "没", "无", "不用", "还没")


# questions answered in the middle of any form (one rule per intent and form)
DIGRESSIONS = frozenset({"faq", "claim_documents", "coverage_question", "premium_payment",
                         "service_outlet", "claim_progress", "policy_query"})
# leaving the form whatever it asked: 转人工, 算了, and the channels' own events
_LEAVING = frozenset({"human_handoff", "stop", "agent_handback", "document_uploaded"})
# how a question reads: an answer ("在公交车上", "潮南区人民医院") classified as a question
# intent still answers the form
_QUESTION = re.compile(r"[?？]|吗|呢|多少|几|哪|什么|啥|怎|如何|为何|为什么|谁|是否|"
                       r"(.)[不没]\1|^(?:请问|查|帮我查|我想查|我要查|想问)")


# an intent this sure is a question even without a question word ("理赔进度")
_SURE = 0.9


def reads_as_question(text: str) -> bool:
    return bool(_QUESTION.search(text))


def not_an_answer(tracker: Tracker) -> bool:
    """The message asks something else or leaves: mid-form only (a form's opening message,
    e.g. a coverage question that starts identification, may still fill its slots)."""
    if not tracker.get_slot("requested_slot"):
        return False
    intent = intent_of(tracker)
    text = text_of(tracker)
    if intent in _LEAVING or asks_for_a_person(text):
        return True  # a person asked for, however classified ("算了，你帮我转人工吧")
    if (requested(tracker, "incident_confirmed") and correcting(text)
            and not reads_as_question(text)):
        return False  # "不是住院，是伤残" at the read-back corrects it, however sure NLU is
    sure = float(((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 0)
    return (intent in DIGRESSIONS and (sure >= _SURE or reads_as_question(text_of(tracker)))
            and not said_again(tracker))


def said_again(tracker: Tracker) -> bool:
    """The same words as the last message: a question answered already and the pending one
    asked again, so the customer meant them as the answer ("一次说清楚要什么" twice to
    "您希望我们怎么处理？")."""
    said = [e.get("text") for e in tracker.events if e.get("event") == "user"]
    if len(said) < 2 or not said[-1] or any(m in said[-1] for m in "？?"):
        return False  # a question mark asks again: "网点在哪？" three times is three questions
    return said[-1] == said[-2]


# failed answers to one question: after KEYPAD_AFTER a caller is offered the keypad for a
# number; at MAX_TRIES the question is not asked again, a person takes over
KEYPAD_AFTER = 2
MAX_TRIES = 3
MISSES = "form_misses"  # {"slot": the question, "misses": failed answers to it in a row}
# slots a form asks beyond its domain list (required_slots overridden below), and its helpers
FORM_EXTRAS = {"incident_form": ["reporter_name", "phone_offer"],
               "identify_form": ["id_last6"], "complaint_form": ["phone_offer"],
               "home_visit_form": ["phone_offer"],
               "case_form": ["case_kind", "case_choices", "case_account", "case_document_id",
                             "case_account_masked", "case_reasons"],
               "privacy_request_form": ["pdr_details"]}
FORM_NAMES = {"incident_form": "报案", "complaint_form": "投诉", "contact_form": "修改联系方式",
              "beneficiary_form": "变更受益人", "home_visit_form": "预约上门服务",
              "identify_form": "核验身份", "case_form": "撤案、收款账户或复核",
              "privacy_request_form": "个人信息查阅、复制、更正或删除申请"}
# what the agent reads for the question given up on
QUESTION_NAMES = {"id_number": "身份证号码", "identity_proof": "手机号码或保单号",
                  "id_last6": "身份证后6位", "insured_id_number": "出险人身份证号码",
                  "contact_phone": "联系电话", "complainant_phone": "联系电话",
                  "visit_phone": "联系电话", "new_phone": "新手机号码",
                  "incident_date": "事故日期", "relation": "与出险人的关系",
                  "reporter_name": "报案人姓名", "complainant_name": "投诉人姓名",
                  "visit_name": "老人姓名", "beneficiary_name": "受益人姓名",
                  "claim_type": "理赔类型", "incident_confirmed": "核对报案信息",
                  "privacy_consent": "是否同意处理敏感个人信息",
                  "pdr_kind": "个人信息申请的种类", "pdr_details": "更正的内容",
                  "pdr_confirmed": "核对个人信息申请"}
_BOOKKEEPING = ("requested_slot", MISSES, "keypad")
_HELPERS = ("phone_offer",)


class AnswersOnly(FormValidationAction, ABC):
    """Slots are taken from answers only: a question or a stop fills nothing, so Rasa rejects
    the form and the digression, stop or handoff rule runs instead.

    Every form counts the failed answers to the question it asked (a value refused, with no
    other slot given instead): on the phone the keypad is offered after two for a number, and
    after three a person takes over with what was collected — no question is asked a fourth
    time, whatever the channel."""

    @abstractmethod
    def name(self) -> str: ...

    async def get_extraction_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> list[EventType]:
        if not_an_answer(tracker):
            return []
        return await super().get_extraction_events(dispatcher, tracker, domain)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        asked = tracker.get_slot("requested_slot")
        answering = bool(asked) and not not_an_answer(tracker)
        before = dict(tracker.slots)
        events = await super().run(dispatcher, tracker, domain)
        # rasa_sdk returns only the form's own slots: a helper slot an extraction set is kept
        events += [SlotSet(k, tracker.slots.get(k)) for k in _HELPERS
                   if tracker.slots.get(k) != before.get(k)
                   and not any(e.get("name") == k for e in events)]
        if not answering:  # a digression is no failed answer; a form starting counts anew
            return events if asked else events + _reset(before) + [
                SlotSet(k, None) for k in _HELPERS if before.get(k)]
        if not _missed(asked, before, events, tracker):
            return events + _reset(before)
        counted = before.get(MISSES) or {}
        misses = (int(counted.get("misses") or 0) if counted.get("slot") == asked else 0) + 1
        if misses >= MAX_TRIES:
            return events + self.give_up(dispatcher, tracker, domain, asked)
        more = [SlotSet(MISSES, {"slot": asked, "misses": misses})]
        if misses == KEYPAD_AFTER and asked in DIGIT_SLOTS and on_phone(tracker):
            dispatcher.messages.clear()  # the keypad question (domain.yml) says what to do
            more.append(SlotSet("keypad", True))
        return events + more

    def give_up(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                asked: str) -> list[EventType]:
        """The third failed answer: an agent takes over with the form's answers (the handoff
        summary); the form ends unsubmitted and forgets them."""
        form = self.form_name()
        dispatcher.messages.clear()
        dispatcher.utter_message(text="抱歉，这一项还是没能记下来。已为您转接人工客服，"
                                      "您已经说的信息会一并转交，不用重复。")
        handoff(dispatcher, tracker, "unsure",
                f"{FORM_NAMES.get(form, form)}时“{QUESTION_NAMES.get(asked, asked)}”"
                "问了三次仍未得到有效回答")
        slots = [*self.domain_slots(domain), *FORM_EXTRAS.get(form, [])]
        return [*(SlotSet(s, None) for s in slots), SlotSet(MISSES, None),
                SlotSet("keypad", False), SlotSet("pending_action", None),
                SlotSet("requested_slot", None), ActiveLoop(None),
                FollowupAction("action_listen")]  # not the form's submit rule


def _missed(asked: str, before: Slots, events: list[EventType], tracker: Tracker) -> bool:
    """The answer to `asked` was refused and gave nothing else (a correction of another slot,
    "不是这个号码", is progress, not a failed answer)."""
    if tracker.get_slot(asked) not in (None, ""):
        return False
    changed = [e for e in events if e.get("event") == "slot"]
    if not any(e.get("name") == asked for e in changed):
        return False  # nothing taken from it: Rasa rejects the form, a rule answers
    return not any(e.get("name") not in (asked, *_BOOKKEEPING)
                   and e.get("value") not in (None, "") and e.get("value") != before.get(
                       e.get("name")) for e in changed)


def _reset(before: Slots) -> list[EventType]:
    events = [SlotSet(MISSES, None)] if before.get(MISSES) else []
    return events + ([SlotSet("keypad", False)] if before.get("keypad") else [])


def today_cn() -> date:
    return datetime.now(SHANGHAI).date()


def requested(tracker: Tracker, slot: str) -> bool:
    return tracker.get_slot("requested_slot") == slot


def free_answer(tracker: Tracker, slot: str) -> str | None:
    """The whole message as the answer to the question just asked (free-text slots); not a
    correction of an earlier answer ("不对，不是菜市场，是在家门口" asked about the injury)."""
    if not requested(tracker, slot) or not_free_text(tracker):
        return None
    text = text_of(tracker)
    if not text or text.startswith("/") or corrected_slot(tracker, slot):
        return None
    return text


# said in passing rather than as an answer, when the classifier is sure of it: an answer to a
# free-text question ("希望有人回电话") taken for a greeting at 0.47 is still the answer
_SOCIAL = frozenset({"greet", "goodbye", "thank", "bot_challenge", "complain"})


def not_free_text(tracker: Tracker) -> bool:
    """The message is no answer to a free-text question: a handoff, a question, an upload;
    a greeting, thanks or a complaint only when the classifier is sure of it — and inside
    the complaint form a complaint's words are the answers it asks for."""
    intent = intent_of(tracker)
    if intent not in _NOT_ANSWERS:
        return False
    if intent not in _SOCIAL:
        return True
    if intent == "complain" and tracker.active_loop_name == "complaint_form":
        return False
    sure = float(((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 0)
    return sure >= _SURE or bool(_SMALL_TALK.fullmatch(text_of(tracker)))


# nothing but greetings, thanks or goodbyes: never an answer, however unsure the classifier
_SMALL_TALK = re.compile(r"(?:谢谢|多谢|感谢|谢了|你好|您好|在吗|在不在|再见|拜拜|麻烦了|辛苦了|"
                         r"[你您啊呀哈哦嗯的了吧啦哈]|[\s，,。.！!～~])+")


# free-text answers a later correction may name by their earlier value
_CORRECTABLE = ("incident_place", "injury", "hospital", "description", "complaint_description",
                "visit_address", "new_address")


def corrected_slot(tracker: Tracker, asked: str) -> str | None:
    """The earlier answer a correction names ("不是菜市场，…"), other than the one asked."""
    text = text_of(tracker)
    if not correcting(text):
        return None
    for slot in _CORRECTABLE:
        value = tracker.get_slot(slot) if slot != asked else None
        if isinstance(value, str) and len(value) >= 2 and f"不是{value}" in text:
            return slot
    return None


def corrected_value(text: str, old: str) -> str | None:
    """"不是菜市场，是在家门口摔的" → "家门口": what comes after the earlier value."""
    after = text.split(f"不是{old}", 1)[-1]
    m = re.match(r"^[，,、。\s]*(?:而)?(?:是)?(?:在)?(.+?)(?:摔的|摔倒的|出的事|发生的|的)?"
                 r"[。！!，,\s]*$", after)
    value = m.group(1).strip() if m else ""
    return value if 1 < len(value) <= 60 else None


def relation_of(text: str) -> str | None:
    """Who the insured is to the speaker: "我妈" → parent; "我是她女儿" (she is my mother) →
    parent too; the kinship word wins over the 我 it comes with ("我姐姐" → sibling)."""
    for value, words in _RELATION_WORDS[1:] + _RELATION_WORDS[:1]:
        if any(w in text for w in words):
            return _INVERSE.get(value, value) if _SPEAKER_IS.search(text) else value
    return None


_INVERSE = {"child": "parent", "parent": "child"}
# "我是她女儿", "我是他的儿子": the speaker says who they are to the insured
_SPEAKER_IS = re.compile(r"我是(?:他|她)的?")


# words that make an answer a correction of something read back ("不对，是前天")
_CORRECTING = ("不对", "错了", "说错", "不是", "更正", "改一下", "改成", "应该是", "其实是")
_NAMING = ("叫", "名字", "姓名", "称呼")
WHOSE_NAME = {"reporter_name": "您的姓名", "complainant_name": "您的姓名",
              "visit_name": "老人家的姓名", "beneficiary_name": "受益人的姓名",
              "insured_name": "出险人的姓名"}


def correcting(text: str) -> bool:
    return any(w in text for w in _CORRECTING)


# a yes to a read-back: "没错" and "没问题" agree although they hold 没 and 错
_AGREEING = ("没错", "不错", "没问题", "没有问题", "没毛病")
_AGREED = ("对", "是的", "正确", "确认", "可以", "好的", "行", *_AGREEING)


def confirms(tracker: Tracker) -> bool:
    text = text_of(tracker)
    rest = text
    for w in _AGREEING:
        rest = rest.replace(w, "")
    if any(w in rest for w in ("不", "错", "没", "改")):
        return False
    return intent_of(tracker) == "affirm" or any(w in text for w in _AGREED)


def name_answer(slot: str, value: Any, dispatcher: CollectingDispatcher) -> Slots:
    """The answer to a name question as the name it gives; a sentence, a kinship alone
    ("王小明的女儿"), digits or emoji are asked again, not stored."""
    if not value:  # the form's start clears it: nothing was said, so nothing to refuse
        return {slot: None}
    name = person_name(str(value))
    if name is None:
        whose = WHOSE_NAME.get(slot, "姓名")
        dispatcher.utter_message(text=f"抱歉，没听清{whose}。请只说姓名，比如“王小明”或“王女士”；"
                                      "少数民族姓名可以用“·”隔开，比如“阿卜杜·热合曼”。")
        return {slot: None}
    return {slot: name}


_SOUNDS_LIKE_SMALL_TALK = frozenset({"thank", "greet", "goodbye", "affirm", "deny",
                                     "bot_challenge"})


def name_said(tracker: Tracker, slot: str, volunteered: bool = False) -> str | None:
    """The answer to the name question; later, a correction of the name given ("说错了，我叫
    李丽") — only once there is one, lest "不是我，是我妈，她叫…" name the reporter. Where the
    only person named can be the slot's (`volunteered`: the elder of a home visit), a name
    said before the question ("我妈叫李桂兰，走不动路") is taken too."""
    said = free_answer(tracker, slot)
    text = text_of(tracker)
    if not said and requested(tracker, slot) and intent_of(tracker) in _SOUNDS_LIKE_SMALL_TALK:
        said = bare_name(text)  # "谢銮" is a name before it is a thank-you
    naming = any(w in text for w in _NAMING) and not text.startswith("/")
    if not said and naming and tracker.get_slot(slot) and correcting(text):
        said = text
    if not said and naming and volunteered and not tracker.get_slot(slot):
        return person_name(text)
    # the name when there is one; else the words, for the validation to refuse and re-ask
    return (person_name(said) or said) if said else None


def find_policy(tracker: Tracker) -> str | None:
    value = entity(tracker, "policy_no")
    if value and POLICY_RE.fullmatch(value):
        return value
    m = POLICY_RE.search(text_of(tracker))
    return m.group(1) if m else None


def find_id(tracker: Tracker) -> str | None:
    """An ID number in the entity or in what was said, however written or spoken."""
    return id_number_in(entity(tracker, "id_number") or "") or id_number_in(text_of(tracker))


def find_phone(tracker: Tracker) -> str | None:
    """A mobile number in the entity or in what was said, however written or spoken."""
    return phone_in(entity(tracker, "phone") or "") or phone_in(text_of(tracker))


def said_digits(tracker: Tracker) -> bool:
    """The answer holds digits, typed, keyed or spoken ("四四零五…"): meant as a number."""
    return len(re.findall(r"[0-9X]", digits_of(text_of(tracker)))) >= 3


_YES = ("是", "对", "嗯", "可以", "没错", "就这个", "行", "好")
_NO = ("不是", "不对", "不用", "换一个", "另一个", "别的", "不要")


def phone_answer(tracker: Tracker, slot: str) -> Slots:
    """A contact phone: a number said (any form, at any turn), or — asked on the phone, which
    offers the number calling (AskPhone) — "是" for that number, "不是" to be asked another.
    The number calling is never taken unasked."""
    said = find_phone(tracker)
    if said:
        return {slot: said}
    if not requested(tracker, slot):
        return {}
    caller = calling_number(tracker)
    if caller and offering_caller(tracker):
        text, intent = text_of(tracker), intent_of(tracker)
        if intent == "deny" or text.startswith("不") or any(w in text for w in _NO):
            return {slot: None, "phone_offer": "declined"}
        if intent == "affirm" or text.startswith(_YES):
            return {slot: caller}
    return {slot: ""}


def offering_caller(tracker: Tracker) -> bool:
    """Whether the phone question offers the number calling: not once declined, nor when the
    keypad is asked for."""
    return tracker.get_slot("phone_offer") != "declined" and not tracker.get_slot("keypad")


def phone_refused(slot: str, value: Any, dispatcher: CollectingDispatcher) -> Slots:
    """A phone answer checked: 11 digits 1[3-9]…; None (the caller's number declined) is only
    asked again."""
    if value is not None and not PHONE_RE.fullmatch(str(value)):
        dispatcher.utter_message(text="请留一个11位的手机号码。")
        return {slot: None}
    return {slot: None if value is None else str(value)}


class AskPhone(Action, ABC):
    """The contact phone question of a form. On the phone the number calling is offered for
    confirmation ("…就是您现在打来的这个号码 138 1234 5678 吗？"), never assumed; else, or
    once declined, the domain's question (its `channel: ivr` and keypad variations)."""

    @property
    @abstractmethod
    def slot(self) -> str: ...

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        caller = calling_number(tracker)
        if caller and offering_caller(tracker):
            dispatcher.utter_message(
                text=f"联系电话就是您现在打来的这个号码 {grouped_phone(caller)} 吗？")
        else:
            dispatcher.utter_message(response=f"utter_ask_{self.slot}")
        return []


class AskContactPhone(AskPhone):
    slot = "contact_phone"


class AskComplainantPhone(AskPhone):
    slot = "complainant_phone"


class AskVisitPhone(AskPhone):
    slot = "visit_phone"


# the last six characters of an ID number, said or keyed (`*` arrives as X)
LAST6_RE = re.compile(r"(?<![0-9A-Za-z])([0-9]{5}[0-9Xx])(?![0-9A-Za-z])")
# on the phone path "-" means: the caller's number did not do, ask the whole ID number
SWITCHED = "-"


def calling_number(tracker: Tracker) -> str | None:
    """On a call, the number the caller's network reported: it may stand as the phone on
    file, never alone (a second factor always follows)."""
    channel, _ = channel_user(tracker)
    return caller_phone(tracker) if channel == "ivr" else None


class ValidateIdentifyForm(AsksConsent, AnswersOnly):
    """Identification. On a call with a caller number the form asks first for the last 6 of
    the ID number (or a policy number) to go with that number; after one mismatch, or when
    the caller gives the whole ID number, it goes on as everywhere else: the ID number, then
    the phone on file or a policy number. The back office counts every try."""

    def name(self) -> str:
        return "validate_identify_form"

    async def form_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                         tracker: Tracker, domain: DomainDict) -> list[str]:
        if calling_number(tracker) and tracker.get_slot("id_last6") != SWITCHED:
            return ["id_last6"]
        return domain_slots

    async def extract_id_last6(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Slots:
        if not requested(tracker, "id_last6") or intent_of(tracker) in _NOT_ANSWERS:
            return {}
        said = re.sub(r"[\s，,。.、-]", "", digits_of(text_of(tracker)))
        said = re.sub(r"[0-9]位", "", said)  # "后六位是…": the count is not part of it
        policy = POLICY_RE.search(said)
        if policy:
            return {"id_last6": policy.group(1).upper()}
        whole = ID_SHAPE.search(said)
        if whole:  # the whole ID number: the usual path, with the phone or policy asked next
            return {"id_last6": SWITCHED, "id_number": whole.group(1).upper()}
        last6 = LAST6_RE.search(said)
        if last6:
            return {"id_last6": last6.group(1).upper()}
        # keyed digits of the wrong length: ask again rather than leave the form
        return {"id_last6": ""} if said[:1].isdigit() else {}

    async def validate_id_last6(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: DomainDict) -> Slots:
        proof = str(value or "")
        phone = calling_number(tracker)
        if proof == SWITCHED or not phone:
            return {"id_last6": SWITCHED}
        if not proof:
            dispatcher.utter_message(text="请输入身份证号码的最后6位。")
            return {"id_last6": None}
        is_policy = bool(POLICY_RE.fullmatch(proof))
        channel, user = channel_user(tracker)
        try:
            binding = await client().bind(channel, user, None, phone,
                                          proof if is_policy else None,
                                          None if is_policy else proof,
                                          source=source_of(tracker))
        except (BackofficeDown, ApiError) as e:
            refused = _identify_refused(dispatcher, tracker, e)
            if refused is not None:
                return {"id_last6": SWITCHED, "id_number": SWITCHED, **refused}
            dispatcher.utter_message(text="核对不一致。")
            return {"id_last6": SWITCHED}
        party = binding.get("party") or {}
        dispatcher.utter_message(text=f"身份核验通过，{party.get('name_masked') or ''}您好。")
        return {"id_last6": proof, "identified": True}

    async def extract_id_number(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Slots:
        value = find_id(tracker)
        if value is None and requested(tracker, "id_number") and said_digits(tracker):
            return {"id_number": ""}  # a number not understood: a failed answer, said so
        return {"id_number": value} if value else {}

    async def extract_identity_proof(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> Slots:
        value = find_policy(tracker) or find_phone(tracker)
        if value is None and requested(tracker, "identity_proof") and said_digits(tracker):
            dispatcher.utter_message(text="没听清号码，请说11位手机号码或保单号。")
            return {"identity_proof": ""}
        return {"identity_proof": value.upper()} if value else {}

    def validate_id_number(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Slots:
        if value == "":
            dispatcher.utter_message(text="没听清身份证号码（18位，最后一位可能是X）。")
            return {"id_number": None}
        if not value:  # the form just started (the slot was cleared): only ask
            return {"id_number": None}
        if not valid_id_number(str(value)):
            dispatcher.utter_message(text="这个身份证号码好像不对（18位，最后一位可能是X），请再核对一下。")
            return {"id_number": None}
        return {"id_number": str(value)}

    async def validate_identity_proof(self, value: Any, dispatcher: CollectingDispatcher,
                                      tracker: Tracker, domain: DomainDict) -> Slots:
        id_number = tracker.get_slot("id_number")
        if not value or not id_number:
            return {"identity_proof": None}
        proof = str(value)
        is_policy = bool(POLICY_RE.fullmatch(proof))
        channel, user = channel_user(tracker)
        try:
            binding = await client().bind(channel, user, id_number, None if is_policy else proof,
                                          proof if is_policy else None,
                                          source=source_of(tracker))
        except (BackofficeDown, ApiError) as e:
            refused = _identify_refused(dispatcher, tracker, e)
            if refused is not None:
                return refused
            dispatcher.utter_message(response="utter_identify_failed")
            return {"id_number": None, "identity_proof": None}
        party = binding.get("party") or {}
        dispatcher.utter_message(text=f"身份核验通过，{party.get('name_masked') or ''}您好。")
        return {"identity_proof": proof, "identified": True}


def _identify_refused(dispatcher: CollectingDispatcher, tracker: Tracker,
                      error: Exception) -> Slots | None:
    """The back office down or the guessing limit reached: an agent takes over and the form
    ends unidentified. None for a plain mismatch (the caller may try again)."""
    if isinstance(error, BackofficeDown):
        dispatcher.utter_message(text="非常抱歉，系统暂时无法核验身份，已为您转接人工客服。")
        handoff(dispatcher, tracker, "backoffice_down", "核验身份时后台系统不可用")
    elif isinstance(error, ApiError) and error.status == 429:
        dispatcher.utter_message(text="核验失败次数过多，为保护您的信息安全，已暂停自助核验并为您转接人工客服。"
                                      "您也可以带上身份证件到就近网点办理。")
        handoff(dispatcher, tracker, "unsure", "客户多次身份核验未通过")
    else:
        return None
    return {"identity_proof": SWITCHED, "identified": False}


async def bound_id_masked(tracker: Tracker) -> str | None:
    """The masked ID number of the party this channel user is bound to (a caller: identified
    during this call): who speaks for themselves is not asked for it again; the claim then
    names the insured by the binding (see actions.submit)."""
    channel, user = channel_user(tracker)
    try:
        bound = await client().binding(channel, user)
    except (BackofficeDown, ApiError):
        return None
    masked = ((bound or {}).get("party") or {}).get("id_number_masked")
    return str(masked) if masked else None


def is_masked(id_number: str | None) -> bool:
    return bool(id_number) and "*" in str(id_number)


class ValidateIncidentForm(AsksConsent, AnswersOnly):
    def name(self) -> str:
        return "validate_incident_form"

    async def form_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                         tracker: Tracker, domain: DomainDict) -> list[str]:
        slots = list(domain_slots)
        if "claim_type" in slots and transport_case(tracker):
            # the seed's call script, once the type is settled: police, photos (, ticket)
            asked = script_slots(tracker)
            at = slots.index("claim_type") + 1
            slots[at:at] = list(asked)
        if "claim_type" in slots and len(await policy_choices(tracker)) > 1:
            # several policies pay for this type: which one, right after the type
            slots.insert(slots.index("claim_type") + 1, "claim_policy_no")
        # a family member reporting is asked their own name (报案人姓名) with their phone
        relation = tracker.get_slot("relation")
        if not relation or relation == "self" or "contact_phone" not in slots:
            return slots
        at = slots.index("contact_phone")
        return [*slots[:at], "reporter_name", *slots[at:]]

    async def get_extraction_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> list[EventType]:
        # "有照片" or "没报" answers the script's question whatever intent it was read as
        # (claim_documents, report_incident…); only 转人工 / 算了 leave
        slot = tracker.get_slot("requested_slot")
        if (slot in script.SCRIPT_SLOTS and intent_of(tracker) not in _LEAVING
                and script.ANSWERS[slot](text_of(tracker), asked=True) is not None):
            return await FormValidationAction.get_extraction_events(self, dispatcher, tracker,
                                                                    domain)
        return await super().get_extraction_events(dispatcher, tracker, domain)

    async def extract_claim_policy_no(self, dispatcher: CollectingDispatcher,
                                      tracker: Tracker, domain: DomainDict) -> Slots:
        if not requested(tracker, "claim_policy_no") or intent_of(tracker) in _NOT_ANSWERS:
            return {}
        picked = choice.chosen(text_of(tracker), await policy_choices(tracker))
        return {"claim_policy_no": picked or ""}

    async def validate_claim_policy_no(self, value: Any, dispatcher: CollectingDispatcher,
                                       tracker: Tracker, domain: DomainDict) -> Slots:
        offered = [str(p.get("policy_no")) for p in await policy_choices(tracker)]
        if value and str(value) in offered:
            return {"claim_policy_no": str(value)}
        if value == "":
            dispatcher.utter_message(text=f"抱歉，没听明白是哪一份。请说序号，比如“第一份”，"
                                          f"一共 {len(offered)} 份。")
        return {"claim_policy_no": None}

    async def extract_police_report(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Slots:
        return script_answer(tracker, "police_report")

    async def extract_scene_photos(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Slots:
        return script_answer(tracker, "scene_photos")

    async def extract_ticket(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> Slots:
        return script_answer(tracker, "ticket")

    def validate_police_report(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> Slots:
        return script_value("police_report", value, dispatcher)

    def validate_scene_photos(self, value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: DomainDict) -> Slots:
        return script_value("scene_photos", value, dispatcher)

    def validate_ticket(self, value: Any, dispatcher: CollectingDispatcher,
                        tracker: Tracker, domain: DomainDict) -> Slots:
        return script_value("ticket", value, dispatcher)

    async def extract_relation(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Slots:
        # "我是她女儿，叫李丽", "名字说错了，我叫…" name someone: the 我 corrects no relation
        naming = any(w in text_of(tracker) for w in _NAMING)
        if requested(tracker, "reporter_name") or (naming and tracker.get_slot("relation")):
            return {}
        value = entity(tracker, "relation")
        answer = free_answer(tracker, "relation")
        first = intent_of(tracker) == "report_incident" and not tracker.get_slot("relation")
        # the answer, or the start of the first message ("我姐姐今天早上摔倒了")
        said = answer or (text_of(tracker)[:6] if first else None)
        spoken = relation_of(said) if said else None
        if value not in RELATION_NAMES or (value == "self" and spoken not in (None, "self")):
            value = spoken  # a "我" heard as 本人 beside a kinship word is not the insured
        return {"relation": value} if value else {}

    async def extract_insured_id_number(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                        domain: DomainDict) -> Slots:
        value = find_id(tracker)
        if requested(tracker, "insured_id_number"):
            return {"insured_id_number": value or ""}
        # a correction at any later turn: "身份证号说错了，是…"
        return {"insured_id_number": value} if value and correcting(text_of(tracker)) else {}

    async def extract_incident_date(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Slots:
        said = entity_text(tracker, "date")
        found = parse_date(said, today_cn()) if said else None
        if found is None and (requested(tracker, "incident_date") or correcting(text_of(tracker))
                              or intent_of(tracker) in ("report_incident", "inform", "deny")):
            found = parse_date(text_of(tracker), today_cn())
        if found is None and requested(tracker, "incident_date"):
            return {"incident_date": ""}
        return {"incident_date": found.isoformat()} if found else {}

    async def extract_incident_place(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> Slots:
        # a place named in another answer ("买菜时地上湿滑摔倒") does not replace the one given:
        # a place is taken when asked for, or while none is known yet
        if corrected_slot(tracker, "") == "incident_place":  # "不是菜市场，是在家门口"
            value = corrected_value(text_of(tracker), tracker.get_slot("incident_place"))
            return {"incident_place": value} if value else {}
        if not requested(tracker, "incident_place") and tracker.get_slot("incident_place"):
            return {}
        value = entity(tracker, "location") or free_answer(tracker, "incident_place")
        return {"incident_place": value} if value else {}

    async def extract_description(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Slots:
        text = text_of(tracker)
        if (intent_of(tracker) == "report_incident" and not tracker.get_slot("description")
                and entity(tracker, "incident_type")):
            return {"description": text, **volunteered(text)}
        value = free_answer(tracker, "description")
        return {"description": value, **volunteered(value)} if value else {}

    async def extract_injury(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> Slots:
        value = free_answer(tracker, "injury")
        return {"injury": value} if value else {}

    async def extract_hospital(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Slots:
        value = entity(tracker, "hospital")
        if value is None:
            answer = free_answer(tracker, "hospital")
            if answer and any(answer.startswith(w) for w in _NONE_WORDS):
                value = "未就医"
            else:
                value = answer
        return {"hospital": value} if value else {}

    async def extract_claim_type(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Slots:
        """The answer to the type question; a change at the read-back ("改成身故", "类型不对":
        asked again); else, once the incident is told, the type its words decide."""
        text = text_of(tracker)
        if requested(tracker, "claim_type"):
            answer = free_answer(tracker, "claim_type")
            return {"claim_type": kinds.named(answer) or ""} if answer else {}
        if tracker.get_slot("claim_type"):
            if not requested(tracker, "incident_confirmed") or text.startswith("/"):
                return {}
            said = kinds.named(text) if correcting(text) or "类型" in text else None
            if said:
                return {"claim_type": said}
            changed = kinds.changing_type(text, tracker.get_slot("claim_type"))
            return {"claim_type": ""} if changed else {}
        g = tracker.get_slot
        if not (g("description") and g("injury") and g("hospital")):
            return {}
        words = f"{g('description')}；{g('injury')}；{g('hospital')}"
        covered = await cover.covered_types(tracker, g("insured_id_number"))
        found = kinds.guess(words, covered, g("hospital"))
        return {"claim_type": found} if found else {}

    async def validate_claim_type(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: DomainDict) -> Slots:
        if not value:  # "类型不对" or an answer naming no type: ask with the options
            return {"claim_type": None, "incident_confirmed": None}
        covered = await cover.covered_types(tracker, tracker.get_slot("insured_id_number"))
        if value not in covered:
            name = kinds.CLAIM_TYPE_NAMES.get(str(value), str(value))
            dispatcher.utter_message(text=f"出险人的保障不包括“{name}”。")
            return {"claim_type": None, "incident_confirmed": None}
        return {"claim_type": str(value)}

    async def extract_contact_phone(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Slots:
        return phone_answer(tracker, "contact_phone")

    async def extract_reporter_name(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Slots:
        value = name_said(tracker, "reporter_name")
        return {"reporter_name": value} if value else {}

    def validate_reporter_name(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> Slots:
        return name_answer("reporter_name", value, dispatcher)

    async def extract_incident_confirmed(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                         domain: DomainDict) -> Slots:
        if not requested(tracker, "incident_confirmed"):
            return {}
        return {"incident_confirmed": True if confirms(tracker) else None}

    async def validate_relation(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: DomainDict) -> Slots:
        if value not in RELATION_NAMES:
            return {"relation": None}
        slots: Slots = {"relation": value}
        if value != "self":  # what is kept about the insured, and why (the contract)
            await tell_family(dispatcher, tracker)
        if value == "self" and not tracker.get_slot("insured_id_number"):
            known = tracker.get_slot("id_number") or await bound_id_masked(tracker)
            if known:
                slots["insured_id_number"] = known
        elif value != "self" and is_masked(tracker.get_slot("insured_id_number")):
            # corrected to a family member: the bound party spoke, someone else was hurt
            slots["insured_id_number"] = None
        return slots

    def validate_insured_id_number(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: DomainDict) -> Slots:
        if value is None:  # cleared as the report starts: nothing said yet, only asked
            return {"insured_id_number": None}
        if not value or not valid_id_number(str(value)):
            dispatcher.utter_message(text="身份证号码好像不对（18位，最后一位可能是X），请再说一遍。")
            return {"insured_id_number": None}
        return {"insured_id_number": str(value)}

    def validate_incident_date(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> Slots:
        if value is None:  # cleared as the report starts: nothing said yet, only asked
            return {"incident_date": None}
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            dispatcher.utter_message(text="没听清是哪天，可以说“昨天”“上周五”或“10月3号”。")
            return {"incident_date": None}
        if day > today_cn():
            dispatcher.utter_message(text=f"事故日期不能晚于今天（今天是{spoken(today_cn())}），"
                                          "请再说一下事故是哪天发生的。")
            return {"incident_date": None}
        if day < today_cn() - timedelta(days=5 * 366):
            dispatcher.utter_message(text="这个日期好像不对，请再说一下事故是哪天发生的。")
            return {"incident_date": None}
        return {"incident_date": day.isoformat()}

    def validate_contact_phone(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> Slots:
        return phone_refused("contact_phone", value, dispatcher)

    def validate_incident_confirmed(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> Slots:
        return {"incident_confirmed": True if value is True else None}


# how each of the script's questions can be answered, said when an answer is not understood
_SCRIPT_HINTS = {"police_report": "请说“报了”或“没报”；不清楚的话请说“不清楚”。",
                 "scene_photos": "请说“有照片”或“没拍”。",
                 "ticket": "请说“车票还在”或“车票没有了”；没有车票的话，乘车记录也可以。"}


async def policy_choices(tracker: Tracker) -> list[dict[str, Any]]:
    """The insured's policies in force that pay for the claim type, once both are known."""
    g = tracker.get_slot
    if not g("claim_type") or not g("insured_id_number"):
        return []
    return await cover.policies_for_claim(tracker, g("insured_id_number"), g("claim_type"))


def transport_case(tracker: Tracker) -> bool:
    """A traffic or transport accident, by the type or by the user's words of the incident."""
    g = tracker.get_slot
    if g("claim_type") == "transport_death":
        return True
    words = "；".join(str(g(s) or "") for s in ("incident_place", "description", "injury",
                                                 "hospital"))
    return script.is_traffic_accident(words)


def script_slots(tracker: Tracker) -> tuple[str, ...]:
    """The script's questions for this report: the ticket only for a public-transport death."""
    if tracker.get_slot("claim_type") == "transport_death":
        return script.SCRIPT_SLOTS
    return tuple(s for s in script.SCRIPT_SLOTS if s != "ticket")


def volunteered(text: str) -> Slots:
    """Answers to the script given before it is asked ("被车撞了，交警来过了"): kept when the
    report turns out to be a traffic accident (the validation drops them otherwise)."""
    found = {slot: answer(text) for slot, answer in script.ANSWERS.items()}
    return {slot: value for slot, value in found.items() if value}


def script_answer(tracker: Tracker, slot: str) -> Slots:
    """The answer to the script's question when asked; at any other turn, what the words say
    of it ("不对，报警了" at the read-back)."""
    asked = requested(tracker, slot) and intent_of(tracker) not in _NOT_ANSWERS
    value = script.ANSWERS[slot](text_of(tracker), asked=asked)
    if value is None and asked:
        return {slot: ""}  # not understood: said again with the ways to answer
    return {slot: value} if value else {}


def script_value(slot: str, value: Any, dispatcher: CollectingDispatcher) -> Slots:
    if value in script.SAID[slot]:
        return {slot: value}
    if value == "":
        dispatcher.utter_message(text=f"抱歉，没听明白。{_SCRIPT_HINTS[slot]}")
    return {slot: None}


def script_summary(tracker: Tracker) -> str:
    """The script's answers in the read-back, so that they can be corrected."""
    if not transport_case(tracker):
        return ""
    names = {"police_report": "报警", "scene_photos": "现场照片", "ticket": "车票"}
    parts = [f"{names[s]}：{script.SAID[s].get(tracker.get_slot(s) or '', '未填')}"
             for s in script_slots(tracker)]
    return "；".join(parts) + "；"


def incident_summary(tracker: Tracker, ear: bool = False) -> str:
    """The report read back: numbers masked; `ear` (the caller hears it): said whole, in
    groups, for the caller to check what was heard."""
    g = tracker.get_slot
    day = g("incident_date")
    when = spoken(date.fromisoformat(day)) if day else "未填"
    reporter = g("reporter_name")
    insured, phone = g("insured_id_number") or "", g("contact_phone") or ""
    shown_id = grouped_id(insured) if ear and not is_masked(insured) else mask_id(insured)
    shown_phone = grouped_phone(phone) if ear else mask_phone(phone)
    return (f"出险人：{RELATION_NAMES.get(g('relation') or '', '未填')}"
            f"（身份证 {shown_id}）；"
            + (f"报案人：{mask_name(reporter)}；" if reporter and g("relation") != "self" else "")
            + f"时间：{when}；"
            f"地点：{mask_text(g('incident_place') or '未填')}；经过："
            f"{mask_text(g('description') or '未填')}；"
            f"伤情：{mask_text(g('injury') or '未填')}；医院：{g('hospital') or '未填'}；"
            f"理赔类型：{kinds.CLAIM_TYPE_NAMES.get(g('claim_type') or '', '未定')}；"
            + (f"报案保单：{g('claim_policy_no')}；" if g("claim_policy_no") else "")
            + script_summary(tracker)
            + f"联系电话：{shown_phone}")


class ValidateComplaintForm(AnswersOnly):
    def name(self) -> str:
        return "validate_complaint_form"

    async def extract_complaint_category(self, dispatcher: CollectingDispatcher,
                                         tracker: Tracker, domain: DomainDict) -> Slots:
        answer = free_answer(tracker, "complaint_category")
        if answer is None and intent_of(tracker) == "complain" and not tracker.get_slot(
                "complaint_category"):
            answer = text_of(tracker)
        category = complaint_category(answer) if answer else None
        if category is None and answer and requested(tracker, "complaint_category"):
            category = "other"
        return {"complaint_category": category} if category else {}

    async def extract_complaint_description(self, dispatcher: CollectingDispatcher,
                                            tracker: Tracker, domain: DomainDict) -> Slots:
        value = free_answer(tracker, "complaint_description")
        if value is None and intent_of(tracker) == "complain" and len(text_of(tracker)) >= 12 \
                and not tracker.get_slot("complaint_description") and not not_an_answer(tracker):
            value = text_of(tracker)  # the opening, or a complaint said before it was asked
        elif value is not None:  # the opening's own facts ("一个多月了还没赔") stay with it
            opening = complaint_opening(tracker)
            if opening and opening not in value:
                value = f"{opening}；{value}"
        return {"complaint_description": value} if value else {}

    async def extract_complaint_outcome(self, dispatcher: CollectingDispatcher,
                                        tracker: Tracker, domain: DomainDict) -> Slots:
        value = free_answer(tracker, "complaint_outcome")
        return {"complaint_outcome": value} if value else {}

    async def extract_complainant_name(self, dispatcher: CollectingDispatcher,
                                       tracker: Tracker, domain: DomainDict) -> Slots:
        value = name_said(tracker, "complainant_name")
        return {"complainant_name": value} if value else {}

    def validate_complainant_name(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: DomainDict) -> Slots:
        return name_answer("complainant_name", value, dispatcher)

    async def extract_complainant_phone(self, dispatcher: CollectingDispatcher,
                                        tracker: Tracker, domain: DomainDict) -> Slots:
        return phone_answer(tracker, "complainant_phone")

    def validate_complainant_phone(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: DomainDict) -> Slots:
        return phone_refused("complainant_phone", value, dispatcher)


_CATEGORIES = [("claim_delay", ("慢", "拖", "久", "还没赔", "不给钱")),
               ("claim_decision", ("不赔", "拒赔", "结果", "赔少", "扣钱", "金额")),
               ("service_attitude", ("态度", "服务", "没人管", "不理", "骂")),
               ("billing", ("收费", "扣费", "保费", "乱扣")),
               ("sales", ("业务员", "销售", "误导", "骗"))]
CATEGORY_NAMES = {"claim_delay": "理赔时效", "claim_decision": "理赔结果", "service_attit"
                                                                   "ude": "服务态度",
                  "billing": "收费问题", "sales": "销售行为", "other": "其他"}


# a bare request to complain says nothing the handler needs
_BARE_COMPLAINT = re.compile(r"[我要想你们对的再就吧啊呀了，,。！!\s]|投诉|一下|反映")


def complaint_opening(tracker: Tracker) -> str | None:
    """The message that started the complaint form, when it says more than "我要投诉"."""
    opening, last_user, running = None, None, False
    for event in tracker.events:
        if event.get("event") == "user":
            last_user = str(event.get("text") or "").strip()
        elif event.get("event") == "active_loop":
            started = event.get("name") == "complaint_form"
            if started and not running:  # not the form run again after a digression
                opening = last_user
            running = started or (running and event.get("name") is not None)
    if not opening or len(_BARE_COMPLAINT.sub("", opening)) < 4:
        return None
    return opening


def complaint_category(text: str) -> str | None:
    for code, words in _CATEGORIES:
        if any(w in text for w in words):
            return code
    return None


class ValidateContactForm(AnswersOnly):
    def name(self) -> str:
        return "validate_contact_form"

    async def extract_new_phone(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Slots:
        # the phone just given to identify oneself (the form starts right after) is the old one
        asking = tracker.get_slot("requested_slot") in ("new_phone", "new_address")
        value = find_phone(tracker) if asking or intent_of(
            tracker) == "update_contact" else None
        if value:
            return {"new_phone": value}
        answer = free_answer(tracker, "new_phone")
        if answer and ("不" in answer or "没" in answer):
            return {"new_phone": "-"}
        if answer:
            dispatcher.utter_message(text="请说11位的新手机号码，不修改请说“不改”。")
        return {}

    async def extract_new_address(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Slots:
        answer = free_answer(tracker, "new_address")
        if not answer:
            return {}
        return {"new_address": "-" if answer.startswith(("不", "没", "地址不")) else answer}


class ValidateBeneficiaryForm(AnswersOnly):
    def name(self) -> str:
        return "validate_beneficiary_form"

    async def extract_beneficiary_name(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: DomainDict) -> Slots:
        value = name_said(tracker, "beneficiary_name")
        return {"beneficiary_name": value} if value else {}

    def validate_beneficiary_name(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: DomainDict) -> Slots:
        return name_answer("beneficiary_name", value, dispatcher)

    async def extract_beneficiary_relation(self, dispatcher: CollectingDispatcher,
                                           tracker: Tracker, domain: DomainDict) -> Slots:
        answer = free_answer(tracker, "beneficiary_relation")
        value = relation_of(answer) if answer else None
        return {"beneficiary_relation": RELATION_NAMES[value]} if value else {}


class ValidateHomeVisitForm(AnswersOnly):
    def name(self) -> str:
        return "validate_home_visit_form"

    async def extract_visit_name(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Slots:
        value = name_said(tracker, "visit_name", volunteered=True)
        return {"visit_name": value} if value else {}

    def validate_visit_name(self, value: Any, dispatcher: CollectingDispatcher,
                            tracker: Tracker, domain: DomainDict) -> Slots:
        return name_answer("visit_name", value, dispatcher)

    async def extract_visit_phone(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Slots:
        return phone_answer(tracker, "visit_phone")

    def validate_visit_phone(self, value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> Slots:
        return phone_refused("visit_phone", value, dispatcher)

    async def extract_visit_address(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Slots:
        value = free_answer(tracker, "visit_address")
        return {"visit_address": value} if value else {}


def event_list(*events: EventType) -> list[EventType]:
    return list(events)
