"""Separate consent to sensitive personal information (个人信息保护法 第二十九条) before the bot
first asks for an ID number, a medical document or a bank card.

Rasa's own means, no state beside it: every form that asks for such data (identification, the
incident report, the coverage check of a relative, the payout bank account) has the slot
`privacy_consent` first in its required slots (`AsksConsent`). When the form starts and the
slot is empty, the back office is asked for the channel user's decision on record; consent
given there fills the slot and nothing is asked. Otherwise the form asks it:
`action_ask_privacy_consent` shows the short notice the back office serves (its texts are
settings; on a call the shorter one, for the ear) and keeps its version and hash in
`privacy_notice_shown`; "同意" (好的, 可以, 行…) records the consent and the form goes on; a
refusal records it, ends the form with nothing kept and offers the phone line or an outlet.
"撤回授权" (`action_withdraw_consent`) records a withdrawal and empties the slot, so the next
such form asks again. A family member reporting for an insured is told what is kept about the
insured and why (the contract: 第十三条).
"""

from __future__ import annotations

import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backoffice import ApiError, BackofficeDown
from actions.common import channel_user, client, handoff, on_phone, text_of

SLOT = "privacy_consent"
SHOWN = "privacy_notice_shown"  # "<version> <sha256>" of the text the form showed
GIVEN, REFUSED, WITHDRAWN = "given", "refused", "withdrawn"
UNCLEAR = ""
REQUESTED = "requested_slot"

# how people refuse and agree; a refusal is looked for first ("不同意" holds 同意)
_REFUSING = ("不同意", "不愿意", "不授权", "不要", "不行", "不可以", "拒绝", "不答应", "不好",
             "不肯", "算了", "不用", "不")
_AGREEING = ("同意", "愿意", "授权", "可以", "好的", "好", "行", "没问题", "是的", "嗯", "对",
             "ok", "OK", "Ok", "答应", "接受", "知道了", "明白")
_NOTICE_TTL = 60.0  # seconds the served notice is kept by this process
_notices: dict[str, tuple[float, dict[str, Any]]] = {}


def decision_in(text: str) -> str:
    """"同意" → given, "不同意" → refused, anything else: unclear (asked again)."""
    said = text.strip().strip("。！!，,.～~ ")
    if not said:
        return UNCLEAR
    if any(w in said for w in ("没问题", "没意见", "没关系")):
        return GIVEN
    if (any(w in said for w in _REFUSING[:-1]) or said.startswith(("不", "没", "别"))
            or said.lower() in ("no", "n")):
        return REFUSED
    if any(w in said for w in _AGREEING):
        return GIVEN
    return UNCLEAR


async def notice(tracker: Tracker) -> dict[str, Any]:
    channel = "ivr" if on_phone(tracker) else channel_user(tracker)[0]
    channel = channel if channel in ("wechat", "ivr", "web") else "web"
    kept = _notices.get(channel)
    if kept and time.monotonic() - kept[0] < _NOTICE_TTL:
        return kept[1]
    served = await client().consent_notice(channel)
    _notices[channel] = (time.monotonic(), served)
    return served


async def on_record(tracker: Tracker) -> bool:
    """Consent given and not withdrawn, as the back office has it (down: not known, asked)."""
    channel, user = channel_user(tracker)
    try:
        answer = await client().consent(channel, user)
    except (BackofficeDown, ApiError):
        return False
    return bool(answer.get("consent_given"))


