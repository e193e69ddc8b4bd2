"""Retention by purpose, enforced: the scheduler's `privacy_retention` and
`xiaobao privacy retention [--dry-run]` delete what has been kept long enough
(backoffice.domain.retention says how long).

Deleted means gone from every place that holds it: the database rows, Rasa's tracker store (the
SQL tracker store's `events` table, by sender id), and the file or object store. Desk search is
plain SQL over these tables (services/search.py): there is no separate index to purge.

At the end of a claim's archive period the job anonymises it, and finishes the erasure of a
person kept for it (backoffice.services.privacy_erasure.past_archive); the pass that runs both
is backoffice.services.retention_job.

The job works from the state of the data, not from its firing: a re-run finds nothing more to do.
What it reports are counts by purpose, never a name or a number.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from backoffice.domain import claim as cl
from backoffice.domain import retention as rt
from backoffice.services.base import SHANGHAI, audit
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import (
    AppealRow,
    AttemptLimit,
    ClaimDocument,
    ClaimRow,
    ComplaintRow,
    Conversation,
    ConversationMessage,
    DocumentReading,
)

ACTOR = "system:retention"
CLOSED_CLAIM = (cl.CLOSED, cl.WITHDRAWN, cl.REJECTED)


# ---- the rules: the packaged file, or the operator's -------------------------------------

def load_rules(path: str | None = None) -> rt.Rules:
    """The packaged rules, overridden key by key by XIAOBAO_RETENTION_FILE (or `path`)."""
    path = os.environ.get("XIAOBAO_RETENTION_FILE", "") if path is None else path
    base = rt.packaged()
    if not path:
        return base
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError("XIAOBAO_RETENTION_FILE: a JSON object of settings")
    return rt.rules_from(raw, base)


# ---- Rasa's tracker store, without Rasa -----------------------------------------------------

def events_table(schema: str | None = None) -> Table:
    """The SQL tracker store's `events` table, as Rasa declares it (the columns used here)."""
    return Table("events", MetaData(schema=schema or None),
                 Column("id", Integer, primary_key=True), Column("sender_id", String(255)),
                 Column("type_name", String(255)), Column("timestamp", Float),
                 Column("intent_name", String(255)), Column("action_name", String(255)),
                 Column("data", Text))


@dataclass
class TrackerStore:
    """Deletes a sender's events from Rasa's SQL tracker store."""

    engine: Engine
    schema: str | None = None
    table: Table = field(init=False)

    def __post_init__(self) -> None:
        self.table = events_table(self.schema)

    def delete_sender(self, sender_id: str, up_to: datetime | None = None) -> int:
        """The sender's events (up to `up_to` when given: a later conversation keeps its own)."""
        t = self.table
        stmt = delete(t).where(t.c.sender_id == sender_id)
        if up_to is not None:
            stmt = stmt.where(t.c.timestamp <= up_to.timestamp() + 1)
        with self.engine.begin() as conn:
            return int(conn.execute(stmt).rowcount or 0)

    def close(self) -> None:
        self.engine.dispose()

    def senders_mentioning(self, values: Iterable[str]) -> set[str]:
        """Senders with an event whose data holds one of `values` (an erasure's search for
        a person's ID number or phone: rare, so a LIKE over the table is affordable)."""
        t = self.table
        hits = [t.c.data.contains(v, autoescape=True) for v in values if v]
        if not hits:
            return set()
        with self.engine.connect() as conn:
            return set(conn.execute(select(t.c.sender_id).where(or_(*hits)).distinct())
                       .scalars())

    def count_sender(self, sender_id: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self.table)
                                    .where(self.table.c.sender_id == sender_id)).scalar_one())


def tracker_from_env() -> TrackerStore | None:
    """The tracker store `xiaobao rasa` writes to (xiaobao/bot.py): XIAOBAO_RASA_TRACKER_URL
    (schema XIAOBAO_RASA_TRACKER_SCHEMA), else the SQLite file in XIAOBAO_VAR_DIR when there is
    one; None for the in-memory store (nothing outlives a restart)."""
    url = os.environ.get("XIAOBAO_RASA_TRACKER_URL", "")
    if url == "memory":
        return None
    if not url:
        local = Path(os.environ.get("XIAOBAO_VAR_DIR", "var")) / "rasa-tracker.db"
        if not local.is_file():
            return None
        url = f"sqlite:///{local}"
    schema = os.environ.get("XIAOBAO_RASA_TRACKER_SCHEMA", "").strip() or None
    return TrackerStore(create_engine(url), schema)


