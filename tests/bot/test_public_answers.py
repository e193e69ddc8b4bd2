"""Public answers about the scheme over the real Rasa server, action server and back office:
an unidentified user gets the figures of the product the back office serves, and is never
asked for an ID number for them; personal answers (my claim, my policy) still need it."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import ChannelBinding, Party
from tests.bot.test_actions_in_bot_env import RUN_ACTION, closed_port, run_bot_python
from tests.bot_stack import BotStack, new_sender
from xiaobao import bot

SHANGHAI = ZoneInfo("Asia/Shanghai")
ASKS_FOR_ID = ("身份证号", "核验身份", "核对身份")  # not 身份证明, a document


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(r.get("text")) for r in replies if r.get("text"))


def tracker(bot_stack: BotStack, sender: str) -> dict[str, Any]:
    url = bot.with_token(
        f"{bot_stack.rasa_url}/conversations/{urllib.parse.quote(sender, safe=':')}/tracker",
        bot_stack.rasa_token)
    with urllib.request.urlopen(url, timeout=60) as resp:
        return dict(json.loads(resp.read()))


def no_id_asked(bot_stack: BotStack, sender: str, said: str) -> None:
    assert not any(w in said for w in ASKS_FOR_ID), said
    state = tracker(bot_stack, sender)
    assert (state.get("active_loop") or {}).get("name") != "identify_form"
    assert not state["slots"].get("pending_action")


def scheme(bot_stack: BotStack) -> dict[str, Any]:
    return dict(bot_stack.api("GET", f"/products/{bot_stack.seed['product_code']}"))


def mode_amount(product: dict[str, Any], code: str) -> str:
    cov = next(c for c in product["coverages"] if "transport_death" in c["claim_types"])
    amount = next(m["amount"] for m in cov["transport_modes"] if m["code"] == code)
    return f"{amount.removesuffix('.00')} 元"


def bound(bot_stack: BotStack, sender: str) -> bool:
    db = bot_stack.db()
    try:
        with db.read() as s:
            return s.execute(select(ChannelBinding).where(
                ChannelBinding.user == sender.split(":")[1])).first() is not None
    finally:
        db.dispose()


def test_an_unidentified_user_asks_about_the_scheme_and_is_never_asked_for_an_id(
        bot_stack: BotStack) -> None:
    product = scheme(bot_stack)
    sender = new_sender("wechat")
    checks: list[tuple[str, tuple[str, ...]]] = [
        ("坐公交出事赔多少", (f"赔 {mode_amount(product, 'motor_vehicle')}", "公交车",
                          f"民航客机 {mode_amount(product, 'aircraft')}")),
        ("猝死赔不赔", ("不赔", "猝死")),
        ("住院津贴一天多少钱", ("每天 30 元", "每次住院最多 90 天", "每年最多 180 天", "5400 元")),
        ("伤残怎么赔", ("1级 3000", "8级 900", "10级 300", "180 天内")),
        ("哪些情况不赔", tuple(e["text"] for e in product["exclusions"])),
        ("谁能保", ("汕头市潮南区", "60 周岁", "政府统一投保")),
        ("从什么时候开始保", ("次月1日",)),
        ("怎么报案", ("我要报案", "2 年")),
        ("住院要准备什么材料",
         tuple(d["name"] for d in product["claim_documents"]["hospital_allowance"])),
        ("这个保险保什么", tuple(c["name"] for c in product["coverages"])),
    ]
    for question, wanted in checks:
        said = texts(bot_stack.say(sender, question))
        for part in wanted:
            assert part in said, (question, part, said)
        no_id_asked(bot_stack, sender, said)
    assert not bound(bot_stack, sender)


def test_how_to_report_is_answered_and_a_report_still_starts(bot_stack: BotStack) -> None:
    sender = new_sender("wechat")
    said = texts(bot_stack.say(sender, "去哪里报案"))
    assert "我要报案" in said and "2 年" in said, said
    no_id_asked(bot_stack, sender, said)
    assert not (tracker(bot_stack, sender).get("active_loop") or {}).get("name")
    started = texts(bot_stack.say(sender, "我要报案，我妈在菜市场摔倒了"))
    assert "我来帮您报案" in started, started
    assert (tracker(bot_stack, sender).get("active_loop") or {}).get("name") == "incident_form"


def test_a_bus_question_gets_the_bus_amount_first(bot_stack: BotStack) -> None:
    said = texts(bot_stack.say(new_sender("web"), "我妈坐公交车出了意外能赔多少"))
    first = said.splitlines()[0]
    assert "赔 30000 元" in first and "100000" not in first, said
    assert "公共交通意外身故（保额 100000 元）" not in said


@pytest.mark.parametrize("question", ["骑电动车摔了能赔多少", "我爸骑电瓶车出车祸了赔多少钱"])
def test_a_mode_the_scheme_does_not_cover(bot_stack: BotStack, question: str) -> None:
    sender = new_sender("wechat")
    said = texts(bot_stack.say(sender, question))
    assert "不属于公共交通工具" in said, said
    assert "30000" not in said and "赔 3000 元" in said and "每天 30 元" in said
    no_id_asked(bot_stack, sender, said)


def test_a_personal_question_still_needs_identification(bot_stack: BotStack) -> None:
    for question in ("我的理赔到哪一步了", "查一下我的保单"):
        sender = new_sender("wechat")
        said = texts(bot_stack.say(sender, question))
        assert "核验身份" in said, (question, said)
        assert (tracker(bot_stack, sender).get("active_loop") or {}).get("name") == \
            "identify_form"


def test_a_question_mixing_public_and_personal(bot_stack: BotStack) -> None:
    """The public part is answered at once; the claim only after identification."""
    insured, _, phone = bot_stack.member(20)
    reported = bot_stack.api("POST", "/claims", {
        "policy_no": bot_stack.seed["group_policy_no"], "insured_id_number": insured,
        "claim_type": "hospital_allowance",
        "incident_date": (datetime.now(SHANGHAI).date() - timedelta(days=4)).isoformat(),
        "incident_place": "家里", "description": "在家摔倒",
        "reporter": {"name": "本人", "relation": "self", "phone": phone}, "channel": "web"})
    sender = new_sender("wechat")
    first = texts(bot_stack.say(sender, "住院津贴一天多少钱？还有我的理赔到哪一步了"))
    assert "每天 30 元" in first and "核验身份" in first, first
    assert reported["claim_no"] not in first
    assert "手机号码或保单号" in texts(bot_stack.say(sender, insured))
    progress = texts(bot_stack.say(sender, phone))
    assert "身份核验通过" in progress and reported["claim_no"] in progress
    assert insured not in progress and phone not in progress


def test_an_identified_user_gets_the_same_public_answer_without_a_new_check(
        bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(21)
    sender = new_sender("wechat")
    bot_stack.say(sender, "查一下我的保单")
    bot_stack.say(sender, insured)
    assert "身份核验通过" in texts(bot_stack.say(sender, phone))
    said = texts(bot_stack.say(sender, "住院一天能赔多少钱"))
    assert "每天 30 元" in said and "每年最多 180 天" in said
    no_id_asked(bot_stack, sender, said)
    db = bot_stack.db()
    with db.read() as s:
        party = s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", insured))).scalar_one()
        binding = s.execute(select(ChannelBinding).where(
            ChannelBinding.user == sender.split(":")[1])).scalar_one()
        assert binding.party_id == party.id
    db.dispose()


def test_the_back_office_down_means_an_apology_not_invented_figures() -> None:
    out = run_bot_python(RUN_ACTION + """
    t = tracker("坐公交出事赔多少", "coverage_question")
    print(json.dumps(asyncio.run(go(actions.ActionCoverageQuestion(), t)), ensure_ascii=False))
    """.replace("\n    ", "\n"), XIAOBAO_API_URL=f"http://127.0.0.1:{closed_port()}",
        XIAOBAO_API_TIMEOUT="2")
    said = "\n".join(m.get("text") or "" for m in out["messages"])
    assert "抱歉" in said and "30000" not in said
    assert any(isinstance(m.get("custom"), dict) and "handoff" in m["custom"]
               for m in out["messages"])
