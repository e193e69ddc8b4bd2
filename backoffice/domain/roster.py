"""Group rosters (被保险人清单): row validation and automatic enrollment dates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from backoffice.domain.errors import ValidationError
from backoffice.domain.identity import age_on, parse_id_number
from backoffice.domain.party import PersonData, parse_person
from backoffice.domain.policy import add_months

ROSTER_COLUMNS = ("name", "gender", "birth_date", "id_number", "phone", "address")


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    message: str


def check_header(header: list[str] | None) -> None:
    if header is None:
        raise ValidationError("header", "文件为空，缺少表头")
    cleaned = [h.strip().lstrip("\ufeff") for h in header]
    missing = [c for c in ROSTER_COLUMNS if c not in cleaned]
    if missing:
        raise ValidationError("header", f"表头缺少列：{', '.join(missing)}")


def parse_row(row: Mapping[str, str | None], min_age: int | None, on: date) -> PersonData:
    """One roster row → a person, or the first problem found, naming its column."""
    for col in ROSTER_COLUMNS:
        if not (row.get(col) or "").strip():
            raise ValidationError(col, "不能为空")
    person = parse_person(row)
    if min_age is not None and age_on(person.birth_date, on) < min_age:
        raise ValidationError("birth_date", f"未满 {min_age} 周岁，不符合参保条件")
    return person


def enrollment_date(birth: date, min_age: int, registered_on: date | None = None) -> date:
    """Residents are covered from the 1st of the month after they become eligible: after they
    reach the minimum age and, for one who moves into the area, after they are registered
    there (the tender: 符合条件后的次月1日, the conditions being the household registration
    and the age). Someone already of age when registered is covered from the 1st of the month
    after the registration, never back to the policy's start."""
    birthday = add_months(birth, 12 * min_age)
    if birthday.day != birth.day:  # born 29 Feb: in a common year one comes of age on 1 Mar
        birthday += timedelta(days=1)
    eligible = birthday if registered_on is None else max(birthday, registered_on)
    return add_months(date(eligible.year, eligible.month, 1), 1)


# ---- roster maintenance: removing a member (death, moving away, correction) -----------------

DEATH, MOVED_AWAY, CORRECTION = "death", "moved_away", "correction"
REMOVAL_REASONS = (DEATH, MOVED_AWAY, CORRECTION)
REMOVAL_REASON_NAMES = {DEATH: "死亡", MOVED_AWAY: "迁出", CORRECTION: "更正"}
#: what the government's monthly lists write, in either language
_REASON_WORDS = {
    DEATH: DEATH, "死亡": DEATH, "身故": DEATH, "去世": DEATH,
    MOVED_AWAY: MOVED_AWAY, "迁出": MOVED_AWAY, "户籍迁出": MOVED_AWAY,
    CORRECTION: CORRECTION, "更正": CORRECTION, "错误登记": CORRECTION,
}
REMOVAL_COLUMNS = ("id_number", "name", "reason", "date")  # + optional `note`
NOTE_LIMIT = 200
#: claims whose money is decided: a removal may not take away the cover they were paid under
MONEY_DECIDED = ("approved", "paid")


def parse_reason(raw: object) -> str:
    """A removal reason code from its code or its Chinese name (死亡 / 迁出 / 更正)."""
    word = raw.strip() if isinstance(raw, str) else None
    reason = _REASON_WORDS.get(word.lower() if word and word.isascii() else word or "")
    if reason is None:
        raise ValidationError(
            "reason", "须为 death（死亡）、moved_away（迁出）或 correction（更正）之一")
    return reason


def last_covered_day(removal_date: date) -> date:
    """Cover runs THROUGH the removal date and ends from the day after.

    The date is the day of the event: an accident on the day of death caused that death and is
    covered, as is one on the day someone moves out of the district (they were a resident that
    day); an incident on any later day is not. For a correction the date is the last day the
    person should have been covered (the day before their enrollment date when they never
    should have been: then they were never covered).
    """
    return removal_date


def covered_on(enrolled_on: date, ended_on: date | None, day: date) -> bool:
    """Is a member covered on `day` (the policy's own period and status aside)?"""
    return enrolled_on <= day and (ended_on is None or day <= last_covered_day(ended_on))


def check_removal_date(day: date, today: date, birth_date: date | None = None) -> date:
    """The removal date of a member: a date that has come. Refused when in the future.

    A death cannot be in the future; a move or a correction is recorded when it has happened
    (the monthly lists report what happened): a future date would end cover ahead on an
    announcement that may not come true, and a typo in the year would silently remove cover.
    """
    if day > today:
        raise ValidationError("date", f"退出日期 {day} 晚于今天，只能登记已发生的死亡、迁出或更正")
    if birth_date is not None and day < birth_date:
        raise ValidationError("date", f"退出日期 {day} 早于被保险人出生日期")
    return day


def removal_outcome(current: tuple[str, date] | None, reason: str, day: date) -> str:
    """`removed` (first removal), `unchanged` (the same reason and date again: a replay) or
    `corrected` (another reason or date for a member already removed)."""
    if current is None:
        return "removed"
    return "unchanged" if current == (reason, day) else "corrected"


def paid_after(day: date, claims: list[tuple[str, str, date, bool]]) -> list[str]:
    """Claims (claim_no, status, incident date, money decided) whose incident falls after the
    last covered day and whose money was approved or paid: a removal from `day` would take
    away the cover they were decided under."""
    end = last_covered_day(day)
    return [no for no, _, incident, decided in claims if decided and incident > end]


def in_progress_after(day: date, claims: list[tuple[str, str, date, bool]]) -> list[str]:
    """Claims still undecided for an incident after the last covered day: to review."""
    end = last_covered_day(day)
    return [no for no, status, incident, decided in claims
            if not decided and incident > end and status not in ("rejected", "withdrawn")]


@dataclass(frozen=True, slots=True)
class Removal:
    id_number: str
    name: str
    reason: str
    day: date
    note: str | None = None


def check_removal_header(header: list[str] | None) -> None:
    if header is None:
        raise ValidationError("header", "文件为空，缺少表头")
    cleaned = [h.strip().lstrip("\ufeff") for h in header]
    missing = [c for c in REMOVAL_COLUMNS if c not in cleaned]
    if missing:
        raise ValidationError("header", f"表头缺少列：{', '.join(missing)}")


def parse_removal_row(row: Mapping[str, str | None], today: date) -> Removal:
    """One row of a removals list → a removal, or the first problem found, naming its column."""
    for col in REMOVAL_COLUMNS:
        if not (row.get(col) or "").strip():
            raise ValidationError(col, "不能为空")
    idn = parse_id_number(row.get("id_number"), "id_number")
    name = (row.get("name") or "").strip()
    if len(name) > 50:
        raise ValidationError("name", "姓名过长")
    reason = parse_reason(row.get("reason"))
    raw_day = (row.get("date") or "").strip()
    try:
        day = date.fromisoformat(raw_day) if len(raw_day) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ValidationError("date", f"日期 {raw_day[:20]} 无效，应为 YYYY-MM-DD")
    check_removal_date(day, today, idn.birth_date)
    note = (row.get("note") or "").strip() or None
    if note is not None and len(note) > NOTE_LIMIT:
        raise ValidationError("note", f"备注不能超过 {NOTE_LIMIT} 字")
    return Removal(idn.value, name, reason, day, note)
