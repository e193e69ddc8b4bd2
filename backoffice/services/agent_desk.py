"""The agents' side of a handed-off conversation, beyond what the router's service offers:
the queue with waiting times, private notes, transfers, closing with a satisfaction request,
and the customer's policies, claims and complaints beside the transcript.

Each public function is one use case (one transaction, or one read).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from backoffice import clock
from backoffice.domain import staff as roles
from backoffice.domain.agent_queue import QUEUE_NAMES, check_queue
from backoffice.domain.errors import Conflict, NotFound, ValidationError
from backoffice.domain.identity import mask_id_number, mask_phone
from backoffice.domain.masking import mask_text
from backoffice.services import conversations, satisfaction
from backoffice.services.base import audit
from backoffice.services.commands import Text, takes
from backoffice.services.conversations import AgentStep, agent_of
from backoffice.services.lookup import policies_for_id_number
from backoffice.store import models
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import (
    AuditEntry,
    ClaimRow,
    ComplaintRow,
    Conversation,
    ConversationMessage,
    Party,
    PolicyRow,
    StaffRow,
)

MAX_NOTE = 2000
TRANSFER_QUEUE = "queue"  # a transfer target: back to its agents' queue, for anyone to take
QUEUE_PREFIX = "queue:"  # a transfer target `queue:<name>`: into another agents' queue
AGENT_ROLES = (roles.CS_AGENT, roles.CLAIMS_SUPERVISOR)


def _seconds_since(at: datetime | None, now: datetime) -> int | None:
    if at is None:
        return None
    if at.tzinfo is None:  # SQLite gives naive UTC back
        at = at.replace(tzinfo=UTC)
    return max(0, int((now - at).total_seconds()))


def queue(db: Database, state: str = "queued", queue: str | None = None
          ) -> list[dict[str, Any]]:
    """The router's conversations in `state` (and agents' `queue`, when given) with how long
    each has waited since it was handed to the agents (the newest handoff or transfer to a
    queue)."""
    items = conversations.list_conversations(db, {"state": state, "queue": queue})
    if not items:
        return items
    ids = [str(c["id"]) for c in items]
    with db.read() as s:
        rows = s.execute(select(AuditEntry.entity_id, func.max(AuditEntry.at)).where(
            AuditEntry.entity_type == "conversation", AuditEntry.entity_id.in_(ids),
            AuditEntry.action.in_(("handoff", "requeue"))).group_by(AuditEntry.entity_id)).all()
    since = {entity_id: at for entity_id, at in rows}
    now = clock.utcnow()
    for item in items:
        at = since.get(str(item["id"]))
        item["waiting_seconds"] = _seconds_since(at, now) if at is not None else None
        item["summary"] = item.get("handoff_summary") or {}
        item["user_masked"] = masked_user(str(item.get("channel")), str(item.get("user") or ""))
    return items


def masked_user(channel: str, user: str) -> str:
    """Who wrote, as the queue shows it: a call's user (numbers in it masked), an openid
    shortened."""
    if channel == "ivr":
        return mask_text(user)
    return user if len(user) <= 10 else f"{user[:4]}…{user[-4:]}"


def _author(agent: Any) -> str:
    if not isinstance(agent, str) or not agent.strip() or len(agent) > 60:
        raise ValidationError("agent", "agent 须为 1 至 60 字的坐席标识")
    return agent.strip()


def _load(s: Session, conversation_id: int) -> Conversation:
    row = s.execute(select(Conversation).where(Conversation.id == conversation_id)
                    .with_for_update()).scalar()
    if row is None:
        raise NotFound(f"会话 {conversation_id} 不存在", "conversation_id")
    return row


def _line(s: Session, conv: Conversation, role: str, text: str, author: str,
          payload: dict[str, Any] | None = None) -> None:
    now = clock.utcnow()
    s.add(ConversationMessage(conversation_id=conv.id, role=role, author=author, text=text,
                              payload=payload, created_at=now))
    conv.updated_at = now


def add_note(db: Database, conversation_id: int, agent: Any, text: Any) -> None:
    """A private note on the conversation: kept in the transcript as `note`, never sent."""
    name = _author(agent)
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_NOTE:
        raise ValidationError("note", f"备注须为 1 至 {MAX_NOTE} 字")
    with db.transaction() as s:
        conv = _load(s, conversation_id)
        _line(s, conv, "note", text.strip(), name)
        audit(s, name, "conversation", str(conv.id), "note")


def _into_queue(s: Session, conv: Conversation, name: str, target: str) -> None:
    """Back into its own queue (`queue`) or into another (`queue:<name>`)."""
    into = conv.queue or "general"
    if target.startswith(QUEUE_PREFIX):
        into = check_queue(target[len(QUEUE_PREFIX):], "target")
    came_from = conv.queue
    conv.state, conv.agent, conv.queue = "queued", None, into
    verb = "转回" if into == came_from else "转入"
    _line(s, conv, "system", f"坐席 {name} 将会话{verb}{QUEUE_NAMES[into]}队列", name)
    audit(s, name, "conversation", str(conv.id), "requeue", {"queue": came_from},
          {"queue": into})


class Transfer(AgentStep):
    """To an agent's username, `queue` (back into its queue) or `queue:<name>`."""

    target: Text(80, blank_ok=False)


