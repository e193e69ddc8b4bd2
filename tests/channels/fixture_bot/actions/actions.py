"""Custom actions of the channel-test bot: a report number, and a deliberately slow answer."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

SLOW_SECONDS = float(os.environ.get("FIXTURE_SLOW_SECONDS", "6"))


class SubmitReport(Action):
    def name(self) -> str:
        return "action_submit_report"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[dict[str, Any]]:
        digits = "".join(c for c in tracker.sender_id if c.isdigit())[-4:].rjust(4, "0")
        number = f"R2026{int(time.time() * 1000) % 1000000:06d}{digits}"[:15]
        dispatcher.utter_message(text=f"已为您登记报案，报案号 {number}。")
        dispatcher.utter_message(text="我们会在一个工作日内联系您，请保持电话畅通。")
        return []


class SlowAnswer(Action):
    def name(self) -> str:
        return "action_slow_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        # a back-office look-up that takes its time, without holding up the other users'
        # actions (the action server is shared by every test of the session)
        await asyncio.sleep(SLOW_SECONDS)
        dispatcher.utter_message(text="查询完成：您的案件正在审核中。")
        return []
