"""Appeals of a rejection (复核申请): filed by the customer through the channels' port (their
own claim only) or by staff on their behalf; decided by a claims supervisor who did not take the
rejection — `uphold` with the reasons told to the customer, or `reopen` through the claim's own
reopen step. One transaction per use case; the claim's timeline and the audit log hold both.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from pydantic import field_validator
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice.domain import appeal as ap
from backoffice.domain import claim as cl
from backoffice.domain import staff as roles
from backoffice.domain.errors import Conflict, Forbidden, NotFound
from backoffice.services import bindings
from backoffice.services import claims as claims_service
from backoffice.services.base import audit, emit, number, today_cn
from backoffice.services.commands import Command, Count, OneOf, Reference, Text, takes
from backoffice.services.complaints import customer_route
from backoffice.services.notifications import queue
from backoffice.store.db import Database
from backoffice.store.models import AppealRow, ClaimEvent, ClaimRow

ENTITY = "appeal"
# the steps that rejected a claim: their actor took the rejection (four eyes)
_REJECTING = ("reject", "decline_registration")


def working_days() -> int:
    """The clock's length, from its setting (default 10 working days)."""
    return ap.working_days(os.environ.get("XIAOBAO_APPEAL_WORKING_DAYS"))


# ---- filing ----------------------------------------------------------------------------------

class AppealIn(Command):
    """Staff file an appeal on the customer's behalf (desk, counter, phone)."""

    claim_no: Reference
    reasons: Text(ap.MAX_REASONS) = None  # the customer's words; checked by the domain
    channel: OneOf(ap.CHANNELS) = "desk"


class CustomerAppealIn(Command):
    """The customer's own appeal through a channel: who they are is their binding."""

    channel: OneOf(bindings.CHANNELS)
    user: Text(128, blank_ok=False)
    claim_no: Reference
    reasons: Text(ap.MAX_REASONS) = None


@takes(AppealIn)
def file(db: Database, cmd: AppealIn, actor: str) -> dict[str, Any]:
    """复核申请 taken down by staff (or an integration) for the claim's customer."""
    reasons = ap.check_reasons(cmd.reasons)
    return _file(db, cmd.claim_no, reasons, cmd.channel, None, actor, owner=None)


@takes(CustomerAppealIn)
def file_for_customer(db: Database, cmd: CustomerAppealIn, actor: str = "customer"
                      ) -> dict[str, Any]:
    """The identified customer's appeal of their own claim (as insured or as its reporter)."""
    reasons = ap.check_reasons(cmd.reasons)
    return _file(db, cmd.claim_no, reasons, cmd.channel, cmd.user, actor,
                 owner=(cmd.channel, cmd.user))


def _file(db: Database, claim_no: str, reasons: str, channel: str, user: str | None,
          actor: str, owner: tuple[str, str] | None) -> dict[str, Any]:
    try:
        with db.transaction() as s:
            lock_claim(s, claim_no)
            row = claims_service.load_claim(s, claim_no, lock=True)
            if owner is not None:
                check_owner(s, row, *owner)
            ap.check_appealable(row.status)
            _check_none_open(s, row)
            appeal = _new_appeal(s, row, reasons, channel, user, actor)
            return view(s, appeal)
    except IntegrityError:  # another appeal of the claim was filed at the same moment
        raise Conflict(f"案件 {claim_no} 已有待处理的复核申请", "claim_no") from None


def lock_claim(s: Session, claim_no: str) -> None:
    """Write first: on SQLite the transaction then holds the write lock before it reads, so two
    requests at once queue instead of deciding on the same stale snapshot; on PostgreSQL the
    claim's row is locked."""
    s.execute(update(ClaimRow).where(ClaimRow.claim_no == claim_no)
              .values(status=ClaimRow.status))


def check_owner(s: Session, row: ClaimRow, channel: str, user: str) -> None:
    party = bindings.bound_party(s, channel, user)
    if party is None:
        raise NotFound("该渠道用户尚未核验身份", "user")
    if row.insured_party_id != party.id and not (party.phone and row.reporter_phone == party.phone):
        # the same answer as a claim that does not exist: nothing is told about others' claims
        raise NotFound(f"未找到您名下的案件 {row.claim_no}", "claim_no")


