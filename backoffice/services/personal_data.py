"""Everything the platform holds about one person, table by table: the one walk that the
data subject's export (查阅、复制) reads and that a retention or erasure job can delete or
anonymise by, so that the two never disagree on what "about the person" means.

`holdings(s, party)` lists, per table, the rows that belong to the party: the party itself and
its update history, channel bindings, policies they hold or are insured by (and their
beneficiary lines), roster memberships, beneficiary lines naming their ID number, claims of
which they are the insured with every claim table under them, tasks, appeals, complaints about
their claims or made from their phone, home visits for them, conversations of their bound
channel users or their phone with the transcripts (a phone counts only when no other party
has it: `own_phone`), satisfaction ratings of those subjects,
notifications sent to them, audit entries about them, the access-log entries about their
records, their own data-subject requests, and consents when a `consents` table exists. Rows are
listed in an order a deleting job can follow children first (`reversed(...)`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, and_, false, or_, select
from sqlalchemy.orm import Session

from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import (
    AccessLogEntry,
    AppealRow,
    AuditEntry,
    Base,
    Beneficiary,
    ChannelBinding,
    ClaimDocument,
    ClaimEvent,
    ClaimFlag,
    ClaimPause,
    ClaimPayment,
    ClaimRequirement,
    ClaimRow,
    ComplaintEvent,
    ComplaintRow,
    Conversation,
    ConversationMessage,
    DocumentReading,
    HomeVisit,
    Letter,
    Notification,
    Party,
    PartyUpdate,
    PolicyRow,
    PrivacyRequestRow,
    RosterMember,
    SatisfactionRow,
    Task,
)


@dataclass
class Holding:
    """The rows of one table that belong to the person."""

    table: str
    rows: list[Any] = field(default_factory=list)


def _all(s: Session, stmt: Any) -> list[Any]:
    return list(s.execute(stmt).scalars())


def _ids(rows: Iterable[Any]) -> list[int]:
    return [r.id for r in rows]


def _in(column: Any, values: Sequence[Any]) -> Any:
    return column.in_(values) if values else false()


def own_phone(s: Session, party: Party) -> str | None:
    """The party's phone when it is theirs alone: a number a family shares (one phone for a
    household, a village head's for a roster) proves nothing about whose words or cases are
    held under it, so rows found only by such a number are not counted as this person's."""
    if not party.phone:
        return None
    sharing = s.execute(select(Party.id).where(Party.phone_hash == party.phone_hash).limit(2)).all()
    return party.phone if len(sharing) == 1 else None


def holdings(s: Session, party: Party) -> list[Holding]:
    """Every table's rows about `party`, parents before children."""
    phone = own_phone(s, party)
    out: list[Holding] = [Holding("parties", [party])]
    add = out.append
    add(Holding("party_updates", _all(s, select(PartyUpdate).where(
        PartyUpdate.party_id == party.id).order_by(PartyUpdate.id))))
    bindings = _all(s, select(ChannelBinding).where(ChannelBinding.party_id == party.id))
    add(Holding("channel_bindings", bindings))
    policies = _all(s, select(PolicyRow).where(or_(
        PolicyRow.insured_party_id == party.id, PolicyRow.applicant_party_id == party.id))
        .order_by(PolicyRow.id))
    add(Holding("policies", policies))
    add(Holding("beneficiaries", _all(s, select(Beneficiary).where(or_(
        Beneficiary.id_number_hash == party.id_number_hash,
        _in(Beneficiary.policy_id, _ids(policies)))).order_by(Beneficiary.id))))
    add(Holding("roster_members", _all(s, select(RosterMember).where(
        RosterMember.party_id == party.id).order_by(RosterMember.id))))
    claims = _all(s, select(ClaimRow).where(ClaimRow.insured_party_id == party.id)
                  .order_by(ClaimRow.id))
    out += _claim_holdings(s, claims)
    complaints = _complaints(s, phone, claims)
    add(Holding("complaints", complaints))
    add(Holding("complaint_events", _all(s, select(ComplaintEvent).where(
        _in(ComplaintEvent.complaint_id, _ids(complaints))).order_by(ComplaintEvent.id))))
    add(Holding("tasks", _all(s, select(Task).where(or_(
        Task.party_id == party.id, _in(Task.claim_id, _ids(claims)))).order_by(Task.id))))
    add(Holding("home_visits", _all(s, select(HomeVisit).where(or_(
        HomeVisit.id_number_hash == party.id_number_hash,
        HomeVisit.phone_hash == keyed_hash("phone", phone)
        if phone else false())).order_by(HomeVisit.id))))
    conversations = _conversations(s, phone, bindings)
    add(Holding("conversations", conversations))
    add(Holding("conversation_messages", _all(s, select(ConversationMessage).where(
        _in(ConversationMessage.conversation_id, _ids(conversations)))
        .order_by(ConversationMessage.id))))
    add(Holding("satisfaction", _satisfaction(s, claims, complaints, conversations)))
    recipients = [r for r in [phone, *(b.user for b in bindings)] if r]
    add(Holding("notifications", _all(s, select(Notification).where(
        _in(Notification.recipient, recipients)).order_by(Notification.id))))
    add(Holding("audit_log", _audit(s, party, claims, complaints)))
    add(Holding("access_log", _access_log(s, party, claims, complaints, conversations)))
    add(Holding("privacy_requests", _all(s, select(PrivacyRequestRow).where(
        PrivacyRequestRow.party_id == party.id).order_by(PrivacyRequestRow.id))))
    consents = _consents(s, party)
    if consents is not None:
        add(consents)
    return out


