"""Endorsement requests (保全申请): a customer asks, staff approve (the endorsement is applied) or
reject with a reason, or the customer withdraws. One transaction per use case; the history is
the audit log; the customer hears the decision on their channel through the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.domain import endorsement_request as er
from backoffice.domain.endorsement import KINDS, RELATIONS, check_endorsable
from backoffice.domain.errors import DomainError, NotFound, ValidationError
from backoffice.domain.identity import mask_id_number, mask_phone
from backoffice.services.base import audit, emit, number, today_cn
from backoffice.services.commands import (
    Command,
    Count,
    IdNumber,
    OneOf,
    Reference,
    Text,
    takes,
)
from backoffice.services.complaints import customer_route
from backoffice.services.endorsements import apply_endorsement
from backoffice.services.notifications import queue
from backoffice.services.policies import load_policy
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, EndorsementRequestRow, PolicyRow

ENTITY = "endorsement_request"
MAX_NOTE = 2000


class RequestedBeneficiary(Command):
    """A new beneficiary as the customer gives them; the ID number and the shares may come
    later from the signed form (shares left out are split equally)."""

    name: Text(40, blank_ok=False)
    relation: OneOf(RELATIONS)
    id_number: IdNumber | None = None
    share_pct: Count(100) | None = None


class RequestedDetails(Command):
    """What an endorsement request may carry besides its kind (see services.endorsements).
    Every key is applied to the policy on approval, so an unknown one is refused."""

    beneficiaries: list[RequestedBeneficiary] | None = Field(None, min_length=1, max_length=10)
    phone: Text(200, blank_ok=False) | None = None
    address: Text(200, blank_ok=False) | None = None
    coverage_code: Text(200, blank_ok=False) | None = None
    sum_insured: Text(200, blank_ok=False) | None = None
    effective_date: Text(200, blank_ok=False) | None = None

    @model_validator(mode="before")
    @classmethod
    def _known_only(cls, raw: Any) -> Any:
        unknown = [k for k in raw if k not in cls.model_fields] if isinstance(raw, Mapping) \
            else []
        if unknown:  # always under the command's `details`
            raise ValidationError(f"details.{unknown[0]}"[:60], "details 含有不认识的字段")
        return raw


def _details(kind: str, given: RequestedDetails | None) -> dict[str, Any]:
    """The details as stored: the beneficiaries only for a change of beneficiary, with their
    shares by the domain's rule."""
    details = given.model_dump(exclude_none=True) if given is not None else {}
    if kind != "change_beneficiary" and "beneficiaries" in details:
        raise ValidationError("details.beneficiaries", "只有变更受益人时才填写受益人")
    if kind == "change_beneficiary":
        try:
            details["beneficiaries"] = er.parse_requested_beneficiaries(
                details.get("beneficiaries"))
        except ValidationError as exc:
            raise ValidationError(f"details.{exc.field}", exc.message) from None
    return details


# ---- submit --------------------------------------------------------------------------------

class EndorsementRequestIn(Command):
    """A customer's request as a channel, the desk or the API takes it down."""

    channel: OneOf(er.CHANNELS)
    policy_no: Text(30, blank_ok=False)
    kind: OneOf(KINDS)
    details: RequestedDetails | None = None
    user: Text(80) | None = None  # the channel's user (an openid): told there when possible
    note: Text(MAX_NOTE) | None = None


@takes(EndorsementRequestIn)
def submit(db: Database, cmd: EndorsementRequestIn, actor: str = "customer") -> dict[str, Any]:
    """受理: a number and a due date at once; the policy must be one that can be endorsed."""
    details = _details(cmd.kind, cmd.details)
    with db.transaction() as s:
        policy = _policy(s, cmd.policy_no, cmd.kind)
        today = today_cn()
        row = EndorsementRequestRow(
            request_no=number(s, "BQ", today.year, 6), policy_id=policy.id,
            policy_no=policy.policy_no, kind=cmd.kind, details=details, status=er.SUBMITTED,
            channel=cmd.channel, channel_user=cmd.user, phone=_phone_of(policy),
            note=cmd.note, submitted_on=today, due_on=er.due_date(today))
        s.add(row)
        s.flush()
        audit(s, actor, ENTITY, row.request_no, "submit", None,
              {"status": row.status, "policy_no": row.policy_no, "kind": cmd.kind})
        emit(s, "endorsement_request.submitted", {"request_no": row.request_no,
                                                  "policy_no": row.policy_no,
                                                  "kind": cmd.kind})
        return view(s, row)