def _check_none_open(s: Session, row: ClaimRow) -> None:
    found = s.execute(select(AppealRow.appeal_no).where(AppealRow.open_claim_id == row.id)
                      ).scalar()
    if found:
        raise Conflict(f"案件 {row.claim_no} 已有待处理的复核申请 {found}", "claim_no")


def _rejected_by(s: Session, row: ClaimRow) -> str | None:
    """Who took the claim's latest rejection, as its timeline records it."""
    return s.execute(select(ClaimEvent.actor).where(
        ClaimEvent.claim_id == row.id, ClaimEvent.action.in_(_REJECTING))
        .order_by(ClaimEvent.id.desc()).limit(1)).scalar()


def _new_appeal(s: Session, row: ClaimRow, reasons: str, channel: str, user: str | None,
                actor: str) -> AppealRow:
    today = today_cn()
    days = working_days()
    appeal = AppealRow(
        appeal_no=number(s, "FH", today.year, 6), claim_id=row.id, claim_no=row.claim_no,
        open_claim_id=row.id, status=ap.OPEN, channel=channel, channel_user=user,
        reasons=reasons, filed_by=str(actor), filed_on=today,
        due_on=ap.clock(today, today, days).due, rejected_by=_rejected_by(s, row))
    s.add(appeal)
    s.flush()
    s.add(ClaimEvent(claim_id=row.id, action="appeal", status=row.status, actor=str(actor),
                     note=f"客户申请复核（{appeal.appeal_no}），理由：{reasons}"))
    audit(s, actor, ENTITY, appeal.appeal_no, "file", None,
          {"status": appeal.status, "claim_no": row.claim_no, "reasons": reasons})
    audit(s, actor, "claim", row.claim_no, "appeal", None, {"appeal_no": appeal.appeal_no})
    emit(s, "appeal.filed", {"appeal_no": appeal.appeal_no, "claim_no": row.claim_no})
    _tell(s, appeal, row, "filed",
          f"【小保】您对报案号 {row.claim_no} 拒赔决定的复核申请已受理（编号 {appeal.appeal_no}），"
          f"我们会在 {appeal.due_on} 前答复您。")
    return appeal


# ---- deciding --------------------------------------------------------------------------------

class AppealDecision(Command):
    """uphold {note} · reopen {note?}. The decider is the token's staff member."""

    appeal_no: Reference
    action: OneOf(ap.ACTIONS)
    note: Text(ap.MAX_NOTE) = None


def authorize_decision(actor: roles.Actor, cmd: Any) -> None:
    """A claims supervisor, as themself: no integration decides an appeal."""
    if actor.role != roles.CLAIMS_SUPERVISOR:
        raise Forbidden("复核申请须由理赔主管本人作出决定", "action")


@takes(AppealDecision)
def decide(db: Database, cmd: AppealDecision, actor: str) -> dict[str, Any]:
    with db.transaction() as s:
        _lock_appeal(s, cmd.appeal_no)
        appeal = load(s, cmd.appeal_no)
        claim = claims_service.load_claim(s, appeal.claim_no, lock=True)
        domain = ap.Appeal(appeal.status, appeal.rejected_by)
        before = {"status": appeal.status}
        note = domain.decide(cmd.action, str(actor), cmd.note)
        if claim.status != cl.REJECTED:  # reopened by other means meanwhile: nothing to decide
            raise Conflict(f"案件 {claim.claim_no} 已不在拒赔状态", "appeal_no")
        if cmd.action == "reopen":
            step = claims_service.ClaimTransition.of(
                {"claim_no": claim.claim_no, "action": "reopen",
                 "note": f"复核 {appeal.appeal_no} 改判重审" + (f"：{note}" if note else "")})
            claims_service.reopen_step(s, claim, step, actor)
        else:
            s.add(ClaimEvent(claim_id=claim.id, action="appeal_upheld", status=claim.status,
                             actor=str(actor),
                             note=f"复核 {appeal.appeal_no} 维持原拒赔决定：{note}"))
        appeal.status, appeal.open_claim_id = domain.status, None
        appeal.decided_on, appeal.decided_by, appeal.note = today_cn(), str(actor), note or None
        audit(s, actor, ENTITY, appeal.appeal_no, cmd.action, before,
              {"status": appeal.status, "note": appeal.note, "claim_no": claim.claim_no})
        emit(s, f"appeal.{appeal.status}", {"appeal_no": appeal.appeal_no,
                                            "claim_no": claim.claim_no})
        _tell(s, appeal, claim, appeal.status, ap.outcome_text(claim.claim_no, appeal.status,
                                                               note))
        s.flush()
        return view(s, appeal)


