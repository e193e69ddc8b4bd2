"""Home visits (上门服务) for people who cannot travel: contact within 24 h of the request,
visit within 48 h (rules.md §3). A request becomes a task with both clocks, is assigned to
staff, and the customer is told the agreed time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import WithJsonSchema, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.domain import home_visit as hv
from backoffice.domain.clocks import HOME_VISIT_CONTACT, HOME_VISIT_VISIT, home_visit_deadlines
from backoffice.domain.errors import NotFound, ValidationError
from backoffice.domain.identity import mask_id_number, mask_phone
from backoffice.services.base import SHANGHAI, audit, emit, number, today_cn
from backoffice.services.commands import (
    Command,
    Flag,
    IdNumber,
    OneOf,
    PersonName,
    Phone,
    Reference,
    Text,
    domain_rule,
    takes,
)
from backoffice.services.complaints import customer_route
from backoffice.services.notifications import queue
from backoffice.store.db import Database
from backoffice.store.models import HomeVisit, StaffRow, utcnow

# the visit's statuses and steps are the domain's (backoffice.domain.home_visit)
CHANNELS, STATUSES, OPEN, STATUS_NAMES = hv.CHANNELS, hv.STATUSES, hv.OPEN, hv.STATUS_NAMES
ACTIONS = hv.ACTIONS
WARN_BEFORE_HOURS = 4


class HomeVisitRequest(Command):
    """A request from the bot, the IVR, the desk or the API."""

    channel: OneOf(hv.CHANNELS)
    user: Text(80) | None = None  # the channel's user (an openid): told there when possible
    name: PersonName
    phone: Phone
    address: Text(200, blank_ok=False)
    reason: Text(2000, blank_ok=False)
    preferred_time: Text(100) | None = None
    id_number: IdNumber | None = None


@takes(HomeVisitRequest)
def request(db: Database, cmd: HomeVisitRequest, actor: str = "customer") -> dict[str, Any]:
    """A request from the bot, the IVR or the desk; the clocks start now."""
    now = utcnow()
    with db.transaction() as s:
        row = HomeVisit(visit_no=number(s, "V", today_cn().year, 7), status="requested",
                        requested_at=now, contact_by=now + HOME_VISIT_CONTACT,
                        visit_by=now + HOME_VISIT_VISIT, channel=cmd.channel,
                        channel_user=cmd.user, name=cmd.name, phone=cmd.phone,
                        address=cmd.address, reason=cmd.reason,
                        preferred_time=cmd.preferred_time, id_number=cmd.id_number)
        s.add(row)
        s.flush()
        audit(s, actor, "home_visit", row.visit_no, "request", None, {"status": row.status})
        emit(s, "home_visit.requested", {"visit_no": row.visit_no})
        _tell(s, row, "ack", f"【小保】已收到您的上门服务申请（编号 {row.visit_no}），"
                             f"工作人员将在 {_local(row.contact_by)} 前与您联系。")
        return view(row)


def _tell(s: Session, row: HomeVisit, key: str, text: str) -> None:
    channel, recipient = customer_route(row.channel, row.channel_user, row.phone)
    queue(s, f"home_visit:{row.visit_no}:{key}", channel, recipient, "home_visit", text,
          {"visit_no": row.visit_no})


def _local(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def load(s: Session, visit_no: str, *, lock: bool = False) -> HomeVisit:
    stmt = select(HomeVisit).where(HomeVisit.visit_no == visit_no)
    row = s.execute(stmt.with_for_update() if lock else stmt).scalar()
    if row is None:
        raise NotFound(f"上门服务 {visit_no} 不存在", "visit_no")
    return row


def _visit_time(value: Any, _field: str) -> datetime:
    """ISO 8601, Beijing time when no offset is given; kept in UTC."""
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) and value.isascii() \
            else None
    except ValueError:
        at = None
    if at is None:
        raise ValidationError("time", "time 须为 ISO 8601 时间，如 2026-11-23T10:00+08:00")
    at = at.replace(tzinfo=SHANGHAI) if at.tzinfo is None else at
    try:
        return at.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-12:00 has no UTC time
        raise ValidationError("time", "时间超出可表示的范围") from None


VisitTime = Annotated[datetime, domain_rule(_visit_time),
                      WithJsonSchema({"type": "string", "format": "date-time"})]


class HomeVisitStep(Command):
    """assign {handler} · contact · schedule {time} (the customer is told) · visit · cancel,
    taken by the caller."""

    visit_no: Reference
    action: OneOf(hv.ACTIONS)
    handler: Text(60) | None = None  # assign: the staff member (default: the actor)
    time: VisitTime | None = None  # schedule: when the visit is agreed
    note: Text(2000) | None = None

    @model_validator(mode="after")
    def _needs(self) -> HomeVisitStep:
        if self.action == "schedule" and self.time is None:
            raise ValidationError("time", "time 须为 ISO 8601 时间，如 2026-11-23T10:00+08:00")
        return self


@takes(HomeVisitStep)
def transition(db: Database, cmd: HomeVisitStep, actor: str) -> dict[str, Any]:
    """A staff step on a home visit, as `actor`."""
    if not actor:
        raise ValidationError("actor", "每一步都须记录操作人")
    with db.transaction() as s:
        row = load(s, cmd.visit_no, lock=True)
        hv.check_move(row.status, cmd.action)
        before = row.status
        _apply(s, row, cmd, actor)
        if cmd.note:
            row.note = cmd.note
        audit(s, actor, "home_visit", row.visit_no, cmd.action, {"status": before},
              {"status": row.status, "assigned_to": row.assigned_to})
        emit(s, f"home_visit.{cmd.action}", {"visit_no": row.visit_no, "status": row.status})
        return view(row)


def _apply(s: Session, row: HomeVisit, cmd: HomeVisitStep, actor: str) -> None:
    now = utcnow()
    if cmd.action == "assign":
        handler = cmd.handler or actor
        if s.execute(select(StaffRow.id).where(StaffRow.username == handler)).first() is None:
            raise ValidationError("handler", f"没有名为 {handler} 的工作人员")
        row.assigned_to = handler
        row.status = "assigned" if row.status == "requested" else row.status
    elif cmd.action == "contact":
        row.contacted_at, row.status = now, "contacted"
    elif cmd.action == "schedule":
        at = cmd.time
        assert at is not None  # the command requires it
        if at <= now:
            raise ValidationError("time", "上门时间须晚于现在")
        row.scheduled_for, row.status = at, "scheduled"
        row.contacted_at = row.contacted_at or now
        _tell(s, row, f"time:{at.isoformat()}",
              f"【小保】您的上门服务（编号 {row.visit_no}）已约定于 {_local(at)}，"
              f"工作人员 {row.assigned_to or ''} 将到 {row.address} 拜访。")
    elif cmd.action == "visit":
        row.visited_at, row.status = now, "visited"
    else:
        row.status = "cancelled"


def view(row: HomeVisit, *, pii: bool = True, now: datetime | None = None) -> dict[str, Any]:
    clocks = home_visit_deadlines(row.requested_at, now or utcnow(),
                                  contacted_at=row.contacted_at, visited_at=row.visited_at)
    return {
        "visit_no": row.visit_no, "status": row.status, "status_name": STATUS_NAMES[row.status],
        "channel": row.channel, "name": row.name,
        "phone": row.phone if pii else mask_phone(row.phone),
        "id_number": (row.id_number if pii else mask_id_number(row.id_number))
        if row.id_number else None,
        "address": row.address, "reason": row.reason, "preferred_time": row.preferred_time,
        "requested_at": row.requested_at.isoformat(),
        "contact_by": row.contact_by.isoformat(), "visit_by": row.visit_by.isoformat(),
        "assigned_to": row.assigned_to,
        "scheduled_for": row.scheduled_for.isoformat() if row.scheduled_for else None,
        "contacted_at": row.contacted_at.isoformat() if row.contacted_at else None,
        "visited_at": row.visited_at.isoformat() if row.visited_at else None,
        "note": row.note,
        "clocks": {k: {"due": d.due.isoformat(), "breached": d.breached,
                       "done_at": d.done_at.isoformat() if d.done_at else None}
                   for k, d in clocks.items()},
    }


class HomeVisitRef(Command):
    visit_no: Reference


@takes(HomeVisitRef)
def get(db: Database, cmd: HomeVisitRef, actor: str = "", *, pii: bool = True
        ) -> dict[str, Any]:
    with db.read() as s:
        return view(load(s, cmd.visit_no), pii=pii)


class HomeVisitQuery(Command):
    open: Flag = True  # only visits not yet done or cancelled
    assigned_to: Text(60) | None = None


@takes(HomeVisitQuery)
def search(db: Database, cmd: HomeVisitQuery, actor: str = "", *, pii: bool = True,
           limit: int = 200) -> list[dict[str, Any]]:
    """The visits, nearest contact deadline first."""
    with db.read() as s:
        stmt = select(HomeVisit).order_by(HomeVisit.contact_by, HomeVisit.id)
        if cmd.open:
            stmt = stmt.where(HomeVisit.status.in_(OPEN))
        if cmd.assigned_to:
            stmt = stmt.where(HomeVisit.assigned_to == cmd.assigned_to)
        return [view(r, pii=pii) for r in s.execute(stmt.limit(limit)).scalars()]


def clock_checks(db: Database, now: datetime) -> dict[str, int]:
    """Warn the desk a few hours before a contact or visit deadline; flag a breach once."""
    warned = breached = 0
    with db.transaction() as s:
        for row in s.execute(select(HomeVisit).where(HomeVisit.status.in_(OPEN))).scalars():
            for name, d in home_visit_deadlines(row.requested_at, now,
                                                contacted_at=row.contacted_at,
                                                visited_at=row.visited_at).items():
                if d.done_at is not None:
                    continue
                left = (d.due - now).total_seconds() / 3600
                kind = "breach" if d.breached else "warn" if left <= WARN_BEFORE_HOURS else None
                if kind is None:
                    continue
                what = "联系" if name == "home_visit_contact" else "上门"
                text = (f"【小保】上门服务 {row.visit_no} 须在 {_local(d.due)} 前{what}"
                        f"{'，已超时' if kind == 'breach' else ''}。")
                staff = s.execute(select(StaffRow).where(
                    StaffRow.username == row.assigned_to)).scalar() if row.assigned_to else None
                if staff is not None and staff.phone:
                    target: tuple[str, str] = ("sms", staff.phone)
                else:
                    target = ("log", row.assigned_to or "home_visits")
                if queue(s, f"home_visit:{row.visit_no}:{name}:{kind}", *target,
                         f"home_visit_{kind}", text, {"visit_no": row.visit_no}):
                    if kind == "breach":
                        breached += 1
                        emit(s, "home_visit.breached", {"visit_no": row.visit_no,
                                                        "clock": name})
                    else:
                        warned += 1
    return {"warned": warned, "breached": breached}
