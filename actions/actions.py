"""小保's actions: answers that read the back office, handoff, identification gate, documents."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import family_cover, product_answers
from actions.backoffice import ApiError, BackofficeDown
from actions.common import (
    apologize_down,
    channel_user,
    client,
    entity,
    handoff,
    intent_of,
    is_angry,
    mask_id,
    mask_phone,
    public_product_code,
    text_of,
)
from actions.coverage_check import offer_check
from actions.forms import FORM_EXTRAS, FORM_NAMES, MISSES
from actions.person_words import asks_for_a_person

Binding = dict[str, Any]
Answer = Callable[[CollectingDispatcher, Tracker, Binding], Awaitable[list[EventType]]]
_ANSWERS: dict[str, Answer] = {}
_WHAT = {"action_claim_progress": "查询理赔进度", "action_policy_query": "查询保单",
         "action_coverage_question": "咨询保障", "action_start_contact_update": "修改联系方式",
         "action_start_beneficiary_change": "变更受益人", "action_premium_payment": "交费咨询",
         "action_claim_documents": "咨询理赔材料"}


async def current_binding(tracker: Tracker) -> Binding | None:
    channel, user = channel_user(tracker)
    return await client().binding(channel, user)


def identify_first(dispatcher: CollectingDispatcher, pending: str) -> list[EventType]:
    """Ask for identification, then `pending` answers (action_identified)."""
    dispatcher.utter_message(text="为保护您的个人信息，查询前需要先核验身份。")
    return [SlotSet("pending_action", pending), SlotSet("id_number", None),
            SlotSet("identity_proof", None), FollowupAction("identify_form")]


async def answer_public_part(dispatcher: CollectingDispatcher, tracker: Tracker,
                             asked: bool = False) -> None:
    """A public question asked beside a personal one ("住院津贴一天多少钱，我的理赔到哪了"):
    its answer needs nobody's identity, so it comes first; if the product cannot be read, the
    personal answer goes on alone."""
    text = text_of(tracker)
    if not (asked or product_answers.asks_public(text)):  # `asked`: the caller knows it is
        return
    try:
        product = await client().product(public_product_code())
    except (BackofficeDown, ApiError):
        return
    dispatcher.utter_message(text=product_answers.answer(product, text))


class PersonalAction(Action, ABC):
    """An answer that discloses personal data: only to an identified (bound) user."""

    @abstractmethod
    def name(self) -> str: ...

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     binding: Binding) -> list[EventType]:
        raise NotImplementedError

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            await answer_public_part(dispatcher, tracker)
            binding = await current_binding(tracker)
            if binding is None:
                return self.identify_first(dispatcher, tracker)
            return await self.answer(dispatcher, tracker, binding)
        except BackofficeDown:
            apologize_down(dispatcher, tracker, _WHAT.get(self.name(), self.name()))
            return []
        except ApiError as e:
            dispatcher.utter_message(text=f"抱歉，暂时没能办理：{e.message or '请求未被受理'}。"
                                          "需要的话可以说“转人工”。")
            return []


    def identify_first(self, dispatcher: CollectingDispatcher,
                       tracker: Tracker) -> list[EventType]:
        """Identification before the answer; asked mid-form (a digression rule runs the form
        again next), the form goes on rather than give way to identify_form."""
        form = tracker.active_loop_name
        if form == "identify_form":  # answered once the identification is done
            dispatcher.utter_message(text="核验身份后马上为您查询。")
            return [SlotSet("pending_action", self.name())]
        if form:
            dispatcher.utter_message(text="这个需要核验身份后才能查询，等这件事办完，"
                                          "您再问我一次就可以。")
            return []
        dispatcher.utter_message(text="为保护您的个人信息，查询前需要先核验身份。")
        return [SlotSet("pending_action", self.name()), SlotSet("id_number", None),
                SlotSet("identity_proof", None), FollowupAction("identify_form")]


def personal(cls: type[PersonalAction]) -> type[PersonalAction]:
    _ANSWERS[cls().name()] = cls().answer
    return cls


@personal
class ActionClaimProgress(PersonalAction):
    def name(self) -> str:
        return "action_claim_progress"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     binding: Binding) -> list[EventType]:
        # only a number said now asks for one claim; a remembered one would hide the others
        asked = entity(tracker, "claim_no")
        asked = asked.upper() if asked else None
        open_claims = list(binding.get("open_claims") or [])
        if asked and asked in open_claims:
            return await _one_claim(dispatcher, asked)
        channel, user = channel_user(tracker)
        cases = await client().cases(channel, user)
        if asked:  # a closed or rejected claim of theirs: its line; anyone else's: not found
            line = next((c["text"] for c in cases.get("claims") or []
                         if c.get("number") == asked), None)
            dispatcher.utter_message(text=line or f"在您名下近两年的理赔里没有找到报案号 {asked}，"
                                                  "请核对号码；更早的案件可以说“转人工”查询。")
            return [SlotSet("claim_no", asked)] if line else []
        # every case of theirs: open, rejected (with the reasons) and closed claims, requests
        dispatcher.utter_message(text=str(cases.get("text") or ""))
        return [SlotSet("claim_no", open_claims[0])] if open_claims else []


async def _one_claim(dispatcher: CollectingDispatcher, claim_no: str) -> list[EventType]:
    progress = await client().progress(claim_no)
    text = str(progress.get("text") or f"您的理赔（报案号 {claim_no}）当前进度："
                                       f"{progress.get('stage')}。")
    if progress.get("next_step"):
        text += f"下一步：{progress['next_step']}。"
    dispatcher.utter_message(text=text)
    return [SlotSet("claim_no", claim_no)]


async def _policies(binding: Binding) -> list[dict[str, Any]]:
    found = []
    for policy_no in list(binding.get("policies") or [])[:5]:
        found.append(await client().policy(policy_no))
    return found


_POLICY_STATUS = {"in_force": "有效", "premium_due": "待交费", "grace_period": "宽限期内",
                  "lapsed": "已失效", "surrendered": "已退保", "expired": "已满期",
                  "terminated": "已终止", "cancelled": "已撤销"}


def _coverages_text(policy: dict[str, Any]) -> str:
    parts = []
    for c in policy.get("coverages") or []:
        amount = c.get("sum_insured")
        parts.append(f"{c.get('name')}（保额 {amount} 元）" if amount else str(c.get("name")))
    return "、".join(parts)


@personal
class ActionPolicyQuery(PersonalAction):
    def name(self) -> str:
        return "action_policy_query"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        # "我妈有没有参保": a relative checked by their ID number, nobody identified
        if family_cover.asks_relative_covered(text_of(tracker)):
            return await offer_check(dispatcher, tracker)
        return await super().run(dispatcher, tracker, domain)

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     binding: Binding) -> list[EventType]:
        policies = await _policies(binding)
        if not policies:
            dispatcher.utter_message(text="没有查到您名下的保单。如有疑问可以说“转人工”。")
            return []
        lines = []
        for p in policies:
            status = _POLICY_STATUS.get(str(p.get("status")), str(p.get("status")))
            period = f"{p.get('start_date') or ''}至{p.get('end_date') or ''}"
            lines.append(f"· 保单 {p.get('policy_no')}："
                         f"{p.get('product_name') or p.get('product_code')}，"
                         f"{status}，保障期 {period}")
            due = _next_due(p)
            if due:
                lines.append(f"  下期保费 {due['amount']} 元，应交日期 {due['due_date']}")
        dispatcher.utter_message(text="您名下的保单：\n" + "\n".join(lines))
        return [SlotSet("policy_no", policies[0].get("policy_no"))]


def _next_due(policy: dict[str, Any]) -> dict[str, Any] | None:
    for item in policy.get("premium_schedule") or []:
        if item.get("status") not in ("paid", "waived", "cancelled"):
            return item
    return None


class ActionCoverageQuestion(Action):
    """The scheme's benefits are public: answered from the product's data to anyone, without
    identification. A personal request beside the question (my claim, my policy) still needs
    it; an identified user's other policies are named with their own sums insured."""

    def name(self) -> str:
        return "action_coverage_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = text_of(tracker)
        code = public_product_code()
        try:
            product = await client().product(code)
        except BackofficeDown:
            apologize_down(dispatcher, tracker, _WHAT[self.name()])
            return []
        except ApiError:
            dispatcher.utter_message(text="抱歉，保障信息暂时查不到。需要的话可以说“转人工”。")
            return []
        dispatcher.utter_message(text=product_answers.answer(product, text))
        if family_cover.asks_relative_covered(text):  # "我爸能不能赔": is he covered at all
            return await offer_check(dispatcher, tracker, public=False)
        try:
            binding = await current_binding(tracker)
            own = await _other_policies_text(binding, code) if binding else ""
            if own:
                dispatcher.utter_message(text=own)
            return await _personal_beside(dispatcher, tracker, binding, text)
        except (BackofficeDown, ApiError):
            # the public answer stands; only a personal part asked beside it is owed
            if product_answers.personal_request(text):
                apologize_down(dispatcher, tracker, _WHAT[self.name()])
            return []