def _policy(s: Session, policy_no: str, kind: str) -> PolicyRow:
    if policy_no.startswith("A"):  # an application is not a policy yet
        raise NotFound(f"保单 {policy_no} 不存在", "policy_no")
    row = load_policy(s, policy_no)
    check_endorsable(row.status, kind)
    if row.kind != "individual":
        raise DomainError("团体保单的保全请由投保单位办理", "policy_no")
    return row


def _phone_of(policy: PolicyRow) -> str | None:
    """The policyholder hears the decision (the insured when the applicant has no phone)."""
    for party in (policy.applicant, policy.insured):
        if party is not None and party.phone:
            return party.phone
    return None


# ---- decide ----------------------------------------------------------------------------------

def load(s: Session, request_no: str, *, lock: bool = False) -> EndorsementRequestRow:
    stmt = select(EndorsementRequestRow).where(EndorsementRequestRow.request_no == request_no)
    row = s.execute(stmt.with_for_update() if lock else stmt).scalar()
    if row is None:
        raise NotFound(f"保全申请 {request_no} 不存在", "request_no")
    return row


class EndorsementRequestStep(Command):
    """approve {details?} · reject {reason} · withdraw {note?}. The decider is the caller:
    there is no actor here, so nobody writes another name into the history."""

    request_no: Reference
    action: OneOf(er.ACTIONS)
    reason: Text(er.MAX_REASON) | None = None  # reject: told to the customer
    note: Text(MAX_NOTE) | None = None
    details: RequestedDetails | None = None  # approve: completed from the signed form


@takes(EndorsementRequestStep)
def transition(db: Database, cmd: EndorsementRequestStep, actor: str) -> dict[str, Any]:
    """A decision on a request, taken and recorded as `actor`."""
    with db.transaction() as s:
        row = load(s, cmd.request_no, lock=True)
        request = er.EndorsementRequest(row.status, row.reason)
        before = {"status": row.status}
        if cmd.action == "approve":
            _approve(s, row, request, cmd.details, actor)
        elif cmd.action == "reject":
            request.reject(cmd.reason, actor)
            row.reason = request.reason
            _tell(s, row, "rejected", f"【小保】您的{er.kind_name(row.kind)}申请（编号 "
                                      f"{row.request_no}）未获通过：{row.reason}。如有疑问请联系客服。")
        else:
            request.withdraw(actor)
        row.status, row.decided_on, row.decided_by = request.status, today_cn(), actor
        audit(s, actor, ENTITY, row.request_no, cmd.action, before,
              {"status": row.status, "reason": row.reason, "note": cmd.note,
               "endorsement_no": row.endorsement_no})
        emit(s, f"endorsement_request.{row.status}", {"request_no": row.request_no,
                                                      "policy_no": row.policy_no})
        s.flush()
        return view(s, row)


def _approve(s: Session, row: EndorsementRequestRow, request: er.EndorsementRequest,
             signed: RequestedDetails | None, actor: str) -> None:
    """Approval applies the endorsement as asked, completed by what staff read on the signed
    form (`details`); if the endorsement is refused, nothing changes."""
    request.approve(actor)
    if signed is not None:
        row.details = {**row.details, **_details(row.kind, signed)}
    missing = er.missing_for_approval(row.kind, row.details)
    if missing:
        raise ValidationError(f"details.{missing[0]}",
                              "批准前请按投保人签字的申请书补全受益人身份证号")
    try:
        done = apply_endorsement(s, row.policy_no, {"kind": row.kind, **row.details}, actor)
    except ValidationError as exc:  # a field of the endorsement is one of the request's details
        raise ValidationError(f"details.{exc.field}" if exc.field else "details",
                              exc.message) from None
    row.endorsement_no = done["endorsement"]["endorsement_no"]
    _tell(s, row, "approved", f"【小保】您的{er.kind_name(row.kind)}申请（编号 {row.request_no}）"
                              f"已办理完成，保单 {row.policy_no} 自 "
                              f"{done['endorsement']['effective_date']} 起生效。")