def _lock_appeal(s: Session, appeal_no: str) -> None:
    """As lock_claim: the write lock before any read, so one of two decisions at once waits
    for the other and then finds the appeal decided."""
    s.execute(update(AppealRow).where(AppealRow.appeal_no == appeal_no)
              .values(status=AppealRow.status))


def _tell(s: Session, appeal: AppealRow, claim: ClaimRow, key: str, text: str) -> None:
    """As the claim's notices go (SMS to the reporter), or WeChat when filed there."""
    channel, recipient = customer_route(appeal.channel, appeal.channel_user,
                                        claim.reporter_phone or "")
    if recipient:
        queue(s, f"{ENTITY}:{appeal.appeal_no}:{key}", channel, recipient, f"appeal_{key}", text,
              {"appeal_no": appeal.appeal_no, "claim_no": claim.claim_no})


# ---- views -----------------------------------------------------------------------------------

def load(s: Session, appeal_no: str) -> AppealRow:
    row = s.execute(select(AppealRow).where(AppealRow.appeal_no == appeal_no)).scalar()
    if row is None:
        raise NotFound(f"复核申请 {appeal_no} 不存在", "appeal_no")
    return row


def summary(row: AppealRow, claim: ClaimRow | None, today: date | None = None
            ) -> dict[str, Any]:
    today = today or today_cn()
    d = ap.deadline(row.due_on, today, working_days(), row.decided_on)
    return {
        "appeal_no": row.appeal_no, "claim_no": row.claim_no, "status": row.status,
        "status_name": ap.STATUS_NAMES[row.status], "channel": row.channel,
        "reasons": row.reasons, "filed_by": row.filed_by,
        "filed_at": row.filed_at.isoformat(), "due_by": row.due_on.isoformat(),
        "clock": {"due": d.due.isoformat(), "breached": d.breached,
                  "done_on": d.done_on.isoformat() if d.done_on else None,
                  "text": ap.clock_text(d, today), "basis": d.basis},
        "rejected_by": row.rejected_by,
        "rejection_reasons": list(claim.rejection_reasons or ()) if claim else [],
        "claim_status": claim.status if claim else None,
        "decided_on": row.decided_on.isoformat() if row.decided_on else None,
        "decided_by": row.decided_by, "note": row.note,
        "allowed_actions": list(ap.ACTIONS) if row.status == ap.OPEN else [],
    }


def view(s: Session, row: AppealRow) -> dict[str, Any]:
    return summary(row, s.get(ClaimRow, row.claim_id))


class AppealRef(Command):
    appeal_no: Reference


@takes(AppealRef)
def get(db: Database, cmd: AppealRef, actor: str = "") -> dict[str, Any]:
    with db.read() as s:
        return view(s, load(s, cmd.appeal_no))


class AppealQuery(Command):
    """The queue's filters: open appeals by default, oldest first."""

    status: OneOf(ap.STATUSES) | None = ap.OPEN
    claim_no: Text(30) | None = None
    limit: Count(1000) = 200

    @field_validator("status", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any) -> Any:
        return ap.OPEN if value in ("", None) else value


@takes(AppealQuery)
def search(db: Database, cmd: AppealQuery, actor: str = "") -> list[dict[str, Any]]:
    with db.read() as s:
        stmt = (select(AppealRow, ClaimRow).join(ClaimRow, ClaimRow.id == AppealRow.claim_id)
                .where(AppealRow.status == cmd.status)
                .order_by(AppealRow.filed_at, AppealRow.id))
        if cmd.claim_no:
            stmt = stmt.where(AppealRow.claim_no == cmd.claim_no)
        today = today_cn()
        return [summary(a, c, today) for a, c in s.execute(stmt.limit(cmd.limit)).all()]