async def _other_policies_text(binding: Binding, public_code: str) -> str:
    """The identified user's policies of other products, with their own sums insured."""
    lines = [f"· {p.get('product_name') or p.get('product_code')}（保单 {p.get('policy_no')}）："
             f"{_coverages_text(p) or '见保单条款'}"
             for p in await _policies(binding) if p.get("product_code") != public_code]
    return "您名下的其他保单：\n" + "\n".join(lines) if lines else ""


_PERSONAL_NAMES = {"action_claim_progress": "理赔进度", "action_policy_query": "保单"}


async def _personal_beside(dispatcher: CollectingDispatcher, tracker: Tracker,
                           binding: Binding | None, text: str) -> list[EventType]:
    """"…赔多少？我的理赔到哪了": the personal part as its own action would answer it."""
    pending = product_answers.personal_request(text)
    if pending is None:
        return []
    if binding is None:
        dispatcher.utter_message(text=f"您问的{_PERSONAL_NAMES[pending]}涉及个人信息。")
        return identify_first(dispatcher, pending)
    return await _ANSWERS[pending](dispatcher, tracker, binding)


class ActionPremiumPayment(Action):
    """Payment modes for everyone; the amount and date due only for an identified user."""

    def name(self) -> str:
        return "action_premium_payment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = ("交费方式：银行卡自动扣款、微信或支付宝在线支付、到服务网点柜面交费。"
                "续期保费在应交日后有宽限期，宽限期内交费保障不中断。"
                "政府统保的老年人意外险保费由政府统一交纳，个人不用交钱。")
        try:
            binding = await current_binding(tracker)
            if binding:
                for p in await _policies(binding):
                    due = _next_due(p)
                    if due:
                        text += (f"\n您的保单 {p.get('policy_no')} 下期应交 {due['amount']} 元，"
                                 f"日期 {due['due_date']}。")
            else:
                text += "\n如需查询您保单的应交金额和日期，请说“查保单”，核验身份后为您查询。"
        except (BackofficeDown, ApiError):
            pass  # the general answer stands on its own
        dispatcher.utter_message(text=text)
        return []


