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

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import claim_types as kinds
from actions import cover
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
    source_of,
    text_of,
    valid_id_number,
)
from actions.dates import parse_date, spoken
from actions.names import person_name
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
               "阿公", "阿婆")),
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
    if intent in _LEAVING:
        return True
    sure = float(((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 0)
    return intent in DIGRESSIONS and (sure >= _SURE or reads_as_question(text_of(tracker)))


class AnswersOnly(FormValidationAction, ABC):
    """Slots are taken from answers only: a question or a stop fills nothing, so Rasa rejects
    the form and the digression, stop or handoff rule runs instead."""

    @abstractmethod
    def name(self) -> str: ...

    async def get_extraction_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> list[EventType]:
        if not_an_answer(tracker):
            return []
        return await super().get_extraction_events(dispatcher, tracker, domain)


def today_cn() -> date:
    return datetime.now(SHANGHAI).date()


def requested(tracker: Tracker, slot: str) -> bool:
    return tracker.get_slot("requested_slot") == slot


def free_answer(tracker: Tracker, slot: str) -> str | None:
    """The whole message as the answer to the question just asked (free-text slots)."""
    if not requested(tracker, slot) or intent_of(tracker) in _NOT_ANSWERS:
        return None
    text = text_of(tracker)
    return text if text and not text.startswith("/") else None


def relation_of(text: str) -> str | None:
    for value, words in _RELATION_WORDS[1:] + _RELATION_WORDS[:1]:
        if any(w in text for w in words):
            return value
    return None


# words that make an answer a correction of something read back ("不对，是前天")
_CORRECTING = ("不对", "错了", "说错", "不是", "更正", "改一下", "改成", "应该是", "其实是")
_NAMING = ("叫", "名字", "姓名", "称呼")
WHOSE_NAME = {"reporter_name": "您的姓名", "complainant_name": "您的姓名",
              "visit_name": "老人家的姓名", "beneficiary_name": "受益人的姓名",
              "insured_name": "出险人的姓名"}


def correcting(text: str) -> bool:
    return any(w in text for w in _CORRECTING)


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


def name_said(tracker: Tracker, slot: str, volunteered: bool = False) -> str | None:
    """The answer to the name question; later, a correction of the name given ("说错了，我叫
    李丽") — only once there is one, lest "不是我，是我妈，她叫…" name the reporter. Where the
    only person named can be the slot's (`volunteered`: the elder of a home visit), a name
    said before the question ("我妈叫李桂兰，走不动路") is taken too."""
    said = free_answer(tracker, slot)
    text = text_of(tracker)
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


# the last six characters of an ID number, said or keyed (`*` arrives as X)
LAST6_RE = re.compile(r"(?<![0-9A-Za-z])([0-9]{5}[0-9Xx])(?![0-9A-Za-z])")
# on the phone path "-" means: the caller's number did not do, ask the whole ID number
SWITCHED = "-"


def calling_number(tracker: Tracker) -> str | None:
    """On a call, the number the caller's network reported: it may stand as the phone on
    file, never alone (a second factor always follows)."""
    channel, _ = channel_user(tracker)
    return caller_phone(tracker) if channel == "ivr" else None


class ValidateIdentifyForm(AnswersOnly):
    """Identification. On a call with a caller number the form asks first for the last 6 of
    the ID number (or a policy number) to go with that number; after one mismatch, or when
    the caller gives the whole ID number, it goes on as everywhere else: the ID number, then
    the phone on file or a policy number. The back office counts every try."""

    def name(self) -> str:
        return "validate_identify_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
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
        return {"id_number": value} if value else {}

    async def extract_identity_proof(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> Slots:
        value = find_policy(tracker) or find_phone(tracker)
        return {"identity_proof": value.upper()} if value else {}

    def validate_id_number(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Slots:
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


class ValidateIncidentForm(AnswersOnly):
    def name(self) -> str:
        return "validate_incident_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        # a family member reporting is asked their own name (报案人姓名) with their phone
        relation = tracker.get_slot("relation")
        if not relation or relation == "self" or "contact_phone" not in domain_slots:
            return domain_slots
        at = domain_slots.index("contact_phone")
        return [*domain_slots[:at], "reporter_name", *domain_slots[at:]]

    async def extract_relation(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Slots:
        # "我是她女儿，叫李丽", "名字说错了，我叫…" name someone: the 我 corrects no relation
        naming = any(w in text_of(tracker) for w in _NAMING)
        if requested(tracker, "reporter_name") or (naming and tracker.get_slot("relation")):
            return {}
        value = entity(tracker, "relation")
        if value not in RELATION_NAMES:
            answer = free_answer(tracker, "relation")
            value = relation_of(answer) if answer else None
        first = intent_of(tracker) == "report_incident" and not tracker.get_slot("relation")
        if value is None and first:
            value = relation_of(text_of(tracker)[:6])
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
        if not requested(tracker, "incident_place") and tracker.get_slot("incident_place"):
            return {}
        value = entity(tracker, "location") or free_answer(tracker, "incident_place")
        return {"incident_place": value} if value else {}

    async def extract_description(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Slots:
        text = text_of(tracker)
        if (intent_of(tracker) == "report_incident" and not tracker.get_slot("description")
                and entity(tracker, "incident_type")):
            return {"description": text}
        value = free_answer(tracker, "description")
        return {"description": value} if value else {}

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
        value = find_phone(tracker)
        if value is None and not tracker.get_slot("contact_phone"):
            value = caller_phone(tracker)
        if value is None and requested(tracker, "contact_phone"):
            return {"contact_phone": ""}
        return {"contact_phone": value} if value else {}

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
        text = text_of(tracker)
        yes = intent_of(tracker) == "affirm" and not any(w in text for w in ("不", "错"))
        return {"incident_confirmed": True if yes else None}

    async def validate_relation(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: DomainDict) -> Slots:
        if value not in RELATION_NAMES:
            return {"relation": None}
        slots: Slots = {"relation": value}
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
        if not value or not valid_id_number(str(value)):
            dispatcher.utter_message(text="身份证号码好像不对（18位，最后一位可能是X），请再说一遍。")
            return {"insured_id_number": None}
        return {"insured_id_number": str(value)}

    def validate_incident_date(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> Slots:
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
        if not value or not PHONE_RE.fullmatch(str(value)):
            dispatcher.utter_message(text="请留一个11位的手机号码。")
            return {"contact_phone": None}
        return {"contact_phone": str(value)}

    def validate_incident_confirmed(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> Slots:
        return {"incident_confirmed": True if value is True else None}


def incident_summary(tracker: Tracker) -> str:
    g = tracker.get_slot
    day = g("incident_date")
    when = spoken(date.fromisoformat(day)) if day else "未填"
    reporter = g("reporter_name")
    return (f"出险人：{RELATION_NAMES.get(g('relation') or '', '未填')}"
            f"（身份证 {mask_id(g('insured_id_number'))}）；"
            + (f"报案人：{mask_name(reporter)}；" if reporter and g("relation") != "self" else "")
            + f"时间：{when}；"
            f"地点：{mask_text(g('incident_place') or '未填')}；经过："
            f"{mask_text(g('description') or '未填')}；"
            f"伤情：{mask_text(g('injury') or '未填')}；医院：{g('hospital') or '未填'}；"
            f"理赔类型：{kinds.CLAIM_TYPE_NAMES.get(g('claim_type') or '', '未定')}；"
            f"联系电话：{mask_phone(g('contact_phone'))}")


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
        if value is None and intent_of(tracker) == "complain" and len(text_of(tracker)) >= 12:
            value = text_of(tracker)
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
        value = find_phone(tracker) or (
            None if tracker.get_slot("complainant_phone") else caller_phone(tracker))
        if value is None and requested(tracker, "complainant_phone"):
            dispatcher.utter_message(text="请留一个11位的手机号码。")
        return {"complainant_phone": value} if value else {}


_CATEGORIES = [("claim_delay", ("慢", "拖", "久", "还没赔", "不给钱")),
               ("claim_decision", ("不赔", "拒赔", "结果", "赔少", "扣钱", "金额")),
               ("service_attitude", ("态度", "服务", "没人管", "不理", "骂")),
               ("billing", ("收费", "扣费", "保费", "乱扣")),
               ("sales", ("业务员", "销售", "误导", "骗"))]
CATEGORY_NAMES = {"claim_delay": "理赔时效", "claim_decision": "理赔结果", "service_attit"
                                                                   "ude": "服务态度",
                  "billing": "收费问题", "sales": "销售行为", "other": "其他"}


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
        value = find_phone(tracker) or (
            None if tracker.get_slot("visit_phone") else caller_phone(tracker))
        return {"visit_phone": value} if value else {}

    async def extract_visit_address(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Slots:
        value = free_answer(tracker, "visit_address")
        return {"visit_address": value} if value else {}


def event_list(*events: EventType) -> list[EventType]:
    return list(events)