def _tell(s: Session, row: EndorsementRequestRow, key: str, text: str) -> None:
    channel, recipient = customer_route(row.channel, row.channel_user, row.phone or "")
    if recipient:
        queue(s, f"{ENTITY}:{row.request_no}:{key}", channel, recipient,
              f"endorsement_request_{key}", text,
              {"request_no": row.request_no, "policy_no": row.policy_no})


# ---- views -----------------------------------------------------------------------------------

def _masked_details(details: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(details)
    if isinstance(out.get("beneficiaries"), list):
        out["beneficiaries"] = [
            {**b, "id_number": mask_id_number(b["id_number"]) if b.get("id_number") else None}
            for b in out["beneficiaries"] if isinstance(b, Mapping)]
    if isinstance(out.get("phone"), str):
        out["phone"] = mask_phone(out["phone"])
    return out


def summary(row: EndorsementRequestRow, today: date | None = None) -> dict[str, Any]:
    today = today or today_cn()
    d = er.clock(row.submitted_on, today, row.decided_on)
    return {
        "request_no": row.request_no, "status": row.status,
        "status_name": er.STATUS_NAMES[row.status], "kind": row.kind,
        "kind_name": er.kind_name(row.kind), "policy_no": row.policy_no,
        "channel": row.channel, "submitted_at": row.submitted_at.isoformat(),
        "due_by": row.due_on.isoformat(),
        "clock": {"due": d.due.isoformat(), "breached": d.breached,
                  "done_on": d.done_on.isoformat() if d.done_on else None,
                  "text": er.clock_text(d, today), "basis": d.basis},
    }


def view(s: Session, row: EndorsementRequestRow) -> dict[str, Any]:
    entries = s.execute(select(AuditEntry).where(
        AuditEntry.entity_type == ENTITY, AuditEntry.entity_id == row.request_no)
        .order_by(AuditEntry.id)).scalars()
    return {
        **summary(row),
        "details": _masked_details(row.details),
        "missing": er.missing_for_approval(row.kind, row.details),
        "note": row.note, "decided_on": row.decided_on.isoformat() if row.decided_on else None,
        "decided_by": row.decided_by, "reason": row.reason,
        "endorsement_no": row.endorsement_no,
        "allowed_actions": list(er.allowed_actions(row.status)),
        "timeline": [{"at": e.at.isoformat(), "action": e.action, "actor": e.actor,
                      "status": (e.after or {}).get("status")} for e in entries],
    }


class EndorsementRequestRef(Command):
    request_no: Reference


@takes(EndorsementRequestRef)
def get(db: Database, cmd: EndorsementRequestRef, actor: str = "") -> dict[str, Any]:
    with db.read() as s:
        return view(s, load(s, cmd.request_no))


def details_in_full(db: Database, request_no: str) -> dict[str, Any]:
    """The details unmasked, for the desk form that completes them before approval."""
    with db.read() as s:
        return dict(load(s, request_no).details)


class EndorsementRequestQuery(Command):
    """The queue's filters (a GET's query: blank means no filter)."""

    status: OneOf(er.STATUSES) | None = None
    policy_no: Text(30) | None = None
    kind: OneOf(KINDS) | None = None
    limit: Count(1000) = 200

    @field_validator("status", "kind", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


@takes(EndorsementRequestQuery)
def search(db: Database, cmd: EndorsementRequestQuery, actor: str = "") -> list[dict[str, Any]]:
    """The queue, nearest due date first."""
    with db.read() as s:
        stmt = select(EndorsementRequestRow).order_by(EndorsementRequestRow.due_on,
                                                      EndorsementRequestRow.id)
        if cmd.status:
            stmt = stmt.where(EndorsementRequestRow.status == cmd.status)
        if cmd.policy_no:
            stmt = stmt.where(EndorsementRequestRow.policy_no == cmd.policy_no)
        if cmd.kind:
            stmt = stmt.where(EndorsementRequestRow.kind == cmd.kind)
        today = today_cn()
        return [summary(r, today) for r in s.execute(stmt.limit(cmd.limit)).scalars()]
