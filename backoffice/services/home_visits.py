"""Home visits (上门服务) for people who cannot travel: contact within 24 h of the request,
visit within 48 h (rules.md §3). A request becomes a task with both clocks, is assigned to
staff, and the customer is told the agreed time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.domain.clocks import HOME_VISIT_CONTACT, HOME_VISIT_VISIT, home_visit_deadlines
from backoffice.domain.errors import DomainError, NotFound, ValidationError
from backoffice.domain.identity import mask_id_number, mask_phone, parse_id_number, parse_phone
from backoffice.domain.party import parse_name
from backoffice.services.base import SHANGHAI, audit, emit, number, text_field, today_cn
from backoffice.services.complaints import customer_route
from backoffice.services.notifications import queue
from backoffice.store.db import Database
from backoffice.store.models import HomeVisit, StaffRow, utcnow

CHANNELS = ("bot", "wechat", "ivr", "desk", "api", "web", "phone")
STATUSES = ("requested", "assigned", "contacted", "scheduled", "visited", "cancelled")
OPEN = ("requested", "assigned", "contacted", "scheduled")
STATUS_NAMES = {"requested": "待分派", "assigned": "已分派", "contacted": "已联系",
                "scheduled": "已约定时间", "visited": "已上门", "cancelled": "已取消"}
_MOVES = {"assign": OPEN, "contact": ("requested", "assigned"),
          "schedule": ("requested", "assigned", "contacted", "scheduled"),
          "visit": ("scheduled", "contacted", "assigned"), "cancel": OPEN}
ACTIONS = tuple(_MOVES)
WARN_BEFORE_HOURS = 4


def request(db: Database, raw: Mapping[str, Any], actor: str = "customer") -> dict[str, Any]:
    """A request from the bot, the IVR or the desk; the clocks start now."""
    if not isinstance(raw, Mapping):
        raise ValidationError("body", "请求体须为 JSON 对象")
    channel = raw.get("channel")
    if channel not in CHANNELS:
        raise ValidationError("channel", f"渠道须为 {', '.join(CHANNELS)} 之一")
    idn = raw.get("id_number")
    data = {
        "channel": channel, "channel_user": text_field(raw, "user", 80),
        "name": parse_name(raw.get("name"), "name"), "phone": parse_phone(raw.get("phone")),
        "address": text_field(raw, "address", 200, required=True),
        "reason": text_field(raw, "reason", 2000, required=True),
        "preferred_time": text_field(raw, "preferred_time", 100),
        "id_number": parse_id_number(idn).value if idn is not None else None,
    }
    now = utcnow()
    with db.transaction() as s:
        row = HomeVisit(visit_no=number(s, "V", today_cn().year, 7), status="requested",
                        requested_at=now, contact_by=now + HOME_VISIT_CONTACT,
                        visit_by=now + HOME_VISIT_VISIT, **data)
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


def _parse_time(raw: Mapping[str, Any]) -> datetime:
    value = raw.get("time")
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        at = None
    if at is None:
        raise ValidationError("time", "time 须为 ISO 8601 时间，如 2026-11-23T10:00+08:00")
    at = at.replace(tzinfo=SHANGHAI) if at.tzinfo is None else at
    try:
        return at.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-12:00 has no UTC time
        raise ValidationError("time", "时间超出可表示的范围") from None


def transition(db: Database, visit_no: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """assign {handler} · contact · schedule {time} (the customer is told) · visit · cancel."""
    if not isinstance(raw, Mapping):
        raise ValidationError("body", "请求体须为 JSON 对象")
    action = raw.get("action")
    if not isinstance(action, str) or action not in _MOVES:
        raise ValidationError("action", f"action 须为 {', '.join(ACTIONS)} 之一")
    actor = text_field(raw, "actor", 60, required=True)
    note = text_field(raw, "note", 2000)
    with db.transaction() as s:
        row = load(s, visit_no, lock=True)
        if row.status not in _MOVES[action]:
            raise DomainError(f"上门服务状态为 {STATUS_NAMES[row.status]}，不能执行 {action}",
                              "action")
        before = row.status
        _apply(s, row, str(action), raw, str(actor))
        if note:
            row.note = note
        audit(s, str(actor), "home_visit", row.visit_no, str(action), {"status": before},
              {"status": row.status, "assigned_to": row.assigned_to})
        emit(s, f"home_visit.{action}", {"visit_no": row.visit_no, "status": row.status})
        return view(row)


def _apply(s: Session, row: HomeVisit, action: str, raw: Mapping[str, Any], actor: str) -> None:
    now = utcnow()
    if action == "assign":
        handler = text_field(raw, "handler", 60) or actor
        if s.execute(select(StaffRow.id).where(StaffRow.username == handler)).first() is None:
            raise ValidationError("handler", f"没有名为 {handler} 的工作人员")
        row.assigned_to = handler
        row.status = "assigned" if row.status == "requested" else row.status
    elif action == "contact":
        row.contacted_at, row.status = now, "contacted"
    elif action == "schedule":
        at = _parse_time(raw)
        if at <= now:
            raise ValidationError("time", "上门时间须晚于现在")
        row.scheduled_for, row.status = at, "scheduled"
        row.contacted_at = row.contacted_at or now
        _tell(s, row, f"time:{at.isoformat()}",
              f"【小保】您的上门服务（编号 {row.visit_no}）已约定于 {_local(at)}，"
              f"工作人员 {row.assigned_to or ''} 将到 {row.address} 拜访。")
    elif action == "visit":
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


def get(db: Database, visit_no: str, *, pii: bool = True) -> dict[str, Any]:
    with db.read() as s:
        return view(load(s, visit_no), pii=pii)


def search(db: Database, *, open_only: bool = True, assigned_to: str | None = None,
           pii: bool = True, limit: int = 200) -> list[dict[str, Any]]:
    with db.read() as s:
        stmt = select(HomeVisit).order_by(HomeVisit.contact_by, HomeVisit.id)
        if open_only:
            stmt = stmt.where(HomeVisit.status.in_(OPEN))
        if assigned_to:
            stmt = stmt.where(HomeVisit.assigned_to == assigned_to)
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
