"""Requests of the data subject (个人信息主体请求: 查阅、复制、更正、删除): taken down at an outlet,
on the phone or from a letter by staff who checked who the person is; worked through
received → in_progress → done | refused on a 15-working-day clock; every step an audit entry.

An access or copy request, when done, gets an export: a ZIP of one JSON (everything the walk of
backoffice.services.personal_data finds about the person) and their documents' files, read
through the file store (so opened, never the sealed bytes), behind a signed link that expires.
A correction is made through the party's own edit step (parties.update_party), then marked
done with what was corrected. A deletion is done by the erasure
(backoffice.services.privacy_erasure.erase_person) when the request is completed; its answer
says what was deleted and what is kept, until when.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import field_validator
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backoffice import clock
from backoffice.domain import privacy_request as pr
from backoffice.domain.errors import Conflict, NotFound, ValidationError
from backoffice.domain.identity import mask_id_number, mask_name
from backoffice.services import bindings, personal_data, retention
from backoffice.services.base import audit, number, today_cn
from backoffice.services.commands import (
    Command,
    Count,
    Flag,
    IdNumber,
    OneOf,
    Phone,
    Reference,
    Text,
    takes,
)
from backoffice.services.parties import find_party
from backoffice.services.privacy_erasure import ERASED_ID, AlreadyErased, erase_person
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.files import DocumentStore
from backoffice.store.models import AccessLogEntry, AuditEntry, ClaimRow, Party, PrivacyRequestRow

ENTITY = "privacy_request"
ARCHIVE_YEARS_VARIABLE = "XIAOBAO_CLAIMS_ARCHIVE_YEARS"
LINK_DAYS_VARIABLE = "XIAOBAO_PRIVACY_EXPORT_LINK_DAYS"


def archive_years() -> int:
    return pr.archive_years(os.environ.get(ARCHIVE_YEARS_VARIABLE))


def link_lifetime() -> timedelta:
    return timedelta(days=pr.link_days(os.environ.get(LINK_DAYS_VARIABLE)))


# ---- taking a request down -------------------------------------------------------------------

class PrivacyRequestIn(Command):
    """Who asks (their ID number and name), what and how they asked, and how staff checked
    that it is them: `phone` (the phone on file) or `policy_no` (one of their own policies),
    as the channels identify; or, at an outlet, `id_card_seen` with `id_card_checked` true."""

    id_number: IdNumber
    name: Text(40, blank_ok=False)
    kind: OneOf(pr.KINDS)
    channel: OneOf(pr.CHANNELS)
    verified_by: OneOf(pr.VERIFICATIONS)
    phone: Phone | None = None
    policy_no: Text(40) | None = None
    id_card_checked: Flag = False
    details: Text(pr.MAX_TEXT) | None = None

    @field_validator("phone", "policy_no", "details", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


def _check_proof(cmd: PrivacyRequestIn) -> None:
    """The proof the chosen check needs is there (400 naming the field)."""
    if cmd.verified_by == "phone" and cmd.phone is None:
        raise ValidationError("phone", "以手机号核验身份时须填写预留手机号")
    if cmd.verified_by == "policy_no" and not cmd.policy_no:
        raise ValidationError("policy_no", "以保单号核验身份时须填写本人保单号")
    if cmd.verified_by == "id_card_seen":
        if cmd.channel != "outlet":
            raise ValidationError("verified_by", "只有在服务网点才能以核验身份证原件确认身份")
        if not cmd.id_card_checked:
            raise ValidationError("id_card_checked", "须确认已核验本人身份证原件")
    if cmd.kind == "correction" and not cmd.details:
        raise ValidationError("details", "更正请求须写明哪项信息有误、应如何更正")


def _verified(s: Session, cmd: PrivacyRequestIn) -> Party:
    """The party, once the person proved to be them: the name matches, and the phone on file
    or their own policy number (the channels' rule), or the ID card was seen at the outlet."""
    party = find_party(s, cmd.id_number)
    if party is None:
        raise NotFound("未找到该身份证号码的客户", "id_number")
    policy_no = cmd.policy_no.upper() if cmd.policy_no else None
    by_channel_rule = cmd.verified_by == "id_card_seen" or bindings.proves_identity(
        s, party, cmd.phone if cmd.verified_by == "phone" else None,
        policy_no if cmd.verified_by == "policy_no" else None)
    if party.name != cmd.name.strip() or not by_channel_rule:
        # one answer for every part: a mismatch never says which part was wrong
        raise bindings.IdentityMismatch("身份信息核对不一致，请核对姓名、证件号码和手机号或保单号",
                                        cmd.verified_by)
    return party


@takes(PrivacyRequestIn)
def create(db: Database, cmd: PrivacyRequestIn, actor: str) -> dict[str, Any]:
    _check_proof(cmd)
    details = pr.check_text(cmd.details, "details", cmd.kind == "correction")
    with db.transaction() as s:
        party = _verified(s, cmd)
        today = today_cn()
        row = PrivacyRequestRow(
            request_no=number(s, "GR", today.year, 6), party_id=party.id, kind=cmd.kind,
            channel=cmd.channel, status=pr.RECEIVED, verified_by=cmd.verified_by,
            details=details, received_on=today, due_on=pr.due_date(today),
            received_by=str(actor))
        s.add(row)
        s.flush()
        audit(s, actor, ENTITY, row.request_no, "receive", None,
              {"status": row.status, "kind": row.kind, "channel": row.channel,
               "verified_by": row.verified_by, "details": details})
        return view(s, row)


# ---- a request made in the chat --------------------------------------------------------------

class ChannelPrivacyRequestIn(Command):
    """The identified channel user's own request, filed by the bot: the kind, the details (a
    correction: what is wrong and what is right) and the proof the bot's identification took,
    `phone` (the phone on file) or `policy_no` (one of their own policies)."""

    channel: OneOf(bindings.CHANNELS)
    user: Text(128, blank_ok=False)
    kind: OneOf(pr.KINDS)
    phone: Phone | None = None
    policy_no: Text(40) | None = None
    details: Text(pr.MAX_TEXT) | None = None

    @field_validator("phone", "policy_no", "details", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


def _chat_proof(cmd: ChannelPrivacyRequestIn) -> str:
    if cmd.phone is None and not cmd.policy_no:
        raise ValidationError("phone", "须提供核验身份时的 phone 或 policy_no 之一")
    if cmd.phone is not None and cmd.policy_no:
        raise ValidationError("policy_no", "phone 与 policy_no 只能提供其一")
    return "phone" if cmd.phone is not None else "policy_no"


@takes(ChannelPrivacyRequestIn)
def create_for_customer(db: Database, cmd: ChannelPrivacyRequestIn, actor: str = "customer"
                        ) -> dict[str, Any]:
    """The request of the person the channel user is bound to, who proved it as the channels
    do (bindings.proves_identity). An open request of theirs of the same kind is answered
    instead of a second one (`replay` true)."""
    verified_by = _chat_proof(cmd)
    details = pr.check_text(cmd.details, "details", cmd.kind == "correction")
    with db.transaction() as s:
        party = bindings.bound_party(s, cmd.channel, cmd.user)
        if party is None:
            raise NotFound("该渠道用户尚未核验身份", "user")
        policy_no = cmd.policy_no.upper() if cmd.policy_no else None
        if not bindings.proves_identity(s, party, cmd.phone, policy_no):
            raise bindings.IdentityMismatch("身份信息核对不一致，请重新核验身份", verified_by)
        # the person's row first: two identical requests at once queue, the second sees the first
        s.execute(update(Party).where(Party.id == party.id).values(id=Party.id))
        open_one = s.execute(select(PrivacyRequestRow).where(
            PrivacyRequestRow.party_id == party.id, PrivacyRequestRow.kind == cmd.kind,
            PrivacyRequestRow.status.in_(pr.OPEN)).order_by(PrivacyRequestRow.id)).scalar()
        if open_one is not None:
            return {**view(s, open_one), "replay": True}
        today = today_cn()
        row = PrivacyRequestRow(
            request_no=number(s, "GR", today.year, 6), party_id=party.id, kind=cmd.kind,
            channel="phone" if cmd.channel == "ivr" else "chat", status=pr.RECEIVED,
            verified_by=verified_by, details=details, received_on=today,
            due_on=pr.due_date(today), received_by=str(actor), user_channel=cmd.channel,
            channel_user=cmd.user)
        s.add(row)
        s.flush()
        audit(s, actor, ENTITY, row.request_no, "receive", None,
              {"status": row.status, "kind": row.kind, "channel": row.channel,
               "verified_by": row.verified_by, "details": details,
               "user_channel": cmd.channel})
        return {**view(s, row), "replay": False}


# ---- the steps -------------------------------------------------------------------------------

class PrivacyRequestStep(Command):
    """start · complete {note?} · refuse {note: the reason} · renew_link (a done access or copy
    request: a new export link; the earlier one stops opening). The handler is the caller."""

    privacy_request_no: Reference
    action: OneOf(pr.ACTIONS)
    note: Text(pr.MAX_TEXT) | None = None


@takes(PrivacyRequestStep)
def step(db: Database, cmd: PrivacyRequestStep, actor: str,
         files: DocumentStore | None = None) -> dict[str, Any]:
    """`files`: the document store a deletion's erasure removes the person's files from."""
    note = pr.check_text(cmd.note, "note", cmd.action == "refuse")
    if cmd.action == "complete":
        with db.read() as s:
            row = load(s, cmd.privacy_request_no)
            erasing = row.kind == "deletion" and row.status == pr.IN_PROGRESS
        if erasing:
            _erase(db, row.party_id, actor, files)
    with db.transaction() as s:
        _lock(s, cmd.privacy_request_no)
        row = load(s, cmd.privacy_request_no)
        before = {"status": row.status, "handler": row.handler}
        row.status = pr.next_status(row.status, cmd.action)
        _apply(s, row, cmd.action, note, str(actor))
        audit(s, actor, ENTITY, row.request_no, cmd.action, before,
              {"status": row.status, "handler": row.handler, "note": note,
               "link_revision": row.link_revision if row.link_expires_at else None})
        s.flush()
        return view(s, row)


def _erase(db: Database, party_id: int, actor: str, files: DocumentStore | None) -> None:
    """The person erased: from the database, Rasa's tracker store and the file store."""
    with db.read() as s:
        party = s.get(Party, party_id)
        if party is None or party.id_number.startswith(ERASED_ID):
            return  # erased already: a completion that failed after the erasure, asked again
    tracker = retention.tracker_from_env()
    try:
        erase_person(db, party_id, actor, files=files, tracker=tracker)
    except AlreadyErased:
        pass  # a second completion at the same moment: its status step then says 409
    finally:
        if tracker is not None:
            tracker.close()


def _apply(s: Session, row: PrivacyRequestRow, action: str, note: str | None,
           actor: str) -> None:
    if action == "start":
        row.handler = actor
    elif action == "refuse":
        row.answer, row.done_on, row.handler = note, today_cn(), row.handler or actor
    elif action == "renew_link":
        if row.kind not in ("access", "copy"):
            raise Conflict("只有查阅、复制请求有导出文件", "action")
        _new_link(row)
    elif action == "complete":
        _complete(s, row, note, actor)


def _complete(s: Session, row: PrivacyRequestRow, note: str | None, actor: str) -> None:
    if row.kind == "correction" and not note:
        raise ValidationError("note", "请写明已更正的内容（经客户信息变更办理）")
    if row.kind == "deletion":
        note = "\n".join(t for t in (note, _retention(s, row.party_id)) if t)
    if row.kind in ("access", "copy"):
        _new_link(row)
    row.answer, row.done_on, row.handler = note, today_cn(), row.handler or actor


def _new_link(row: PrivacyRequestRow) -> None:
    row.link_revision = (row.link_revision or 0) + 1
    row.link_expires_at = clock.utcnow() + link_lifetime()


def _lock(s: Session, request_no: str) -> None:
    """The write lock before the read: of two steps at once, the second sees the first's."""
    s.execute(update(PrivacyRequestRow).where(PrivacyRequestRow.request_no == request_no)
              .values(status=PrivacyRequestRow.status))


def _retention(s: Session, party_id: int) -> str:
    claims = s.execute(select(ClaimRow.claim_no, ClaimRow.closed_on).where(
        ClaimRow.insured_party_id == party_id).order_by(ClaimRow.id)).all()
    return pr.retention_text([(c, d) for c, d in claims], archive_years(), today_cn())


# ---- views -----------------------------------------------------------------------------------

def load(s: Session, request_no: str) -> PrivacyRequestRow:
    row = s.execute(select(PrivacyRequestRow).where(
        PrivacyRequestRow.request_no == request_no)).scalar()
    if row is None:
        raise NotFound(f"个人信息请求 {request_no[:40]} 不存在", "privacy_request_no")
    return row


def _steps(s: Session, row: PrivacyRequestRow) -> list[dict[str, Any]]:
    entries = s.execute(select(AuditEntry).where(
        AuditEntry.entity_type == ENTITY, AuditEntry.entity_id == row.request_no)
        .order_by(AuditEntry.id)).scalars()
    return [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
             "status": (e.after or {}).get("status"), "note": (e.after or {}).get("note")}
            for e in entries]


def summary(row: PrivacyRequestRow, party: Party | None, today: date | None = None,
            pii: bool = True) -> dict[str, Any]:
    """`party` None: the person was erased (the request itself is kept as the answer's
    record)."""
    today = today or today_cn()
    d = pr.deadline(row.due_on, today, row.done_on)
    export = None
    if row.link_expires_at is not None and row.kind in ("access", "copy"):
        export = {"revision": row.link_revision, "expires_at": row.link_expires_at.isoformat(),
                  "expired": clock.utcnow() >= row.link_expires_at}
    return {
        "privacy_request_no": row.request_no, "kind": row.kind,
        "kind_name": pr.KIND_NAMES[row.kind], "channel": row.channel,
        "status": row.status, "status_name": pr.STATUS_NAMES[row.status],
        "party": _person(party, pii),
        "verified_by": row.verified_by, "details": row.details,
        "user_channel": row.user_channel, "channel_user": row.channel_user,
        "received_at": row.received_at.isoformat(), "received_by": row.received_by,
        "due_by": row.due_on.isoformat(),
        "clock": {"due": d.due.isoformat(), "breached": d.breached,
                  "done_on": d.done_on.isoformat() if d.done_on else None,
                  "text": pr.clock_text(d, today), "basis": d.basis},
        "overdue": d.breached and d.done_on is None,
        "handler": row.handler, "answer": row.answer,
        "done_on": row.done_on.isoformat() if row.done_on else None,
        "export": export,
        "allowed_actions": list(pr.allowed_actions(row.status, row.kind)),
    }


def _person(party: Party | None, pii: bool) -> dict[str, str]:
    if party is None:
        return {"id_number": "（已删除）", "name": "（已删除）"}
    return {"id_number": party.id_number if pii else mask_id_number(party.id_number),
            "name": party.name if pii else mask_name(party.name)}


def view(s: Session, row: PrivacyRequestRow) -> dict[str, Any]:
    out = summary(row, s.get(Party, row.party_id))
    out["steps"] = _steps(s, row)
    if row.kind == "deletion":
        out["retention"] = _retention(s, row.party_id)
    return out


class PrivacyRequestRef(Command):
    privacy_request_no: Reference


@takes(PrivacyRequestRef)
def get(db: Database, cmd: PrivacyRequestRef, actor: str = "") -> dict[str, Any]:
    with db.read() as s:
        return view(s, load(s, cmd.privacy_request_no))


class PrivacyRequestQuery(Command):
    """The queue: open requests (received, in progress) by default, nearest due first."""

    status: OneOf((*pr.STATUSES, "open", "all")) = "open"
    kind: OneOf(pr.KINDS) | None = None
    overdue: Flag = False
    id_number: IdNumber | None = None
    limit: Count(1000) = 200

    @field_validator("status", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any) -> Any:
        return "open" if value in ("", None) else value

    @field_validator("kind", "id_number", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


@takes(PrivacyRequestQuery)
def search(db: Database, cmd: PrivacyRequestQuery, actor: str = "") -> list[dict[str, Any]]:
    today = today_cn()
    with db.read() as s:
        stmt = (select(PrivacyRequestRow, Party)
                .outerjoin(Party, Party.id == PrivacyRequestRow.party_id)
                .order_by(PrivacyRequestRow.due_on, PrivacyRequestRow.id))
        if cmd.status == "open" or cmd.overdue:
            stmt = stmt.where(PrivacyRequestRow.status.in_(pr.OPEN))
        elif cmd.status != "all":
            stmt = stmt.where(PrivacyRequestRow.status == cmd.status)
        if cmd.overdue:
            stmt = stmt.where(PrivacyRequestRow.due_on < today)
        if cmd.kind:
            stmt = stmt.where(PrivacyRequestRow.kind == cmd.kind)
        if cmd.id_number:
            stmt = stmt.where(Party.id_number_hash == keyed_hash("id_number", cmd.id_number))
        return [summary(r, p, today) for r, p in s.execute(stmt.limit(cmd.limit)).all()]


# ---- the export --------------------------------------------------------------------------------

def export_url(secret: str, answer: dict[str, Any]) -> str | None:
    """The signed link to a request's export, for staff to hand over (None: none open)."""
    export = answer.get("export")
    if not export or export["expired"]:
        return None
    return pr.link(secret, answer["privacy_request_no"], export["revision"],
                   datetime.fromisoformat(export["expires_at"]))


def link_state(db: Database, request_no: str) -> tuple[int | None, datetime | None]:
    """The revision and expiry signed into the request's current link; (None, None) when the
    request does not exist or has no export (its link is refused like a forged one)."""
    with db.read() as s:
        found = s.execute(select(PrivacyRequestRow.link_revision,
                                 PrivacyRequestRow.link_expires_at, PrivacyRequestRow.kind)
                          .where(PrivacyRequestRow.request_no == request_no)).first()
    if found is None or found[1] is None or found[2] not in ("access", "copy"):
        return None, None
    return int(found[0]), found[1]


def build_export(db: Database, files: DocumentStore, request_no: str) -> bytes:
    """The ZIP of a request's export: `data.json` and `documents/<id>-<name>`; its serving
    is written to the access log (record `privacy_request`, door `link`) in the same step."""
    with db.transaction() as s:
        row = load(s, request_no)
        party = s.get(Party, row.party_id)
        if party is None:  # erased since: nothing is held any more
            raise NotFound("该客户的个人信息已删除", "privacy_request_no")
        found = personal_data.holdings(s, party)
        docs = next(h.rows for h in found if h.table == "claim_documents")
        s.add(AccessLogEntry(staff="data_subject", role="data_subject",
                             record_kind=ENTITY, record_id=row.request_no, door="link",
                             purpose="/privacy-exports/{request_no}", with_work=True))
        data = {"request": {"privacy_request_no": row.request_no, "kind": row.kind,
                            "exported_at": clock.utcnow().isoformat()},
                "tables": personal_data.as_json(found)}
        stored = [(d.id, d.filename, d.storage_path) for d in docs]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=1))
        for doc_id, filename, path in stored:
            z.writestr(f"documents/{doc_id}-{_safe_name(filename)}", files.read(path))
    return buffer.getvalue()


def _safe_name(filename: str) -> str:
    """A file name that cannot climb out of the ZIP's folder."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip(". ") or "document"
    return name[:120]

