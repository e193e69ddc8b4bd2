""""我妈有没有参保": who the scheme insures and from when (public, from the product), then an
offer to check the relative by their ID number — answered covered or not, nothing more, and
the chat is not bound to the relative (POST /api/v1/coverage-checks, counted like a guess)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import family_cover, product_answers
from actions.backoffice import ApiError, BackofficeDown
from actions.common import (
    apologize_down,
    channel_user,
    client,
    intent_of,
    public_product_code,
    source_of,
    text_of,
    valid_id_number,
)
from actions.forms import AnswersOnly, Slots, find_id, requested

FORM = "coverage_check_form"


async def offer_check(dispatcher: CollectingDispatcher, tracker: Tracker,
                      public: bool = True) -> list[EventType]:
    """The public answer (who is insured, from when) and the offer to check the relative;
    the form that asks the ID number starts unless another form is under way."""
    if public:
        try:
            product = await client().product(public_product_code())
        except (BackofficeDown, ApiError):
            product = None
        if product:
            said = product_answers.eligibility(product, text_of(tracker))
            dispatcher.utter_message(text=said.split("想确认")[0])
    if tracker.active_loop_name:
        dispatcher.utter_message(text="要查老人是否在保，等这件事办完再问我一次就可以。")
        return []
    dispatcher.utter_message(text="想确认老人家是否在保，我可以帮您查：只告诉您在保还是不在保，"
                                  "不透露其他信息，也不用核验您的身份。")
    return [SlotSet("check_id_number", None), FollowupAction(FORM)]


class ValidateCoverageCheckForm(AnswersOnly):
    def name(self) -> str:
        return "validate_coverage_check_form"

    async def extract_check_id_number(self, dispatcher: CollectingDispatcher,
                                      tracker: Tracker, domain: DomainDict) -> Slots:
        if not requested(tracker, "check_id_number"):
            return {}
        text = text_of(tracker)
        found = find_id(tracker)
        if found:
            return {"check_id_number": found}
        if family_cover.declines(text) or intent_of(tracker) == "deny":
            return {"check_id_number": family_cover.DECLINED}
        return {"check_id_number": ""}

    def validate_check_id_number(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> Slots:
        if value == family_cover.DECLINED:
            return {"check_id_number": value}
        if value and valid_id_number(str(value)):
            return {"check_id_number": str(value)}
        if value is not None:  # said, but no valid ID number in it
            dispatcher.utter_message(text="这个身份证号码好像不对（18位，最后一位可能是X），"
                                          "请再说一遍；不查了请说“不用了”。")
        return {"check_id_number": None}


class ActionCheckCoverage(Action):
    """The check's answer; the ID number is forgotten at once (never kept in the chat)."""

    def name(self) -> str:
        return "action_check_coverage"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        id_number = tracker.get_slot("check_id_number")
        forget = [SlotSet("check_id_number", None)]
        if not id_number or id_number == family_cover.DECLINED:
            dispatcher.utter_message(text="好的，不查了。还有其他可以帮您的吗？")
            return forget
        channel, user = channel_user(tracker)
        body = {"channel": channel if channel in ("wechat", "ivr", "web") else "web",
                "user": user, "id_number": id_number, "product_code": public_product_code()}
        source = source_of(tracker)
        if source:
            body["source"] = source
        try:
            answer = await client().post("/coverage-checks", body)
        except BackofficeDown:
            apologize_down(dispatcher, tracker, "查询老人是否在保")
            return forget
        except ApiError as e:
            dispatcher.utter_message(text=e.message if e.status == 429 else
                                     f"抱歉，暂时查不了：{e.message}。需要的话可以说“转人工”。")
            return forget
        dispatcher.utter_message(text=family_cover.result_text(bool(answer.get("covered")),
                                                               str(answer.get("product_name"))))
        return forget
