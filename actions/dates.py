"""Relative and written Chinese dates → a calendar date (pure; `today` is always passed in).

Handles 今天/昨天/前天/大前天, 三天前/两个星期前, 上周五/上个星期三/这周一/礼拜天,
10月3号/十月三号/10.3/2026年10月5日, 本月5号/上个月28号/5号. A month and day still ahead of
`today` is taken from last year, a plain "28号" still ahead from last month (said on 10 March it
is 28 February): an incident is in the past. What is plainly ahead (明天, 下周五, 本月28号, a
year named) is returned as said, for the form to refuse.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
             "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
# 前日/大前日/昨暝/今旦: the same days as Chaoshan and Cantonese speakers say them in Mandarin
_RELATIVE = {"大前天": 3, "大前日": 3, "前天": 2, "前日": 2, "昨天": 1, "昨日": 1,
             "昨暝": 1, "昨晡": 1, "今旦": 0,
             "昨晚": 1, "昨儿": 1, "今天": 0, "今日": 0,
             "今早": 0, "今晚": 0, "今儿": 0, "刚才": 0, "刚刚": 0,
             "明天": -1, "明儿": -1, "后天": -2}
_FULL_WIDTH = str.maketrans({chr(0xFF10 + d): str(d) for d in range(10)})
_NUM = r"[0-9零〇一二两三四五六七八九十]{1,4}"


def chinese_number(text: str) -> int | None:
    """'3' → 3, '十' → 10, '十三' → 13, '二十八' → 28, '二〇二六' → 2026."""
    if text.isdigit():
        return int(text)
    if "十" not in text:
        if all(c in _DIGITS for c in text):
            return int("".join(str(_DIGITS[c]) for c in text))
        return None
    tens, _, ones = text.partition("十")
    if (tens and tens not in _DIGITS) or (ones and ones not in _DIGITS):
        return None
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)


def _past(year: int, month: int, day: int, today: date) -> date | None:
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    if found > today:
        try:
            found = date(year - 1, month, day)
        except ValueError:
            return None
    return found


def _weekday(text: str, today: date) -> date | None:
    m = re.search(r"(上上|上|这|本|下)?个?(?:周|星期|礼拜)([一二三四五六日天1-7])", text)
    if not m:
        return None
    target = _WEEKDAYS[m.group(2)]
    monday = today - timedelta(days=today.weekday())
    weeks_back = {"上上": 2, "上": 1, "下": -1}.get(m.group(1) or "", 0)
    found = monday - timedelta(weeks=weeks_back) + timedelta(days=target)
    if not m.group(1) and found > today:  # plain 周五 means the last one
        found -= timedelta(weeks=1)
    return found


def _month_day(text: str, today: date) -> date | None:
    m = re.search(rf"(?:({_NUM})年)?({_NUM})月({_NUM})[日号]?", text)
    if not m:
        m = re.search(r"(?<![0-9])(?:(20[0-9]{2})[./-])?([0-9]{1,2})[./-]([0-9]{1,2})(?![0-"
                       "9])", text)
    if not m:
        return None
    month, day = chinese_number(m.group(2)), chinese_number(m.group(3))
    if month is None or day is None:
        return None
    if m.group(1):
        year = chinese_number(m.group(1))
        if year is None:
            return None
        year = year + 2000 if year < 100 else year
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return _past(today.year, month, day, today)


def _day_of_month(text: str, today: date) -> date | None:
    # "28号楼", "3号床" are places, not days
    m = re.search(rf"(上个?月|本月|这个?月)?({_NUM})[日号](?![楼院门房室床线路街巷栋座])", text)
    if not m:
        return None
    day = chinese_number(m.group(2))
    if day is None:
        return None
    year, month = today.year, today.month
    if m.group(1) and m.group(1).startswith("上"):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        try:
            return date(year, month, day)
        except ValueError:
            return None
    if m.group(1):
        return _this_month(year, month, day)
    found = _this_month(year, month, day)
    if found is None or found <= today:
        return found
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return _this_month(year, month, day)  # "28号" still ahead: last month's


def _this_month(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _ago(text: str, today: date) -> date | None:
    m = re.search(rf"({_NUM})(天|日|个?星期|个?礼拜|周)(?:以|之)?前", text)
    if not m:
        return None
    count = chinese_number(m.group(1))
    if count is None or count > 3660:
        return None
    return today - timedelta(days=count if m.group(2) in ("天", "日") else 7 * count)


def parse_date(text: str, today: date) -> date | None:
    """The date a Chinese phrase names, or None when it names none."""
    text = re.sub(r"\s+", "", text.translate(_FULL_WIDTH))
    if not text:
        return None
    ago = _ago(text, today)
    if ago is not None:
        return ago
    for word, days in sorted(_RELATIVE.items(), key=lambda kv: -len(kv[0])):
        if word in text:
            return today - timedelta(days=days)
    if re.search(rf"{_NUM}月{_NUM}|(?<![0-9])[0-9]{{1,2}}[./-][0-9]{{1,2}}(?![0-9])", text):
        return _month_day(text, today)  # a month was named: no falling back to "30号"
    return _weekday(text, today) or _day_of_month(text, today)


def spoken(day: date) -> str:
    """10月3日 — how the bot reads a date back."""
    return f"{day.month}月{day.day}日"