@takes(Transfer)
def transfer(db: Database, cmd: Transfer, actor: str) -> dict[str, Any]:
    """Pass a conversation to another agent (a customer-service agent or supervisor), back
    to its queue (`queue`) or into another queue (`queue:<name>`), where any agent may
    take it."""
    name, target = agent_of(cmd, actor), cmd.target
    with db.transaction() as s:
        conv = _load(s, cmd.conversation_id)
        if conv.state not in ("agent", "queued"):
            raise Conflict(f"会话当前状态为 {conv.state}，不能转接", "conversation_id")
        if target == TRANSFER_QUEUE or target.startswith(QUEUE_PREFIX):
            _into_queue(s, conv, name, target)
        else:
            person = s.execute(select(StaffRow).where(StaffRow.username == target)).scalar()
            if person is None or person.role not in AGENT_ROLES or not person.active:
                raise ValidationError("target", f"{target} 不是可接待会话的坐席")
            if target == conv.agent:
                raise Conflict("会话已由该坐席接待", "target")
            conv.state, conv.agent = "agent", target
            _line(s, conv, "system", f"坐席 {name} 将会话转给 {target}", name)
            audit(s, name, "conversation", str(conv.id), "transfer", None,
                  {"to": target, "queue": conv.queue})
        return {"id": conv.id, "state": conv.state, "agent": conv.agent, "queue": conv.queue}


class Closing(AgentStep):
    disposition: Text(60, blank_ok=False)


@takes(Closing)
def close(db: Database, cmd: Closing, actor: str) -> dict[str, Any]:
    """Close with a disposition, then ask the customer for a rating of the agent (the one
    who had it, else whoever closed it)."""
    closer = str(actor) if isinstance(actor, roles.Actor) and actor.is_staff \
        else cmd.agent or str(actor)
    closed = conversations.close(db, cmd.conversation_id, cmd.disposition, closer)
    asked = satisfaction.ask_after_conversation(
        db, str(closed["id"]), closed["channel"], closed["user"], closed["agent"] or closer)
    return {**closed, "satisfaction_asked": asked}


def agents(db: Database) -> list[str]:
    """Who a conversation may be transferred to."""
    with db.read() as s:
        return list(s.execute(select(StaffRow.username).where(
            StaffRow.role.in_(AGENT_ROLES), StaffRow.active.is_(True))
            .order_by(StaffRow.username)).scalars())


# ---- the customer beside the transcript -----------------------------------------------------

def _bound_party(s: Session, channel: str, user: str) -> int | None:
    """The party the channel user proved to be (the bindings of BRIEF interface 4, table
    `channel_bindings`), when that part of the back office is installed."""
    binding = getattr(models, "ChannelBinding", None)
    if binding is None:
        return None
    return s.execute(select(binding.party_id).where(
        binding.channel == channel, binding.user == user)).scalar()


