"""The call script of a traffic accident and the choice among several policies, as people
answer them. Pure: actions/transport.py and actions/policy_choice.py run in either environment."""

from __future__ import annotations

import pytest

from actions import family_cover
from actions import policy_choice as choice
from actions import transport as script
from backoffice.domain.adjudication import parse_facts
from backoffice.domain.product import REPORT_FACTS


@pytest.mark.parametrize(("said", "expected"), [
    ("过马路时被电动车撞倒了", True), ("坐公交车时急刹车摔倒", True), ("出车祸了", True),
    ("在公交车上", True), ("骑摩托车摔了", True), ("坐渡轮的时候滑倒", True),
    ("被一辆小车撞了", True), ("交警来处理的", True),
    ("在菜市场摔倒", False), ("头撞到门框", False), ("不是车祸，是在家摔的", False),
    ("在家洗澡滑倒", False), ("从楼梯上摔下来", False), ("", False),
])
def test_a_traffic_accident_from_the_words(said: str, expected: bool) -> None:
    assert script.is_traffic_accident(said) is expected


@pytest.mark.parametrize(("said", "asked", "expected"), [
    ("报了", True, "yes"), ("报警了", True, "yes"), ("交警来过了", True, "yes"),
    ("打了110", True, "yes"), ("是的，交警开了认定书", True, "yes"), ("有", True, "yes"),
    ("没报", True, "no"), ("还没有", True, "no"), ("没有", True, "no"),
    ("交警没来", True, "no"), ("没报警，对方跑了", True, "no"), ("没", True, "no"),
    ("不清楚", True, "unknown"), ("不知道报没报", True, "unknown"),
    ("不对，报警了", False, "yes"), ("不对，没报警", False, "no"),
    ("被车撞了，交警来过了", False, "yes"), ("被车撞了，没报警", False, "no"),
    # no answer: a question back, words about something else, a command
    ("要报警吗？", True, None), ("报警有用吗", True, None), ("/affirm", True, None),
    ("13922334455", False, None), ("右腿骨折", False, None), ("好的", True, None),
])
def test_the_police_question(said: str, asked: bool, expected: str | None) -> None:
    assert script.police_answer(said, asked) == expected


@pytest.mark.parametrize(("said", "asked", "expected"), [
    ("有照片", True, "yes"), ("拍了几张", True, "yes"), ("手机拍了", False, "yes"),
    ("有", True, "yes"), ("有视频", True, "yes"),
    ("没拍", True, "no"), ("没有", True, "no"), ("没来得及拍", True, "no"),
    ("照片没有", False, "no"), ("当时顾不上拍照", True, "no"),
    ("不记得了", True, "unknown"), ("照片要发给谁？", True, None), ("报了", False, None),
])
def test_the_scene_photos_question(said: str, asked: bool, expected: str | None) -> None:
    assert script.photos_answer(said, asked) == expected


@pytest.mark.parametrize(("said", "asked", "expected"), [
    ("还在", True, "yes"), ("车票留着", True, "yes"), ("刷的公交卡", True, "yes"),
    ("有扫码付款记录", True, "yes"), ("票丢了", True, "no"), ("车票找不到了", True, "no"),
    ("没买票", True, "no"), ("没有", True, "no"), ("不清楚", True, "unknown"),
])
def test_the_ticket_question(said: str, asked: bool, expected: str | None) -> None:
    assert script.ticket_answer(said, asked) == expected


def test_the_facts_sent_are_the_back_offices_and_leave_unknown_out() -> None:
    facts = script.facts_of({"police_report": "yes", "scene_photos": "no", "ticket": "unknown"})
    assert facts == {"traffic_accident": True, "police_report": True, "scene_photos": False}
    assert set(facts) <= set(REPORT_FACTS)
    assert parse_facts(facts) == facts  # what the back office accepts
    assert script.facts_of({"police_report": None}) == {"traffic_accident": True}


GROUP = {"policy_no": "G202600000001", "product_name": "潮南区老年人意外伤害综合保险",
         "kind": "group", "start_date": "2026-01-01", "end_date": "2027-01-01"}
OWN = {"policy_no": "P20260000000004", "product_name": "个人意外伤害保险", "kind": "individual",
       "start_date": "2026-05-20", "end_date": "2027-05-20"}


def test_the_choices_in_plain_words_with_the_last_day_covered() -> None:
    text = choice.choices_text([GROUP, OWN])
    assert text.splitlines() == [
        "1. 潮南区老年人意外伤害综合保险（保障期 2026年1月1日至2026年12月31日）",
        "2. 个人意外伤害保险（保障期 2026年5月20日至2027年5月19日）"]
    assert choice.period_text({"start_date": "2026-01-01"}) == "2026年1月1日起"


@pytest.mark.parametrize(("said", "expected"), [
    ("第一份", "G202600000001"), ("1", "G202600000001"), ("第二个", "P20260000000004"),
    ("用第2份", "P20260000000004"), ("二", "P20260000000004"), ("最后那份", "P20260000000004"),
    ("个人买的那份", "P20260000000004"), ("政府统保那个", "G202600000001"),
    ("个人意外伤害保险", "P20260000000004"), ("潮南区老年人意外伤害综合保险", "G202600000001"),
    ("p20260000000004", "P20260000000004"),
    ("第三份", None), ("都行", None), ("", None), ("保险", None),
])
def test_which_policy_the_answer_picks(said: str, expected: str | None) -> None:
    assert choice.chosen(said, [GROUP, OWN]) == expected


@pytest.mark.parametrize(("said", "expected"), [
    ("我妈有没有参保", True), ("我爸在不在统保名单里", True), ("帮我查下我妈有没有保上", True),
    ("我奶奶能不能赔", True), ("家里老人有没有这个保险", True), ("阿嬷有没有参保", True),
    ("我有没有参保", False), ("我自己能不能赔", False), ("我妈摔倒了怎么报案", False),
    ("我的保单", False), ("谁能参保", False), ("", False),
])
def test_a_relatives_coverage_asked(said: str, expected: bool) -> None:
    assert family_cover.asks_relative_covered(said) is expected


@pytest.mark.parametrize(("said", "expected"), [
    ("不用了", True), ("算了，不查了", True), ("身份证号不记得了", True), ("先不查", True),
    ("440514195001011234", False), ("好的", False),
])
def test_declining_the_check(said: str, expected: bool) -> None:
    assert family_cover.declines(said) is expected


def test_the_check_tells_covered_or_not_and_nothing_else() -> None:
    yes = family_cover.result_text(True, "潮南区老年人意外伤害综合保险")
    no = family_cover.result_text(False, "潮南区老年人意外伤害综合保险")
    assert "保障范围内" in yes and "没有查到" in no
    for said in (yes, no):
        assert not any(ch.isdigit() for ch in said)  # no number, no date, no ID
