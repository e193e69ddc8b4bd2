"""Who looked (个人信息访问记录): the log of personal data shown unmasked to staff, read by a
supervisor, its unusual-access report, and its expiry after 3 years.

The desk and the API write an entry at one place each (their middleware, from the route's or
the operation's declaration: backoffice.desk.app.SHOWS, backoffice.api.app). Reading the log is
itself written to the log (record kind `access_log`).
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from backoffice import clock
from backoffice.domain import access_log as al
from backoffice.domain.errors import ValidationError
from backoffice.domain.identity import mask_id_number
from backoffice.services.base import SHANGHAI, today_cn
from backoffice.services.commands import Command, Day, OneOf, Text, takes
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import (
    AccessLogEntry,
    ClaimDocument,
    ClaimRow,
    ComplaintRow,
    Conversation,
    HomeVisit,
    Party,
    PrivacyRequestRow,
    Task,
)

THRESHOLD_VARIABLE = "XIAOBAO_ACCESS_DAILY_THRESHOLD"
MAX_ENTRIES = 500
MAX_REPORT_DAYS = 92


def daily_threshold() -> int:
    """The records a staff member may open unmasked in a day before the report flags them
    (XIAOBAO_ACCESS_DAILY_THRESHOLD, default 30); a value that is not a whole number from 1
    to 10,000 falls back to the default rather than silencing the report."""
    raw = os.environ.get(THRESHOLD_VARIABLE, "").strip()
    try:
        return al.check_threshold(int(raw)) if raw else al.DEFAULT_DAILY_THRESHOLD
    except (ValueError, ValidationError):
        return al.DEFAULT_DAILY_THRESHOLD


# ---- writing: one entry per display -----------------------------------------------------------

def _claim_has_work(s: Session, staff: str, claim: ClaimRow | None) -> bool:
    """A claim is theirs when they handle it, when nobody does yet (the queue's), or when a
    task on it is theirs."""
    if claim is None:
        return False
    if claim.handler in (None, staff):
        return True
    return s.execute(select(Task.id).where(Task.claim_id == claim.id,
                                           Task.assigned_to == staff).limit(1)).first() is not None


def _party_has_work(s: Session, staff: str, record_id: str) -> bool:
    """A party named by their ID number (a page of theirs) or their party id (a search that
    found them)."""
    party_id = _int(record_id)
    party = (s.get(Party, party_id) if party_id is not None else
             s.execute(select(Party).where(
                 Party.id_number_hash == keyed_hash("id_number", record_id))).scalar())
    if party is None:
        return False
    claims = s.execute(select(ClaimRow).where(ClaimRow.insured_party_id == party.id)).scalars()
    if any(_claim_has_work(s, staff, c) for c in claims):
        return True
    return s.execute(select(Task.id).where(Task.party_id == party.id, or_(
        Task.assigned_to == staff, Task.assigned_to.is_(None))).limit(1)).first() is not None


def _int(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


def has_work(s: Session, staff: str, kind: str, record_id: str) -> bool:
    """Whether the record was the staff member's (or their queue's) to work on. Records that
    are not assigned to anyone by their nature (a policy, an application) count as work."""
    if kind == "claim":
        return _claim_has_work(s, staff, s.execute(
            select(ClaimRow).where(ClaimRow.claim_no == record_id)).scalar())
    if kind == "document":
        doc_id = _int(record_id)
        doc = s.get(ClaimDocument, doc_id) if doc_id is not None else None
        return doc is not None and _claim_has_work(s, staff, s.get(ClaimRow, doc.claim_id))
    if kind == "party":
        return _party_has_work(s, staff, record_id)
    if kind == "complaint":
        row = s.execute(select(ComplaintRow).where(
            ComplaintRow.complaint_no == record_id)).scalar()
        return row is not None and row.handler in (None, staff)
    if kind == "conversation":
        conv_id = _int(record_id)
        conv = s.get(Conversation, conv_id) if conv_id is not None else None
        return conv is not None and (conv.agent in (None, staff) or conv.state == "queued")
    if kind == "task":
        task_id = _int(record_id)
        task = s.get(Task, task_id) if task_id is not None else None
        return task is not None and task.assigned_to in (None, staff)
    if kind == "privacy_request":  # a data subject's request: theirs, or nobody's yet
        request = s.execute(select(PrivacyRequestRow).where(
            PrivacyRequestRow.request_no == record_id)).scalar()
        return request is not None and request.handler in (None, staff)
    if kind == "home_visit":
        visit = s.execute(select(HomeVisit).where(HomeVisit.visit_no == record_id)).scalar()
        return visit is not None and visit.assigned_to in (None, staff)
    return True


_ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")


def _party_key(s: Session, record_id: str) -> str:
    """A person as the log names them: their party id, never their ID number (the log is kept
    3 years and cannot be changed, past an erasure of the person)."""
    if not _ID_NUMBER.match(record_id):
        return record_id
    found = s.execute(select(Party.id).where(
        Party.id_number_hash == keyed_hash("id_number", record_id))).scalar()
    return str(found) if found is not None else mask_id_number(record_id)


def record_shown(db: Database, staff: str, role: str, kind: str, record_id: str, door: str,
                 purpose: str) -> None:
    """One display of a record's unmasked personal data to a staff member, stamped with the
    app's clock."""
    with db.transaction() as s:
        if kind == "party":
            record_id = _party_key(s, record_id)
        _write(s, staff, role, kind, record_id, door, purpose,
               has_work(s, staff, kind, record_id))