def _party_ids(s: Session, conv: Conversation, summary: dict[str, Any]) -> set[int]:
    """The customer: bound to the channel user, else whose phone the caller's is, else the
    insured of the policy or claim the bot was told about (those only matched: `customer`
    says they are not identified)."""
    found: set[int] = set()
    bound = _bound_party(s, conv.channel, conv.user_id)
    if bound is not None:
        return {bound}
    if conv.phone:
        found.update(s.execute(select(Party.id).where(
            Party.phone_hash == keyed_hash("phone", conv.phone))).scalars())
    policy_no, claim_no = summary.get("policy_no"), summary.get("claim_no")
    if isinstance(policy_no, str) and policy_no:
        found.update(s.execute(select(PolicyRow.insured_party_id).where(
            PolicyRow.policy_no == policy_no, PolicyRow.kind != "group")).scalars())
    if isinstance(claim_no, str) and claim_no:
        found.update(s.execute(select(ClaimRow.insured_party_id).where(
            ClaimRow.claim_no == claim_no)).scalars())
    return {p for p in found if p is not None}


def _claims(s: Session, party_ids: set[int], summary: dict[str, Any]) -> list[ClaimRow]:
    wanted = [ClaimRow.insured_party_id.in_(party_ids)] if party_ids else []
    if isinstance(summary.get("claim_no"), str):
        wanted.append(ClaimRow.claim_no == summary["claim_no"])
    if not wanted:
        return []
    return list(s.execute(select(ClaimRow).where(or_(*wanted))
                          .order_by(ClaimRow.id.desc()).limit(20)).scalars())


def _complaints(s: Session, conv: Conversation, phones: list[str],
                claim_nos: list[str]) -> list[ComplaintRow]:
    wanted = [ComplaintRow.channel_user == conv.user_id]
    if phones:
        wanted.append(ComplaintRow.complainant_phone_hash.in_(
            [keyed_hash("phone", p) for p in phones]))
    if claim_nos:
        wanted.append(ComplaintRow.claim_no.in_(claim_nos))
    return list(s.execute(select(ComplaintRow).where(or_(*wanted))
                          .order_by(ComplaintRow.id.desc()).limit(20)).scalars())


def _policies(db: Database, id_numbers: list[str]) -> list[dict[str, Any]]:
    return [{"policy_no": p["policy_no"], "product_name": p["product_name"],
             "status_text": p["status_text"]}
            for id_number in id_numbers
            for p in policies_for_id_number(db, {"id_number": id_number}, "desk")]


def customer(db: Database, conversation_id: int, *, pii: bool) -> dict[str, Any]:
    """Who the customer is (bound party, phone, or the policy/claim the bot was told), with
    their policies, claims and complaints; ID and phone numbers masked unless `pii`."""
    def phone_view(value: str | None) -> str:
        return (value if pii else mask_phone(value)) if value else ""

    with db.read() as s:
        conv = s.execute(select(Conversation).where(
            Conversation.id == conversation_id)).scalar()
        if conv is None:
            raise NotFound(f"会话 {conversation_id} 不存在", "conversation_id")
        summary = conv.handoff_summary if isinstance(conv.handoff_summary, dict) else {}
        party_ids = _party_ids(s, conv, summary)
        parties = list(s.execute(select(Party).where(Party.id.in_(party_ids))).scalars()) \
            if party_ids else []
        claim_rows = _claims(s, party_ids, summary)
        phones = [p.phone for p in parties if p.phone] + ([conv.phone] if conv.phone else [])
        complaint_rows = _complaints(s, conv, phones, [c.claim_no for c in claim_rows])
        people = [{"name": p.name,
                   "id_number": p.id_number if pii else mask_id_number(p.id_number),
                   "phone": phone_view(p.phone)} for p in parties]
        id_numbers = [p.id_number for p in parties]
        claims_view = [{"claim_no": c.claim_no, "status": c.status, "claim_type": c.claim_type,
                        "incident_date": c.incident_date.isoformat()} for c in claim_rows]
        complaints_view = [{"complaint_no": c.complaint_no, "status": c.status,
                            "category": c.category, "due_on": c.due_on.isoformat()}
                           for c in complaint_rows]
        caller = phone_view(conv.phone)
        identified = _bound_party(s, conv.channel, conv.user_id) is not None
    return {"people": people, "phone": caller, "policies": _policies(db, id_numbers),
            "claims": claims_view, "complaints": complaints_view,
            "found": bool(people or claims_view or complaints_view),
            # a caller's number or a number the bot was told matches people; it proves nothing
            "identified": identified}