class ActionClaimDocuments(Action):
    """Documents per claim type, from the product's data (Insurance Law art. 22: the claim
    itself then lists, once, what is still missing)."""

    def name(self) -> str:
        return "action_claim_documents"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            product = await client().product(public_product_code())
        except (BackofficeDown, ApiError):
            apologize_down(dispatcher, tracker, _WHAT[self.name()])
            return []
        text = text_of(tracker)
        if product_answers.asks_how_to_report(text):  # "报案要打什么电话" reads like documents
            dispatcher.utter_message(text=product_answers.report(product, text))
            return []
        dispatcher.utter_message(text=product_answers.documents(
            product, text, entity(tracker, "incident_type")))
        return []


class ActionServiceOutlet(Action):
    def name(self) -> str:
        return "action_service_outlet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if product_answers.asks_how_to_report(text_of(tracker)):  # 去哪里报案: how, then where
            await answer_public_part(dispatcher, tracker, asked=True)
        town = entity(tracker, "location")
        try:
            outlets = await client().outlets(town) if town else []
            if not outlets:
                outlets = await client().outlets()
        except (BackofficeDown, ApiError):
            dispatcher.utter_message(text="抱歉，网点信息暂时查不到，请稍后再试，或说“转人工”。")
            return []
        if not outlets:
            dispatcher.utter_message(text="暂时没有网点信息，请说“转人工”咨询。")
            return []
        lines = [f"· {o.get('name')}：{o.get('address')}，{o.get('opening_hours_text') or ''}"
                 f"{'，电话 ' + str(o['phone']) if o.get('phone') else ''}" for o in outlets[:3]]
        more = "\n行动不便的老人可以预约上门服务，说“预约上门”即可。"
        dispatcher.utter_message(text="可以到这些服务网点办理：\n" + "\n".join(lines) + more)
        return []


