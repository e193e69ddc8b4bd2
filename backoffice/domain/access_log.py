"""Who looked (个人信息访问记录): which shown pages and answers put a record's personal data
unmasked in front of staff, and the supervisor's reading of the log. Pure.

A record is named by its kind and id (a claim by its number, a document by its id, a person by
their party id: an ID number in a path is written as the party id it names, since the log
outlives an erasure of the person and cannot change). The desk's routes and the API's
operations carry the record in a path field; `RECORD_FIELDS` says which field names which
kind, so the two doors derive the record from their declarations the same way.

A list, a search or an export shown unmasked is one entry of kind `list`: its record id is the
page or operation with a masked description of its filters (an ID number or phone searched
for is never kept in clear), its purpose says how many records it showed. A search by an ID
number or phone also names the person it found (kind `party`, their party id).

Unusual access: per staff member and day, how many records they opened unmasked, and how many
of those they had no work on (no claim, complaint, task or conversation of theirs or of their
queue). A day over the threshold, or any record opened without work, is flagged. A list counts
once as a list, not per row: the person a search looked up counts as a record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from backoffice.domain.errors import ValidationError
from backoffice.domain.masking import mask_text

RETENTION = timedelta(days=3 * 365 + 1)  # kept 3 years (a leap day included)
DEFAULT_DAILY_THRESHOLD = 30  # records opened unmasked a day before a supervisor looks

# path field → the kind of record it names
RECORD_FIELDS: Mapping[str, str] = {
    "document_id": "document", "claim_no": "claim", "id_number": "party",
    "complaint_no": "complaint", "conversation_id": "conversation", "task_id": "task",
    "visit_no": "home_visit", "request_no": "endorsement_request", "appeal_no": "appeal",
    "policy_no": "policy", "application_no": "application", "letter_no": "claim",
    "privacy_request_no": "privacy_request",
}
KIND_NAMES: Mapping[str, str] = {
    "document": "单证", "claim": "赔案", "party": "客户", "complaint": "投诉",
    "conversation": "会话", "task": "任务", "home_visit": "上门服务",
    "endorsement_request": "保全申请", "appeal": "复核申请", "policy": "保单",
    "application": "投保单", "access_log": "访问记录", "privacy_request": "个人信息请求",
    "list": "列表、搜索或导出",
}
# `shows=` of an operation or a desk route: a list, a search or an export of records; or
# nothing personal shown unmasked (declared, so a new page is never left undecided)
LIST = "list"
NOTHING = "-"
# filters that may name a person: kept masked in the entry; an ID number or phone in them
# is looked up (the person found is recorded as opened)
PERSON_FILTERS = ("id_number", "phone", "q", "party", "name", "user", "mobile")
_NOT_FILTERS = frozenset({"format", "msg", "err", "sig", "limit", "offset", "cursor"})
# the most specific field wins: a document of a claim is the document
_PRECEDENCE = tuple(RECORD_FIELDS)


def record_of(path_fields: Mapping[str, str]) -> tuple[str, str] | None:
    """The (kind, id) a path's fields name, the most specific first; None when none does."""
    for name in _PRECEDENCE:
        value = path_fields.get(name)
        if value:
            kind = RECORD_FIELDS[name]
            # a letter is shown as part of its claim, under the claim's number
            if name == "letter_no":
                return kind, str(path_fields.get("claim_no", value))[:80]
            return kind, str(value)[:80]
    return None


_FILTER_NAME = re.compile(r"[a-z][a-z_]{0,19}")
# a policy, claim or complaint number searched for: not personal, kept as written
_RECORD_NUMBER = re.compile(r"[A-Za-z]{1,4}-?\d[\d-]{3,30}")


def _masked_filter(key: str, value: str) -> str:
    """A filter's value as the log keeps it: ID, phone and card numbers masked; a value that
    may name a person (a name, a free search), or any non-ASCII text, by its first character
    only; a record number or a party id kept."""
    masked = mask_text(value)
    if masked != value:
        return masked[:24]
    if key in PERSON_FILTERS and _RECORD_NUMBER.fullmatch(value):
        return value[:24]
    if key == "party" and value.isascii() and value.isdigit():  # a party id, as logged
        return value[:12]
    if key in PERSON_FILTERS or not value.isascii():
        return value[:1] + "＊"
    return value[:24]


def list_record_id(where: str, filters: Mapping[str, str]) -> str:
    """A list display's record id: the page or operation and its filters, personal values
    masked (`findClaims?id_number=110101********1234`), at most 80 characters. A filter
    whose name is not a plain field name (it could hold anything) is kept as `?` only."""
    parts = []
    for k, v in sorted(filters.items()):
        if k in _NOT_FILTERS or not v.strip():
            continue
        name = k if _FILTER_NAME.fullmatch(k) else "?"
        parts.append(f"{name}={_masked_filter(k, v.strip())}")
    return (f"{where}?{'&'.join(parts)}" if parts else where)[:80]


def list_purpose(where: str, count: int | None) -> str:
    """The entry's purpose: where it was shown and how many records it showed."""
    return where if count is None else f"{where} · {count} 条"


def looked_up(filters: Mapping[str, str]) -> list[tuple[str, str]]:
    """The filters that look a person up: (field, value) for an ID number or a phone (its
    value has that shape), or a party id (`party`). A name is not a look-up of one person."""
    out = []
    for k, v in sorted(filters.items()):
        value = v.strip()
        if k not in PERSON_FILTERS or not 0 < len(value) <= 40:
            continue
        if k == "party" and value.isascii() and value.isdigit() and len(value) < 12:
            out.append(("party", value))
        elif mask_text(value) != value:
            out.append(("number", value))
    return out


@dataclass(frozen=True)
class Opened:
    """One entry of the log, as the report reads it."""

    staff: str
    role: str
    day: date
    record_kind: str
    record_id: str
    has_work: bool


@dataclass
class StaffDay:
    """One staff member's day: records opened unmasked, and those without work on them."""

    staff: str
    role: str
    day: date
    records: set[tuple[str, str]] = field(default_factory=set)
    without_work: set[tuple[str, str]] = field(default_factory=set)
    lists: int = 0  # lists, searches and exports shown: once each, not per row

    def flags(self, threshold: int) -> list[str]:
        out = []
        if len(self.records) > threshold:
            out.append("over_threshold")
        if self.without_work:
            out.append("no_work")
        return out


FLAG_NAMES = {"over_threshold": "单日查看量超过阈值", "no_work": "查看了未分配给本人或本队列的记录"}


def staff_days(opened: Iterable[Opened]) -> list[StaffDay]:
    """The entries grouped per staff member and day, busiest first. The log's own readings
    are not records of customers and are left out; a list counts as a list, not as the
    records on it."""
    days: dict[tuple[str, date], StaffDay] = {}
    for o in opened:
        if o.record_kind == "access_log":
            continue
        d = days.setdefault((o.staff, o.day), StaffDay(o.staff, o.role, o.day))
        if o.record_kind == LIST:
            d.lists += 1
            continue
        d.records.add((o.record_kind, o.record_id))
        if not o.has_work:
            d.without_work.add((o.record_kind, o.record_id))
    return sorted(days.values(), key=lambda d: (d.day, -len(d.records), d.staff), reverse=True)


def check_threshold(value: object, field_name: str = "threshold") -> int:
    """A daily threshold: a whole number from 1 to 10,000."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
        raise ValidationError(field_name, "阈值须为 1–10000 的整数")
    return value