def list_shown(db: Database, staff: str, role: str, where: str, filters: dict[str, str],
               count: int | None, door: str) -> None:
    """A list, a search or an export shown unmasked: one entry (kind `list`, its filters
    masked, the count of records shown), and one per person a search by ID number, phone or
    party id found (kind `party`, their party id), with or without work on them. A display
    of no record (an empty search box) shows nobody and leaves nothing."""
    if count == 0:
        return
    with db.transaction() as s:
        _write(s, staff, role, al.LIST, al.list_record_id(where, filters), door,
               al.list_purpose(where, count), True)
        for party_id in _people(s, al.looked_up(filters)):
            _write(s, staff, role, "party", str(party_id), door, f"{where} · 按证件号或电话查找",
                   _party_has_work(s, staff, str(party_id)))


def _people(s: Session, wanted: list[tuple[str, str]]) -> list[int]:
    """The parties the look-ups name: one each, when exactly one matches."""
    found: list[int] = []
    for how, value in wanted[:5]:
        if how == "party":
            ids = [int(value)] if s.get(Party, int(value)) is not None else []
        else:
            plain = value.replace(" ", "").replace("-", "")
            ids = list(s.execute(select(Party.id).where(or_(
                Party.id_number_hash == keyed_hash("id_number", plain),
                Party.phone_hash == keyed_hash("phone", plain))).limit(2)).scalars())
        if len(ids) == 1 and ids[0] not in found:
            found.append(ids[0])
    return found


def _write(s: Session, staff: str, role: str, kind: str, record_id: str, door: str,
           purpose: str, with_work: bool) -> None:
    s.add(AccessLogEntry(at=clock.utcnow(), staff=staff[:60], role=role[:30],
                         record_kind=kind[:30], record_id=record_id[:80], door=door[:10],
                         purpose=purpose[:120], with_work=with_work))


# ---- reading: the log and its report -------------------------------------------------------

class AccessQuery(Command):
    """Entries of the log, newest first: by staff member, record and days (Beijing time)."""

    staff: Text(60) = None
    record_kind: OneOf(tuple(al.KIND_NAMES)) | None = None
    record_id: Text(80) = None
    from_: Day | None = Field(None, alias="from")
    to: Day | None = None
    limit: int = Field(200, ge=1, le=MAX_ENTRIES)


class UnusualQuery(Command):
    """The report's days (default: the last 7 days up to today, Beijing time) and threshold
    (default: the setting)."""

    from_: Day | None = Field(None, alias="from")
    to: Day | None = None
    threshold: int | None = Field(None, ge=1, le=10_000)


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    start = datetime.combine(first, time(), SHANGHAI)
    return start, datetime.combine(last + timedelta(days=1), time(), SHANGHAI)


def _reading(s: Session, actor: Any, door: str, purpose: str, what: str) -> None:
    """The log's own reading, written to the log."""
    _write(s, str(actor), getattr(actor, "role", None) or "", "access_log", what[:80], door,
           purpose, True)


def _entry(e: AccessLogEntry) -> dict[str, Any]:
    return {"id": e.id, "at": e.at.isoformat(), "staff": e.staff, "role": e.role,
            "record_kind": e.record_kind, "record_id": e.record_id, "door": e.door,
            "purpose": e.purpose, "with_work": e.with_work}