def sender_of(conv: Conversation) -> str:
    """The sender id the gateway gives Rasa for this conversation (channels.router)."""
    return f"{conv.channel}:{conv.user_id}"


# ---- what is linked to what -----------------------------------------------------------------

def claim_end(row: ClaimRow) -> date | None:
    """The day a claim ended (closed, withdrawn, rejected), None while it is open."""
    if row.status not in CLOSED_CLAIM:
        return None
    return row.closed_on or row.rejected_on or row.decided_on or row.reported_on


def _summary_refs(conv: Conversation, key: str) -> set[str]:
    value = (conv.handoff_summary or {}).get(key)
    return {value} if isinstance(value, str) and value else set()


class OpenidClaims:
    """Which claims the bot reported for each WeChat user (the openid in the claim's facts),
    read once per run rather than once per conversation."""

    def __init__(self) -> None:
        self._by_openid: dict[str, list[int]] | None = None

    def ids(self, s: Session, openid: str) -> list[int]:
        if self._by_openid is None:
            self._by_openid = defaultdict(list)
            for claim_id, value in s.execute(select(
                    ClaimRow.id, ClaimRow.facts["wechat_openid"].as_string()).where(
                    ClaimRow.channel == "wechat")).tuples():
                if value:
                    self._by_openid[value].append(claim_id)
        return self._by_openid.get(openid, [])


def linked_claims(s: Session, conv: Conversation, openids: OpenidClaims | None = None
                  ) -> list[ClaimRow]:
    """Claims the conversation is about: named in its handoff, reported for its WeChat user,
    or reported from its phone number."""
    wanted: list[Any] = []
    if nos := _summary_refs(conv, "claim_no"):
        wanted.append(ClaimRow.claim_no.in_(nos))
    phones = {p for p in (conv.phone, conv.user_id if conv.channel != "wechat" else None) if p}
    if phones:
        wanted.append(ClaimRow.reporter_phone_hash.in_([keyed_hash("phone", p) for p in phones]))
    if conv.channel == "wechat" and (ids := (openids or OpenidClaims()).ids(s, conv.user_id)):
        wanted.append(ClaimRow.id.in_(ids))
    return list(s.execute(select(ClaimRow).where(or_(*wanted))).scalars()) if wanted else []


def linked_complaints(s: Session, conv: Conversation, claim_nos: Iterable[str]
                      ) -> list[ComplaintRow]:
    # a channel user is written bare (the bot) or as its sender id `wechat:<openid>` (the
    # complaints' notices accept both): either is this conversation's user
    wanted: list[Any] = [ComplaintRow.channel_user == sender_of(conv),
                         (ComplaintRow.channel == conv.channel)
                         & (ComplaintRow.channel_user == conv.user_id)]
    if nos := _summary_refs(conv, "complaint_no"):
        wanted.append(ComplaintRow.complaint_no.in_(nos))
    if conv.phone:
        wanted.append(ComplaintRow.complainant_phone_hash == keyed_hash("phone", conv.phone))
    if claim_nos := list(claim_nos):
        wanted.append(ComplaintRow.claim_no.in_(claim_nos))
    return list(s.execute(select(ComplaintRow).where(or_(*wanted))).scalars())


def kept_until(s: Session, conv: Conversation, rules: rt.Rules,
               openids: OpenidClaims | None = None) -> tuple[bool, date | None, bool]:
    """(linked, the last day it is kept as a claim's or complaint's record, still open)."""
    claims = linked_claims(s, conv, openids)
    complaints = linked_complaints(s, conv, [c.claim_no for c in claims])
    ends: list[date | None] = [claim_end(c) for c in claims]
    ends += [c.closed_on for c in complaints]
    if not ends:
        return False, None, False
    if any(e is None for e in ends):
        return True, None, True
    return True, max(rt.archive_until(e, rules) for e in ends if e is not None), False


def last_message_at(s: Session, conv: Conversation) -> datetime:
    last = s.execute(select(func.max(ConversationMessage.created_at)).where(
        ConversationMessage.conversation_id == conv.id)).scalar()
    times = [t for t in (conv.updated_at, conv.last_user_at, conv.closed_at) if t is not None]
    if isinstance(last, datetime):
        times.append(last if last.tzinfo else last.replace(tzinfo=conv.updated_at.tzinfo))
    return max(times)


# ---- the plan: what is due ------------------------------------------------------------------

@dataclass
class Plan:
    conversations: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    documents: list[int] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {rt.TRANSCRIPTS: len(self.conversations[rt.TRANSCRIPTS]),
                rt.LINKED_TRANSCRIPTS: len(self.conversations[rt.LINKED_TRANSCRIPTS]),
                rt.DOCUMENT_FILES: len(self.documents), rt.ATTEMPTS: len(self.attempts)}


