"""Endorsement requests (保全申请): a customer asks, staff approve (the endorsement is applied) or
reject with a reason, or the customer withdraws. One transaction per use case; the history is
the audit log; the customer hears the decision on their channel through the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.domain import endorsement_request as er
from backoffice.domain.endorsement import check_endorsable
from backoffice.domain.errors import DomainError, NotFound, ValidationError
from backoffice.domain.identity import mask_id_number, mask_phone
from backoffice.services.base import audit, emit, number, text_field, today_cn
from backoffice.services.complaints import customer_route
from backoffice.services.endorsements import apply_endorsement
from backoffice.services.notifications import queue
from backoffice.services.policies import load_policy
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, EndorsementRequestRow, PolicyRow

ENTITY = "endorsement_request"
MAX_NOTE = 2000
# what an endorsement body may carry besides its kind (see services.endorsements)
_DETAIL_KEYS = ("beneficiaries", "phone", "address", "coverage_code", "sum_insured",
                "effective_date")




def _details(kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """What the customer asked for, checked as far as it can be before the signed form."""
    given = raw.get("details", {})
    if not isinstance(given, Mapping):
        raise ValidationError("details", "details 须为 JSON 对象")
    unknown = [k for k in given if k not in _DETAIL_KEYS]
    if unknown:
        raise ValidationError(f"details.{unknown[0]}"[:60], "details 含有不认识的字段")
    details = {k: given[k] for k in _DETAIL_KEYS if k in given}
    if kind != "change_beneficiary" and "beneficiaries" in details:
        raise ValidationError("details.beneficiaries", "只有变更受益人时才填写受益人")
    if kind == "change_beneficiary":
        try:
            details["beneficiaries"] = er.parse_requested_beneficiaries(
                given.get("beneficiaries"))
        except ValidationError as exc:
            raise ValidationError(f"details.{exc.field}", exc.message) from None
    for key, value in details.items():
        if key != "beneficiaries" and not (isinstance(value, str) and 0 < len(value) <= 200):
            raise ValidationError(f"details.{key}", f"{key} 须为不超过 200 字的文本")
    return details


# ---- submit --------------------------------------------------------------------------------

def submit(db: Database, raw: Mapping[str, Any], actor: str = "customer") -> dict[str, Any]:
    """受理: a number and a due date at once; the policy must be one that can be endorsed."""
    if not isinstance(raw, Mapping):
        raise ValidationError("body", "请求体须为 JSON 对象")
    channel = raw.get("channel")
    if channel not in er.CHANNELS:
        raise ValidationError("channel", f"渠道须为 {', '.join(er.CHANNELS)} 之一")
    policy_no = text_field(raw, "policy_no", 30, required=True)
    kind = er.check_kind(raw.get("kind"))
    details = _details(kind, raw)
    user, note = text_field(raw, "user", 80), text_field(raw, "note", MAX_NOTE)
    with db.transaction() as s:
        policy = _policy(s, str(policy_no), kind)
        today = today_cn()
        row = EndorsementRequestRow(
            request_no=number(s, "BQ", today.year, 6), policy_id=policy.id,
            policy_no=policy.policy_no, kind=kind, details=details, status=er.SUBMITTED,
            channel=str(channel), channel_user=user, phone=_phone_of(policy), note=note,
            submitted_on=today, due_on=er.due_date(today))
        s.add(row)
        s.flush()
        audit(s, actor, ENTITY, row.request_no, "submit", None,
              {"status": row.status, "policy_no": row.policy_no, "kind": kind})
        emit(s, "endorsement_request.submitted", {"request_no": row.request_no,
                                                  "policy_no": row.policy_no, "kind": kind})
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


def transition(db: Database, request_no: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """approve {details?} · reject {reason} · withdraw {note?}, each with its `actor`."""
    if not isinstance(raw, Mapping):
        raise ValidationError("body", "请求体须为 JSON 对象")
    action = raw.get("action")
    if not isinstance(action, str) or action not in er.ACTIONS:
        raise ValidationError("action", f"action 须为 {', '.join(er.ACTIONS)} 之一")
    actor = str(text_field(raw, "actor", 60, required=True))
    note = text_field(raw, "note", MAX_NOTE)
    with db.transaction() as s:
        row = load(s, request_no, lock=True)
        request = er.EndorsementRequest(row.status, row.reason)
        before = {"status": row.status}
        if action == "approve":
            _approve(s, row, request, raw, actor)
        elif action == "reject":
            request.reject(raw.get("reason"), actor)
            row.reason = request.reason
            _tell(s, row, "rejected", f"【小保】您的{er.kind_name(row.kind)}申请（编号 "
                                      f"{row.request_no}）未获通过：{row.reason}。如有疑问请联系客服。")
        else:
            request.withdraw(actor)
        row.status, row.decided_on, row.decided_by = request.status, today_cn(), actor
        audit(s, actor, ENTITY, row.request_no, action, before,
              {"status": row.status, "reason": row.reason, "note": note,
               "endorsement_no": row.endorsement_no})
        emit(s, f"endorsement_request.{row.status}", {"request_no": row.request_no,
                                                      "policy_no": row.policy_no})
        s.flush()
        return view(s, row)


def _approve(s: Session, row: EndorsementRequestRow, request: er.EndorsementRequest,
             raw: Mapping[str, Any], actor: str) -> None:
    """Approval applies the endorsement as asked, completed by what staff read on the signed
    form (`details`); if the endorsement is refused, nothing changes."""
    request.approve(actor)
    if raw.get("details") is not None:
        row.details = {**row.details, **_details(row.kind, raw)}
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


def get(db: Database, request_no: str) -> dict[str, Any]:
    with db.read() as s:
        return view(s, load(s, request_no))


def details_in_full(db: Database, request_no: str) -> dict[str, Any]:
    """The details unmasked, for the desk form that completes them before approval."""
    with db.read() as s:
        return dict(load(s, request_no).details)


def search(db: Database, *, status: str | None = None, policy_no: str | None = None,
           kind: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The queue, nearest due date first."""
    if status is not None and status not in er.STATUSES:
        raise ValidationError("status", f"status 须为 {', '.join(er.STATUSES)} 之一")
    if kind is not None:
        er.check_kind(kind)
    with db.read() as s:
        stmt = select(EndorsementRequestRow).order_by(EndorsementRequestRow.due_on,
                                                      EndorsementRequestRow.id)
        if status:
            stmt = stmt.where(EndorsementRequestRow.status == status)
        if policy_no:
            stmt = stmt.where(EndorsementRequestRow.policy_no == policy_no)
        if kind:
            stmt = stmt.where(EndorsementRequestRow.kind == kind)
        today = today_cn()
        return [summary(r, today) for r in s.execute(stmt.limit(limit)).scalars()]
