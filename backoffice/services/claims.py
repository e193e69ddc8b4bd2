"""Claims: report, registration, documents, adjudication, approval, payment, close.

Each public function is one use case in one transaction. The rules are in backoffice.domain
(claim state machine, coverage check, adjudication, fast track, clocks); this module loads,
calls them, writes back, keeps the timeline and the audit log, and queues notices.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema
from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice.clock import SHANGHAI
from backoffice.domain import claim as cl
from backoffice.domain import integrity
from backoffice.domain.adjudication import Adjudication, adjudicate, parse_facts
from backoffice.domain.calendar import CN_CALENDAR
from backoffice.domain.clocks import (
    NOTICE_CLOCKS,
    PROGRESS_NOTICE_WORKING_DAYS,
    ClaimEvents,
    claim_deadlines,
)
from backoffice.domain.endorsement import RELATIONS
from backoffice.domain.errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from backoffice.domain.fast_track import FAST, TrackFacts, decide_track
from backoffice.domain.identity import mask_bank_card, parse_bank_card, parse_id_number
from backoffice.domain.money import fmt, from_fen, to_fen
from backoffice.domain.party import parse_date
from backoffice.domain.product import CLAIM_TYPE_NAMES, CLAIM_TYPES, Product
from backoffice.domain.staff import CLAIM_APPROVAL_ROLE, allowed
from backoffice.services import bindings
from backoffice.services import document_reading as reading_service
from backoffice.services import integrity as integrity_service
from backoffice.services.base import append_rows, audit, business_date, emit, number, today_cn
from backoffice.services.commands import (
    Amount,
    Command,
    Count,
    Day,
    Facts,
    IdNumber,
    PersonName,
    Phone,
    Reference,
    Text,
    domain_rule,
    takes,
)
from backoffice.services.complaints import for_claim as complaints_for_claim
from backoffice.services.parties import find_party
from backoffice.services.policies import BankCard
from backoffice.services.products import load_product, product_of
from backoffice.store.db import Database, pipelined
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.files import FileStore
from backoffice.store.models import (
    AuditEntry,
    ClaimDocument,
    ClaimEvent,
    ClaimFlag,
    ClaimPause,
    ClaimPayment,
    ClaimRequirement,
    ClaimRow,
    IdempotencyKey,
    Letter,
    Notification,
    OutboxEvent,
    Party,
    PolicyCoverage,
    PolicyRow,
    ProductRow,
    RosterMember,
    StaffRow,
    Task,
    utcnow,
)

CHANNELS = ("wechat", "ivr", "web", "desk", "api", "counter", "phone")
# steps on a claim besides the moves of its state machine (cl.STAFF_ACTIONS)
_FILE_STEPS = ("send_rejection_letter", "assign", "special_case", "set_bank_account",
               "clear_flag", "confirm_flag")


def _doc_type(value: Any, _field: str) -> str:
    if not isinstance(value, str) or not value.isidentifier() or len(value) > 40:
        raise ValidationError("", "材料类型代码无效")
    return value


DocType = Annotated[str, domain_rule(_doc_type),
                    WithJsonSchema({"type": "string", "maxLength": 40,
                                    "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"})]
MAX_UPLOAD = 20 * 1024 * 1024


# ---- loading --------------------------------------------------------------------------------

def load_claim(s: Session, claim_no: str, *, lock: bool = False) -> ClaimRow:
    stmt = select(ClaimRow).where(ClaimRow.claim_no == claim_no)
    if lock:
        stmt = stmt.with_for_update()
    row = s.execute(stmt).scalar()
    if row is None:
        raise NotFound(f"案件 {claim_no} 不存在", "claim_no")
    return row


def to_domain(row: ClaimRow, missing: tuple[str, ...] = (),
              steps: list[tuple[str, str]] | None = None) -> cl.Claim:
    return cl.Claim(
        status=row.status,
        payable=None if row.payable_fen is None else from_fen(row.payable_fen),
        approved_amount=None if row.approved_fen is None else from_fen(row.approved_fen),
        approval_role=row.approval_role, missing=missing,
        rejection_reasons=tuple(row.rejection_reasons or ()),
        advance_paid=from_fen(row.advance_paid_fen), reopen_count=row.reopen_count,
        steps=list(steps or []), payee=row.bank_account,
    )


def _steps(s: Session, row: ClaimRow) -> list[tuple[str, str]]:
    """(action, actor) of the claim's timeline since its last reopening: who did what."""
    rows = s.execute(select(ClaimEvent.action, ClaimEvent.actor)
                     .where(ClaimEvent.claim_id == row.id).order_by(ClaimEvent.id)).all()
    last = max((i for i, (action, _) in enumerate(rows) if action == "reopen"), default=-1)
    lasting = [(action, who) for action, who in rows[:last + 1] if action in cl.LASTING_STEPS]
    return lasting + [(action, who) for action, who in rows[last + 1:]]


claim_steps = _steps  # who did what, for the approvals queue's four-eyes check


def write_back(s: Session, row: ClaimRow, claim: cl.Claim, action: str, actor: str,
               note: str | None = None) -> None:
    before = row.status
    row.status = claim.status
    row.payable_fen = None if claim.payable is None else to_fen(claim.payable)
    row.approved_fen = None if claim.approved_amount is None else to_fen(claim.approved_amount)
    row.approval_role = claim.approval_role
    row.rejection_reasons = list(claim.rejection_reasons)
    row.advance_paid_fen = to_fen(claim.advance_paid)
    row.reopen_count = claim.reopen_count
    s.add(ClaimEvent(claim_id=row.id, action=action, status=claim.status, actor=actor, note=note))
    if claim.status != before and (claim.status in _SETTLING or actor != "system"):
        _settle_work(s, row, action, actor, note)
    audit(s, actor, "claim", row.claim_no, action, {"status": before},
          {"status": claim.status, **({"note": note} if note else {})})
    emit(s, f"claim.{action}", {"claim_no": row.claim_no, "status": claim.status})


_DONE_WITH = {  # a task is finished once the claim reaches one of these statuses
    "registration_review": (cl.REGISTERED, cl.REJECTED, cl.WITHDRAWN),
    "claim_review": (cl.APPROVED, cl.REJECTED, cl.WITHDRAWN),
    "approval_": (cl.APPROVED, cl.REJECTED, cl.WITHDRAWN),
}


# statuses that can finish work; the system's own registration of a new claim finishes none
_SETTLING = (cl.APPROVED, cl.REJECTED, cl.WITHDRAWN)


def _settle_work(s: Session, row: ClaimRow, action: str = "", actor: str = "",
                 note: str | None = None) -> None:
    """Close the tasks the new status finishes, with the step that finished them as their
    outcome (a 问题件 registered anyway or declined: who, why); a decided claim no longer waits
    on documents."""
    for task in s.execute(select(Task).where(Task.claim_id == row.id,
                                             Task.status == "open")).scalars():
        kind = next((k for k in _DONE_WITH if task.kind.startswith(k)), None)
        if kind and row.status in _DONE_WITH[kind]:
            task.status, task.outcome = "done", action[:20] or None
            task.result, task.done_by, task.done_at = note, actor or None, utcnow()
            audit(s, actor or "system", "task", str(task.id), action or "settled",
                  {"status": "open"}, {"status": "done"})
    if row.status in (cl.REJECTED, cl.WITHDRAWN, cl.APPROVED):
        for pause in s.execute(select(ClaimPause).where(ClaimPause.claim_id == row.id,
                                                        ClaimPause.ended_on.is_(None))).scalars():
            pause.ended_on = today_cn()


def _requirements(s: Session, row: ClaimRow) -> list[ClaimRequirement]:
    return list(s.execute(select(ClaimRequirement).where(ClaimRequirement.claim_id == row.id)
                          .order_by(ClaimRequirement.id)).scalars())


claim_requirements = _requirements  # for the scheduler's reminders


def _missing(s: Session, row: ClaimRow) -> list[ClaimRequirement]:
    return [r for r in _requirements(s, row) if r.received_on is None]


# ---- report and registration ------------------------------------------------------------------

def _request_key(value: Any, _field: str) -> str:
    """A client's key for a retried request: printable, 1–200 characters."""
    if not isinstance(value, str) or not 1 <= len(value) <= 200 or not value.isprintable():
        raise ValidationError("", "Idempotency-Key 须为 1–200 个可打印字符")
    return value


RequestKey = Annotated[str, domain_rule(_request_key),
                       WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 200})]


class Reporter(Command):
    name: PersonName
    relation: Literal[RELATIONS]  # type: ignore[valid-type]
    phone: Phone


class ClaimReport(Command):
    """报案. The insured by ID number, or as the party a channel user is bound to (a caller
    known by their number is not asked for their ID again)."""

    policy_no: Text(40, blank_ok=False)  # type: ignore[valid-type]
    insured_id_number: IdNumber | None = None
    insured: bindings.ChannelUser | None = None
    claim_type: Literal[CLAIM_TYPES]  # type: ignore[valid-type]
    incident_date: Day
    reporter: Reporter
    channel: Literal[CHANNELS] = "api"  # type: ignore[valid-type]
    incident_place: Text(200) | None = None  # type: ignore[valid-type]
    description: Text(2000) | None = None  # type: ignore[valid-type]
    cause: Text(40) | None = None  # type: ignore[valid-type]
    facts: Facts = Field(default_factory=dict)
    # the customer's own statement of where the benefit goes: the claim's verified payee
    bank_account: BankCard | None = None
    idempotency_key: RequestKey | None = Field(default=None, alias="Idempotency-Key")

    def digest(self) -> str:
        """What a replay under the same key must repeat."""
        body = self.model_dump(mode="json", exclude={"idempotency_key"})
        return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False)
                              .encode()).hexdigest()


