"""Relative and written Chinese dates (actions/dates.py is pure: it runs in either venv)."""

from __future__ import annotations

from datetime import date

import pytest

from actions.dates import chinese_number, parse_date, spoken

SUNDAY = date(2026, 11, 22)


@pytest.mark.parametrize(("text", "expected"), [
    ("今天", date(2026, 11, 22)),
    ("今天早上在菜市场", date(2026, 11, 22)),
    ("昨天", date(2026, 11, 21)),
    ("昨晚", date(2026, 11, 21)),
    ("前天下午", date(2026, 11, 20)),
    ("大前天", date(2026, 11, 19)),
    ("上周五", date(2026, 11, 13)),
    ("上个星期三", date(2026, 11, 11)),
    ("上礼拜天", date(2026, 11, 15)),
    ("这周一", date(2026, 11, 16)),
    ("周五", date(2026, 11, 20)),
    ("10月3号", date(2026, 10, 3)),
    ("不对，是10月3号", date(2026, 10, 3)),
    ("十月三号", date(2026, 10, 3)),
    ("十一月二十日", date(2026, 11, 20)),
    ("10.3", date(2026, 10, 3)),
    ("2026年10月5日", date(2026, 10, 5)),
    ("二〇二五年十二月一日", date(2025, 12, 1)),
    ("本月5号", date(2026, 11, 5)),
    ("上个月28号", date(2026, 10, 28)),
    ("5号", date(2026, 11, 5)),
])
def test_dates(text: str, expected: date) -> None:
    assert parse_date(text, SUNDAY) == expected


def test_a_month_and_day_still_ahead_is_last_year() -> None:
    assert parse_date("12月25号", SUNDAY) == date(2025, 12, 25)
    assert parse_date("3月28日", date(2026, 3, 10)) == date(2025, 3, 28)


MARCH_10 = date(2026, 3, 10)  # a Tuesday


@pytest.mark.parametrize(("text", "expected"), [
    ("28号", date(2026, 2, 28)),  # a plain day still ahead is last month's, not last year's
    ("28日", date(2026, 2, 28)),
    ("２８号", date(2026, 2, 28)),
    ("二十八号", date(2026, 2, 28)),
    ("10号", date(2026, 3, 10)),
    ("5号", date(2026, 3, 5)),
    ("上个月28号", date(2026, 2, 28)),
    ("上月1号", date(2026, 2, 1)),
    ("大前天", date(2026, 3, 7)),
    ("三天前", date(2026, 3, 7)),
    ("3天前", date(2026, 3, 7)),
    ("两天前", date(2026, 3, 8)),
    ("十天以前", date(2026, 2, 28)),
    ("一个星期前", date(2026, 3, 3)),
    ("两周前", date(2026, 2, 24)),
    ("前天", date(2026, 3, 8)),
    ("昨天", date(2026, 3, 9)),
    ("上周五", date(2026, 3, 6)),
    ("3月5日", date(2026, 3, 5)),
    ("３月５日", date(2026, 3, 5)),
    ("不对，是前天", date(2026, 3, 8)),
    ("说错了，是上个月28号", date(2026, 2, 28)),
    # plainly ahead: returned as said, for the form to refuse
    ("明天", date(2026, 3, 11)),
    ("后天", date(2026, 3, 12)),
    ("下周五", date(2026, 3, 20)),
    ("本月28号", date(2026, 3, 28)),
    ("2026年12月1日", date(2026, 12, 1)),
])
def test_dates_said_on_10_march(text: str, expected: date) -> None:
    assert parse_date(text, MARCH_10) == expected


def test_a_plain_day_ahead_in_january_is_last_december() -> None:
    assert parse_date("28号", date(2026, 1, 10)) == date(2025, 12, 28)
    assert parse_date("三天前", date(2026, 1, 2)) == date(2025, 12, 30)
    assert parse_date("29号", date(2024, 3, 1)) == date(2024, 2, 29)  # a leap year's


@pytest.mark.parametrize("text", [
    "31号",  # February has none: asked again rather than guessed
    "30号",
    "2月30号",
    "2月29号",  # 2026 is no leap year
    "0号",
    "32号",
    "上个月31号",
    "前几天",
    "很久以前",
    "28号楼",  # a place
    "3号床",
    "9999天前",
    "😀",
    "二月三十号",
])
def test_no_date_said_on_10_march(text: str) -> None:
    assert parse_date(text, MARCH_10) is None


def test_year_turn_and_impossible_dates() -> None:
    assert parse_date("上个月31号", date(2026, 1, 5)) == date(2025, 12, 31)
    assert parse_date("上周五", date(2026, 1, 1)) == date(2025, 12, 26)
    assert parse_date("2月30号", SUNDAY) is None
    assert parse_date("13月1号", SUNDAY) is None


@pytest.mark.parametrize("text", ["", "不知道", "好久以前", "在医院"])
def test_no_date(text: str) -> None:
    assert parse_date(text, SUNDAY) is None


def test_numbers_and_reading_back() -> None:
    assert [chinese_number(t) for t in ("3", "十", "十三", "二十八", "三十一", "两")] == [
        3, 10, 13, 28, 31, 2]
    assert chinese_number("甲") is None
    assert spoken(date(2026, 10, 21)) == "10月21日"