def _claim_holdings(s: Session, claims: list[ClaimRow]) -> list[Holding]:
    ids = _ids(claims)
    docs = _all(s, select(ClaimDocument).where(_in(ClaimDocument.claim_id, ids))
                .order_by(ClaimDocument.id))
    per_claim = [
        Holding(model.__tablename__, _all(s, select(model).where(
            _in(model.claim_id, ids)).order_by(model.id)))
        for model in (ClaimRequirement, ClaimFlag, ClaimPause, ClaimEvent, ClaimPayment,
                      Letter, AppealRow)]
    readings = _all(s, select(DocumentReading).where(
        _in(DocumentReading.document_id, _ids(docs))).order_by(DocumentReading.id))
    return [Holding("claims", claims), Holding("claim_documents", docs),
            Holding("document_readings", readings), *per_claim]


def _complaints(s: Session, phone: str | None, claims: list[ClaimRow]) -> list[ComplaintRow]:
    nos = [c.claim_no for c in claims]
    mine = [_in(ComplaintRow.claim_no, nos)]
    if phone:
        mine.append(ComplaintRow.complainant_phone_hash == keyed_hash("phone", phone))
    return _all(s, select(ComplaintRow).where(or_(*mine)).order_by(ComplaintRow.id))


def _conversations(s: Session, phone: str | None, bindings: list[ChannelBinding]
                   ) -> list[Conversation]:
    mine = [and_(Conversation.channel == b.channel, Conversation.user_id == b.user)
            for b in bindings]
    if phone:
        mine.append(Conversation.phone == phone)
    if not mine:
        return []
    return _all(s, select(Conversation).where(or_(*mine)).order_by(Conversation.id))


def _satisfaction(s: Session, claims: list[ClaimRow], complaints: list[ComplaintRow],
                  conversations: list[Conversation]) -> list[SatisfactionRow]:
    subjects = ([("claim", c.claim_no) for c in claims]
                + [("complaint", c.complaint_no) for c in complaints]
                + [("conversation", str(c.id)) for c in conversations])
    if not subjects:
        return []
    return _all(s, select(SatisfactionRow).where(or_(*(
        and_(SatisfactionRow.subject_type == t, SatisfactionRow.subject_id == i)
        for t, i in subjects))).order_by(SatisfactionRow.id))


def _audit(s: Session, party: Party, claims: list[ClaimRow], complaints: list[ComplaintRow]
           ) -> list[AuditEntry]:
    about = [and_(AuditEntry.entity_type == "party",
                  AuditEntry.entity_id.in_([str(party.id), party.id_number])),
             and_(AuditEntry.entity_type == "claim",
                  _in(AuditEntry.entity_id, [c.claim_no for c in claims])),
             and_(AuditEntry.entity_type == "complaint",
                  _in(AuditEntry.entity_id, [c.complaint_no for c in complaints])),
             and_(AuditEntry.entity_type == "privacy_request",
                  AuditEntry.entity_id.in_(select(PrivacyRequestRow.request_no).where(
                      PrivacyRequestRow.party_id == party.id)))]
    return _all(s, select(AuditEntry).where(or_(*about)).order_by(AuditEntry.id))


def _access_log(s: Session, party: Party, claims: list[ClaimRow],
                complaints: list[ComplaintRow], conversations: list[Conversation]
                ) -> list[AccessLogEntry]:
    docs = s.execute(select(ClaimDocument.id).where(
        _in(ClaimDocument.claim_id, _ids(claims)))).scalars()
    requests = s.execute(select(PrivacyRequestRow.request_no).where(
        PrivacyRequestRow.party_id == party.id)).scalars()
    records = {"party": [party.id_number], "claim": [c.claim_no for c in claims],
               "document": [str(d) for d in docs],
               "complaint": [c.complaint_no for c in complaints],
               "conversation": [str(c.id) for c in conversations],
               "privacy_request": list(requests)}
    return _all(s, select(AccessLogEntry).where(or_(*(
        and_(AccessLogEntry.record_kind == kind, _in(AccessLogEntry.record_id, ids))
        for kind, ids in records.items()))).order_by(AccessLogEntry.id))


def _consents(s: Session, party: Party) -> Holding | None:
    """Consents recorded in the chat, when the schema has them (issue 19, item 1)."""
    table: Table | None = Base.metadata.tables.get("consents")
    if table is None or "party_id" not in table.c:
        return None
    rows = s.execute(select(table).where(table.c.party_id == party.id)).mappings().all()
    return Holding("consents", [dict(r) for r in rows])


# ---- as JSON ---------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None  # never a blob in the export: the files go beside the JSON
    return value


def row_dict(row: Any) -> dict[str, Any]:
    """A row's columns as JSON values (a mapping from a plain table is taken as it is)."""
    if isinstance(row, dict):
        return {k: _plain(v) for k, v in row.items()}
    return {c.key: _plain(getattr(row, c.key)) for c in row.__mapper__.column_attrs}


def as_json(found: list[Holding]) -> dict[str, list[dict[str, Any]]]:
    return {h.table: [row_dict(r) for r in h.rows] for h in found}