class AsksConsent:
    """Mixed into a form's validation action (before AnswersOnly): `privacy_consent` is asked
    first while no consent is on record. A form lists its own slots in `form_slots`."""

    def needs_consent(self, tracker: Tracker) -> bool:
        return True

    async def form_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                         tracker: Tracker, domain: DomainDict) -> list[str]:
        return list(domain_slots)

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        slots = await self.form_slots(domain_slots, dispatcher, tracker, domain)
        # asked as the form starts; a form already past it goes on (the slot emptied meanwhile
        # by a withdrawal is asked by the next form)
        starting = tracker.get_slot(REQUESTED) in (None, SLOT)
        if self.needs_consent(tracker) and (starting or tracker.get_slot(SLOT) is not None):
            return [SLOT, *slots]
        return slots

    async def next_requested_slot(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> EventType | None:
        # always ours: the consent slot is in no form's list in the domain
        required = await self.required_slots(self.domain_slots(domain),  # type: ignore[attr-defined]
                                             dispatcher, tracker, domain)
        return SlotSet(REQUESTED, next((s for s in required if tracker.slots.get(s) is None),
                                       None))

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        known: list[EventType] = []
        if (self.needs_consent(tracker) and tracker.get_slot(SLOT) is None
                and tracker.get_slot(REQUESTED) is None and await on_record(tracker)):
            tracker.slots[SLOT] = GIVEN  # on record: nothing to ask
            known = [SlotSet(SLOT, GIVEN)]
        events = await super().run(dispatcher, tracker, domain)  # type: ignore[misc]
        refused = any(e.get("event") == "slot" and e.get("name") == SLOT
                      and e.get("value") == REFUSED for e in events)
        return self.ended(domain) if refused else known + events

    def ended(self, domain: DomainDict) -> list[EventType]:
        """A refusal: the form ends and forgets what it collected; nothing is submitted."""
        from actions.forms import FORM_EXTRAS  # the form module mixes this class in

        form = self.form_name()  # type: ignore[attr-defined]
        slots = [*((domain.get("forms", {}).get(form, {}) or {}).get("required_slots", [])),
                 *FORM_EXTRAS.get(form, [])]
        return [*(SlotSet(s, None) for s in slots), SlotSet(SLOT, None), SlotSet(SHOWN, None),
                SlotSet("pending_action", None), SlotSet(REQUESTED, None), ActiveLoop(None),
                FollowupAction("action_listen")]

    async def extract_privacy_consent(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED) != SLOT:
            return {}
        return {SLOT: decision_in(text_of(tracker))}

    async def validate_privacy_consent(self, value: Any, dispatcher: CollectingDispatcher,
                                       tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value not in (GIVEN, REFUSED):
            if value == UNCLEAR:
                dispatcher.utter_message(text="请说“同意”或“不同意”。" if on_phone(tracker)
                                         else "请回复“同意”或“不同意”。")
            return {SLOT: None}
        if tracker.get_slot(REQUESTED) != SLOT:
            return {SLOT: value}  # found on record at the start, nothing to record
        version, _, digest = str(tracker.get_slot(SHOWN) or "").partition(" ")
        channel, user = channel_user(tracker)
        try:
            if not digest:  # shown before this process knew it: the notice in force
                served = await notice(tracker)
                version, digest = str(served["version"]), str(served["sha256"])
            await client().record_consent(channel, user, str(value), version, digest)
            served = await notice(tracker)
        except (BackofficeDown, ApiError):
            dispatcher.utter_message(text="非常抱歉，系统暂时无法记录您的授权，已为您转接人工客服。")
            handoff(dispatcher, tracker, "backoffice_down", "记录个人信息授权时后台系统不可用")
            return {SLOT: REFUSED}  # the form ends, nothing kept
        if value == REFUSED:
            dispatcher.utter_message(text=str(served.get("refused_text") or ""))
            return {SLOT: REFUSED}
        dispatcher.utter_message(text="好的，已记录您的授权。")
        return {SLOT: GIVEN}


async def tell_family(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """A family member reporting for an insured: what is kept about the insured, and why."""
    try:
        served = await notice(tracker)
    except (BackofficeDown, ApiError):
        return
    if served.get("family_text"):
        dispatcher.utter_message(text=str(served["family_text"]))


class ActionAskPrivacyConsent(Action):
    """The short notice and the question; the version and hash shown are kept in a slot."""

    def name(self) -> str:
        return "action_ask_privacy_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        try:
            served = await notice(tracker)
        except (BackofficeDown, ApiError):
            dispatcher.utter_message(text="非常抱歉，系统暂时无法办理，已为您转接人工客服。")
            handoff(dispatcher, tracker, "backoffice_down", "取个人信息告知时后台系统不可用")
            return [SlotSet(REQUESTED, None), ActiveLoop(None), FollowupAction("action_listen")]
        if on_phone(tracker):
            dispatcher.utter_message(text=str(served["text"]))
        else:
            dispatcher.utter_message(text=str(served["text"]), buttons=[
                {"title": "同意", "payload": "同意"}, {"title": "不同意", "payload": "不同意"}])
        return [SlotSet(SHOWN, f"{served['version']} {served['sha256']}")]


class ActionWithdrawConsent(Action):
    """"撤回授权": a withdrawal recorded; the next form that needs consent asks again."""

    def name(self) -> str:
        return "action_withdraw_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        channel, user = channel_user(tracker)
        try:
            current = await client().consent(channel, user)
            if not current.get("consent_given"):
                dispatcher.utter_message(text="您目前没有有效的敏感个人信息授权，无需撤回。")
                return [SlotSet(SLOT, None), SlotSet(SHOWN, None)]
            await client().record_consent(channel, user, WITHDRAWN,
                                          str(current["notice_version"]),
                                          str(current["notice_sha256"]))
            served = await notice(tracker)
        except (BackofficeDown, ApiError):
            dispatcher.utter_message(text="非常抱歉，系统暂时无法办理撤回，请稍后再试，"
                                          "或拨打客服电话办理。")
            return []
        dispatcher.utter_message(text=str(served.get("withdrawn_text") or "已撤回授权。"))
        return [SlotSet(SLOT, None), SlotSet(SHOWN, None)]