def _checked_report(cmd: ClaimReport) -> ClaimReport:
    if cmd.insured_id_number is None and cmd.insured is None:
        raise ValidationError("insured_id_number", "请提供被保险人身份证号 insured_id_number")
    day = business_date(cmd.incident_date, "incident_date")
    if day > today_cn():
        raise ValidationError("incident_date", "出险日期不能晚于今天")
    bound = cmd.insured
    if cmd.channel == "wechat" and bound is not None and bound.channel == "wechat" \
            and "wechat_openid" not in cmd.facts:
        # the bot's report for its bound WeChat user: the notices go back to that openid
        return cmd.model_copy(update={"facts": {**cmd.facts, "wechat_openid": bound.user}})
    return cmd


@dataclass(frozen=True, slots=True)
class _Cover:
    """From when the insured is covered on the policy and, for a member taken off a group
    roster, the last day and why (death / moved_away / correction)."""

    start: date | None
    ended_on: date | None = None
    end_reason: str | None = None


def _policy_and_insured(s: Session, policy_no: str, id_number: str
                        ) -> tuple[PolicyRow, Party | None, _Cover, int | None, Product]:
    """The policy, the insured if they are on it (a removed group member still is, for what
    happened before their cover ended), their cover, the party the ID number belongs to, and
    the policy's product — one round trip."""
    found = s.execute(
        select(PolicyRow, Party, RosterMember.enrolled_on, RosterMember.ended_on,
               RosterMember.end_reason, ProductRow).select_from(PolicyRow)
        .join(ProductRow, ProductRow.code == PolicyRow.product_code)
        .outerjoin(Party, Party.id_number_hash == keyed_hash("id_number", id_number))
        .outerjoin(RosterMember, and_(RosterMember.policy_id == PolicyRow.id,
                                      RosterMember.party_id == Party.id,
                                      RosterMember.status.in_(("active", "removed"))))
        .where(PolicyRow.policy_no == policy_no).limit(1)
    ).first()
    if found is None:
        raise NotFound(f"保单 {policy_no} 不存在", "policy_no")
    policy, party, enrolled_on, ended_on, end_reason, product_row = found
    product = product_of(product_row)
    if party is None:
        return policy, None, _Cover(None), None, product
    if policy.kind == "group":
        return (policy, party if enrolled_on else None,
                _Cover(enrolled_on, ended_on, end_reason), party.id, product)
    on_policy = policy.insured_party_id == party.id
    return policy, party if on_policy else None, _Cover(policy.start_date), party.id, product


def _coverage_problems(s: Session, policy: PolicyRow, product: Product, insured: Party | None,
                       cover: _Cover, claim_type: str, incident: date,
                       reported_on: date) -> list[str]:
    covered_from = cover.start
    start = max(d for d in (policy.start_date, covered_from) if d) if policy.start_date else None
    covered = (
        start is not None and policy.end_date is not None and start <= incident < policy.end_date
        and (policy.status in ("in_force", "premium_due", "grace_period")
             or (policy.ended_on is not None and incident < policy.ended_on)
             or (policy.lapsed_on is not None and policy.grace_ends_on is not None
                 and incident <= policy.grace_ends_on))
    )
    return cl.coverage_problems(cl.CoverageFacts(
        incident_date=incident, reported_on=reported_on, policy_start=start,
        policy_end=policy.end_date, policy_covered_on_incident=covered,
        insured_matches=insured is not None,
        waiting_period_days=product.waiting_period_days,
        time_bar_years=product.time_bar_years,
        claim_type_covered=any(claim_type in c.claim_types for c in product.coverages),
        product_line=product.line,
        member_ended_on=cover.ended_on, member_end_reason=cover.end_reason,
    ))


@takes(ClaimReport)
def report(db: Database, cmd: ClaimReport, actor: str = "customer"
           ) -> tuple[int, dict[str, Any]]:
    """报案: a report number at once, then registration and the one missing-documents notice.

    Idempotent on the key: the same key again returns the same claim (200), a different body
    under a used key is a conflict. Returns (HTTP status, claim view).
    """
    cmd = _checked_report(cmd)
    key = cmd.idempotency_key
    digest = cmd.digest()
    try:
        with db.transaction() as s:
            if key:
                existing = _replay(s, key, digest)
                if existing:
                    return 200, claim_view(s, existing)
            id_number = cmd.insured_id_number or _bound_id_number(s, cmd.insured)
            row, fresh = _create_claim(s, cmd, id_number, actor,
                                       (key, digest) if key else None)
            flags = fresh.flags if fresh else integrity_service.open_flags(s, row)
            if fresh is None or flags:  # a flag is on the timeline too: read it all back
                return 201, claim_view(s, row)
            return 201, _assemble_view(row, cmd.policy_no, fresh.requirements,
                                       fresh.events, [], [], (), [], flags,
                                       documents_asked(s, row, fresh.requirements, []))
    except IntegrityError:
        if not key:
            raise
        with db.read() as s:  # a concurrent retry won the race: answer with its claim
            existing = _replay(s, key, digest)
            if existing is None:
                raise
            return 200, claim_view(s, existing)


def _bound_id_number(s: Session, bound: bindings.ChannelUser | None) -> str:
    assert bound is not None  # _checked_report: an ID number or a bound user
    party = bindings.bound_party(s, bound.channel, bound.user)
    if party is None:
        raise NotFound("该渠道用户尚未核验身份，请提供 insured_id_number", "insured")
    return party.id_number


def _replay(s: Session, key: str, digest: str) -> ClaimRow | None:
    saved = s.execute(select(IdempotencyKey).where(
        IdempotencyKey.scope == "claim_report", IdempotencyKey.key == key)).scalar()
    if saved is None:
        return None
    if saved.request_hash != digest:
        raise Conflict("该 Idempotency-Key 已用于另一次报案", "Idempotency-Key")
    return load_claim(s, saved.resource_id)


def _create_claim(s: Session, d: ClaimReport, id_number: str, actor: str,
                  key: tuple[str, str] | None) -> tuple[ClaimRow, _Fresh | None]:
    """The claim as it leaves the report: checked, registered and told what to send.

    The domain plays report → register → request_documents in memory, so the claim is inserted
    once with its final status and its events, requirements, audit entries and outbox events go
    in one bulk insert each, with the idempotency record of `key` (key, request digest).
    Returns the row and, for the answer, what was written with it.
    """
    today = today_cn()
    parse_facts(d.facts, today=today, incident=d.incident_date)  # after a replay's check
    policy, insured, cover, party_id, product = _policy_and_insured(s, d.policy_no, id_number)
    if party_id is None:  # a report about someone not on the policy is still taken, if known
        raise NotFound("未找到该身份证号对应的被保险人", "insured_id_number")
    problems = _coverage_problems(s, policy, product, insured, cover, d.claim_type,
                                  d.incident_date, today)
    claim = cl.Claim(status=cl.REPORTED)
    steps = [("report", cl.REPORTED, actor,
              f"{d.reporter.name}（{d.reporter.relation}）经 {d.channel} 报案")]
    by_staff = getattr(actor, "role", None) is not None
    if by_staff and d.facts:  # a person's facts: that person does not approve (four eyes)
        steps.append(("enter_facts", cl.REPORTED, actor,
                      "录入理算事实：" + "、".join(sorted(d.facts))))
    payee, proposed = d.bank_account, None
    if by_staff and d.bank_account:  # a staff member's account waits for a second person
        payee, proposed = None, d.bank_account
        steps.append(("propose_bank_account", cl.REPORTED, actor,
                      f"申请收款账户 {mask_bank_card(d.bank_account)}，待另一名工作人员确认"
                      "或银行卡识别核实"))
    needed = [] if problems else list(product.documents_for(d.claim_type, d.facts))
    if not problems:
        claim.register((), "system")
        steps.append(("register", claim.status, "system", "承保核查通过，立案"))
    if needed:
        claim.request_documents([doc.type for doc in needed], "system")
        steps.append(("request_documents", claim.status, "system",
                      "一次性告知所需材料：" + "、".join(doc.name for doc in needed)))
    row = ClaimRow(
        claim_no=number(s, "R", today.year, 8), policy_id=policy.id, insured_party_id=party_id,
        product_code=product.code, claim_type=d.claim_type, status=claim.status,
        incident_date=d.incident_date, incident_place=d.incident_place,
        description=d.description, cause=d.cause, reporter_name=d.reporter.name,
        reporter_relation=d.reporter.relation, reporter_phone=d.reporter.phone,
        channel=d.channel, reported_on=today, facts=dict(d.facts), bank_account=payee,
        pending_bank_account=proposed, pending_bank_account_by=str(actor) if proposed else None,
        late_report=cl.is_late_report(d.incident_date, today),
        next_progress_notice_on=CN_CALENDAR.add_working_days(today, PROGRESS_NOTICE_WORKING_DAYS),
        track_rule=("立案核查未通过，待人工处理：" + "；".join(problems)) if problems else None,
    )
    s.add(row)
    s.flush()
    if key:
        append_rows(s, IdempotencyKey, [{"scope": "claim_report", "key": key[0],
                                         "request_hash": key[1], "resource_id": row.claim_no}])
    if problems:
        fresh = _write_report_trail(s, row, steps, needed, today)
        _task(s, "registration_review", row, today, "；".join(problems))
    elif needed:
        with pipelined(s):  # the trail and the notice need no answers: one round trip
            fresh = _write_report_trail(s, row, steps, needed, today)
            _notify_missing(s, row, fresh.requirements, first=True, new_claim=True)
        # after the trail: in order on the timeline
        fresh = replace(fresh, flags=_check_integrity(s, row, product, new=True))
    else:  # nothing to send: straight to review, where the fast track may decide it
        _write_report_trail(s, row, steps, needed, today)
        _documents_complete(s, row, "system")
        return row, None
    return row, fresh


