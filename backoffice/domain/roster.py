"""Group rosters (被保险人清单): row validation and automatic enrollment dates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from backoffice.domain.errors import ValidationError
from backoffice.domain.identity import age_on
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