class ActionHandoff(Action):
    """转人工, inside a form too: what the form collected goes to the agent in the summary
    and is then forgotten by the bot (the form is not resumed after a handback)."""

    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        angry = is_angry(text_of(tracker))
        return handed_to_a_person(dispatcher, tracker, domain, "anger" if angry else "user_request")


def handed_to_a_person(dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any], reason: str = "user_request") -> list[EventType]:
    """The handoff with the form under way, if any, ended and forgotten (its answers go in
    the summary)."""
    form = tracker.active_loop_name
    to_a_person(dispatcher, tracker, form, reason)
    return [ActiveLoop(None), SlotSet("requested_slot", None),
            *(forget_form(tracker, domain, form) if form else [])]


def person_asked(dispatcher: CollectingDispatcher, tracker: Tracker,
                 domain: dict[str, Any]) -> list[EventType] | None:
    """Words asking for a person ("算了，你帮我转人工吧") that the NLU did not classify as
    human_handoff (nlu_fallback between stop and handoff, a bare answer): a handoff all the
    same, in a form or not; None when the words ask for nobody."""
    if not asks_for_a_person(text_of(tracker)):
        return None
    return handed_to_a_person(dispatcher, tracker, domain,
                              "anger" if is_angry(text_of(tracker)) else "user_request")


def to_a_person(dispatcher: CollectingDispatcher, tracker: Tracker, form: str | None,
                reason: str) -> None:
    dispatcher.utter_message(text="好的，正在为您转接人工客服，请稍候。您刚才说的情况我已转告客服，不用重复。")
    note = f"客户在{FORM_NAMES[form]}中途要求转人工" if form in FORM_NAMES else "客户要求转人工"
    handoff(dispatcher, tracker, reason, note)


def forget_form(tracker: Tracker, domain: dict[str, Any], form: str | None) -> list[EventType]:
    """What a form collected, cleared when it ends unsubmitted (a stop, a handoff), with the
    request it was for; an identification already made (`identified`) stays."""
    if not form:
        return [SlotSet("pending_action", None)]
    slots = list(domain.get("forms", {}).get(form, {}).get("required_slots", []))
    slots += [*FORM_EXTRAS.get(form, []), MISSES]
    if form == "identify_form" and tracker.get_slot("identified"):
        slots = []
    return [*(SlotSet(s, None) for s in slots if tracker.get_slot(s) is not None),
            *([SlotSet("keypad", False)] if tracker.get_slot("keypad") else []),
            SlotSet("pending_action", None)]


class ActionStopForm(Action):
    """算了 / 不报了: after action_deactivate_loop (rules in data/nlu/digressions.yml) the form
    ends with nothing kept and nothing sent to the back office; outside a form, an
    acknowledgment only."""

    def name(self) -> str:
        return "action_stop_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        form = stopped_form(tracker)
        if asks_for_a_person(text_of(tracker)):  # "算了，你帮我转人工吧": a person, not a stop
            to_a_person(dispatcher, tracker, form, "user_request")
            return [SlotSet("requested_slot", None), *forget_form(tracker, domain, form)]
        dispatcher.utter_message(response="utter_form_stopped" if form else "utter_stop_idle")
        return forget_form(tracker, domain, form)


def stopped_form(tracker: Tracker) -> str | None:
    """The form action_deactivate_loop ended just before this action, if it did."""
    if tracker.latest_action_name != "action_deactivate_loop":
        return None
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name"):
            return str(event["name"])
    return None