@dataclass(frozen=True, slots=True)
class _Fresh:
    """What a report wrote beside the claim row, so its answer needs no reads."""

    events: list[ClaimEvent]
    requirements: list[ClaimRequirement]
    flags: list[ClaimFlag] = field(default_factory=list)  # a new claim's open flags


def _write_report_trail(s: Session, row: ClaimRow, steps: list[tuple[str, str, str, str]],
                        needed: list[Any], today: date) -> _Fresh:
    at = utcnow()
    events = [ClaimEvent(claim_id=row.id, at=at, action=action, status=status, actor=who,
                         note=note) for action, status, who, note in steps]
    reqs = [ClaimRequirement(claim_id=row.id, doc_type=doc.type, name=doc.name,
                             requested_on=today, received_on=None) for doc in needed]
    append_rows(s, ClaimEvent, [_columns(e, "claim_id", "at", "action", "status", "actor",
                                         "note") for e in events])
    append_rows(s, ClaimRequirement, [_columns(r, "claim_id", "doc_type", "name", "requested_on",
                                               "received_on") for r in reqs])
    trail: list[dict[str, Any]] = []
    topics: list[dict[str, Any]] = []
    before: str | None = None
    for action, status, who, note in steps:  # the same entries write_back makes, one per step
        trail.append({"at": at, "actor": who, "entity_type": "claim", "entity_id": row.claim_no,
                      "action": action, "before": {"status": before} if before else None,
                      "after": {"status": status, **({"note": note} if before else {})}})
        if before:
            topics.append({"at": at, "topic": f"claim.{action}",
                           "payload": {"claim_no": row.claim_no, "status": status}})
        before = status
    topics.append({"at": at, "topic": "claim.reported",
                   "payload": {"claim_no": row.claim_no, "channel": row.channel}})
    append_rows(s, AuditEntry, trail)
    append_rows(s, OutboxEvent, topics)
    return _Fresh(events, reqs)


def _columns(obj: Any, *names: str) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in names}


def _register(s: Session, row: ClaimRow, product: Product, actor: str,
              new: bool = False, moved: bool = False) -> None:
    """立案 (`moved`: already registered by another step), then the consolidated notice of
    every document the claim type needs (Art. 22)."""
    if not moved:
        claim = to_domain(row)
        claim.register((), actor)
        write_back(s, row, claim, "register", actor, "承保核查通过，立案")
    _check_integrity(s, row, product)
    today = today_cn()
    needed = product.documents_for(row.claim_type, row.facts)
    on_file = set() if new else {d.doc_type for d in _documents(s, row)}
    created = [ClaimRequirement(claim_id=row.id, doc_type=doc.type, name=doc.name,
                                requested_on=today,
                                received_on=today if doc.type in on_file else None)
               for doc in needed]
    s.add_all(created)
    missing = [r for r in created if r.received_on is None]
    if missing:
        claim = to_domain(row)
        claim.request_documents([m.doc_type for m in missing], actor)
        write_back(s, row, claim, "request_documents", actor,
                   "一次性告知所需材料：" + "、".join(m.name for m in missing))
        _notify_missing(s, row, missing, first=True)
    else:
        _documents_complete(s, row, actor)


# ---- documents ---------------------------------------------------------------------------------

def _documents(s: Session, row: ClaimRow) -> list[ClaimDocument]:
    return list(s.execute(select(ClaimDocument).where(ClaimDocument.claim_id == row.id)
                          .order_by(ClaimDocument.id)).scalars())


