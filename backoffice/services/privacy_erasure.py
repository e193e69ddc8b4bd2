"""A deletion request (删除权, 个人信息保护法 Art. 47): `erase_person` anonymises one person.

Removed or replaced: their name, ID number, phone, bank accounts and address (the address
becomes its town); their transcripts and Rasa tracker events; their documents' files (the rows
keep hash, kind and amounts); every other mention of their name, ID or phone number in free
text and JSON (letters, notes, notices, the audit log's before/after). Kept, so that the
statistics do not change: claim amounts, dates, type, status, the town, and the birth year
(the age band; the birth date becomes 1 January of its year).

What a law requires keeping is kept, listed with its until-date: a claim still open or inside
the archive period (backoffice.domain.retention) keeps its own records — the claim row with
the reporter and payee, its documents and letters, its linked transcripts — and the person's
name and ID number on their party, which the claim names; the access log (who looked) is
append-only for 3 years. Everything else goes now. The request workflow calls this.

When the archive period ends, the retention job (`past_archive`) anonymises the claim for
everyone, and finishes the erasure of a person it kept, with this same function.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, String, Text, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from backoffice import clock
from backoffice.domain import access_log as al
from backoffice.domain import policy as pol
from backoffice.domain import retention as rt
from backoffice.domain import scheme as sch
from backoffice.domain.errors import Conflict, NotFound, ValidationError
from backoffice.services import retention
from backoffice.services.base import SHANGHAI, audit
from backoffice.store.db import Database
from backoffice.store.models import (
    AccessLogEntry,
    AppealRow,
    AuditEntry,
    Base,
    ChannelBinding,
    ClaimDocument,
    ClaimEvent,
    ClaimFlag,
    ClaimPayment,
    ClaimRow,
    ComplaintEvent,
    ComplaintRow,
    Conversation,
    ConversationMessage,
    DocumentReading,
    Letter,
    Notification,
    Party,
    PartyUpdate,
    PolicyRow,
    RosterMember,
    SatisfactionRow,
)

MASK = "＊＊"  # never longer than what it replaces (a name has 2+ characters)
ERASED_ID = "ERASED"
# claim-side tables whose rows belong to a claim: kept whole while the claim is held
CLAIM_TABLES = ("claims", "claim_documents", "document_readings", "claim_events", "claim_flags",
                "claim_payments", "letters", "appeals", "claim_requirements", "claim_pauses")
NEVER_SWEPT = frozenset({"access_log", "alembic_version", "apscheduler_jobs"})


@dataclass
class Summary:
    party_id: int
    deleted: dict[str, int] = field(default_factory=dict)
    kept: list[dict[str, Any]] = field(default_factory=list)

    def count(self, what: str, n: int = 1) -> None:
        self.deleted[what] = self.deleted.get(what, 0) + n

    def as_dict(self) -> dict[str, Any]:
        return {"party_id": self.party_id, "deleted": dict(sorted(self.deleted.items())),
                "kept": self.kept}


# ---- replacing the person's values wherever they are written ----------------------------

def spellings(value: str) -> list[str]:
    """A number as people also type it: an ID number grouped 6-8-4, a mobile number 3-4-4,
    by spaces or dashes (the chat keeps what they typed)."""
    cuts = {18: (6, 14), 11: (3, 7)}.get(len(value)) if value.isascii() else None
    if cuts is None:
        return [value]
    a, b = cuts
    return [value, *(sep.join((value[:a], value[a:b], value[b:])) for sep in (" ", "-"))]


def _forms(needles: Iterable[str]) -> list[str]:
    """The values as text, as people group numbers, and as JSON stores non-ASCII text
    (\\uXXXX escapes)."""
    out = set()
    for n in needles:
        out.update(spellings(n))
        out.add(json.dumps(n)[1:-1])
    return sorted(out, key=len, reverse=True)


def scrub(value: Any, needles: list[str]) -> Any:
    """`value` with each needle replaced by MASK, through dicts and lists."""
    if isinstance(value, str):
        for n in needles:
            value = value.replace(n, MASK)
        return value
    if isinstance(value, dict):
        return {scrub(k, needles): scrub(v, needles) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, needles) for v in value]
    return value


def _text_columns(table: Any) -> list[Any]:
    # Text and Unicode are Strings
    return [c for c in table.columns if isinstance(c.type, String | JSON)]


def sweep(s: Session, needles: list[str], skip: dict[str, set[Any]],
          only: dict[str, set[Any]] | None = None) -> int:
    """Every string and JSON column of every table: a row that mentions a needle has it
    replaced. `skip`: per table, the primary keys of rows kept by rule; `only`: when given,
    just these rows (one claim's records). Erasure is rare, so a LIKE over each table is
    affordable; the retention job sweeps only a claim's own rows."""
    forms = _forms(needles)
    changed = 0
    for table in Base.metadata.sorted_tables:
        if table.name in NEVER_SWEPT or (only is not None and not only.get(table.name)):
            continue
        cols = _text_columns(table)
        if not cols:
            continue
        hits = [cast(c, Text).contains(f, autoescape=True) for c in cols for f in forms]
        pk = list(table.primary_key.columns)
        where = [or_(*hits)]
        if only is not None and len(pk) == 1:  # by key: the retention job never scans a table
            where.append(pk[0].in_([k[0] for k in only[table.name]]))
        for row in s.execute(select(table).where(*where)).mappings().all():
            key = tuple(row[c.name] for c in pk)
            if key in skip.get(table.name, set()) or (
                    only is not None and key not in only[table.name]):
                continue
            values = {c.name: scrub(row[c.name], needles) for c in cols
                      if row[c.name] is not None and scrub(row[c.name], needles) != row[c.name]}
            if values:
                s.execute(table.update().where(*(c == k for c, k in zip(pk, key, strict=True)))
                          .values(**values))
                changed += 1
    return changed


# ---- what is held -----------------------------------------------------------------------------

def _held_claims(s: Session, party: Party, today: date, rules: rt.Rules, out: Summary
                 ) -> tuple[list[ClaimRow], list[ClaimRow]]:
    """Their claims: as the insured, or as the reporter (by their phone: a child reporting for
    a parent), split into those held by the archive rule and the others."""
    theirs = ClaimRow.insured_party_id == party.id
    if party.phone:
        theirs = or_(theirs, ClaimRow.reporter_phone_hash == party.phone_hash)
    held, free = [], []
    for row in s.execute(select(ClaimRow).where(theirs).order_by(ClaimRow.id)).scalars():
        end = retention.claim_end(row)
        until = None if end is None else rt.archive_until(end, rules)
        if until is None or today <= until:
            held.append(row)
            out.kept.append({"record": f"claim {row.claim_no}",
                             "until": until.isoformat() if until else None,
                             "why": "理赔案件未结案" if until is None else "理赔档案保存期限",
                             "tables": [*CLAIM_TABLES, "parties"]})
        else:
            free.append(row)
    return held, free


def _complaints(s: Session, party: Party, users: set[str], claim_nos: list[str]
                ) -> list[ComplaintRow]:
    about: list[Any] = []
    if party.phone:
        about.append(ComplaintRow.complainant_phone_hash == party.phone_hash)
    if users:
        about.append(ComplaintRow.channel_user.in_(users))
    if claim_nos:
        about.append(ComplaintRow.claim_no.in_(claim_nos))
    return list(s.execute(select(ComplaintRow).where(or_(*about))).scalars()) if about else []


def _conversations(s: Session, party: Party, bound: list[tuple[str, str]]) -> list[Conversation]:
    """Theirs: on a bound channel user, from their phone, or where they typed their ID number
    or phone (a web chat has neither binding nor phone; the name alone is too common)."""
    about: list[Any] = [(Conversation.channel == c) & (Conversation.user_id == u)
                        for c, u in bound]
    if party.phone:
        about += [Conversation.phone == party.phone, Conversation.user_id == party.phone]
    said = [ConversationMessage.text.contains(form, autoescape=True)
            for v in (party.id_number, party.phone) if v for form in spellings(v)]
    about.append(Conversation.id.in_(select(ConversationMessage.conversation_id)
                                     .where(or_(*said))))
    return list(s.execute(select(Conversation).where(or_(*about))).scalars()) if about else []


# ---- erasing -----------------------------------------------------------------------------

def _anonymise_claim(s: Session, row: ClaimRow) -> None:
    """The claim without anyone in it: amounts, dates, type, status and the town stay."""
    row.reporter_name, row.reporter_phone = MASK, ""
    row.bank_account = row.pending_bank_account = row.pending_bank_account_by = None
    row.description = None
    row.incident_place = sch.town_of(row.incident_place) if row.incident_place else None
    row.facts = {k: v for k, v in (row.facts or {}).items() if k != "wechat_openid"}
    for pay in s.execute(select(ClaimPayment).where(ClaimPayment.claim_id == row.id)).scalars():
        pay.account = None
    for appeal in s.execute(select(AppealRow).where(AppealRow.claim_id == row.id)).scalars():
        appeal.channel_user, appeal.reasons = None, MASK


def _anonymise_party(party: Party, keep_identity: bool) -> None:
    if not keep_identity:
        party.name = MASK
        party.id_number = f"{ERASED_ID}{party.id:012d}"[:18]
        party.birth_date = date(party.birth_date.year, 1, 1)  # the age band stays
        # kept with the identity while a claim holds it: when the claim's archive ends, the
        # retention job's erasure must still find the phone in the claim's records
        party.phone = None
    town = sch.town_of(party.address)
    party.address = None if town == sch.UNKNOWN_TOWN else town  # the town stays
    party.occupation = None


def _documents(s: Session, claims: list[ClaimRow]) -> list[int]:
    if not claims:
        return []
    return list(s.execute(select(ClaimDocument.id).where(
        ClaimDocument.claim_id.in_([c.id for c in claims]),
        ClaimDocument.storage_path != "")).scalars())


def _skip(s: Session, held: list[ClaimRow], complaints: list[ComplaintRow],
          conversations: list[int], party: Party | None, keep_identity: bool
          ) -> dict[str, set[Any]]:
    """Rows the sweep leaves alone: the held claims' records and the kept transcripts."""
    ids = [c.id for c in held]
    skip: dict[str, set[Any]] = {"claims": {(i,) for i in ids}}
    for model, name in ((ClaimDocument, "claim_documents"), (ClaimEvent, "claim_events"),
                        (ClaimFlag, "claim_flags"), (ClaimPayment, "claim_payments"),
                        (Letter, "letters"), (AppealRow, "appeals")):
        skip[name] = {(i,) for i in s.execute(select(model.id).where(
            model.claim_id.in_(ids))).scalars()}
    skip["document_readings"] = {(i,) for i in s.execute(select(DocumentReading.id).join(
        ClaimDocument, ClaimDocument.id == DocumentReading.document_id).where(
        ClaimDocument.claim_id.in_(ids))).scalars()}
    skip["complaints"] = {(c.id,) for c in complaints}
    skip["complaint_events"] = {(i,) for i in s.execute(select(ComplaintEvent.id).where(
        ComplaintEvent.complaint_id.in_([c.id for c in complaints]))).scalars()}
    skip["conversations"] = {(i,) for i in conversations}
    skip["audit_log"] = {(i,) for i in s.execute(select(AuditEntry.id).where(
        AuditEntry.entity_type == "claim",
        AuditEntry.entity_id.in_([c.claim_no for c in held]))).scalars()}
    if keep_identity and party is not None:
        skip["parties"] = {(party.id,)}
    return skip


def _access_log(s: Session, party: Party, claim_nos: list[str], out: Summary) -> None:
    """Entries naming the person's records cannot change (append-only): listed as kept."""
    last = s.execute(select(AccessLogEntry.at).where(or_(
        AccessLogEntry.record_id.in_([party.id_number, str(party.id), *claim_nos])))
        .order_by(AccessLogEntry.at.desc()).limit(1)).scalar()
    if last is not None:
        until = (last + al.RETENTION).astimezone(SHANGHAI).date()
        out.kept.append({"record": "access_log", "until": until.isoformat(),
                         "why": "个人信息访问记录（只增不改，保存 3 年）",
                         "tables": ["access_log"]})


def _other_tracker_events(s: Session, bound: list[tuple[str, str]], kept: list[int],
                          tracker: retention.TrackerStore | None, values: list[str]) -> int:
    """A bound sender's tracker events beyond its conversations' (the bot's own turns before
    the first stored line), and those of any sender whose events hold the ID number or phone,
    unless a kept transcript is that sender's."""
    if tracker is None:
        return 0
    keep = {f"{c.channel}:{c.user_id}" for c in s.execute(select(Conversation).where(
        Conversation.id.in_(kept))).scalars()} if kept else set()
    # and any sender whose events hold their ID number or phone (no stored line needed)
    senders = {f"{c}:{u}" for c, u in bound} | tracker.senders_mentioning(values)
    return sum(tracker.delete_sender(sender) for sender in sorted(senders - keep))


def _split_complaints(complaints: list[ComplaintRow], held: list[ClaimRow], today: date,
                      rules: rt.Rules, out: Summary) -> list[ComplaintRow]:
    """The complaints kept by rule (open, within the archive, or about a held claim), listed;
    the others lose the complainant here (their free text goes in the sweep)."""
    held_nos = {h.claim_no for h in held}
    kept = []
    for c in complaints:
        until = rt.archive_until(c.closed_on, rules) if c.closed_on else None
        if c.claim_no in held_nos or until is None or today <= until:
            kept.append(c)
            out.kept.append({"record": f"complaint {c.complaint_no}",
                             "until": until.isoformat() if until else None,
                             "why": "投诉未办结" if until is None else "投诉档案保存期限",
                             "tables": ["complaints", "complaint_events"]})
        else:
            c.complainant_name, c.complainant_phone, c.channel_user = MASK, "", None
    return kept


def _split_conversations(s: Session, party: Party, bound: list[tuple[str, str]], today: date,
                         rules: rt.Rules, out: Summary) -> tuple[list[int], list[int]]:
    """(kept, to delete): a transcript linked to a claim or complaint still kept is kept."""
    kept, gone = [], []
    for conv in _conversations(s, party, bound):
        linked, until, open_case = retention.kept_until(s, conv, rules)
        if linked and (open_case or (until is not None and today <= until)):
            kept.append(conv.id)
            out.kept.append({"record": f"conversation {conv.id}",
                             "until": until.isoformat() if until else None,
                             "why": "关联理赔或投诉的档案",
                             "tables": ["conversations", "conversation_messages"]})
        else:
            gone.append(conv.id)
    return kept, gone


def _unlink(s: Session, party: Party, out: Summary) -> None:
    """The channel bindings, the history of their changes, the policies' debit accounts."""
    bindings = list(s.execute(select(ChannelBinding).where(
        ChannelBinding.party_id == party.id)).scalars())
    for b in bindings:
        s.delete(b)
    out.count("channel_bindings", len(bindings))
    updates = list(s.execute(select(PartyUpdate).where(PartyUpdate.party_id == party.id))
                   .scalars())
    for u in updates:
        s.delete(u)
    out.count("party_updates", len(updates))
    for policy in s.execute(select(PolicyRow).where(
            PolicyRow.applicant_party_id == party.id)).scalars():
        policy.debit_account = None


def in_force(s: Session, party: Party, today: date) -> list[tuple[str, date | None]]:
    """The policies still covering or binding the person on `today` (insured, applicant or a
    member of a group's roster): what performing them needs is kept until they end (个人信息
    保护法 第13条第2项, 第47条), so the person is not erased before."""
    running = and_(PolicyRow.status.in_(pol.COVERED),
                   or_(PolicyRow.end_date.is_(None), PolicyRow.end_date >= today))
    own = select(PolicyRow.policy_no, PolicyRow.end_date).where(running, or_(
        PolicyRow.insured_party_id == party.id, PolicyRow.applicant_party_id == party.id))
    member = select(PolicyRow.policy_no, PolicyRow.end_date).join(
        RosterMember, RosterMember.policy_id == PolicyRow.id).where(
        running, RosterMember.party_id == party.id,
        or_(RosterMember.status == "active", RosterMember.ended_on >= today))
    found = {(no or "", end) for no, end in s.execute(own.union(member)).tuples()}
    return sorted(found, key=lambda policy: policy[0])


def _not_in_force(s: Session, party: Party, today: date) -> None:
    covering = in_force(s, party, today)
    if covering:
        named = "、".join(f"{no}（至 {end}）" if end else no for no, end in covering)
        raise Conflict(f"该客户仍在保单 {named} 的保障期内：履行保险合同所需的信息须保留至保障"
                       "终止，届时方可删除", "party_id")


def _checked(party_id: object, actor: str) -> int:
    if not isinstance(party_id, int) or isinstance(party_id, bool) or party_id <= 0:
        raise ValidationError("party_id", "party_id 须为正整数")
    if not actor:
        raise ValidationError("actor", "须说明由谁执行删除")
    return party_id


class AlreadyErased(Conflict):
    """The person was erased already (by another request meanwhile, or before)."""


def _load(s: Session, party_id: int) -> Party:
    party = s.get(Party, party_id, with_for_update=True)
    if party is None:
        raise NotFound(f"当事人 {party_id} 不存在", "party_id")
    if party.id_number.startswith(ERASED_ID):
        raise AlreadyErased("该当事人已删除", "party_id")
    return party


def erase_person(db: Database, party_id: int, actor: str, *, files: Any = None,
                 tracker: retention.TrackerStore | None = None, now: datetime | None = None,
                 rules: rt.Rules | None = None) -> dict[str, Any]:
    """Anonymise party `party_id` in one transaction (the files and tracker events, outside
    the database, are deleted on the way: a failed erasure is simply asked again). The
    summary: what was deleted (counts), what is kept, why and until when."""
    party_id = _checked(party_id, actor)
    now, rules = now or clock.utcnow(), rules or retention.load_rules()
    today = now.astimezone(SHANGHAI).date()
    out = Summary(party_id)
    with db.transaction() as s:
        party = _load(s, party_id)
        _not_in_force(s, party, today)
        needles = [v for v in (party.id_number, party.phone, party.name) if v and len(v) >= 2]
        held, free = _held_claims(s, party, today, rules, out)
        docs = _documents(s, free)
        if docs and files is None:  # before anything is deleted
            raise ValidationError("files", "删除材料原件须配置材料存储")
        bound = list(s.execute(select(ChannelBinding.channel, ChannelBinding.user).where(
            ChannelBinding.party_id == party.id)).tuples())
        claim_nos = [c.claim_no for c in held + free]
        kept_complaints = _split_complaints(
            _complaints(s, party, {u for _, u in bound} | {f"{c}:{u}" for c, u in bound},
                        claim_nos), held, today, rules, out)
        kept_convs, gone_convs = _split_conversations(s, party, bound, today, rules, out)
        out.count("tracker_events", retention.delete_conversations(s, gone_convs, tracker))
        out.count("tracker_events", _other_tracker_events(
            s, bound, kept_convs, tracker,
            [f for v in (party.id_number, party.phone) if v for f in spellings(v)]))
        out.count("conversations", len(gone_convs))
        out.count("document_files", retention.drop_files(s, docs, files, actor) if docs else 0)
        for row in free:
            _anonymise_claim(s, row)
        out.count("claims_anonymised", len(free))
        _unlink(s, party, out)
        _access_log(s, party, claim_nos, out)
        skip = _skip(s, held, kept_complaints, kept_convs, party, bool(held))
        _anonymise_party(party, keep_identity=bool(held))
        s.flush()
        out.count("rows_scrubbed", sweep(s, needles, skip))
        audit(s, actor, "party", str(party.id), "erased", None, out.as_dict())
    return out.as_dict()


# ---- the end of the archive period: the retention job's part -------------------------------

def _claims_past_archive(s: Session, today: date, rules: rt.Rules) -> list[ClaimRow]:
    """Closed claims whose archive period is over and which still name someone."""
    # a superset in SQL (a year has at least 365 days), the exact rule below
    ended = func.coalesce(ClaimRow.closed_on, ClaimRow.rejected_on, ClaimRow.decided_on,
                          ClaimRow.reported_on)
    rows = s.execute(select(ClaimRow).where(
        ClaimRow.status.in_(retention.CLOSED_CLAIM), ClaimRow.reporter_name != MASK,
        ended < today - timedelta(days=365 * rules.claim_archive_years))).scalars()
    out = []
    for row in rows:
        end = retention.claim_end(row)
        if end is not None and today > rt.archive_until(end, rules):
            out.append(row)
    return out


def _forget_in_claim(s: Session, row: ClaimRow) -> None:
    """The claim anonymised, and the names and numbers of its insured and reporter replaced in
    its own records (documents' names and read fields, events, letters, its audit entries):
    the insured may still be a customer, but this claim no longer holds anyone."""
    insured = s.get(Party, row.insured_party_id)
    values = [row.reporter_name, row.reporter_phone]
    if insured is not None:
        values += [insured.name, insured.id_number, insured.phone or ""]
    needles = [v for v in values if v and len(v) >= 2 and v != MASK
               and not v.startswith(ERASED_ID)]
    # the claim's own rows, as an erasure of a held claim would leave them alone
    own = {k: v for k, v in _skip(s, [row], [], [], None, False).items()
           if k not in ("complaints", "complaint_events", "conversations")}
    # and the messages sent about it, and its satisfaction question (the phone asked)
    own["notifications"] = {(i,) for i in s.execute(select(Notification.id).where(
        Notification.dedupe_key.contains(row.claim_no, autoescape=True))).scalars()}
    own["satisfaction"] = {(i,) for i in s.execute(select(SatisfactionRow.id).where(
        SatisfactionRow.subject_type == "claim",
        SatisfactionRow.subject_id == row.claim_no)).scalars()}
    _anonymise_claim(s, row)
    s.flush()
    if needles:
        sweep(s, needles, {}, only=own)


def _waiting_erasures(s: Session, today: date, rules: rt.Rules) -> list[int]:
    """People whose erasure kept their identity for their claims, none of which is held any
    more (each closed and past its archive period): their erasure is finished now."""
    erased = {int(i) for i in s.execute(select(AuditEntry.entity_id).where(
        AuditEntry.entity_type == "party", AuditEntry.action == "erased")).scalars()
        if i.isdigit()}
    due = []
    for party_id in sorted(erased):
        party = s.get(Party, party_id)
        if party is None or party.id_number.startswith(ERASED_ID):
            continue
        held, _ = _held_claims(s, party, today, rules, Summary(party_id))
        if not held and not in_force(s, party, today):  # covered again since: kept as any insured
            due.append(party_id)
    return due


def past_archive(db: Database, files: Any, tracker: retention.TrackerStore | None,
                 now: datetime, rules: rt.Rules) -> dict[str, int]:
    """The retention job's end of the archive rule: a claim past its archive period loses
    everyone in it (as an erasure anonymises a claim), and a person whose erasure kept them
    for such a claim is erased now — the same erase_person, which finds nothing held."""
    today = now.astimezone(SHANGHAI).date()
    with db.transaction() as s:
        # an erasure deletes files: without a store it waits for a run that has one
        waiting = _waiting_erasures(s, today, rules) if files is not None else []
        rows = _claims_past_archive(s, today, rules)
        for row in rows:
            _forget_in_claim(s, row)
    done = 0
    for party_id in waiting:
        erase_person(db, party_id, retention.ACTOR, files=files, tracker=tracker, now=now,
                     rules=rules)
        done += 1
    return {"claims_anonymised": len(rows), "erasures_completed": done}