class ActionAgentHandback(Action):
    def name(self) -> str:
        return "action_agent_handback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_handback")
        return [SlotSet("pending_action", None)]


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many of the last user messages in a row the bot did not understand."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if name != "nlu_fallback":
            break
        count += 1
    return count


class ActionDefaultFallback(Action):
    def name(self) -> str:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        handed = person_asked(dispatcher, tracker, domain)
        if handed is not None:
            return handed
        if is_angry(text_of(tracker)):
            dispatcher.utter_message(text="非常抱歉让您不满意，马上为您转接人工客服。")
            handoff(dispatcher, tracker, "anger", "客户情绪激动")
            return []
        if consecutive_fallbacks(tracker) >= 2:
            dispatcher.utter_message(text="抱歉我没能理解您的意思，已为您转接人工客服，请稍候。")
            handoff(dispatcher, tracker, "fallback", "连续两次未能理解客户的问题")
            return []
        dispatcher.utter_message(text="抱歉，我没太明白。您可以换个说法，比如“我要报案”“查理赔进度”"
                                      "“理赔要什么材料”，或者说“转人工”。")
        return []


class ActionIdentified(Action):
    """After identify_form: continue with what the user asked for before identification."""

    def name(self) -> str:
        return "action_identified"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if not tracker.get_slot("identified"):
            return [SlotSet("pending_action", None)]
        pending = tracker.get_slot("pending_action")
        events: list[EventType] = [SlotSet("pending_action", None)]
        if pending in _FORM_STARTS:
            return [*events, FollowupAction(_FORM_STARTS[pending])]
        answer = _ANSWERS.get(str(pending))
        if answer is None:
            dispatcher.utter_message(text="请问需要办理什么业务？")
            return events
        try:
            binding = await current_binding(tracker)
            if binding is None:
                return events
            return events + await answer(dispatcher, tracker, binding)
        except BackofficeDown:
            apologize_down(dispatcher, tracker, _WHAT.get(str(pending), "查询"))
            return events


_FORM_STARTS = {"action_start_contact_update": "contact_form",
                "action_start_beneficiary_change": "beneficiary_form"}


class StartPersonalForm(Action, ABC):
    """Policy services: identification first, then the form."""

    form = ""

    @abstractmethod
    def name(self) -> str: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        reset = [SlotSet(s, None) for s in domain.get("forms", {}).get(self.form, {})
                 .get("required_slots", []) if s not in ("id_number",)]
        try:
            binding = await current_binding(tracker)
        except BackofficeDown:
            apologize_down(dispatcher, tracker, _WHAT[self.name()])
            return []
        if binding is None:
            dispatcher.utter_message(text="办理前需要先核验身份。")
            return [*reset, SlotSet("pending_action", self.name()), SlotSet("identity_proof", None),
                    FollowupAction("identify_form")]
        return [*reset, FollowupAction(self.form)]


class ActionStartContactUpdate(StartPersonalForm):
    form = "contact_form"

    def name(self) -> str:
        return "action_start_contact_update"


class ActionStartBeneficiaryChange(StartPersonalForm):
    form = "beneficiary_form"

    def name(self) -> str:
        return "action_start_beneficiary_change"


class ActionSubmitContactUpdate(Action):
    """信息更新 through the parties API, for the identified party only."""

    def name(self) -> str:
        return "action_submit_contact_update"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        changes = {k: tracker.get_slot(s) for k, s in (("phone", "new_phone"), ("address", "new_add"
                                                                                           "ress"))
                   if tracker.get_slot(s) not in (None, "", "-")}
        done = [SlotSet("new_phone", None), SlotSet("new_address", None)]
        id_number = tracker.get_slot("id_number")
        if not changes:
            dispatcher.utter_message(text="好的，联系方式保持不变。")
            return done
        try:
            binding = await current_binding(tracker)
            party = (binding or {}).get("party") or {}
            if not id_number or mask_id(id_number) != party.get("id_number_masked"):
                dispatcher.utter_message(text="为安全起见，修改联系方式需要在本次对话中核验身份，请说“改手机号”重新办理。")
                return [*done, SlotSet("identified", False)]
            await client().request("PATCH", f"/parties/{id_number}", {**changes, "actor": "bot"},
                                   idempotent=True)
        except BackofficeDown:
            apologize_down(dispatcher, tracker, "修改联系方式")
            return done
        except ApiError as e:
            dispatcher.utter_message(text=f"修改没有成功：{e.message}。请核对后重新办理。")
            return done
        parts = []
        if "phone" in changes:
            parts.append(f"手机号改为 {mask_phone(changes['phone'])}")
        if "address" in changes:
            parts.append("联系地址已更新")
        dispatcher.utter_message(text="已为您更新：" + "，".join(parts) + "。")
        return done


