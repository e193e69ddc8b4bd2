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
    assert parse_date("28号", date(2026, 3, 10)) == date(2025, 3, 28)


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
