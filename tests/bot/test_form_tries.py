"""Failed answers counted by every form (actions/forms.py, AnswersOnly), run in .venv-bot
without a Rasa server: the keypad offered to a caller after two, a person after three, on
every channel; a digression or a correction is no failed answer."""

from __future__ import annotations

from typing import Any

from tests.bot.test_actions_in_bot_env import run_bot_python

RUN_FORM = """
import asyncio, json
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from actions import forms

DOMAIN = {"forms": {"complaint_form": {"required_slots": [
              "complaint_category", "complaint_description", "complaint_outcome",
              "complainant_name", "complainant_phone"]},
          "incident_form": {"required_slots": [
              "relation", "insured_id_number", "incident_date", "incident_place",
              "description", "injury", "hospital", "claim_type", "contact_phone",
              "incident_confirmed"]}}}

def run(action, form, text, intent, slots, channel="wechat"):
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": [],
               "metadata": {"channel": channel, "user": "u-1",
                            **({"phone": "13922223333"} if channel == "ivr" else {})}}
    t = Tracker(f"{channel}:u-1", dict(slots), message,
                [{"event": "user", "text": text, "parse_data": message}], False, None,
                {"name": form}, "action_listen")
    d = CollectingDispatcher()
    events = asyncio.run(action.run(d, t, DOMAIN))
    return {"messages": d.messages, "events": events}
"""

COMPLAINT = {"complaint_category": "claim_delay", "complaint_description": "太慢",
             "complaint_outcome": "尽快", "complainant_name": "王秀英",
             "requested_slot": "complainant_phone"}


def run_form(call: str) -> dict[str, Any]:
    out = run_bot_python(RUN_FORM + f"print(json.dumps({call}, ensure_ascii=False))\n")
    assert isinstance(out, dict)
    return out


def slot_events(out: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in out["events"] if e["event"] == "slot"}


def test_a_failed_answer_is_counted_and_the_third_hands_off() -> None:
    first = run_form(f"run(forms.ValidateComplaintForm(), 'complaint_form', '138 12', "
                     f"'inform', {COMPLAINT!r})")
    assert slot_events(first)["form_misses"] == {"slot": "complainant_phone", "misses": 1}
    assert not [m for m in first["messages"] if m.get("custom")]
    third = run_form(f"run(forms.ValidateComplaintForm(), 'complaint_form', '138 12', "
                     f"'inform', {{**{COMPLAINT!r}, 'form_misses': "
                     f"{{'slot': 'complainant_phone', 'misses': 2}}}})")
    [handoff] = [m["custom"]["handoff"] for m in third["messages"] if m.get("custom")]
    assert handoff["reason"] == "unsure" and handoff["summary"]["form"] == "complaint_form"
    assert "“联系电话”问了三次" in handoff["summary"]["text"]
    assert handoff["summary"]["slots"]["complainant_name"] == "王秀英"
    slots = slot_events(third)
    assert slots["requested_slot"] is None and slots["complainant_name"] is None
    kinds = [e["event"] for e in third["events"]]
    assert "active_loop" in kinds and {"event": "followup", "name": "action_listen"} in [
        {k: e.get(k) for k in ("event", "name")} for e in third["events"]]


def test_misses_of_another_question_do_not_count() -> None:
    out = run_form(f"run(forms.ValidateComplaintForm(), 'complaint_form', '138 12', "
                   f"'inform', {{**{COMPLAINT!r}, 'form_misses': "
                   f"{{'slot': 'complainant_name', 'misses': 2}}}})")
    assert slot_events(out)["form_misses"] == {"slot": "complainant_phone", "misses": 1}


def test_a_digression_is_no_failed_answer() -> None:
    out = run_form(f"run(forms.ValidateComplaintForm(), 'complaint_form', "
                   f"'理赔要多久才能到账？', 'faq', {{**{COMPLAINT!r}, 'form_misses': "
                   f"{{'slot': 'complainant_phone', 'misses': 2}}}})")
    assert out["events"] == [] and not out["messages"]


def test_an_answer_resets_the_count() -> None:
    out = run_form(f"run(forms.ValidateComplaintForm(), 'complaint_form', '13812345678', "
                   f"'inform', {{**{COMPLAINT!r}, 'form_misses': "
                   f"{{'slot': 'complainant_phone', 'misses': 2}}}})")
    slots = slot_events(out)
    assert slots["complainant_phone"] == "13812345678" and slots["form_misses"] is None


def test_a_caller_is_offered_the_keypad_after_two_misses() -> None:
    slots = {"relation": "parent", "requested_slot": "insured_id_number",
             "form_misses": {"slot": "insured_id_number", "misses": 1}}
    out = run_form(f"run(forms.ValidateIncidentForm(), 'incident_form', '四四零五 一五', "
                   f"'inform', {slots!r}, channel='ivr')")
    assert slot_events(out)["keypad"] is True
    assert out["messages"] == []  # the keypad question alone (domain.yml) is heard
    web = run_form(f"run(forms.ValidateIncidentForm(), 'incident_form', '四四零五 一五', "
                   f"'inform', {slots!r})")
    assert "keypad" not in slot_events(web) and web["messages"]


def test_the_number_calling_is_offered_and_a_no_is_no_failed_answer() -> None:
    slots = {**COMPLAINT}
    asked = run_form("(lambda d: (asyncio.run(forms.AskComplainantPhone().run(d, Tracker("
                     "'ivr:u-1', {}, {'metadata': {'channel': 'ivr', 'user': 'u-1', "
                     "'phone': '13922223333'}}, [], False, None, {}, 'action_listen'), "
                     "{})), {'messages': d.messages})[1])(CollectingDispatcher())")
    assert asked["messages"][0]["text"] == "联系电话就是您现在打来的这个号码 139 2222 3333 吗？"
    no = run_form(f"run(forms.ValidateComplaintForm(), 'complaint_form', '不是这个号', "
                  f"'deny', {slots!r}, channel='ivr')")
    assert slot_events(no) == {"complainant_phone": None, "phone_offer": "declined"}
    yes = run_form(f"run(forms.ValidateComplaintForm(), 'complaint_form', '是的', "
                   f"'affirm', {slots!r}, channel='ivr')")
    assert slot_events(yes)["complainant_phone"] == "13922223333"
    # off the phone a "是的" is no number
    web = run_form(f"run(forms.ValidateComplaintForm(), 'complaint_form', '是的', "
                   f"'affirm', {slots!r})")
    assert slot_events(web)["complainant_phone"] is None


def test_a_number_that_is_no_mobile_is_not_offered() -> None:
    """A landline or a withheld number calling: the phone is asked for, as anywhere."""
    for phone in ("'0754-12345678'", "None"):
        asked = run_form("(lambda d: (asyncio.run(forms.AskContactPhone().run(d, Tracker("
                         "'ivr:u-1', {}, {'metadata': {'channel': 'ivr', 'user': 'u-1', "
                         f"'phone': {phone}}}}}, [], False, None, {{}}, 'action_listen'), "
                         "{})), {'messages': d.messages})[1])(CollectingDispatcher())")
        assert asked["messages"] == [{**asked["messages"][0],
                                      "response": "utter_ask_contact_phone"}], asked