_RELATION_CODES = {"本人": "self", "配偶": "spouse", "父母": "parent", "子女": "child",
                   "兄弟姐妹": "sibling", "其他亲友": "other"}
_ENDORSABLE = ("in_force", "premium_due", "grace_period")


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1)


async def endorsable_policy(binding: Binding, asked: str | None) -> dict[str, Any] | None:
    """The identified party's individual policy a beneficiary change can be asked on: the one
    the user named, else the newest (a group scheme's beneficiaries are the insurer's rules)."""
    found = [p for p in await _policies(binding)
             if p.get("kind") == "individual" and p.get("status") in _ENDORSABLE]
    return next((p for p in found if asked and p.get("policy_no") == asked.upper()),
                found[0] if found else None)


class ActionSubmitBeneficiaryChange(Action):
    """Changing a beneficiary needs the policyholder's signature: an endorsement request
    (保全申请) for staff, through the back office's API; its number is read back."""

    def name(self) -> str:
        return "action_submit_beneficiary_change"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        name = str(tracker.get_slot("beneficiary_name") or "")
        relation = str(tracker.get_slot("beneficiary_relation") or "其他亲友")
        done: list[EventType] = [SlotSet("beneficiary_name", None),
                                 SlotSet("beneficiary_relation", None)]
        note = f"客户申请变更受益人（保全）：新受益人 {mask_name(name)}，关系 {relation}"
        try:
            binding = await current_binding(tracker)
            policy = await endorsable_policy(binding, tracker.get_slot("policy_no")) \
                if binding else None
            if policy is None:
                dispatcher.utter_message(text="没有查到您名下可以申请变更受益人的个人保单，"
                                              "已为您转接人工客服核实，您说的内容已转交。")
                handoff(dispatcher, tracker, "unsure", f"{note}，但未找到可办理的个人保单")
                return done
            made = await client().post("/endorsement-requests", self.body(tracker, policy, name,
                                                                          relation))
        except BackofficeDown:
            apologize_down(dispatcher, tracker, note)
            return done
        except ApiError as e:
            dispatcher.utter_message(text=f"受益人变更申请没有成功：{e.message}。已为您转接人工客服继续办理。")
            handoff(dispatcher, tracker, "unsure", f"{note}，后台未受理（{e.code}）")
            return done
        dispatcher.utter_message(
            text=f"已受理您的受益人变更申请，申请编号 {made.get('request_no')}：保单 "
                 f"{policy.get('policy_no')} 的新受益人 {mask_name(name)}（{relation}）。"
                 "变更受益人需投保人签字确认，工作人员会联系您核对材料，"
                 f"{made.get('due_by') or '5个工作日内'} 前办结，结果会通知您。")
        return [*done, SlotSet("policy_no", policy.get("policy_no"))]

    @staticmethod
    def body(tracker: Tracker, policy: dict[str, Any], name: str,
             relation: str) -> dict[str, Any]:
        channel, user = channel_user(tracker)
        return {"channel": channel if channel in ("wechat", "ivr", "web") else "bot",
                "user": user[:80], "policy_no": policy.get("policy_no"),
                "kind": "change_beneficiary", "actor": "bot",
                "note": "客户经小保申请，待投保人签字确认",
                "details": {"beneficiaries": [{"name": name[:40],
                                               "relation": _RELATION_CODES.get(relation,
                                                                               "other")}]}}


_DOC_FIELDS = {
    "admission_date": "入院日期", "discharge_date": "出院日期", "hospital_days": "住院天数",
    "hospital": "医院", "diagnosis": "诊断", "total_amount": "金额", "issue_date": "开票日期",
    "disability_level": "伤残等级", "assessment_date": "鉴定日期", "death_date": "死亡日期",
    "accident_date": "事故日期", "bank_name": "银行", "card_number": "卡号", "name": "姓名",
    "id_number": "身份证号", "patient_name": "患者", "payer_name": "交款人",
}