def _due_conversations(s: Session, now: datetime, rules: rt.Rules, plan: Plan) -> None:
    cutoff = now - timedelta(days=rules.transcript_days)
    today = now.astimezone(SHANGHAI).date()
    # a conversation touched since the cutoff (and not unsubscribed) cannot be due yet
    candidates = s.execute(select(Conversation).where(or_(
        Conversation.updated_at < cutoff, Conversation.unsubscribed_at < cutoff))
        .order_by(Conversation.id)).scalars()
    openids = OpenidClaims()
    for conv in candidates:
        if not rt.transcript_due(last_message_at(s, conv), conv.unsubscribed_at, now, rules):
            continue
        linked, until, open_case = kept_until(s, conv, rules, openids)
        if not linked:
            plan.conversations[rt.TRANSCRIPTS].append(conv.id)
        elif not open_case and until is not None and today > until:
            plan.conversations[rt.LINKED_TRANSCRIPTS].append(conv.id)


def _due_documents(s: Session, today: date, rules: rt.Rules, plan: Plan) -> None:
    appealing = select(AppealRow.claim_id).where(AppealRow.status == "open")
    rows = s.execute(select(ClaimRow).where(
        ClaimRow.status.in_(CLOSED_CLAIM), ClaimRow.id.not_in(appealing),
        ClaimRow.id.in_(select(ClaimDocument.claim_id).where(ClaimDocument.storage_path != "")))
    ).scalars()
    for row in rows:
        end = claim_end(row)
        if end is not None and today > rt.photo_until(end, rules):
            plan.documents += s.execute(select(ClaimDocument.id).where(
                ClaimDocument.claim_id == row.id, ClaimDocument.storage_path != "")
                .order_by(ClaimDocument.id)).scalars()


def plan(s: Session, now: datetime, rules: rt.Rules) -> Plan:
    due = Plan()
    _due_conversations(s, now, rules, due)
    _due_documents(s, now.astimezone(SHANGHAI).date(), rules, due)
    due.attempts = list(s.execute(select(AttemptLimit.key).where(
        AttemptLimit.last_failure_at < rt.attempts_before(now, rules),
        or_(AttemptLimit.blocked_until.is_(None), AttemptLimit.blocked_until < now))).scalars())
    return due


# ---- deleting -------------------------------------------------------------------------------

def delete_conversations(s: Session, ids: list[int], tracker: TrackerStore | None) -> int:
    """Rows, transcript lines and tracker events of these conversations; the tracker events of
    a sender who still has another conversation go only up to this one's last message."""
    events = 0
    for conv in s.execute(select(Conversation).where(Conversation.id.in_(ids))).scalars():
        last = last_message_at(s, conv)
        s.execute(delete(ConversationMessage).where(ConversationMessage.conversation_id == conv.id))
        s.delete(conv)
        s.flush()
        if tracker is not None:
            others = s.execute(select(Conversation.id).where(
                Conversation.channel == conv.channel, Conversation.user_id == conv.user_id)
                .limit(1)).first()
            events += tracker.delete_sender(sender_of(conv), last if others else None)
    return events


def drop_files(s: Session, ids: list[int], files: Any, actor: str) -> int:
    """Delete the files of these documents; the rows keep sha256, kind and the read fields
    (`storage_path` "" says the original is gone). A file another kept document shares (the
    store is content-addressed) stays until that one goes too."""
    docs = list(s.execute(select(ClaimDocument).where(ClaimDocument.id.in_(ids))).scalars())
    paths = {d.storage_path for d in docs}
    shared = set(s.execute(select(ClaimDocument.storage_path).where(
        ClaimDocument.storage_path.in_(paths), ClaimDocument.id.not_in(ids))).scalars())
    gone = 0
    for doc in docs:
        if doc.storage_path not in shared:
            gone += bool(files.delete(doc.storage_path))
        doc.storage_path = ""
    # the reading's whole text held everything on the page: only its fields stay
    s.execute(update(DocumentReading).where(DocumentReading.document_id.in_(ids))
              .values(text=""))
    by_claim: dict[int, list[int]] = defaultdict(list)
    for doc in docs:
        by_claim[doc.claim_id].append(doc.id)
    for claim_id, doc_ids in by_claim.items():
        no = s.execute(select(ClaimRow.claim_no).where(ClaimRow.id == claim_id)).scalar_one()
        audit(s, actor, "claim", no, "document_files_deleted", None, {"documents": doc_ids})
    return gone
