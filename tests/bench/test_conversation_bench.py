"""bench/conversations.py: its pure parts, and whole conversations of its own (not the held-out
set) played through the real channel doors of the session's real stack (tests/bot_stack.py),
with an expectation that fails reported as failed."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bench.conversations import (
    CONVERSATIONS,
    SHANGHAI,
    Result,
    Stack,
    fill,
    load,
    report,
    resolve_date,
    run_one,
    spoken,
    topic_of,
)
from tests.bot_stack import TOKEN, BotStack
from tests.channels.channel_kit import IVR_SECRET, WECHAT_TOKEN

TINY = Path(__file__).resolve().parent / "conversations"
ROOT = Path(__file__).resolve().parents[2]


def test_dates_are_resolved_as_people_mean_them() -> None:
    tenth_of_march = date(2026, 3, 10)
    assert resolve_date("last_month:28", tenth_of_march) == date(2026, 2, 28)
    assert resolve_date("today-2", tenth_of_march) == date(2026, 3, 8)
    assert resolve_date("today", tenth_of_march) == tenth_of_march
    assert resolve_date("10-3", tenth_of_march) == date(2025, 10, 3)  # not in the future
    assert resolve_date("3-1", tenth_of_march) == date(2026, 3, 1)


def test_numbers_said_aloud() -> None:
    assert spoken("13922334455") == "一三九二二三三四四五五"
    assert spoken("44051419480302123X", yao=True) == "四四零五幺四幺九四八零三零二幺二三X"


def test_the_bots_question_is_read_by_topic() -> None:
    assert topic_of("请问出事的是您本人，还是您的家人？") == "relation"
    assert topic_of("请提供被保险人的身份证号码") == "id_number"
    assert topic_of("伤到哪里了？") == "injury"
    assert topic_of("在什么地方出的事？") == "place"
    assert topic_of("以上信息对吗？") == "confirm"
    assert topic_of("请提供手机号码或保单号") == "second_factor"
    assert topic_of("请简单说一下事情经过，比如怎么摔倒或受伤的。") == "story"
    assert topic_of("好的，已为您记下。") is None
    # statements are not questions, whatever words they use
    assert topic_of("· 理赔 R202600000006：等您提交：出院小结、申请人身份证明。") is None
    assert topic_of("可以直接拍照发给我，我会附到这个理赔里。") is None


def test_placeholders_must_be_known() -> None:
    assert fill("我的身份证是{id}", {"id": "1"}) == "我的身份证是1"
    with pytest.raises(KeyError):
        fill("{nope}", {})


def test_the_held_out_set_loads_and_names_every_journey() -> None:
    scripts = load(CONVERSATIONS)
    assert len(scripts) >= 60
    assert {s.channel for s in scripts} == {"web", "wechat", "ivr"}
    assert len({s.group for s in scripts}) >= 10


def test_the_dev_set_loads_apart_from_the_held_out_set() -> None:
    dev = load(ROOT / "data" / "dev" / "conversations")
    assert len(dev) >= 30
    assert {s.channel for s in dev} == {"web", "wechat", "ivr"}
    assert not {s.name for s in dev} & {s.name for s in load(CONVERSATIONS)}


def test_a_name_used_twice_is_refused(tmp_path: Path) -> None:
    one = "  - {name: a, channel: web, turns: [你好]}\n"
    (tmp_path / "x.yml").write_text("conversations:\n" + one + one, encoding="utf-8")
    with pytest.raises(ValueError, match="twice"):
        load(tmp_path)


def stack_of(bot_stack: BotStack) -> Stack:
    return Stack(bot_stack.platform_url, bot_stack.database_url,
                 bot_stack.seed["group_policy_no"], api_token=TOKEN,
                 wechat_token=WECHAT_TOKEN, ivr_secret=IVR_SECRET)


def played(bot_stack: BotStack, name: str) -> Result:
    [script] = [s for s in load(TINY) if s.name == name]
    return run_one(stack_of(bot_stack), script)


def test_a_conversation_that_reaches_its_end_state_passes(bot_stack: BotStack) -> None:
    result = played(bot_stack, "tiny-outlets-web")
    assert result.passed, result.unmet
    assert result.transcript[0][0] == "最近的服务网点在哪里" and result.transcript[0][1]


def test_a_report_over_wechat_is_checked_in_the_back_office(bot_stack: BotStack) -> None:
    result = played(bot_stack, "tiny-report-wechat")
    assert result.passed, (result.unmet, result.transcript)
    said = "\n".join(bot for _, bot in result.transcript)
    claim_no = said.split("报案号是 ")[1].split("，")[0]
    claim = bot_stack.api("GET", f"/claims/{claim_no}")
    yesterday = datetime.now(SHANGHAI).date() - timedelta(days=1)
    assert (claim["channel"], claim["incident_date"]) == ("wechat", yesterday.isoformat())


def test_an_unmet_expectation_is_reported_as_failed(bot_stack: BotStack) -> None:
    result = played(bot_stack, "tiny-unmet-reply-wechat")
    assert not result.passed
    assert result.unmet[0] == "the bot should have said 小保从来不说的一句话"
    claimless = played(bot_stack, "tiny-unmet-claim-web")
    assert not claimless.passed
    assert claimless.unmet[0] == "one claim should have been reported, 0 were"


def test_the_phone_keypad_reaches_a_person(bot_stack: BotStack) -> None:
    result = played(bot_stack, "tiny-agent-by-keypad-ivr")
    assert result.passed, (result.unmet, result.transcript)
    assert result.transcript[0][0] == "（来电）"


def test_the_report_gives_the_share_and_the_failures(capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    results = [Result("a", "g", "web", True, [], []),
               Result("b", "g", "ivr", False, ["first unmet", "second"], [("你好", "您好")])]
    report(results, False, date(2026, 12, 7))
    out = capsys.readouterr().out
    assert "1 of 2 (50.0%" in out and "- b [ivr]: first unmet" in out and "second" not in out
    report(results, True, date(2026, 12, 7))
    data = json.loads(capsys.readouterr().out)
    assert (data["conversations"], data["reached"], data["share"]) == (2, 1, 0.5)
    assert data["results"][1]["unmet"] == ["first unmet", "second"]
    assert data["results"][1]["transcript"] == [{"user": "你好", "bot": "您好"}]
