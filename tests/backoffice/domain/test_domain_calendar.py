"""The PRC working-day calendar: published holidays, make-up working days, counting, fallback.

Every expected date below was worked out by hand from the State Council's notices.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from importlib import resources

import pytest

from backoffice.domain.calendar import (
    CN_CALENDAR,
    WorkingCalendar,
    is_fixed_statutory_holiday,
    is_published,
)

D = date


def days(first: date, last: date) -> set[date]:
    return {first + timedelta(days=i) for i in range((last - first).days + 1)}


# -- the data: whole years as published, written as ranges (the JSON lists single days) ---------

PUBLISHED: dict[int, tuple[list[tuple[date, date]], set[date]]] = {
    2024: (
        [
            (D(2024, 1, 1), D(2024, 1, 1)),  # 元旦
            (D(2024, 2, 10), D(2024, 2, 17)),  # 春节
            (D(2024, 4, 4), D(2024, 4, 6)),  # 清明
            (D(2024, 5, 1), D(2024, 5, 5)),  # 劳动节
            (D(2024, 6, 10), D(2024, 6, 10)),  # 端午
            (D(2024, 9, 15), D(2024, 9, 17)),  # 中秋
            (D(2024, 10, 1), D(2024, 10, 7)),  # 国庆
        ],
        {
            D(2024, 2, 4),
            D(2024, 2, 18),
            D(2024, 4, 7),
            D(2024, 4, 28),
            D(2024, 5, 11),
            D(2024, 9, 14),
            D(2024, 9, 29),
            D(2024, 10, 12),
        },
    ),
    2025: (
        [
            (D(2025, 1, 1), D(2025, 1, 1)),
            (D(2025, 1, 28), D(2025, 2, 4)),
            (D(2025, 4, 4), D(2025, 4, 6)),
            (D(2025, 5, 1), D(2025, 5, 5)),
            (D(2025, 5, 31), D(2025, 6, 2)),
            (D(2025, 10, 1), D(2025, 10, 8)),  # 国庆 + 中秋
        ],
        {D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27), D(2025, 9, 28), D(2025, 10, 11)},
    ),
    2026: (
        [
            (D(2026, 1, 1), D(2026, 1, 3)),
            (D(2026, 2, 15), D(2026, 2, 23)),
            (D(2026, 4, 4), D(2026, 4, 6)),
            (D(2026, 5, 1), D(2026, 5, 5)),
            (D(2026, 6, 19), D(2026, 6, 21)),
            (D(2026, 9, 25), D(2026, 9, 27)),
            (D(2026, 10, 1), D(2026, 10, 7)),
        ],
        {
            D(2026, 1, 4),
            D(2026, 2, 14),
            D(2026, 2, 28),
            D(2026, 5, 9),
            D(2026, 9, 20),
            D(2026, 10, 10),
        },
    ),
}


@pytest.mark.parametrize("year", sorted(PUBLISHED))
def test_year_matches_the_notice_day_for_day(year: int) -> None:
    ranges, makeup = PUBLISHED[year]
    off: set[date] = set().union(*(days(a, b) for a, b in ranges))
    whole_year = days(D(year, 1, 1), D(year, 12, 31))
    assert {d for d in whole_year if CN_CALENDAR.is_holiday(d)} == off
    expected_working = {d for d in whole_year if d.weekday() < 5 and d not in off} | makeup
    assert {d for d in whole_year if CN_CALENDAR.is_working_day(d)} == expected_working


# Net working days lost = statutory holiday days: 11 until 2024, 13 from 2025 (除夕 and 5月2日
# added); 2020 lost two more when the Spring Festival was extended to 2 February (Friday 31 January
# off, Saturday 1 February no longer a make-up working day).
@pytest.mark.parametrize(
    ("year", "net_days_off", "working_days"),
    [
        (2020, 13, 249),
        (2021, 11, 250),
        (2022, 11, 249),
        (2023, 11, 249),
        (2024, 11, 251),
        (2025, 13, 248),
        (2026, 13, 248),
    ],
)
def test_each_year_loses_its_statutory_days(
    year: int, net_days_off: int, working_days: int
) -> None:
    whole_year = days(D(year, 1, 1), D(year, 12, 31))
    weekdays = sum(1 for d in whole_year if d.weekday() < 5)
    working = sum(1 for d in whole_year if CN_CALENDAR.is_working_day(d))
    assert weekdays - working == net_days_off
    assert working == working_days
    assert CN_CALENDAR.working_days_between(D(year - 1, 12, 31), D(year, 12, 31)) == working_days


def test_published_years_and_sources() -> None:
    assert CN_CALENDAR.published_years == frozenset(range(2020, 2027))
    for year in range(2020, 2027):
        assert is_published(year)
        source = CN_CALENDAR.source(year)
        assert source is not None
        assert f"{year}年部分节假日安排的通知" in source
        assert "国办发明电" in source
    assert "延长2020年春节假期" in (CN_CALENDAR.source(2020) or "")
    assert CN_CALENDAR.source(2027) is None


def test_packaged_json_every_makeup_day_is_a_weekend_and_never_a_holiday() -> None:
    raw = resources.files("backoffice.domain").joinpath("holidays_cn.json").read_text("utf-8")
    data = json.loads(raw)
    assert sorted(data) == [str(y) for y in range(2020, 2027)]
    for entry in data.values():
        workdays = {date.fromisoformat(d) for d in entry["workdays"]}
        holidays = {date.fromisoformat(d) for d in entry["holidays"]}
        assert all(d.weekday() >= 5 for d in workdays)
        assert not workdays & holidays
    assert WorkingCalendar.from_json(raw) == CN_CALENDAR


# -- single days ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # 春节 2024 and its two make-up Sundays
        (D(2024, 2, 4), True),  # Sunday, make-up
        (D(2024, 2, 9), True),  # Friday before
        (D(2024, 2, 12), False),  # Monday in the holiday
        (D(2024, 2, 16), False),
        (D(2024, 2, 18), True),  # Sunday, make-up
        (D(2024, 2, 19), True),
        # 国庆 2024
        (D(2024, 9, 29), True),  # Sunday, make-up
        (D(2024, 10, 7), False),  # Monday in the holiday
        (D(2024, 10, 8), True),
        (D(2024, 10, 12), True),  # Saturday, make-up
        (D(2024, 10, 13), False),  # an ordinary Sunday
        # 春节 2025
        (D(2025, 1, 26), True),  # Sunday, make-up
        (D(2025, 1, 28), False),  # 除夕, Tuesday
        (D(2025, 2, 4), False),  # Tuesday, last day
        (D(2025, 2, 5), True),
        (D(2025, 2, 8), True),  # Saturday, make-up
        # 劳动节 2025
        (D(2025, 4, 27), True),  # Sunday, make-up
        (D(2025, 5, 5), False),  # Monday
        (D(2025, 5, 6), True),
        # 国庆 + 中秋 2025
        (D(2025, 9, 28), True),  # Sunday, make-up
        (D(2025, 10, 8), False),  # Wednesday, last day
        (D(2025, 10, 9), True),
        (D(2025, 10, 11), True),  # Saturday, make-up
        # 2026
        (D(2026, 1, 2), False),  # Friday, 元旦
        (D(2026, 1, 4), True),  # Sunday, make-up
        (D(2026, 2, 14), True),  # Saturday, make-up
        (D(2026, 2, 16), False),  # 除夕, Monday
        (D(2026, 2, 23), False),  # Monday, last day
        (D(2026, 2, 24), True),
        (D(2026, 2, 28), True),  # Saturday, make-up
        (D(2026, 4, 6), False),  # Monday, 清明 observed
        (D(2026, 5, 9), True),  # Saturday, make-up
        (D(2026, 6, 19), False),  # Friday, 端午
        (D(2026, 9, 20), True),  # Sunday, make-up
        (D(2026, 9, 25), False),  # Friday, 中秋
        (D(2026, 10, 10), True),  # Saturday, make-up
        (D(2026, 3, 7), False),  # an ordinary Saturday
        (D(2026, 3, 9), True),  # an ordinary Monday
        # 2020: the extension made Friday 31 January off and cancelled the Saturday make-up
        (D(2020, 1, 19), True),
        (D(2020, 1, 31), False),
        (D(2020, 2, 1), False),
        (D(2020, 2, 3), True),
        # 2023's 元旦 began on Saturday 31 December 2022, and Monday 2 January was off
        (D(2022, 12, 31), False),
        (D(2023, 1, 2), False),
        (D(2023, 1, 3), True),
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert CN_CALENDAR.is_working_day(day) is working


def test_is_holiday_is_not_a_plain_weekend() -> None:
    assert CN_CALENDAR.is_holiday(D(2026, 2, 21))  # Saturday inside 春节
    assert CN_CALENDAR.is_holiday(D(2022, 12, 31))  # in 2023's notice
    assert not CN_CALENDAR.is_holiday(D(2026, 3, 7))  # ordinary Saturday
    assert not CN_CALENDAR.is_holiday(D(2026, 2, 14))  # make-up working Saturday


# -- counting -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # Friday 18 Sep 2026 + 3: Sat 19 off, Sun 20 make-up (1), Mon 21 (2), Tue 22 (3)
        (D(2026, 9, 18), 3, D(2026, 9, 22)),
        # 春节 2026: Fri 13 (1), Sat 14 make-up (2), 15–23 off, Tue 24 (3)
        (D(2026, 2, 12), 3, D(2026, 2, 24)),
        (D(2026, 2, 13), 1, D(2026, 2, 14)),
        (D(2026, 2, 14), 1, D(2026, 2, 24)),
        # 24, 25, 26, 27, then Saturday 28 (make-up) is the fifth
        (D(2026, 2, 14), 5, D(2026, 2, 28)),
        # 国庆 + 中秋 2025: Sun 28 Sep make-up (1), Mon 29 (2), Tue 30 (3)
        (D(2025, 9, 26), 3, D(2025, 9, 30)),
        (D(2025, 9, 30), 1, D(2025, 10, 9)),
        # 9 Oct (1), 10 Oct (2), Saturday 11 Oct make-up (3)
        (D(2025, 9, 30), 3, D(2025, 10, 11)),
        # ... Sunday 12 off, 13 (4), 14 (5), 15 (6), 16 (7)
        (D(2025, 9, 30), 7, D(2025, 10, 16)),
        (D(2025, 10, 1), 1, D(2025, 10, 9)),  # counting from inside a holiday
        # 劳动节 2025: Saturday 26 off, Sunday 27 make-up
        (D(2025, 4, 25), 1, D(2025, 4, 27)),
        # 春节 2024: Fri 9 (1), 10–17 off, Sun 18 make-up (2), Mon 19 (3)
        (D(2024, 2, 8), 3, D(2024, 2, 19)),
        (D(2024, 2, 2), 1, D(2024, 2, 4)),  # Sunday 4 Feb 2024, make-up
        # 国庆 2024: Sun 29 Sep make-up (1), Mon 30 (2); then 8 Oct; Saturday 12 Oct make-up
        (D(2024, 9, 27), 2, D(2024, 9, 30)),
        (D(2024, 9, 30), 1, D(2024, 10, 8)),
        (D(2024, 10, 8), 4, D(2024, 10, 12)),
        # across the year end into 2026's 元旦: 1–3 Jan off, Sunday 4 make-up (1), Monday 5 (2)
        (D(2025, 12, 31), 2, D(2026, 1, 5)),
        # 劳动节 2026: 1–5 May off; 6 (1), 7 (2), 8 (3), Saturday 9 make-up (4)
        (D(2026, 4, 30), 2, D(2026, 5, 7)),
        (D(2026, 4, 30), 4, D(2026, 5, 9)),
        # zero: the day itself, even a holiday
        (D(2026, 2, 15), 0, D(2026, 2, 15)),
        (D(2026, 3, 9), 0, D(2026, 3, 9)),
    ],
)
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert CN_CALENDAR.add_working_days(start, n) == expected
    assert CN_CALENDAR.working_days_between(start, expected) == n


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (D(2026, 2, 13), D(2026, 2, 14)),  # Friday → make-up Saturday
        (D(2026, 2, 14), D(2026, 2, 24)),
        (D(2025, 9, 30), D(2025, 10, 9)),
        (D(2026, 3, 6), D(2026, 3, 9)),  # ordinary Friday → Monday
        (D(2026, 3, 7), D(2026, 3, 9)),  # from a non-working day: strictly after
    ],
)
def test_next_working_day(start: date, expected: date) -> None:
    assert CN_CALENDAR.next_working_day(start) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (D(2026, 9, 18), D(2026, 9, 22), 3),
        (D(2026, 2, 13), D(2026, 2, 24), 2),  # Saturday 14 and Tuesday 24 only
        (D(2025, 9, 30), D(2025, 10, 8), 0),  # all holiday
        (D(2025, 9, 30), D(2025, 10, 12), 3),  # 9, 10, 11 (make-up Saturday)
        (D(2026, 3, 9), D(2026, 3, 9), 0),
        (D(2026, 3, 6), D(2026, 3, 9), 1),  # Friday excluded, Monday included
    ],
)
def test_working_days_between_and_its_symmetry(a: date, b: date, expected: int) -> None:
    assert CN_CALENDAR.working_days_between(a, b) == expected
    assert CN_CALENDAR.working_days_between(b, a) == -expected


def test_between_inverts_add_over_three_years() -> None:
    start = D(2024, 1, 1)
    for offset in range(0, 3 * 365, 11):
        d = start + timedelta(days=offset)
        for n in (0, 1, 3, 7, 30):
            end = CN_CALENDAR.add_working_days(d, n)
            assert CN_CALENDAR.working_days_between(d, end) == n
            assert CN_CALENDAR.working_days_between(end, d) == -n
            assert CN_CALENDAR.is_working_day(end) or n == 0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n must be"):
        CN_CALENDAR.add_working_days(D(2026, 3, 9), -1)
    with pytest.raises(ValueError, match="n must be"):
        CN_CALENDAR.add_working_days(D(2026, 3, 9), True)
    with pytest.raises(TypeError, match="must be a date"):
        CN_CALENDAR.is_working_day(datetime(2026, 3, 9, 10, 0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a date"):
        CN_CALENDAR.working_days_between(D(2026, 3, 9), "2026-03-10")  # type: ignore[arg-type]


# -- years without a published arrangement --------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2027, 1, 1), False),  # Friday, 元旦
        (D(2027, 2, 8), True),  # Monday after 春节 2027 (6 Feb): lunar holidays are unknown
        (D(2027, 10, 1), False),  # Friday, 国庆
        (D(2027, 10, 4), True),  # Monday: no 调休 is assumed
        (D(2028, 5, 1), False),  # Monday, 劳动节
        (D(2028, 5, 2), False),  # Tuesday: 劳动节 has two days from 2025
        (D(2028, 5, 3), True),
        (D(2028, 10, 3), False),  # Tuesday, 国庆 third day
        (D(2028, 10, 4), True),
        (D(2027, 5, 8), False),  # a Saturday stays off: no make-up days are assumed
        (D(2019, 5, 1), False),  # before the data: Wednesday, 劳动节
        (D(2019, 5, 2), True),  # before 2025 劳动节 was one day
    ],
)
def test_unpublished_year_falls_back_to_weekends_and_fixed_holidays(
    day: date, working: bool
) -> None:
    assert not is_published(day.year)
    assert CN_CALENDAR.is_working_day(day) is working


def test_fallback_counting() -> None:
    assert not is_published(2027)
    # Thursday 30 Sep 2027 + 1: 1–3 Oct off (Fri–Sun), Monday 4 Oct
    assert CN_CALENDAR.add_working_days(D(2027, 9, 30), 1) == D(2027, 10, 4)
    assert CN_CALENDAR.is_holiday(D(2027, 10, 2))
    assert not CN_CALENDAR.is_holiday(D(2027, 2, 8))
    # from the last published day into the fallback: 2026-12-31 is Thursday, 2027-01-01 Friday
    assert CN_CALENDAR.add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)


def test_fixed_statutory_holidays() -> None:
    assert is_fixed_statutory_holiday(D(2030, 1, 1))
    assert is_fixed_statutory_holiday(D(2030, 5, 2))
    assert not is_fixed_statutory_holiday(D(2024, 5, 2))
    assert is_fixed_statutory_holiday(D(2030, 10, 3))
    assert not is_fixed_statutory_holiday(D(2030, 10, 4))


# -- calendars built from explicit sets -----------------------------------------------------------


def test_explicit_calendar_for_tests() -> None:
    cal = WorkingCalendar(holidays={D(2030, 1, 2)}, workdays={D(2030, 1, 5)})
    assert cal.published_years == frozenset({2030})
    assert cal.is_working_day(D(2030, 1, 1))  # 2030 is "published" here, and 1 Jan isn't listed
    assert not cal.is_working_day(D(2030, 1, 2))
    assert cal.is_working_day(D(2030, 1, 5))  # Saturday made a working day
    assert cal.add_working_days(D(2030, 1, 1), 3) == D(2030, 1, 5)  # 3 Jan, 4 Jan, Sat 5 Jan
    assert not cal.is_working_day(D(2031, 1, 1))  # unpublished: fixed holiday

    no_holidays = WorkingCalendar(published_years=[2026])
    assert no_holidays.add_working_days(D(2026, 2, 12), 3) == D(2026, 2, 17)
    assert no_holidays.is_published(2026) and not no_holidays.is_published(2025)


def test_calendar_is_immutable_and_a_value() -> None:
    with pytest.raises(AttributeError):
        CN_CALENDAR._holidays = frozenset()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        CN_CALENDAR.anything = 1  # type: ignore[attr-defined]
    a = WorkingCalendar(holidays=[D(2030, 1, 2)])
    b = WorkingCalendar(holidays={D(2030, 1, 2)})
    assert a == b and hash(a) == hash(b)
    assert a != CN_CALENDAR


def test_a_day_cannot_be_off_and_working() -> None:
    with pytest.raises(ValueError, match="both off and working"):
        WorkingCalendar(holidays={D(2030, 1, 5)}, workdays={D(2030, 1, 5)})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"2030": {"holidays": [], "workdays": ["2030-01-07"], "source": "x"}}, "is a weekday"),
        ({"2030": {"holidays": ["2030-02-30"], "workdays": [], "source": "x"}}, "bad entry"),
        ({"2030": {"holidays": ["2035-01-01"], "workdays": [], "source": "x"}}, "bad entry"),
        ({"2030": {"holidays": "2030-01-01", "workdays": [], "source": "x"}}, "bad entry"),
        ({"2030": {"holidays": [], "workdays": []}}, "source missing"),
        ({"30": {"holidays": [], "workdays": [], "source": "x"}}, "not a year"),
        (
            {"2030": {"holidays": ["2030-01-01", "2030-01-01"], "workdays": [], "source": "x"}},
            "twice",
        ),
    ],
)
def test_bad_data_is_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingCalendar.from_data(data)