def _field_text(name: str, value: Any) -> str:
    label = _DOC_FIELDS.get(name, name)
    text = str(value)
    if name == "id_number":
        text = mask_id(text)
    elif name == "card_number":
        text = "尾号" + text[-4:]
    elif name in ("name", "patient_name", "payer_name"):
        text = text[:1] + "*" * (len(text) - 1)
    elif name.endswith("_date") and len(text) == 10:
        try:
            day = date.fromisoformat(text)
            text = f"{day.month}月{day.day}日"
        except ValueError:
            pass
    elif name == "hospital_days":
        return f"住院{text}天"
    elif name == "total_amount":
        text = f"{text}元"
    return f"{label}{text}"


class ActionDocumentUploaded(Action):
    """Interface 3: read the uploaded document back and confirm its fields with the user."""

    def name(self) -> str:
        return "action_document_uploaded"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        claim_no = entity(tracker, "claim_no") or ""
        document_id = entity(tracker, "document_id") or ""
        if not claim_no:
            dispatcher.utter_message(text="收到您的图片。不过没有找到您名下进行中的理赔：如果要报案，请告诉我发生了什么；"
                                          "已经报过案的，请先核验身份（说“查理赔进度”）。")
            return []
        try:
            doc = await client().document(claim_no, document_id) if document_id else None
        except BackofficeDown:
            apologize_down(dispatcher, tracker, "上传理赔材料")
            return []
        except ApiError:
            doc = None
        if not doc or not doc.get("fields"):
            dispatcher.utter_message(text=f"材料已收到，已附到报案号 {claim_no} 的理赔中，"
                                          "工作人员会尽快审核。")
            return [SlotSet("claim_no", claim_no)]
        from actions.cases import propose_bank_card  # cases builds on this module

        proposal = propose_bank_card(claim_no, document_id, doc)
        if proposal:  # a bank card: its number proposed as the payout account, confirmed next
            dispatcher.utter_message(text=proposal[0])
            return proposal[1]
        fields = doc["fields"]
        order = [*(k for k in _DOC_FIELDS if k in fields),
                 *(k for k in fields if k not in _DOC_FIELDS)]
        shown = [_field_text(k, (fields[k] or {}).get("value")) for k in order
                 if (fields[k] or {}).get("value") not in (None, "")][:4]
        unsure = [_DOC_FIELDS.get(k, k) for k in doc.get("needs_review") or []]
        text = f"已收到材料，附到报案号 {claim_no}。识别到" + "，".join(shown) + "，对吗？"
        if unsure:
            text += f"（其中{'、'.join(unsure)}不太清楚，工作人员会再核对）"
        dispatcher.utter_message(text=text)
        return [SlotSet("claim_no", claim_no), SlotSet("document_id", document_id),
                SlotSet("pending_action", "document_confirm")]


class ActionYesNo(Action):
    """Yes / no / a bare answer outside a form: what it answers depends on the last question."""

    def name(self) -> str:
        return "action_yes_no"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        handed = person_asked(dispatcher, tracker, domain)
        if handed is not None:  # "不用了，转人工吧" taken as a no
            return handed
        pending = tracker.get_slot("pending_action")
        intent = intent_of(tracker)
        if pending == "document_confirm" and intent in ("affirm", "deny"):
            if intent == "affirm":
                dispatcher.utter_message(text="好的，信息已确认，工作人员审核时会以原件为准。")
            else:
                dispatcher.utter_message(text="好的，已标记这份材料需要人工核对，工作人员会按原件修正。")
            return [SlotSet("pending_action", None)]
        if intent == "affirm":
            dispatcher.utter_message(response="utter_affirm_idle")
        elif intent == "deny":
            dispatcher.utter_message(text="好的。还有其他需要帮忙的吗？")
        else:
            dispatcher.utter_message(text="收到。请问您要办理什么？比如报案、查理赔进度、咨询保障，或者说“转人工”。")
        return []
