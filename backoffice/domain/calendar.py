"""The PRC working-day calendar: weekends, public holidays and make-up working days (调休).

The data are the State Council's yearly notices (国务院办公厅关于××年部分节假日安排的通知), kept in
`holidays_cn.json` next to this module: per year the days off (放假日期, weekends inside a holiday
included) and the weekend days that are working days (调休上班).

Conventions
-----------
- A working day is a Monday–Friday that is not a day off in the year's arrangement, or a weekend
  day the arrangement makes a working day.
- "Within N working days of D" means on or before the N-th working day *after* D:
  `add_working_days(D, N)`. D itself never counts, whether or not it is a working day (as for
  calendar-day periods, 民法典第201条: 开始的当日不计入). `add_working_days(D, 0) == D`.
- `working_days_between(a, b)` counts the working days d with a < d ≤ b, and is negative when
  b < a, so `working_days_between(d, add_working_days(d, n)) == n` and swapping the arguments
  flips the sign.
- A year without a published arrangement (the next year until the notice comes out, usually in
  November; years before 2020) falls back to weekends plus the fixed-date statutory holidays of
  全国年节及纪念日放假办法: 元旦 1 Jan, 劳动节 1 May (and 2 May from 2025, after the 2024
  revision), 国庆节 1–3 Oct. The lunar holidays (春节, 清明, 端午, 中秋) and the make-up working
  days cannot be predicted, so such a year is only an approximation: `is_published(year)` tells
  callers when to warn.
- Days are local (Asia/Shanghai) dates. A `datetime` is refused rather than silently compared
  with dates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any, NoReturn

DATA_FILE = "holidays_cn.json"
ONE_DAY = timedelta(days=1)

# Fixed-date statutory holidays (全国年节及纪念日放假办法), used only for unpublished years.
_FIXED_HOLIDAYS: tuple[tuple[int, int], ...] = ((1, 1), (5, 1), (10, 1), (10, 2), (10, 3))
_FIXED_HOLIDAYS_FROM_2025: tuple[tuple[int, int], ...] = (*_FIXED_HOLIDAYS, (5, 2))


def _as_date(value: object, name: str = "d") -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a date (the local Asia/Shanghai day), not {value!r}")
    return value


def _is_weekend(d: date) -> bool:
    return d.weekday() >= 5


def is_fixed_statutory_holiday(d: date) -> bool:
    """The fixed-date statutory holidays: 元旦, 劳动节 (two days from 2025), 国庆节 1–3 Oct."""
    fixed = _FIXED_HOLIDAYS_FROM_2025 if d.year >= 2025 else _FIXED_HOLIDAYS
    return (d.month, d.day) in fixed


class WorkingCalendar:
    """An immutable working-day calendar.

    `holidays`: days off (weekend days inside a holiday may be listed or not). `workdays`: weekend
    days that are working days. `published_years`: years whose arrangement the sets hold
    completely; other years fall back to weekends + fixed statutory holidays. By default the
    published years are the years of the dates given.
    """

    __slots__ = ("_holidays", "_published", "_sources", "_workdays")

    _holidays: frozenset[date]
    _workdays: frozenset[date]
    _published: frozenset[int]
    _sources: Mapping[int, str]

    def __init__(
        self,
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        *,
        published_years: Iterable[int] | None = None,
        sources: Mapping[int, str] | None = None,
    ) -> None:
        off = frozenset(_as_date(d, "holidays") for d in holidays)
        on = frozenset(_as_date(d, "workdays") for d in workdays)
        both = off & on
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"days both off and working: {listed}")
        if published_years is None:
            years = frozenset(d.year for d in off | on)
        else:
            years = frozenset(int(y) for y in published_years)
        object.__setattr__(self, "_holidays", off)
        object.__setattr__(self, "_workdays", on)
        object.__setattr__(self, "_published", years)
        object.__setattr__(self, "_sources", dict(sources or {}))

    # -- construction from the published data ------------------------------------------------

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> WorkingCalendar:
        """From {"2026": {"holidays": [...], "workdays": [...], "source": "..."}}, checked."""
        holidays: list[date] = []
        workdays: list[date] = []
        sources: dict[int, str] = {}
        for key, entry in data.items():
            if not (isinstance(key, str) and len(key) == 4 and key.isdigit()):
                raise ValueError(f"holiday data: year key {key!r} is not a year")
            year = int(key)
            if not isinstance(entry, Mapping):
                raise ValueError(f"holiday data {year}: not an object")
            off = _parse_dates(entry.get("holidays"), year, "holidays")
            on = _parse_dates(entry.get("workdays"), year, "workdays")
            for d in on:
                if not _is_weekend(d):
                    raise ValueError(f"holiday data {year}: make-up working day {d} is a weekday")
            source = entry.get("source")
            if not isinstance(source, str) or not source.strip():
                raise ValueError(f"holiday data {year}: source missing")
            holidays.extend(off)
            workdays.extend(on)
            sources[year] = source
        return cls(holidays, workdays, published_years=sources, sources=sources)

    @classmethod
    def from_json(cls, text: str) -> WorkingCalendar:
        return cls.from_data(json.loads(text))

    # -- immutability and value semantics ----------------------------------------------------

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("WorkingCalendar is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("WorkingCalendar is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkingCalendar):
            return NotImplemented
        return (self._holidays, self._workdays, self._published) == (
            other._holidays,
            other._workdays,
            other._published,
        )

    def __hash__(self) -> int:
        return hash((self._holidays, self._workdays, self._published))

    def __repr__(self) -> str:
        years = ", ".join(str(y) for y in sorted(self._published)) or "none"
        return f"WorkingCalendar(published: {years})"

    # -- queries ---------------------------------------------------------------------------

    @property
    def published_years(self) -> frozenset[int]:
        return self._published

    def is_published(self, year: int) -> bool:
        """True when the year's holiday arrangement is in the data (not the fallback)."""
        return year in self._published

    def source(self, year: int) -> str | None:
        """The notice a published year's arrangement comes from."""
        return self._sources.get(year)

    def is_holiday(self, d: date) -> bool:
        """A public-holiday day off (weekends inside a holiday included), not a plain weekend."""
        d = _as_date(d)
        if d in self._holidays:
            return True
        if d in self._workdays or d.year in self._published:
            return False
        return is_fixed_statutory_holiday(d)

    def is_working_day(self, d: date) -> bool:
        d = _as_date(d)
        if d in self._workdays:
            return True
        if d in self._holidays or _is_weekend(d):
            return False
        if d.year in self._published:
            return True
        return not is_fixed_statutory_holiday(d)

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after d."""
        return self.add_working_days(d, 1)

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after d (d itself never counts); d when n == 0."""
        d = _as_date(d)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a whole number ≥ 0, not {n!r}")
        day = d
        while n:
            day += ONE_DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """Working days d with a < d ≤ b; the negative count of those in (b, a] when b < a."""
        a = _as_date(a, "a")
        b = _as_date(b, "b")
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        day = a
        while day < b:
            day += ONE_DAY
            if self.is_working_day(day):
                count += 1
        return count


def _bad(year: int, field: str, value: object) -> NoReturn:
    raise ValueError(f"holiday data {year}: {field} has a bad entry {value!r}")


def _parse_dates(raw: object, year: int, field: str) -> list[date]:
    if not isinstance(raw, list):
        _bad(year, field, raw)
    days: list[date] = []
    for item in raw:
        if not isinstance(item, str):
            _bad(year, field, item)
        try:
            d = date.fromisoformat(item)
        except ValueError:
            _bad(year, field, item)
        # A holiday may start in the previous year (2023's 元旦 began on 2022-12-31).
        if abs(d.year - year) > 1:
            _bad(year, field, item)
        days.append(d)
    if len(set(days)) != len(days):
        raise ValueError(f"holiday data {year}: {field} lists a day twice")
    return days


def _load_packaged() -> WorkingCalendar:
    text = resources.files("backoffice.domain").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return WorkingCalendar.from_json(text)


CN_CALENDAR: WorkingCalendar = _load_packaged()
"""The PRC calendar from the State Council's published arrangements (2020–2026)."""


def is_published(year: int) -> bool:
    """True when CN_CALENDAR holds the State Council's arrangement for `year`."""
    return CN_CALENDAR.is_published(year)