def upload_document(db: Database, files: FileStore, claim_no: str, filename: str,
                    content_type: str, data: bytes, doc_type: str | None, actor: str,
                    reading: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Store a document; it ticks off its requirement and may complete the file.

    `reading` is what OCR read on it (backoffice.api.reading), checked against the claim and
    fed to its facts before the requirement is ticked off, so that the fast track decides on
    the document (backoffice.services.document_reading).
    """
    if not data:
        raise ValidationError("file", "文件为空")
    if len(data) > MAX_UPLOAD:
        raise ValidationError("file", f"文件不能超过 {MAX_UPLOAD // (1024 * 1024)} MB")
    if doc_type is not None and (not doc_type.isidentifier() or len(doc_type) > 40):
        raise ValidationError("doc_type", "材料类型代码无效")
    with db.transaction() as s:
        row = load_claim(s, claim_no, lock=True)
        if row.status in (cl.CLOSED, cl.WITHDRAWN):
            stage = cl.STAGE_NAMES[row.status]
            raise DomainError(f"案件状态为 {stage}，不能再上传材料", "claim_no")
        kind = doc_type or "other"
        if reading is not None:
            kind = reading_service.document_kind(doc_type, reading,
                                                 [r.doc_type for r in _missing(s, row)])
        path, digest = files.save(row.claim_no, filename or "upload", data)
        doc = ClaimDocument(claim_id=row.id, doc_type=kind, filename=(filename or "upload")[:200],
                            content_type=(content_type or "application/octet-stream")[:100],
                            size=len(data), sha256=digest, storage_path=path, uploaded_by=actor)
        s.add(doc)
        s.flush()
        read = reading_service.apply_reading(s, row, doc, reading) if reading else None
        if row.status != cl.REPORTED:
            _check_integrity(s, row, load_product(s, row.product_code))
        s.add(ClaimEvent(claim_id=row.id, action="document", status=row.status, actor=actor,
                         note=f"收到材料 {kind}：{doc.filename}"))
        audit(s, actor, "claim", row.claim_no, "document", None,
              {"doc_type": kind, "sha256": digest})
        today = today_cn()
        for req in _missing(s, row):
            if req.doc_type == kind:
                req.received_on = today
        if row.status == cl.DOCUMENTS_PENDING and not _missing(s, row):
            _documents_complete(s, row, "system")
        return {**reading_service.receipt(doc, read), "claim_status": row.status}


def _documents_complete(s: Session, row: ClaimRow, actor: str) -> None:
    today = today_cn()
    claim = to_domain(row)
    claim.documents_complete(actor)
    write_back(s, row, claim, "documents_complete", actor, "材料齐全，进入审核")
    if row.documents_complete_on is None:
        row.documents_complete_on = today
    for pause in s.execute(select(ClaimPause).where(ClaimPause.claim_id == row.id,
                                                    ClaimPause.ended_on.is_(None))).scalars():
        pause.ended_on = today
    if row.next_progress_notice_on is None:  # the cadence from the report goes on unbroken
        row.next_progress_notice_on = CN_CALENDAR.add_working_days(
            today, PROGRESS_NOTICE_WORKING_DAYS)
    _try_fast_track(s, row)


WHERE_TO_SEND = "可在公众号上传照片，或到就近服务网点提交。"
DOCUMENTS_REMINDER = "documents_reminder"  # the timeline's step for a reminder of documents


def _notify_missing(s: Session, row: ClaimRow, missing: list[ClaimRequirement],
                    first: bool, new_claim: bool = False) -> None:
    names = "、".join(m.name for m in missing)
    text = (f"【小保】您的报案（报案号 {row.claim_no}）已受理。请一次性准备以下材料：{names}。"
            + WHERE_TO_SEND)
    if not first:
        text = f"【小保】报案号 {row.claim_no} 还需补充：{names}。"
    from backoffice.services.notifications import notification_row, queue

    notice = 1 if first else _steps_taken(s, row, "request_documents")
    args = (f"claim:{row.claim_no}:missing:notice-{notice}", "sms", row.reporter_phone,
            "missing_documents", text, {"claim_no": row.claim_no})
    if new_claim:  # the claim was created in this transaction: its first notice is new
        append_rows(s, Notification, [notification_row(*args)])
    else:
        queue(s, *args)


# ---- integrity (cross-claim checks) --------------------------------------------------------------

def _check_integrity(s: Session, row: ClaimRow, product: Product, *, new: bool = False
                     ) -> list[ClaimFlag]:
    """The cross-claim checks, with the insured's row locked: two claims of one insured
    decided at once see each other's days and amounts (backoffice.services.integrity).
    `new`: the claim was created in this transaction. Its checks take no lock: a registration
    decides no money (the checks run again under the lock before adjudication, approval and
    payment), and registrations already follow one another on the claim number's counter row,
    held to commit, so the later of two sees the earlier's claim."""
    if not new:
        _lock_insured(s, row)
    return integrity_service.refresh(s, row, product, new=new)


_LOCK_INSURED = select(Party.id).where(Party.id == bindparam("insured")).with_for_update()


def _lock_insured(s: Session, row: ClaimRow) -> None:
    # SQLite has no row locks (FOR UPDATE is not rendered): its writers are serialised by the
    # database lock, and a transaction whose reads are stale cannot write. The read would only
    # cost time.
    if s.get_bind().dialect.name != "sqlite":
        s.execute(_LOCK_INSURED, {"insured": row.insured_party_id})


def _act_clear_flag(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                    role: str | None) -> None:
    """A claims supervisor clears a risk flag after checking it, with a note."""
    integrity_service.clear(s, row, cmd.flag, cmd.note, actor, role)


_MONEY_STEPS = frozenset({"approve", "pay", "advance_payment"})


def _money_gate(s: Session, row: ClaimRow, what: str) -> None:
    """Before money is approved or paid: the checks run again; an open flag waits for a
    supervisor's decision, a confirmed one that makes the claim not payable refuses."""
    _check_integrity(s, row, load_product(s, row.product_code))
    waiting = integrity_service.open_flags(s, row)
    if waiting:
        raise Conflict(f"风险核查标记（{'、'.join(sorted({f.code for f in waiting}))}）待理赔主管"
                       f"核实或解除，暂不能{what}", "action")
    refused = integrity_service.refusals(s, row)
    if refused:
        raise Conflict(f"风险已核实（{'、'.join(f.code for f in refused)}），本案应拒赔，"
                       f"不能{what}", "action")


def _act_confirm_flag(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                      role: str | None) -> None:
    """A claims supervisor confirms a risk flag with a note. A decided amount not yet paid is
    adjudicated again (what other claims pay comes off); a claim whose shared days another
    claim now owns is revised too."""
    settled = integrity_service.confirm(s, row, cmd.flag, cmd.note, actor, role)
    _revise(s, row, actor, f"风险已核实（{cmd.flag}）")
    integrity_service.record_held_back(s, row, _alone_fen(s, row))
    for other in s.execute(select(ClaimRow).where(ClaimRow.claim_no.in_(settled))
                           .with_for_update()).scalars():
        _revise(s, other, actor, f"案件 {row.claim_no} 已核实为重复住院")


def _alone_fen(s: Session, row: ClaimRow) -> int | None:
    if row.payable_fen is None:
        return None
    return to_fen(run_adjudication(s, row, cross_claim=False).payable)


def _paid_stays(s: Session, row: ClaimRow) -> tuple[tuple[date, date], ...]:
    """Stays of the insured's other allowance claims whose days are not paid again: those
    whose amount is decided, and those a supervisor confirmed this claim duplicates (whatever
    their stage) — but not a claim confirmed to duplicate this one: it yielded its days."""
    if row.claim_type != "hospital_allowance":
        return ()
    owners, yielded = integrity_service.stay_owners(s, row)
    stays = []
    for no, status, facts in s.execute(select(ClaimRow.claim_no, ClaimRow.status, ClaimRow.facts)
                                       .where(ClaimRow.insured_party_id == row.insured_party_id,
                                              ClaimRow.id != row.id,
                                              ClaimRow.claim_type == row.claim_type)).all():
        counts = status in integrity.DECIDED_STATUSES or (
            no in owners and status not in integrity.DEAD_STATUSES)
        if not counts or no in yielded:
            continue
        stay = integrity_service.stay_of(facts)
        if stay is not None:
            stays.append((stay.admission, stay.discharge))
    return tuple(stays)


def _death_paid_before(s: Session, row: ClaimRow) -> Decimal:
    """A death benefit already decided for the insured (death and transport death are paid
    instead of each other, never both; a person dies once, whatever accident date each claim
    gives): only the difference is due."""
    if row.claim_type not in integrity.DEATH_TYPES:
        return Decimal(0)
    fen = s.execute(select(func.coalesce(func.sum(func.coalesce(
        ClaimRow.approved_fen, ClaimRow.payable_fen)), 0)).where(
        ClaimRow.insured_party_id == row.insured_party_id, ClaimRow.id != row.id,
        ClaimRow.claim_type.in_(integrity.DEATH_TYPES),
        ClaimRow.status.in_(integrity.DECIDED_STATUSES))).scalar_one()
    return from_fen(int(fen))


# ---- adjudication and the fast track -------------------------------------------------------------

def _sums_insured(s: Session, row: ClaimRow) -> dict[str, Decimal]:
    return {c.code: from_fen(c.sum_insured_fen) for c in s.execute(
        select(PolicyCoverage).where(PolicyCoverage.policy_id == row.policy_id,
                                     PolicyCoverage.removed_on.is_(None))).scalars()}


def _allowance_days(s: Session, row: ClaimRow) -> dict[int, int]:
    """Hospital-allowance days already decided per year across the insured's other claims:
    settled ones and those adjudicated or approved but not yet paid (each would otherwise
    see the whole yearly cap)."""
    used: dict[int, int] = {}
    others = s.execute(select(ClaimRow.allowance_days_by_year).where(
        ClaimRow.insured_party_id == row.insured_party_id, ClaimRow.id != row.id,
        ClaimRow.status.in_(integrity.DECIDED_STATUSES))).scalars()
    for by_year in others:
        for year, days in (by_year or {}).items():
            used[int(year)] = used.get(int(year), 0) + int(days)
    return used


def _paid_before(s: Session, row: ClaimRow) -> Decimal:
    """Disability already paid for the same accident comes off a later death benefit."""
    if row.claim_type not in ("death", "transport_death"):
        return Decimal(0)
    paid = s.execute(select(func.coalesce(func.sum(ClaimRow.approved_fen), 0)).where(
        ClaimRow.insured_party_id == row.insured_party_id, ClaimRow.id != row.id,
        ClaimRow.incident_date == row.incident_date, ClaimRow.claim_type == "disability",
        ClaimRow.status.in_((cl.APPROVED, cl.PAID, cl.CLOSED)))).scalar_one()
    return from_fen(int(paid))


def _adjudicate(*args: Any, **kwargs: Any) -> Adjudication:
    """adjudicate(), with facts whose dates or day counts run off the calendar as bad input."""
    try:
        return adjudicate(*args, **kwargs)
    except OverflowError:  # e.g. hospital_days of 10**9 added to a date
        raise ValidationError("facts", "日期或天数超出可计算的范围") from None


def run_adjudication(s: Session, row: ClaimRow, *, cross_claim: bool = True) -> Adjudication:
    """The claim's amount; `cross_claim=False` leaves out what the insured's other claims pay
    (the same days, the same death, the yearly cap): the amount the claim would have alone."""
    product = load_product(s, row.product_code)
    facts = dict(row.facts or {})
    if row.cause and "cause" not in facts:
        facts["cause"] = row.cause
    return _adjudicate(product, row.claim_type, row.incident_date, facts,
                       sums_insured=_sums_insured(s, row),
                       paid_before=_paid_before(s, row),
                       death_paid_before=_death_paid_before(s, row) if cross_claim
                       else Decimal(0),
                       allowance_days_by_year=_allowance_days(s, row) if cross_claim else {},
                       today=today_cn(),
                       paid_stays=_paid_stays(s, row) if cross_claim else ())


def _keep_adjudication(s: Session, row: ClaimRow, result: Adjudication) -> None:
    row.adjudication_lines = [{"text": ln.text, "amount": fmt(ln.amount)} for ln in result.lines]
    row.allowance_days_by_year = {str(y): d for y, d in result.days_paid_by_year.items()}
    if integrity_service.confirmed_flags(s, row):
        alone = run_adjudication(s, row, cross_claim=False)
        integrity_service.record_held_back(s, row, to_fen(alone.payable))


def _apply_adjudication(s: Session, row: ClaimRow, result: Adjudication, actor: str) -> None:
    claim = to_domain(row)
    claim.adjudicate(result.payable, actor)
    write_back(s, row, claim, "adjudicate", actor, f"理算金额 {fmt(result.payable)} 元")
    _keep_adjudication(s, row, result)
    if row.reviewed_on is None:
        row.reviewed_on = today_cn()


_REVISABLE = (cl.ADJUDICATED, cl.PENDING_APPROVAL, cl.APPROVED)


def _revise(s: Session, row: ClaimRow, actor: str, why: str) -> None:
    """Adjudicate a decided, unpaid claim again after a confirmed risk; approval falls."""
    if row.status not in _REVISABLE:
        return
    result = run_adjudication(s, row)
    before = row.payable_fen
    claim = to_domain(row)
    claim.revise(result.payable, actor)
    write_back(s, row, claim, "adjudicate", actor,
               f"{why}，重新理算：{fmt(from_fen(before or 0))} 元 → {fmt(result.payable)} 元，"
               "须重新审批")
    _keep_adjudication(s, row, result)


def _try_fast_track(s: Session, row: ClaimRow) -> None:
    """Decide the track; the fast track adjudicates and approves in the same transaction."""
    flags = _check_integrity(s, row, load_product(s, row.product_code))
    result: Adjudication | None = None
    try:
        result = run_adjudication(s, row) if row.claim_type == "hospital_allowance" else None
    except ValidationError:
        result = None
    needs_review = any(d.needs_review for d in _documents(s, row))
    # facts typed or the type changed by staff: people decide the claim they shaped
    staff_facts = any(action in ("enter_facts", "change_type") and who != cl.SYSTEM
                      for action, who in _steps(s, row))
    injury, level = integrity_service.fast_track_evidence(s, row)
    decision = decide_track(TrackFacts(
        claim_type=row.claim_type, payable=result.payable if result else None,
        excluded=bool(result and result.excluded), documents_complete=not _missing(s, row),
        fields_need_review=needs_review, late_report=row.late_report,
        reopened=row.reopen_count > 0, special_case=row.special_case,
        facts_by_staff=staff_facts, flags=tuple(f.code for f in flags),
        injury_shown=injury, hospital_level_shown=level,
    ))
    row.track, row.track_rule = decision.track, decision.rule
    if decision.track == FAST and result is not None:
        _apply_adjudication(s, row, result, "system")
        claim = to_domain(row)
        claim.approve("system", "system")
        write_back(s, row, claim, "approve", "system", decision.rule)
        row.decided_on = row.agreed_on = today_cn()
    else:
        _task(s, "claim_review", row, CN_CALENDAR.add_working_days(today_cn(), 3),
              decision.rule)


def claim_contact(row: ClaimRow) -> tuple[str, str]:
    """(channel, recipient) for a claim's customer notices."""
    openid = (row.facts or {}).get("wechat_openid")
    if row.channel == "wechat" and isinstance(openid, str) and openid:
        return "wechat", openid
    return "sms", row.reporter_phone


def _task(s: Session, kind: str, row: ClaimRow, due: date, note: str) -> None:
    key = f"{kind}:{row.claim_no}:{row.reopen_count}"
    if s.execute(select(Task.id).where(Task.dedupe_key == key)).first() is None:
        s.add(Task(kind=kind, claim_id=row.id, due_on=due, assigned_to=row.handler,
                   note=note, dedupe_key=key))


class AdjudicationPreviewRequest(Command):
    """理算试算 of facts without a claim."""

    product_code: Text(40, blank_ok=False)  # type: ignore[valid-type]
    claim_type: Literal[CLAIM_TYPES]  # type: ignore[valid-type]
    incident_date: Day
    facts: Facts = Field(default_factory=dict)


@takes(AdjudicationPreviewRequest)
def preview(db: Database, cmd: AdjudicationPreviewRequest, actor: str = "") -> dict[str, Any]:
    """理算试算: the same adjudication the claim uses, without a claim."""
    with db.read() as s:
        product = load_product(s, cmd.product_code)
    # today, as for a claim: a discharge or an assessment dated tomorrow is refused by name
    result = _adjudicate(product, cmd.claim_type, cmd.incident_date, dict(cmd.facts),
                         today=today_cn())
    return {"payable": fmt(result.payable),
            "lines": [{"text": ln.text, "amount": fmt(ln.amount)} for ln in result.lines],
            "excluded": result.excluded, "reasons": list(result.reasons)}


# ---- staff transitions --------------------------------------------------------------------------

class DocumentItem(Command):
    type: DocType
    name: Text(60) | None = None  # type: ignore[valid-type]


class ClaimTransition(Command):
    """A staff action on a claim, named by `action`, with what that action reads."""

    claim_no: Reference
    action: Literal[cl.STAFF_ACTIONS + _FILE_STEPS]  # type: ignore[valid-type]
    note: Text(2000) | None = None  # type: ignore[valid-type]
    reasons: list[Text(500, blank_ok=False)] | None = Field(  # type: ignore[valid-type]
        default=None, min_length=1, max_length=50)
    documents: list[DocumentItem] | None = Field(default=None, min_length=1, max_length=50)
    waive_missing: bool = False
    facts: Facts | None = None
    amount: Amount | None = None
    determinable: Amount | None = None
    account: Text(40) | None = None  # type: ignore[valid-type]
    reference: Text(60) | None = None  # type: ignore[valid-type]
    handler: Text(60, blank_ok=False) | None = None  # type: ignore[valid-type]
    flag: Literal[integrity.CODES] | None = None  # type: ignore[valid-type]
    claim_type: Literal[CLAIM_TYPES] | None = None  # type: ignore[valid-type]


@takes(ClaimTransition)
def transition(db: Database, cmd: ClaimTransition, actor: str,
               approval_role: str | None = None) -> dict[str, Any]:
    """Every staff action on a claim, as `actor`. An approval is given at the authority of the
    actor's staff role (backoffice.domain.staff.CLAIM_APPROVAL_ROLE); only in-process callers
    (the system, tests of the rules) name an `approval_role` themselves."""
    role = approval_role or CLAIM_APPROVAL_ROLE.get(getattr(actor, "role", None) or "")
    if cmd.action == "approve" and role is None:
        raise Forbidden("审批须由理赔人员以本人身份进行", "action")
    if cmd.action in _MONEY_STEPS:
        # the checks' flags are kept even when the step is then refused for them
        with db.transaction() as s:
            row = load_claim(s, cmd.claim_no, lock=True)
            if row.status in cl.OPEN:
                _check_integrity(s, row, load_product(s, row.product_code))
    with db.transaction() as s:
        row = load_claim(s, cmd.claim_no, lock=True)
        _ACTIONS[cmd.action](s, row, cmd, actor, role)
        s.flush()
        return claim_view(s, row)


def _note(cmd: ClaimTransition) -> str | None:
    return cmd.note


def _act_register(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                  role: str | None) -> None:
    product = load_product(s, row.product_code)
    problems = _registration_problems(s, row, product)
    to_domain(row).register(problems, actor)  # raises with the reasons when not coverable
    _register(s, row, product, actor)


def _act_register_anyway(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                         role: str | None) -> None:
    """问题件: a supervisor registers a claim the coverage check held, with the reason; the
    failed checks and the reason go on the timeline and in the audit log."""
    product = load_product(s, row.product_code)
    problems = _registration_problems(s, row, product)
    note = cmd.note or ""
    if note and not integrity_service.visible(note):
        note = ""
    claim = to_domain(row)
    claim.register_anyway(problems, note, actor)
    write_back(s, row, claim, "register_anyway", actor,
               f"核查未通过（{'；'.join(problems)}）仍予立案：{note.strip()}")
    audit(s, actor, "claim", row.claim_no, "register_anyway", {"problems": problems},
          {"note": note.strip()})
    _register(s, row, product, actor, moved=True)


def _registration_problems(s: Session, row: ClaimRow, product: Product) -> list[str]:
    """The coverage check of registration, run on the claim as it stands now."""
    policy = s.get(PolicyRow, row.policy_id)
    party = s.get(Party, row.insured_party_id)
    assert policy is not None and party is not None
    _, insured, cover, _, _ = _policy_and_insured(s, policy.policy_no or "", party.id_number)
    return _coverage_problems(s, policy, product, insured, cover, row.claim_type,
                              row.incident_date, row.reported_on)


def _act_change_type(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                     role: str | None) -> None:
    """更改理赔类型 before a decision, with a note: the documents are listed again for the new
    type (those no longer needed and not received are dropped, new ones asked for in a
    further notice), the coverage check and the integrity checks run again."""
    before, new = row.claim_type, cmd.claim_type
    note = (cmd.note or "").strip()
    if new is None:
        raise ValidationError("claim_type", "须指明新的理赔类型（claim_type）")
    if new == before:
        raise ValidationError("claim_type", f"案件已是「{CLAIM_TYPE_NAMES[new]}」，无需更改")
    if not integrity_service.visible(note):
        raise ValidationError("note", "更改理赔类型须说明原因（note）")
    product = load_product(s, row.product_code)
    covered = [t for t in CLAIM_TYPES if any(t in c.claim_types for c in product.coverages)]
    if new not in covered:
        raise ValidationError("claim_type", f"该保单不承保「{CLAIM_TYPE_NAMES[new]}」，可选："
                              + "、".join(CLAIM_TYPE_NAMES[t] for t in covered))
    claim = to_domain(row)
    claim.change_type(actor)
    row.claim_type = new
    s.add(ClaimEvent(claim_id=row.id, action="change_type", status=row.status, actor=actor,
                     note=f"理赔类型由「{CLAIM_TYPE_NAMES[before]}」改为「{CLAIM_TYPE_NAMES[new]}」："
                          f"{note}"))
    audit(s, actor, "claim", row.claim_no, "change_type", {"claim_type": before},
          {"claim_type": new, "note": note})
    if row.status == cl.REPORTED:  # still before registration: what the check finds now
        _recheck_registration(s, row, product)
        return
    asked = _relist_documents(s, row, product)
    missing = _missing(s, row)
    if missing and row.status != cl.DOCUMENTS_PENDING:
        claim.request_documents([m.doc_type for m in missing], actor)
        write_back(s, row, claim, "request_documents", actor,
                   "理赔类型更改后补充材料：" + "、".join(m.name for m in missing))
        s.add(ClaimPause(claim_id=row.id, started_on=today_cn()))
    if asked:
        _notify_type_change(s, row, missing)
    if not missing and row.status == cl.DOCUMENTS_PENDING:
        _documents_complete(s, row, actor)
    else:
        _check_integrity(s, row, product)


def _recheck_registration(s: Session, row: ClaimRow, product: Product) -> None:
    problems = _registration_problems(s, row, product)
    row.track_rule = ("立案核查未通过，待人工处理：" + "；".join(problems)) if problems else \
        "更改理赔类型后立案核查通过，待立案"


def _relist_documents(s: Session, row: ClaimRow, product: Product) -> bool:
    """The requirements of the claim's (new) type; True when something new is asked for."""
    needed = product.documents_for(row.claim_type, row.facts)
    wanted = {d.type for d in needed}
    existing = {r.doc_type: r for r in _requirements(s, row)}
    for kind, req in existing.items():  # asked for the old type, not sent, not needed now
        if kind not in wanted and req.received_on is None:
            s.delete(req)
    on_file = {d.doc_type for d in _documents(s, row)}
    notice = max((r.notice_no for r in existing.values()), default=1) + 1
    today = today_cn()
    added = [ClaimRequirement(claim_id=row.id, doc_type=d.type, name=d.name, notice_no=notice,
                              requested_on=today,
                              received_on=today if d.type in on_file else None)
             for d in needed if d.type not in existing]
    s.add_all(added)
    s.flush()
    return any(r.received_on is None for r in added)


def _notify_type_change(s: Session, row: ClaimRow, missing: list[ClaimRequirement]) -> None:
    from backoffice.services.notifications import queue

    names = "、".join(m.name for m in missing)
    kind = CLAIM_TYPE_NAMES[row.claim_type]
    queue(s, f"claim:{row.claim_no}:type:{_steps_taken(s, row, 'change_type')}", "sms",
          row.reporter_phone, "missing_documents",
          f"【小保】报案号 {row.claim_no} 的理赔类型已更正为「{kind}」，请补充：{names}。"
          + WHERE_TO_SEND, {"claim_no": row.claim_no})


def _steps_taken(s: Session, row: ClaimRow, action: str) -> int:
    """How many times the claim's timeline has this step: numbers each notice of a kind."""
    return s.execute(select(func.count()).select_from(ClaimEvent).where(
        ClaimEvent.claim_id == row.id, ClaimEvent.action == action)).scalar_one()


def _act_decline_registration(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                              role: str | None) -> None:
    reasons = _reasons(cmd)
    claim = to_domain(row)
    claim.decline_registration(reasons, actor)
    write_back(s, row, claim, "decline_registration", actor, "；".join(reasons))
    _after_rejection(s, row)


def _act_request_documents(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                           role: str | None) -> None:
    """A further notice: items the product already required are a defect of the first one."""
    items = cmd.documents
    if not items:
        raise ValidationError("documents", "请列出需补充的材料 [{type, name}]")
    product = load_product(s, row.product_code)
    standard = {d.type for d in product.documents_for(row.claim_type, row.facts)}
    existing = {r.doc_type: r for r in _requirements(s, row)}
    notice = max((r.notice_no for r in existing.values()), default=1) + 1
    today = today_cn()
    new = []
    for item in items:
        kind, name = item.type, item.name or item.type
        if kind in existing and existing[kind].received_on is None:
            continue
        req = existing.get(kind) or ClaimRequirement(claim_id=row.id, doc_type=kind,
                                                      name=name[:60], notice_no=notice,
                                                      requested_on=today)
        req.received_on = None
        s.add(req)
        new.append(req)
    if not new:
        raise ValidationError("documents", "所列材料均已在待补清单中")
    s.flush()
    claim = to_domain(row)
    claim.request_documents([r.doc_type for r in new], actor)
    defects = [r.name for r in new if r.doc_type in standard]
    note = "补充材料通知：" + "、".join(r.name for r in new)
    if defects:
        note += f"（其中 {'、'.join(defects)} 本应在首次通知中一并告知，记为一次性告知缺陷）"
    write_back(s, row, claim, "request_documents", actor, note)
    s.add(ClaimPause(claim_id=row.id, started_on=today))
    _notify_missing(s, row, new, first=False)


def _act_documents_complete(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                            role: str | None) -> None:
    missing = _missing(s, row)
    if missing and not cmd.waive_missing:
        names = "、".join(m.name for m in missing)
        raise DomainError(f"仍缺少材料：{names}（如确认无需可传 waive_missing=true）",
                          "missing_documents")
    if missing:  # a waiver is a deciding step: on the timeline, so its author does not approve
        to_domain(row).waive_documents(actor)
        waived = [m.doc_type for m in missing]
        s.add(ClaimEvent(claim_id=row.id, action="waive_documents", status=row.status,
                         actor=actor, note="豁免材料：" + "、".join(m.name for m in missing)))
        audit(s, actor, "claim", row.claim_no, "waive_documents", None, {"waived": waived})
    for m in missing:
        m.received_on = today_cn()
    _documents_complete(s, row, actor)


def _act_investigate(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                     role: str | None) -> None:
    claim = to_domain(row)
    claim.investigate(actor)
    write_back(s, row, claim, "investigate", actor, _note(cmd) or "启动查勘调查")


def _act_finish_investigation(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                              role: str | None) -> None:
    claim = to_domain(row)
    claim.finish_investigation(actor)
    write_back(s, row, claim, "finish_investigation", actor, _note(cmd) or "调查完成")


def _act_adjudicate(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                    role: str | None) -> None:
    if cmd.facts:
        to_domain(row).enter_facts(actor)
        parse_facts(cmd.facts, today=today_cn(), incident=row.incident_date)
        before = dict(row.facts or {})
        row.facts = {**before, **cmd.facts}
        s.add(ClaimEvent(claim_id=row.id, action="enter_facts", status=row.status, actor=actor,
                         note="录入理算事实：" + "、".join(sorted(cmd.facts))))
        audit(s, actor, "claim", row.claim_no, "enter_facts",
              {k: before.get(k) for k in cmd.facts}, dict(cmd.facts))
    _check_integrity(s, row, load_product(s, row.product_code))
    _apply_adjudication(s, row, run_adjudication(s, row), actor)


def _act_approve(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                 role: str | None) -> None:
    if role not in cl.ROLES:
        raise Forbidden("审批须由理赔人员以本人身份进行", "action")
    _money_gate(s, row, "审批")
    claim = to_domain(row, steps=_steps(s, row))
    approved = claim.approve(role, actor)
    if approved:
        write_back(s, row, claim, "approve", actor, _note(cmd) or f"{cl.ROLE_NAMES[role]}审批通过")
        row.decided_on = row.agreed_on = today_cn()
    else:
        write_back(s, row, claim, "escalate", actor,
                   f"超权限上报：{fmt(claim.payable or Decimal(0))} 元须由"
                   f"{cl.ROLE_NAMES[claim.approval_role or '']}审批")
        _task(s, f"approval_{claim.approval_role}", row, today_cn(), "超权限上报")


def _act_pay(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str, role: str | None) -> None:
    amount = _required(cmd.amount, "amount")
    named = parse_bank_card(cmd.account, "account") if cmd.account else None
    if row.status == cl.APPROVED:  # else the state machine names what the claim awaits
        _money_gate(s, row, "支付")
    claim = to_domain(row, steps=_steps(s, row))
    account = claim.pay(amount, actor, named)
    reference = cmd.reference
    s.add(ClaimPayment(claim_id=row.id, kind="final", amount_fen=to_fen(amount),
                       account=account, reference=reference, actor=actor))
    write_back(s, row, claim, "pay", actor,
               f"银行转账 {fmt(amount)} 元至 {mask_bank_card(account)}")
    row.paid_on = today_cn()


def _act_advance_payment(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                         role: str | None) -> None:
    amount = _required(cmd.amount, "amount")
    if amount == 0:
        raise ValidationError("amount", "金额必须大于零")
    determinable = cmd.determinable if cmd.determinable is not None else amount
    # what can be determined is at most the adjudicated amount, or before adjudication the
    # policy's highest sum insured: never a figure the caller types
    ceiling = (from_fen(row.payable_fen) if row.payable_fen is not None
               else max(_sums_insured(s, row).values(), default=Decimal(0)))
    if determinable > ceiling:
        raise ValidationError("determinable",
                              f"可确定的金额不能超过 {fmt(ceiling)} 元（已理算金额或保额）")
    named = parse_bank_card(cmd.account, "account") if cmd.account else None
    _money_gate(s, row, "先予支付")
    claim = to_domain(row, steps=_steps(s, row))
    account = claim.advance(amount, determinable, actor, named)
    s.add(ClaimPayment(claim_id=row.id, kind="advance", amount_fen=to_fen(amount),
                       account=account, reference=cmd.reference, actor=actor))
    write_back(s, row, claim, "advance_payment", actor,
               f"先予支付 {fmt(amount)} 元（保险法第25条）")
    row.advance_paid_on = today_cn()


def _act_close(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
               role: str | None) -> None:
    claim = to_domain(row)
    claim.close(actor)
    write_back(s, row, claim, "close", actor, _note(cmd) or "结案")
    row.closed_on = today_cn()
    row.next_progress_notice_on = None
    _task(s, "follow_up", row, row.closed_on + timedelta(days=7), "结案后一周内回访")
    from backoffice.services import satisfaction

    # on WeChat when the claim came from there (the answer is taken in the chat), else by SMS
    channel, recipient = claim_contact(row)
    satisfaction.ask(s, "claim", row.claim_no, channel, recipient, agent=row.handler,
                     round_no=row.reopen_count)


def _reasons(cmd: ClaimTransition) -> list[str]:
    if not cmd.reasons:
        raise ValidationError("reasons", "请以文字列出拒赔理由")
    return list(cmd.reasons)


def _required(amount: Decimal | None, field: str) -> Decimal:
    if amount is None:
        raise ValidationError(field, "金额须为十进制字符串，如 \"1234.50\"")
    return amount


def _act_reject(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                role: str | None) -> None:
    reasons = _reasons(cmd)
    claim = to_domain(row)
    claim.reject(reasons, actor)
    write_back(s, row, claim, "reject", actor, "；".join(reasons))
    _after_rejection(s, row)


def _after_rejection(s: Session, row: ClaimRow) -> None:
    """The decision date, the letter (Art. 24) and its clock."""
    today = today_cn()
    row.rejected_on = row.decided_on = today
    row.next_progress_notice_on = None
    party = s.get(Party, row.insured_party_id)
    body = rejection_letter(row, party.name if party else "")
    s.add(Letter(letter_no=number(s, "L", today.year, 8), claim_id=row.id, kind="rejection",
                 body=body))


def rejection_letter(row: ClaimRow, insured_name: str) -> str:
    reasons = "\n".join(f"{i}. {r}" for i, r in enumerate(row.rejection_reasons, 1))
    # the insured who reported for themselves is addressed by their registered name (the bot
    # records such a reporter as "本人")
    to = insured_name if row.reporter_relation == "self" and insured_name else row.reporter_name
    return (
        f"拒绝赔付通知书\n\n{to} 先生/女士：\n\n"
        f"您于 {row.reported_on} 报案的被保险人 {insured_name} 于 {row.incident_date} "
        f"发生的保险事故（报案号 {row.claim_no}），经审核，我公司决定不予赔付，理由如下：\n"
        f"{reasons}\n\n"
        "根据《中华人民共和国保险法》第二十四条，特此书面通知。如您对本决定有异议，可在收到"
        "本通知之日起向我公司申请复核，或拨打客服电话、到服务网点咨询，也可依法向监管部门"
        "投诉或向人民法院起诉。\n"
    )


def _act_send_rejection_letter(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                               role: str | None) -> None:
    letter = s.execute(select(Letter).where(Letter.claim_id == row.id,
                                            Letter.kind == "rejection",
                                            Letter.sent_at.is_(None))).scalar()
    if row.status != cl.REJECTED or letter is None:
        raise DomainError("没有待发送的拒赔通知书", "action")
    letter.sent_at = utcnow()
    row.letter_sent_on = today_cn()
    from backoffice.services.notifications import queue

    queue(s, f"claim:{row.claim_no}:rejection_letter:{letter.letter_no}", "sms",
          row.reporter_phone, "rejection_letter",
          f"【小保】报案号 {row.claim_no} 的审核结论与理由已以书面通知书寄出，请查收。",
          {"claim_no": row.claim_no, "letter_no": letter.letter_no})
    s.add(ClaimEvent(claim_id=row.id, action="send_rejection_letter", status=row.status,
                     actor=actor, note=f"拒赔通知书 {letter.letter_no} 已发送"))
    audit(s, actor, "claim", row.claim_no, "send_rejection_letter", None,
          {"letter_no": letter.letter_no})


def _act_withdraw(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                  role: str | None) -> None:
    claim = to_domain(row)
    claim.withdraw(actor)
    write_back(s, row, claim, "withdraw", actor, _note(cmd) or "客户撤案")
    row.closed_on, row.next_progress_notice_on = today_cn(), None


def withdraw_step(s: Session, row: ClaimRow, note: str, actor: str) -> None:
    """The withdraw step inside another use case's transaction (the customer's own 撤案)."""
    _act_withdraw(s, row, ClaimTransition.of({"claim_no": row.claim_no, "action": "withdraw",
                                              "note": note}), actor, None)


def bank_account_step(s: Session, row: ClaimRow, account: str, actor: str) -> None:
    """The set_bank_account step inside another use case's transaction (the customer's own
    confirmed account)."""
    _act_set_bank_account(s, row, ClaimTransition.of(
        {"claim_no": row.claim_no, "action": "set_bank_account", "account": account}),
        actor, None)


def reopen_step(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str) -> None:
    """The reopen step inside another use case's transaction (an appeal's decision)."""
    _act_reopen(s, row, cmd, actor, None)


def _act_reopen(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                role: str | None) -> None:
    claim = to_domain(row)
    claim.reopen(actor)
    write_back(s, row, claim, "reopen", actor, _note(cmd) or "重开案件")
    row.closed_on = row.decided_on = row.agreed_on = row.rejected_on = None
    row.letter_sent_on = row.paid_on = row.reviewed_on = None
    # a reopened claim asks for a new decision on the file as it stands: its review and
    # decision clocks run afresh from today, not from when the documents first came in
    row.documents_complete_on = today_cn()
    row.track, row.track_rule = "manual", "M4 重开案件须人工复核"
    row.next_progress_notice_on = CN_CALENDAR.add_working_days(today_cn(), 3)


def _act_assign(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                role: str | None) -> None:
    if cmd.handler is None:
        raise ValidationError("handler", "请提供经办人")
    handler_role = s.execute(select(StaffRow.role).where(
        StaffRow.username == cmd.handler, StaffRow.active.is_(True))).scalar()
    if handler_role is None or not allowed(handler_role, "claims.work"):
        raise ValidationError("handler", f"经办人须为在职的理赔人员：{cmd.handler[:40]}")
    before = row.handler
    row.handler = cmd.handler
    s.add(ClaimEvent(claim_id=row.id, action="assign", status=row.status, actor=actor,
                     note=f"经办人：{row.handler}"))
    audit(s, actor, "claim", row.claim_no, "assign", {"handler": before},
          {"handler": row.handler})


def _act_special_case(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                      role: str | None) -> None:
    if row.status not in cl.OPEN:
        raise DomainError("案件已结束，不能标记为重大案件", "action")
    row.special_case = True
    s.add(ClaimEvent(claim_id=row.id, action="special_case", status=row.status, actor=actor,
                     note=_note(cmd) or "标记为重大/特殊案件（30个工作日时限）"))
    audit(s, actor, "claim", row.claim_no, "special_case", None, {"special_case": True})


def _act_set_bank_account(s: Session, row: ClaimRow, cmd: ClaimTransition, actor: str,
                          role: str | None) -> None:
    """The payee account: an integration (the customer's statement, the bot's reading) gives
    the first one; a staff member's change waits for another staff member's confirmation."""
    account = parse_bank_card(cmd.account, "account")
    pending = ((row.pending_bank_account, row.pending_bank_account_by or "")
               if row.pending_bank_account else None)
    staff = getattr(actor, "role", None) is not None
    step = cl.payee_change(row.bank_account, pending, account, actor, staff)
    before = mask_bank_card(row.bank_account) if row.bank_account else None
    if step == "propose":
        row.pending_bank_account, row.pending_bank_account_by = account, actor
        note = f"申请变更收款账户为 {mask_bank_card(account)}，待另一名工作人员确认"
    else:
        row.bank_account = account
        row.pending_bank_account = row.pending_bank_account_by = None
        note = (f"确认收款账户 {mask_bank_card(account)}（由 {pending[1]} 申请）"
                if step == "confirm" and pending else f"收款账户 {mask_bank_card(account)}")
    s.add(ClaimEvent(claim_id=row.id, action=f"{step}_bank_account", status=row.status,
                     actor=actor, note=note))
    audit(s, actor, "claim", row.claim_no, "set_bank_account", {"account": before},
          {"account": mask_bank_card(account), "step": step})


_ACTIONS = {
    "register": _act_register,
    "decline_registration": _act_decline_registration,
    "request_documents": _act_request_documents,
    "documents_complete": _act_documents_complete,
    "investigate": _act_investigate,
    "finish_investigation": _act_finish_investigation,
    "adjudicate": _act_adjudicate,
    "approve": _act_approve,
    "pay": _act_pay,
    "advance_payment": _act_advance_payment,
    "close": _act_close,
    "reject": _act_reject,
    "send_rejection_letter": _act_send_rejection_letter,
    "withdraw": _act_withdraw,
    "reopen": _act_reopen,
    "assign": _act_assign,
    "special_case": _act_special_case,
    "set_bank_account": _act_set_bank_account,
    "clear_flag": _act_clear_flag,
    "confirm_flag": _act_confirm_flag,
    "change_type": _act_change_type,
    "register_anyway": _act_register_anyway,
}


# ---- views ------------------------------------------------------------------------------

def _clock_events(row: ClaimRow, pauses: tuple[tuple[date, date | None], ...],
                  asked: tuple[date | None, int] = (None, 0)) -> ClaimEvents:
    """The claim's dates for its clocks; `asked`: the first day an outstanding document was
    asked for, and the reminders sent since (`_documents_asked`)."""
    running = row.status in cl.OPEN
    return ClaimEvents(
        incident_date=row.incident_date,
        progress_notice_on=row.next_progress_notice_on if running else None,
        documents_asked_on=asked[0] if running else None, documents_reminders_sent=asked[1],
        reported_on=row.reported_on, documents_complete_on=row.documents_complete_on,
        pauses=pauses, reviewed_on=row.reviewed_on, decided_on=row.decided_on,
        agreed_on=row.agreed_on,
        payout=None if row.approved_fen is None else from_fen(row.approved_fen),
        paid_on=row.paid_on, advance_paid_on=row.advance_paid_on, rejected_on=row.rejected_on,
        letter_sent_on=row.letter_sent_on, special_case=row.special_case,
    )


def _pauses(s: Session, row: ClaimRow) -> tuple[tuple[date, date | None], ...]:
    return tuple((p.started_on, p.ended_on) for p in s.execute(
        select(ClaimPause).where(ClaimPause.claim_id == row.id).order_by(ClaimPause.id)
    ).scalars())


def _events(s: Session, row: ClaimRow) -> ClaimEvents:
    return _clock_events(row, _pauses(s, row), documents_asked(s, row, _requirements(s, row)))


def documents_asked(s: Session, row: ClaimRow, reqs: list[ClaimRequirement],
                     events: list[ClaimEvent] | None = None) -> tuple[date | None, int]:
    """(the first day a document still missing was asked for, reminders sent since); from the
    claim's timeline when the caller has it."""
    asked = min((r.requested_on for r in reqs if r.received_on is None), default=None)
    if asked is None:
        return None, 0
    since = datetime.combine(asked, time(0), tzinfo=SHANGHAI)
    if events is not None:
        return asked, sum(1 for e in events if e.action == DOCUMENTS_REMINDER
                          and _aware(e.at) >= since)
    return asked, s.execute(select(func.count()).select_from(ClaimEvent).where(
        ClaimEvent.claim_id == row.id, ClaimEvent.action == DOCUMENTS_REMINDER,
        ClaimEvent.at >= since)).scalar_one()


def _aware(at: datetime) -> datetime:
    """SQLite gives back naive UTC datetimes."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _deadline_view(events: ClaimEvents, today: date) -> dict[str, Any]:
    return {
        name: {"due": d.due.isoformat(), "breached": d.breached, "paused": d.paused,
               "done_on": d.done_on.isoformat() if d.done_on else None, "basis": d.basis}
        for name, d in claim_deadlines(events, today).items()
    }


def deadlines(s: Session, row: ClaimRow, today: date | None = None) -> dict[str, Any]:
    return _deadline_view(_events(s, row), today or today_cn())


def claim_view(s: Session, row: ClaimRow) -> dict[str, Any]:
    reqs = _requirements(s, row)
    events = list(s.execute(select(ClaimEvent).where(ClaimEvent.claim_id == row.id)
                            .order_by(ClaimEvent.id)).scalars())
    policy_no = s.execute(select(PolicyRow.policy_no)
                          .where(PolicyRow.id == row.policy_id)).scalar()
    letters = list(s.execute(select(Letter).where(Letter.claim_id == row.id)
                             .order_by(Letter.id)).scalars())
    return _assemble_view(row, policy_no, reqs, events, _documents(s, row), letters,
                          _pauses(s, row), complaints_for_claim(s, row.claim_no),
                          integrity_service.shown_flags(s, row),
                          documents_asked(s, row, reqs, events))


def _assemble_view(row: ClaimRow, policy_no: str | None, reqs: list[ClaimRequirement],
                   events: list[ClaimEvent], documents: list[ClaimDocument],
                   letters: list[Letter], pauses: tuple[tuple[date, date | None], ...],
                   complaints: list[dict[str, Any]], flags: list[ClaimFlag],
                   asked: tuple[date | None, int] = (None, 0)) -> dict[str, Any]:
    return {
        "claim_no": row.claim_no,
        "status": row.status,
        "stage": cl.STAGE_NAMES[row.status],
        "claim_type": row.claim_type,
        "policy_no": policy_no,
        "product_code": row.product_code,
        "incident_date": row.incident_date.isoformat(),
        "incident_place": row.incident_place,
        "reported_on": row.reported_on.isoformat(),
        "late_report": row.late_report,
        "channel": row.channel,
        "handler": row.handler,
        "track": row.track,
        "track_rule": row.track_rule,
        "special_case": row.special_case,
        "missing_documents": [{"type": r.doc_type, "name": r.name} for r in reqs
                              if r.received_on is None],
        "documents": [
            {"document_id": d.id, "doc_type": d.doc_type,
             "doc_type_name": next((r.name for r in reqs if r.doc_type == d.doc_type), None),
             "filename": d.filename, "sha256": d.sha256,
             # retention or erasure deleted the original: the hash and fields stay
             "file_deleted": not d.storage_path,
             "size": d.size, "uploaded_at": d.uploaded_at.isoformat(), "fields": d.fields,
             "needs_review": d.needs_review}
            for d in documents
        ],
        "deadlines": _deadline_view(_clock_events(row, pauses, asked), today_cn()),
        "payable": None if row.payable_fen is None else fmt(from_fen(row.payable_fen)),
        "approved": None if row.approved_fen is None else fmt(from_fen(row.approved_fen)),
        "advance_paid": fmt(from_fen(row.advance_paid_fen)),
        "approval_role": row.approval_role,
        "adjudication_lines": row.adjudication_lines,
        "rejection_reasons": row.rejection_reasons,
        "letters": [{"letter_no": x.letter_no, "kind": x.kind, "body": x.body,
                     "sent_at": x.sent_at.isoformat() if x.sent_at else None} for x in letters],
        "allowed_actions": [a for a in cl.allowed_actions(row.status)],
        "complaints": complaints,
        "flags": integrity_service.view(flags),
        "timeline": [{"at": e.at.isoformat(), "status": e.status, "action": e.action,
                      "actor": e.actor, "note": e.note} for e in events],
    }


def get_claim(db: Database, claim_no: str) -> dict[str, Any]:
    with db.read() as s:
        return claim_view(s, load_claim(s, claim_no))


_NEXT_STEP = {
    cl.REPORTED: "我们正在核对保单信息，完成后会通知您所需材料",
    cl.REGISTERED: "我们正在整理所需材料清单",
    cl.DOCUMENTS_PENDING: "请提交下列材料，材料齐全后我们将在3个工作日内完成审核",
    cl.UNDER_REVIEW: "理赔人员正在审核您的材料",
    cl.INVESTIGATING: "我们正在核实事故情况，可能会联系您了解详情",
    cl.ADJUDICATED: "赔付金额已计算，正在审批",
    cl.PENDING_APPROVAL: "赔付金额已计算，正在等待上级审批",
    cl.APPROVED: "审批已通过，赔款将转入您提供的银行账户",
    cl.PAID: "赔款已支付，请留意银行到账",
    cl.CLOSED: "案件已结案，感谢您的信任",
    cl.REJECTED: "如对结论有异议，可申请复核或联系客服",
    cl.WITHDRAWN: "案件已撤销，如需重新报案请联系我们",
}


def progress(db: Database, claim_no: str) -> dict[str, Any]:
    """The customer's view in Chinese: stage, what is missing, next step, expected date."""
    with db.read() as s:
        row = load_claim(s, claim_no)
        view = claim_view(s, row)
    missing = view["missing_documents"]
    expected = _expected_by(view["deadlines"], row)
    stage = cl.STAGE_NAMES[row.status]
    text = f"您的理赔（报案号 {row.claim_no}）当前进度：{stage}。"
    if missing:
        text += "还需提交：" + "、".join(m["name"] for m in missing) + "。"
    if row.status in (cl.APPROVED, cl.PAID, cl.CLOSED) and row.approved_fen is not None:
        text += f"核定赔付金额 {fmt(from_fen(row.approved_fen))} 元。"
    if row.status == cl.REJECTED:
        text += "拒赔理由：" + "；".join(row.rejection_reasons) + "。"
    if expected:
        text += f"预计 {expected} 前完成下一步。"
    return {"claim_no": row.claim_no, "stage": stage, "status": row.status, "text": text,
            "missing_documents": missing, "next_step": _NEXT_STEP[row.status],
            "awaiting": cl.awaiting(row.status, [m["name"] for m in missing], row.approval_role,
                                    bool(row.bank_account)),
            "expected_by": expected}


def _expected_by(dl: dict[str, Any], row: ClaimRow) -> str | None:
    order = {cl.APPROVED: ("payment",), cl.UNDER_REVIEW: ("review", "special_case", "decision"),
             cl.INVESTIGATING: ("special_case", "decision"),
             cl.ADJUDICATED: ("decision",), cl.PENDING_APPROVAL: ("decision",)}
    for name in order.get(row.status, ()):
        if name in dl and dl[name]["done_on"] is None:
            return str(dl[name]["due"])
    return None


class ClaimSearch(Command):
    """The work queue's filters (GET /claims)."""

    insured_id_number: IdNumber | None = None
    status: Literal[cl.STATUSES] | None = None  # type: ignore[valid-type]
    handler: Text(60) | None = None  # type: ignore[valid-type]
    due_before: Day | None = None
    breached: bool | None = None
    limit: Count(500) = 200  # type: ignore[valid-type]


class ClaimRef(Command):
    claim_no: Reference


def search(db: Database, insured_id_number: str | None = None, status: str | None = None,
           handler: str | None = None, due_before: str | None = None,
           breached: bool | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Claims by insured, status and handler; by deadline for the work queue."""
    if status is not None and status not in cl.STATUSES:
        raise ValidationError("status", f"status 须为 {', '.join(cl.STATUSES)} 之一")
    before = parse_date(due_before, "due_before") if due_before else None
    with db.read() as s:
        stmt = select(ClaimRow).order_by(ClaimRow.id.desc())
        if insured_id_number:
            party = find_party(s, parse_id_number(insured_id_number, "insured_id_number").value)
            if party is None:
                return []
            stmt = stmt.where(ClaimRow.insured_party_id == party.id)
        if status:
            stmt = stmt.where(ClaimRow.status == status)
        if handler:
            stmt = stmt.where(ClaimRow.handler == handler)
        if before is not None or breached is not None:  # a rejection still owes its letter
            stmt = stmt.where(ClaimRow.status.in_((*cl.OPEN, cl.REJECTED)))
        items = []
        for row in s.execute(stmt.limit(5000 if before or breached is not None else limit)
                             ).scalars():
            item = {"claim_no": row.claim_no, "status": row.status,
                    "claim_type": row.claim_type, "incident_date": row.incident_date.isoformat(),
                    "handler": row.handler, "track": row.track}
            if before is not None or breached is not None:
                # the staff's clocks: the customer's notices are the scheduler's own
                dl = {k: v for k, v in deadlines(s, row).items()
                      if v["done_on"] is None and k not in NOTICE_CLOCKS}
                if not dl and row.status == cl.REJECTED:
                    continue
                nearest = min((v["due"] for v in dl.values()), default=None)
                is_breached = any(v["breached"] for v in dl.values())
                if before is not None and (nearest is None or nearest > before.isoformat()):
                    continue
                if breached is not None and is_breached != breached:
                    continue
                item["next_due"], item["breached"] = nearest, is_breached
            items.append(item)
            if len(items) >= limit:
                break
        if before is not None:
            items.sort(key=lambda i: i.get("next_due") or "9999")
        return items