def _filters(cmd: AccessQuery) -> str:
    parts = [f"{k}={v}" for k, v in (("staff", cmd.staff), ("kind", cmd.record_kind),
                                     ("record", cmd.record_id), ("from", cmd.from_),
                                     ("to", cmd.to)) if v]
    return "&".join(parts) or "all"


@takes(AccessQuery)
def entries(db: Database, cmd: AccessQuery, actor: Any, *, door: str = "api",
            purpose: str = "getAccessLog") -> dict[str, Any]:
    """The log's entries by the filters, newest first; the reading is logged."""
    if cmd.from_ and cmd.to and cmd.from_ > cmd.to:
        raise ValidationError("from", "开始日期不能晚于结束日期")
    stmt = select(AccessLogEntry).order_by(AccessLogEntry.id.desc()).limit(cmd.limit)
    if cmd.staff:
        stmt = stmt.where(AccessLogEntry.staff == cmd.staff)
    if cmd.record_kind:
        stmt = stmt.where(AccessLogEntry.record_kind == cmd.record_kind)
    record_id = cmd.record_id
    if record_id and cmd.record_kind in (None, "party") and _ID_NUMBER.match(record_id):
        with db.read() as s:  # the log names people by party id
            record_id = _party_key(s, record_id)
        cmd = cmd.model_copy(update={"record_id": record_id})
    if record_id:
        stmt = stmt.where(AccessLogEntry.record_id == record_id)
    if cmd.from_:
        stmt = stmt.where(AccessLogEntry.at >= _bounds(cmd.from_, cmd.from_)[0])
    if cmd.to:
        stmt = stmt.where(AccessLogEntry.at < _bounds(cmd.to, cmd.to)[1])
    with db.transaction() as s:
        items = [_entry(e) for e in s.execute(stmt).scalars()]
        _reading(s, actor, door, purpose, _filters(cmd))
    return {"items": items}


@takes(UnusualQuery)
def unusual(db: Database, cmd: UnusualQuery, actor: Any, *, door: str = "api",
            purpose: str = "getUnusualAccess") -> dict[str, Any]:
    """Per staff member and day: records opened unmasked, those without work on them, and
    the flags (over the threshold, opened without work). Flagged days first."""
    last = cmd.to or today_cn(clock.utcnow())
    first = cmd.from_ or last - timedelta(days=6)
    if first > last:
        raise ValidationError("from", "开始日期不能晚于结束日期")
    if (last - first).days >= MAX_REPORT_DAYS:
        raise ValidationError("from", f"一次最多查看 {MAX_REPORT_DAYS} 天")
    threshold = cmd.threshold or daily_threshold()
    start, end = _bounds(first, last)
    with db.transaction() as s:
        rows = s.execute(select(AccessLogEntry).where(
            AccessLogEntry.at >= start, AccessLogEntry.at < end)).scalars()
        days = al.staff_days(al.Opened(e.staff, e.role, e.at.astimezone(SHANGHAI).date(),
                                       e.record_kind, e.record_id, e.with_work) for e in rows)
        _reading(s, actor, door, purpose, f"unusual {first}..{last}")
    items = [_day(d, threshold) for d in days]
    items.sort(key=lambda i: not i["flags"])  # stable: flagged first, then by day
    return {"from": first.isoformat(), "to": last.isoformat(), "threshold": threshold,
            "items": items}


def _day(d: al.StaffDay, threshold: int) -> dict[str, Any]:
    flags = d.flags(threshold)
    return {"staff": d.staff, "role": d.role, "day": d.day.isoformat(),
            "records": len(d.records), "lists": d.lists, "without_work": len(d.without_work),
            "without_work_records": [f"{k}:{i}" for k, i in sorted(d.without_work)][:50],
            "flags": flags, "flag_names": [al.FLAG_NAMES[f] for f in flags]}


# ---- expiry: entries older than the retention ---------------------------------------------

def expire(db: Database, now: datetime | None = None) -> dict[str, int]:
    """Delete the entries older than 3 years (the database refuses younger ones)."""
    before = (now or clock.utcnow()) - al.RETENTION
    with db.transaction() as s:
        gone = s.execute(delete(AccessLogEntry).where(AccessLogEntry.at < before)).rowcount
    return {"expired": gone or 0}
