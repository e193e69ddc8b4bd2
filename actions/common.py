"""What every action shares: who is speaking, masking, handoff, the back office client."""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import cn_identity
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.backoffice import Client
from actions.bank_cards import mask_card, mask_cards
from actions.spoken import mask_spoken

ID_RE = re.compile(r"(?<![0-9])([1-9][0-9]{16}[0-9Xx])(?![0-9])")
PHONE_RE = re.compile(r"(?<![0-9])(1[3-9][0-9]{9})(?![0-9])")
POLICY_RE = re.compile(r"(?<![A-Za-z0-9])([PpGg]20[0-9]{10}(?:[0-9]{2})?)(?![0-9])")
CLAIM_RE = re.compile(r"(?<![A-Za-z0-9])([Rr]20[0-9]{10})(?![0-9])")
ANGER_WORDS = ("骗子", "垃圾", "混蛋", "他妈", "气死", "滚",
               "王八蛋", "坑人", "去死", "忽悠", "骗人",
               "太气人", "欺负人", "有病")

_client: Client | None = None
#: The product whose benefits are answered publicly: the government scheme the bot serves.
DEFAULT_PUBLIC_PRODUCT = "CN-ELDER-ACC"


def public_product_code() -> str:
    return os.environ.get("XIAOBAO_PUBLIC_PRODUCT") or DEFAULT_PUBLIC_PRODUCT


def client() -> Client:
    global _client
    if _client is None:
        _client = Client.from_env()
    return _client


def valid_id_number(value: str) -> bool:
    """A resident ID, HMT residence permit or foreigner's permanent residence ID: area code,
    birth date (a real one, not after today in China) and check character; lower-case x too."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    return cn_identity.is_valid(cn_identity.normalise(value), today=today)


def mask_id(value: str | None) -> str:
    if not value:
        return ""
    # the back office's style (area code and last four kept), so masked values compare equal
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) >= 10 else "****"


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    return value[:3] + "****" + value[-4:] if len(value) == 11 else "****"


def mask_name(value: str | None) -> str:
    """张** style, as the back office masks names: the surname stays."""
    return value[0] + "*" * (len(value) - 1) if value else ""


def mask_text(text: str) -> str:
    """Personal numbers in free text (a description the user typed) masked before it is shown."""
    text = ID_RE.sub(lambda m: mask_id(m.group(1)), text)
    text = PHONE_RE.sub(lambda m: mask_phone(m.group(1)), text)
    text = mask_spoken(text, mask_id, mask_phone)  # said in Chinese numerals or grouped
    return mask_cards(text)  # a payout card number typed in the chat


def channel_user(tracker: Tracker) -> tuple[str, str]:
    """(channel, user) from the message metadata, else from the sender id `<channel>:<user>`."""
    meta = (tracker.latest_message or {}).get("metadata") or {}
    if meta.get("channel") and meta.get("user"):
        return str(meta["channel"]), str(meta["user"])
    channel, sep, user = tracker.sender_id.partition(":")
    return (channel, user) if sep and user else ("web", tracker.sender_id)


def on_phone(tracker: Tracker) -> bool:
    """The user is a caller: what they are told must make sense to the ear (actions/ear.py)."""
    return channel_user(tracker)[0] == "ivr"


def source_of(tracker: Tracker) -> str | None:
    """Where the user writes from, for the identity check's limit per source: the client
    address the web chat reported; on WeChat (no address reaches us) the openid; on the
    phone the caller's number."""
    meta = (tracker.latest_message or {}).get("metadata") or {}
    source = meta.get("source")
    if isinstance(source, str) and 0 < len(source) <= 64:
        return source
    channel, user = channel_user(tracker)
    if channel == "wechat":
        return user[:64]
    return caller_phone(tracker) if channel == "ivr" else None


def caller_phone(tracker: Tracker) -> str | None:
    meta = (tracker.latest_message or {}).get("metadata") or {}
    phone = meta.get("phone")
    return str(phone) if phone and PHONE_RE.fullmatch(str(phone)) else None


def text_of(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "").strip()


def intent_of(tracker: Tracker) -> str:
    return str(((tracker.latest_message or {}).get("intent") or {}).get("name") or "")


def entity(tracker: Tracker, name: str) -> str | None:
    """The (synonym-mapped) value of an entity in the latest message."""
    for e in (tracker.latest_message or {}).get("entities") or []:
        if e.get("entity") == name and e.get("value") not in (None, ""):
            return str(e["value"])
    return None


def entity_text(tracker: Tracker, name: str) -> str | None:
    """The words the user said for an entity (before synonym mapping): for dates."""
    text = text_of(tracker)
    for e in (tracker.latest_message or {}).get("entities") or []:
        if e.get("entity") == name and e.get("start") is not None:
            return text[int(e["start"]):int(e["end"])]
    return None


def is_angry(text: str) -> bool:
    return any(w in text for w in ANGER_WORDS) or text.count("!") + text.count("！") >= 3


# every form's answers, so that an agent taking over mid-form need not ask again
SUMMARY_SLOTS = ("relation", "incident_date", "incident_place", "description", "injury",
                 "hospital", "reporter_name", "complaint_category", "complaint_description",
                 "complaint_outcome", "complainant_name", "new_address", "beneficiary_name",
                 "beneficiary_relation", "visit_name", "visit_address", "police_report",
                 "scene_photos", "ticket", "claim_policy_no")
MASKED_SLOTS = {"id_number": mask_id, "insured_id_number": mask_id, "contact_phone": mask_phone,
                "phone": mask_phone, "new_phone": mask_phone, "visit_phone": mask_phone,
                "complainant_phone": mask_phone, "identity_proof": mask_text,
                "case_account": mask_card}


def handoff(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str, note: str,
            extra: dict[str, Any] | None = None) -> None:
    """Interface 2: the message that hands the conversation to an agent, with a summary."""
    slots: dict[str, Any] = {}
    for name, value in tracker.current_slot_values().items():
        if value in (None, "", False) or name in ("requested_slot", "pending_action"):
            continue
        if name in MASKED_SLOTS:
            slots[name] = MASKED_SLOTS[name](str(value))
        elif name in SUMMARY_SLOTS or name in ("identified", "policy_no", "claim_no"):
            slots[name] = value
    last_texts = [str(e.get("text")) for e in tracker.events
                  if e.get("event") == "user" and e.get("text")][-3:]
    said = "；".join(mask_text(t) for t in last_texts if not t.startswith("/"))
    summary: dict[str, Any] = {
        "text": f"{note}。客户最近说：{said or '（无）'}。",
        "intent": intent_of(tracker),
        "slots": slots,
        **(extra or {}),
    }
    form = tracker.active_loop_name
    if form:  # where the form stood: the agent goes on from the question it was asking
        summary["form"] = form
        summary["requested_slot"] = tracker.get_slot("requested_slot")
    if tracker.get_slot("policy_no"):
        summary.setdefault("policy_no", tracker.get_slot("policy_no"))
    if tracker.get_slot("claim_no"):
        summary.setdefault("claim_no", tracker.get_slot("claim_no"))
    dispatcher.utter_message(json_message={"handoff": {"reason": reason, "summary": summary}})


def apologize_down(dispatcher: CollectingDispatcher, tracker: Tracker, what: str) -> None:
    dispatcher.utter_message(text="非常抱歉，系统暂时无法查询，已为您转接人工客服，请稍候。"
                                  "您也可以拨打客服热线，我们会尽快处理。")
    handoff(dispatcher, tracker, "backoffice_down", f"后台系统暂时不可用，客户在办理：{what}")
