"""A score for the satisfaction question (满意度) said in the chat rather than in the SMS or
WeChat reply the back office reads itself: "收到短信让我打分，我打4分", "满意度评价：满意".

Identification first (a rating is the customer's word on their own claim); then the newest
closed claim of theirs is rated through POST /satisfaction. The score is read from the
message that asked for it (the identification answers came after it).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import Binding, PersonalAction, personal
from actions.backoffice import ApiError
from actions.common import channel_user, client
from actions.rating_words import score_in

RATE_INTENT = "rate_service"
_RATING_CHANNELS = ("wechat", "ivr", "web", "sms")


def rating_message(tracker: Tracker) -> str:
    """The latest message that gave the rating (identification may have come after it)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and ((event.get("parse_data") or {}).get(
                "intent") or {}).get("name") == RATE_INTENT:
            return str(event.get("text") or "")
    return str((tracker.latest_message or {}).get("text") or "")


@personal
class ActionRateService(PersonalAction):
    def name(self) -> str:
        return "action_rate_service"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     binding: Binding) -> list[EventType]:
        said = rating_message(tracker)
        score = score_in(said)
        if score is None:
            dispatcher.utter_message(text="请用 1 到 5 分评价（5 分为非常满意），比如“5分”。")
            return []
        channel, user = channel_user(tracker)
        cases = await client().cases(channel, user)
        closed = [c for c in cases.get("claims") or [] if c.get("status") == "closed"]
        if not closed:
            dispatcher.utter_message(text="谢谢您的评价。您名下没有已结案的理赔需要评价；"
                                          "需要的话可以说“转人工”。")
            return []
        claim_no = str(closed[0]["number"])
        body: dict[str, Any] = {"subject_type": "claim", "subject_id": claim_no, "score": score,
                                "channel": channel if channel in _RATING_CHANNELS else "web"}
        comment = said.strip()[:1000]
        if comment:
            body["comment"] = comment
        try:
            await client().post("/satisfaction", body)
        except ApiError as e:
            if e.status == 409:
                dispatcher.utter_message(text=f"报案号 {claim_no} 的理赔您已经评价过了，谢谢。")
                return []
            raise
        low = "很抱歉让您不满意，主管会尽快与您联系了解情况。" if score <= 2 else \
            "我们会继续改进服务。"
        dispatcher.utter_message(
            text=f"感谢您对报案号 {claim_no} 理赔服务的评价（{score} 分），{low}")
        return []
