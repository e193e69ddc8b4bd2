"""Conversations between users and Xiaobao: who owns them (bot, agents' queue, an agent),
their transcripts, and the dedupe keys of channel pushes.

Each public function is one use case in one transaction. The channels' router calls the first
group on every turn; the agents' API calls the second.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import field_validator
from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice import clock
from backoffice.domain.agent_queue import QUEUES, queue_for_handoff
from backoffice.domain.errors import Conflict, NotFound, ValidationError
from backoffice.domain.staff import Actor
from backoffice.services.base import SHANGHAI, audit
from backoffice.services.commands import Command, Count, OneOf, RowId, Text, takes
from backoffice.services.notifications import queue
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import (
    ChannelBinding,
    ChannelDedupe,
    Conversation,
    ConversationMessage,
    Party,
    PlatformInstance,
)

# sms: a customer's SMS reply that answered no question, kept for the agents (channels/sms.py)
CHANNELS = ("wechat", "ivr", "web", "sms")
STATES = ("bot", "queued", "agent", "closed")
HANDOFF_REASONS = ("user_request", "fallback", "anger", "complaint", "backoffice_down",
                   "unsure", "bot_unavailable", "no_input", "sms_message")
MAX_TEXT = 4000
# what became of a user's message to the bot (ConversationMessage.answer_state)
ANSWER_STATES = ("pending", "answered", "queued", "agents")
# how long a message stays its answerer's when the answerer keeps no instance lease (a process
# of an earlier version): then another process may answer it (its own restart answers it at
# once). A process that renews its PlatformInstance lease keeps its messages while it does.
ANSWER_LEASE = timedelta(minutes=10)
# an instance lease: at least a second, at most an hour
LEASE_SECONDS = (1.0, 3600.0)
# a process whose lease ran out this long ago and that left nothing pending is forgotten (a
# name taken by each new container would otherwise stay for good)
FORGET_INSTANCES = timedelta(days=1)
UNANSWERED_BATCH = 500


@dataclass(frozen=True, slots=True)
class Turn:
    """Where a user's message went: the conversation, who owns it now, and the message's id
    (when its answer is tracked)."""

    conversation_id: int
    state: str
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A user's message stored but not answered, as a platform process claimed it."""

    message_id: int
    conversation_id: int
    channel: str
    user: str
    phone: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Lease:
    """A platform process's lease as renewed: its generation (bumped whenever another process
    took over its messages) and, of the messages it said it holds, those taken over."""

    generation: int
    taken: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Delivery:
    """An agent's message to deliver: through which channel, to whom."""

    conversation_id: int
    channel: str
    user: str
    text: str
    phone: str | None


def _key(channel: str, user: str) -> str:
    return f"{channel}:{user}"


def _open(s: Session, channel: str, user: str, phone: str | None = None) -> Conversation:
    row = s.execute(select(Conversation).where(Conversation.open_key == _key(channel, user))
                    .with_for_update()).scalar()
    if row is not None:
        return row
    now = clock.utcnow()
    row = Conversation(channel=channel, user_id=user, open_key=_key(channel, user), state="bot",
                       phone=phone, created_at=now, updated_at=now)
    try:
        with s.begin_nested():  # another process may open the same conversation meanwhile
            s.add(row)
            s.flush()
    except IntegrityError:
        row = s.execute(select(Conversation).where(
            Conversation.open_key == _key(channel, user)).with_for_update()).scalar_one()
    return row


def _say(s: Session, conv: Conversation, role: str, text: str,
         payload: dict[str, Any] | None = None, author: str | None = None
         ) -> ConversationMessage:
    now = clock.utcnow()
    line = ConversationMessage(conversation_id=conv.id, role=role, author=author,
                               text=text[:MAX_TEXT], payload=payload, created_at=now)
    s.add(line)
    conv.updated_at = now
    return line


def _tracking(answerer: str | None, state: str, now: datetime) -> dict[str, Any]:
    """The answer columns of a user's line: pending on `answerer` when the bot owns the
    conversation, the agents' otherwise; untracked without an answerer."""
    if answerer is None:
        return {"answer_state": None, "answerer": None, "lease_until": None}
    if state != "bot":
        return {"answer_state": "agents", "answerer": None, "lease_until": None}
    return {"answer_state": "pending", "answerer": answerer[:100],
            "lease_until": now + ANSWER_LEASE}


def _check_channel(channel: str, user: str) -> None:
    if channel not in CHANNELS:
        raise ValidationError("channel", f"未知渠道 {channel}")
    if not user or len(user) > 80:
        raise ValidationError("user", "用户标识须为 1 至 80 个字符")


# ---- the router's use cases --------------------------------------------------------------------

def user_message(db: Database, channel: str, user: str, text: str,
                 payload: dict[str, Any] | None = None, phone: str | None = None,
                 answerer: str | None = None) -> Turn:
    """Keep the user's message in their open conversation (opened if none) and say who
    answers it: the bot (`bot`) or the agents (`queued`, `agent`). With `answerer` (the
    platform process that answers it) the message stays `pending` until it is answered."""
    _check_channel(channel, user)
    with db.engine.begin() as conn:
        turn = _user_line(conn, channel, user, text, payload, phone, answerer)
    if turn is not None:
        return turn
    with db.transaction() as s:
        return _first_message(s, channel, user, text, payload, phone, answerer)


class _Retry(Exception):
    """The push key was seen before."""


class _NoConversation(Exception):
    """The user has no open conversation yet."""


def user_message_once(db: Database, push_key: str, channel: str, user: str, text: str,
                      payload: dict[str, Any] | None = None, phone: str | None = None,
                      answerer: str | None = None) -> Turn | None:
    """`user_message` and the push's dedupe key in one transaction (one commit per turn
    instead of two); None, and nothing kept, when the key was seen before (a retry)."""
    _check_channel(channel, user)
    try:
        try:
            with db.engine.begin() as conn:
                _seen(conn, push_key)
                turn = _user_line(conn, channel, user, text, payload, phone, answerer)
                if turn is None:
                    raise _NoConversation  # the key goes in with the new conversation
                return turn
        except _NoConversation:
            with db.transaction() as s:
                _seen(s.connection(), push_key)
                return _first_message(s, channel, user, text, payload, phone, answerer)
    except _Retry:
        return None


_CONVERSATIONS = Conversation.__table__
_MESSAGES = ConversationMessage.__table__
_DEDUPE = ChannelDedupe.__table__
# built once: every turn runs them (only the values change)
_STAMP = (update(_CONVERSATIONS).where(_CONVERSATIONS.c.open_key == bindparam("open_"))
          .values(updated_at=bindparam("now_"), last_user_at=bindparam("now_"),
                  phone=func.coalesce(_CONVERSATIONS.c.phone, bindparam("phone_")))
          .returning(_CONVERSATIONS.c.id, _CONVERSATIONS.c.state))
_TOUCH = (update(_CONVERSATIONS).where(_CONVERSATIONS.c.id.in_(bindparam("ids_", expanding=True)))
          .values(updated_at=bindparam("now_")))
_ADD_LINE = insert(_MESSAGES)
_ADD_USER_LINE = insert(_MESSAGES).returning(_MESSAGES.c.id)
_ADD_KEY = insert(_DEDUPE)


def _seen(conn: Connection, push_key: str) -> None:
    """The key stored, or `_Retry`, which rolls the whole transaction back."""
    try:
        conn.execute(_ADD_KEY, {"key": push_key[:160], "created_at": clock.utcnow()})
    except IntegrityError:
        raise _Retry from None


def _line(conversation_id: int, role: str, text: str, payload: dict[str, Any] | None,
          now: datetime) -> dict[str, Any]:
    return {"conversation_id": conversation_id, "role": role, "author": None,
            "text": text[:MAX_TEXT], "payload": payload, "created_at": now}


def _user_line(conn: Connection, channel: str, user: str, text: str,
               payload: dict[str, Any] | None, phone: str | None,
               answerer: str | None = None) -> Turn | None:
    """Every turn passes here, as statements rather than ORM objects: one UPDATE … RETURNING
    both finds the open conversation (locking its row) and stamps it. None when the user has
    no open conversation."""
    now = clock.utcnow()
    found = conn.execute(_STAMP, {"open_": _key(channel, user), "now_": now,
                                  "phone_": phone}).first()
    if found is None:
        return None
    state = str(found[1])
    line = conn.execute(_ADD_USER_LINE, {**_line(found[0], "user", text, payload, now),
                                         **_tracking(answerer, state, now)}).scalar_one()
    return Turn(int(found[0]), state, int(line))


def _first_message(s: Session, channel: str, user: str, text: str,
                   payload: dict[str, Any] | None, phone: str | None,
                   answerer: str | None = None) -> Turn:
    conv = _open(s, channel, user, phone)
    line = _say(s, conv, "user", text, payload)
    for name, value in _tracking(answerer, conv.state, line.created_at).items():
        setattr(line, name, value)
    conv.last_user_at = clock.utcnow()
    if phone and not conv.phone:
        conv.phone = phone
    s.flush()
    return Turn(conv.id, conv.state, line.id)


def bot_messages(db: Database, conversation_id: int, messages: list[dict[str, Any]]) -> Turn:
    """Keep the bot's answer; a handoff payload (BRIEF interface 2) queues the conversation
    for the agents with its reason and summary."""
    with db.transaction() as s:
        conv = _load(s, conversation_id, lock=True)
        for message in messages:
            custom = message.get("custom")
            extra = {k: v for k, v in message.items() if k in ("buttons", "image", "custom")}
            _say(s, conv, "bot", str(message.get("text") or ""), extra or None)
            handoff = custom.get("handoff") if isinstance(custom, dict) else None
            if isinstance(handoff, dict) and conv.state == "bot":
                _queue(s, conv, str(handoff.get("reason") or "unsure"),
                       handoff.get("summary") if isinstance(handoff.get("summary"), dict)
                       else {"text": str(handoff.get("summary") or "")})
        return Turn(conv.id, conv.state)


def handoff_in(messages: list[dict[str, Any]]) -> bool:
    """Whether a bot answer carries a handoff payload (BRIEF interface 2)."""
    return any(isinstance(m.get("custom"), dict) and isinstance(m["custom"].get("handoff"), dict)
               for m in messages)


def bot_lines(db: Database, answers: list[tuple[int, list[dict[str, Any]]]],
              answered: Sequence[int] = ()) -> None:
    """The bot's plain answers (no handoff: nobody's ownership changes) of several turns,
    written together after they were sent: one transaction for the lot, which also marks the
    user's messages they answer (`answered`, message ids) as answered."""
    now = clock.utcnow()
    rows = [_line(cid, "bot", str(m.get("text") or ""),
                  {k: v for k, v in m.items() if k in ("buttons", "image", "custom")} or None,
                  now)
            for cid, messages in answers for m in messages]
    if not rows and not answered:
        return
    with db.engine.begin() as conn:
        if rows:
            conn.execute(_ADD_LINE, rows)
            conn.execute(_TOUCH, {"ids_": sorted({cid for cid, _ in answers}), "now_": now})
        _settle(conn, answered, "answered")


def _settle(conn: Connection, message_ids: Sequence[int], state: str) -> int:
    """Pending user messages marked with what became of them; others are left as they are
    (a message answered twice keeps its first outcome)."""
    if not message_ids:
        return 0
    result = conn.execute(update(_MESSAGES).where(
        _MESSAGES.c.id.in_(sorted(set(message_ids))), _MESSAGES.c.answer_state == "pending")
        .values(answer_state=state, lease_until=None))
    return int(result.rowcount or 0)


def settle(db: Database, message_ids: Sequence[int], state: str) -> int:
    """What became of pending user messages: answered by the bot, queued for an agent, or
    left to the agents who own the conversation; how many were still pending."""
    if state not in ANSWER_STATES or state == "pending":
        raise ValidationError("state", "state 须为 answered、queued 或 agents")
    with db.engine.begin() as conn:
        return _settle(conn, message_ids, state)


_INSTANCES = PlatformInstance.__table__


def renew_lease(db: Database, name: str, generation: int | None, seconds: float,
                held: Sequence[int] = ()) -> Lease:
    """A platform process's lease renewed for `seconds` from now. With the `generation` it
    had, the renewal holds only if nobody took its messages over meanwhile; otherwise (and at
    the first renewal, `generation` None) the process is registered again under the current
    generation, and the answer names which of the messages it `held` another process took
    (they are no longer its to answer)."""
    if not LEASE_SECONDS[0] <= seconds <= LEASE_SECONDS[1]:
        raise ValidationError("seconds", "租约时长须在 1 至 3600 秒之间")
    name = name[:100]
    now = clock.utcnow()
    until = now + timedelta(seconds=seconds)
    row = _INSTANCES.c
    with db.engine.begin() as conn:
        if generation is not None and conn.execute(
                update(_INSTANCES).where(row.name == name, row.generation == generation)
                .values(lease_until=until, renewed_at=now)).rowcount:
            return Lease(generation)
        current = conn.execute(update(_INSTANCES).where(row.name == name)
                               .values(lease_until=until, renewed_at=now)
                               .returning(row.generation)).scalar()
        if current is None:
            conn.execute(insert(_INSTANCES).values(name=name, lease_until=until, generation=1,
                                                   started_at=now, renewed_at=now))
            current = 1
        taken: tuple[int, ...] = ()
        if generation is not None and held:
            taken = tuple(sorted(int(i) for i in conn.execute(
                select(_MESSAGES.c.id).where(_MESSAGES.c.id.in_(sorted(set(held))),
                                             _MESSAGES.c.answerer != name)).scalars()))
    return Lease(int(current), taken)


def unanswered(db: Database, answerer: str, after: int = 0,
               limit: int = UNANSWERED_BATCH, takeover: bool = False) -> list[Unanswered]:
    """Claim the user's messages still pending that `answerer` may answer now, in order,
    after message id `after`: those of processes whose instance lease ran out (taken over:
    their generation is bumped in the same transaction, so such a process, if only slow,
    learns it at its next renewal), those of an answerer that keeps no lease once their own
    lease ran out, and — at start-up, not with `takeover` — its own (a restarted process:
    the one that stored them is gone; it renews its lease first). The claim is one
    UPDATE … RETURNING, so two processes claiming together never claim the same message.
    Pending messages of conversations the agents own (or closed) are left to the agents,
    not returned."""
    me = answerer[:100]
    now = clock.utcnow()
    pending = select(_MESSAGES.c.answerer).where(_MESSAGES.c.answer_state == "pending")
    with db.engine.begin() as conn:
        dead = list(conn.execute(
            update(_INSTANCES).where(_INSTANCES.c.lease_until < now, _INSTANCES.c.name != me,
                                     _INSTANCES.c.name.in_(pending))
            .values(generation=_INSTANCES.c.generation + 1)
            .returning(_INSTANCES.c.name)).scalars())
        if takeover and not after:  # processes gone for a day with nothing left: forgotten
            conn.execute(delete(_INSTANCES).where(
                _INSTANCES.c.lease_until < now - FORGET_INSTANCES,
                _INSTANCES.c.name.not_in(pending.where(_MESSAGES.c.answerer.is_not(None)))))
        unleased = and_(_MESSAGES.c.lease_until < now, _MESSAGES.c.answerer.not_in(
            select(_INSTANCES.c.name)))
        whose = [unleased] + ([_MESSAGES.c.answerer.in_(dead)] if dead else [])
        if not takeover:
            whose.append(_MESSAGES.c.answerer == me)
        claimable = and_(_MESSAGES.c.answer_state == "pending", _MESSAGES.c.id > after,
                         or_(*whose))
        not_bot = select(_CONVERSATIONS.c.id).where(_CONVERSATIONS.c.state != "bot")
        first = (select(_MESSAGES.c.id).where(claimable).order_by(_MESSAGES.c.id).limit(limit)
                 .scalar_subquery())
        conn.execute(update(_MESSAGES).where(claimable, _MESSAGES.c.conversation_id.in_(not_bot))
                     .values(answer_state="agents", lease_until=None))
        claimed = conn.execute(
            update(_MESSAGES).where(claimable, _MESSAGES.c.id.in_(first))
            .values(answerer=me, lease_until=now + ANSWER_LEASE)
            .returning(_MESSAGES.c.id, _MESSAGES.c.conversation_id, _MESSAGES.c.text)).all()
        if not claimed:
            return []
        owners = {row.id: row for row in conn.execute(
            select(_CONVERSATIONS.c.id, _CONVERSATIONS.c.channel, _CONVERSATIONS.c.user_id,
                   _CONVERSATIONS.c.phone).where(
                _CONVERSATIONS.c.id.in_({r.conversation_id for r in claimed})))}
    return [Unanswered(int(r.id), int(r.conversation_id), owners[r.conversation_id].channel,
                       owners[r.conversation_id].user_id, owners[r.conversation_id].phone,
                       str(r.text))
            for r in sorted(claimed, key=lambda r: int(r.id))]


def bot_failed(db: Database, conversation_id: int, reason: str, note: str) -> Turn:
    """The bot could not answer: the note goes into the transcript and the conversation to
    the agents' queue, so the user's message is answered by a person."""
    with db.transaction() as s:
        conv = _load(s, conversation_id, lock=True)
        _say(s, conv, "system", note)
        if conv.state == "bot":
            last = s.execute(select(ConversationMessage.text).where(
                ConversationMessage.conversation_id == conv.id,
                ConversationMessage.role == "user").order_by(
                ConversationMessage.id.desc()).limit(1)).scalar() or ""
            _queue(s, conv, reason, {"text": f"小保暂时无法应答（{note}），客户最后说：{last}",
                                     "intent": "", "slots": {}})
        return Turn(conv.id, conv.state)


def _queue(s: Session, conv: Conversation, reason: str, summary: dict[str, Any]) -> None:
    conv.state = "queued"
    conv.handoff_reason = reason[:30]
    conv.handoff_summary = summary
    conv.agent = None
    conv.queue = queue_for_handoff(conv.handoff_reason, summary, conv.channel)
    audit(s, "bot", "conversation", str(conv.id), "handoff", None,
          {"reason": reason[:30], "queue": conv.queue})


def system_note(db: Database, conversation_id: int, text: str) -> None:
    with db.transaction() as s:
        _say(s, _load(s, conversation_id), "system", text)


def offline_notice(db: Database, channel: str, user: str, text: str, phone: str | None,
                   template: bool) -> None:
    """A reply the channel could not deliver now (WeChat's 48-hour window): queued in the
    outbox, as a template message when one is configured, else by SMS when the phone is
    known; the transcript notes it."""
    via, recipient = ("sms", phone) if phone and not template else ("wechat", user)
    key = hashlib.sha1(f"{channel}:{user}:{text}:{clock.utcnow().isoformat()}".encode())
    with db.transaction() as s:
        queue(s, f"chat:{key.hexdigest()}", via, recipient, "chat_reply", text,
              {"channel": channel})
        row = s.execute(select(Conversation).where(
            Conversation.open_key == _key(channel, user))).scalar()
        if row is not None:
            _say(s, row, "system", f"超出 48 小时客服消息窗口，改由{via}发送")


def first_seen(db: Database, key: str) -> bool:
    """True the first time a push key is seen; False for a retry of the same push."""
    with db.transaction() as s:
        try:
            with s.begin_nested():
                s.add(ChannelDedupe(key=key[:160], created_at=clock.utcnow()))
                s.flush()
        except IntegrityError:
            return False
        return True


def forget_seen_before(db: Database, before: datetime) -> int:
    """Dedupe keys older than WeChat's retry window are of no use any more."""
    with db.transaction() as s:
        result = s.execute(delete(ChannelDedupe).where(ChannelDedupe.created_at < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ---- the agents' use cases ---------------------------------------------------------------------

def _load(s: Session, conversation_id: int, *, lock: bool = False) -> Conversation:
    stmt = select(Conversation).where(Conversation.id == conversation_id)
    if lock:
        stmt = stmt.with_for_update()
    row = s.execute(stmt).scalar()
    if row is None:
        raise NotFound(f"会话 {conversation_id} 不存在", "conversation_id")
    return row


def _at(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat() if value else None


def _summary(conv: Conversation) -> dict[str, Any]:
    return {"id": conv.id, "channel": conv.channel, "user": conv.user_id, "state": conv.state,
            "queue": conv.queue or "general", "agent": conv.agent,
            "handoff_reason": conv.handoff_reason,
            "handoff_summary": conv.handoff_summary, "disposition": conv.disposition,
            "created_at": _at(conv.created_at), "updated_at": _at(conv.updated_at),
            "last_user_at": _at(conv.last_user_at)}


LIST_LIMIT = 100
HISTORY_LIMIT = 500


class ConversationQuery(Command):
    """The agents' list: by who owns the conversations (`state`, `closed` too) and the agents'
    `queue`; the history's filters: `channel`, the customer's `phone` (the number they called
    from or gave, or a channel user bound to a person with that number), `order` (oldest
    activity first, the queue's order; `newest` for the history) and `limit`."""

    state: OneOf(STATES) | None = None
    queue: OneOf(QUEUES) | None = None
    channel: OneOf(CHANNELS) | None = None
    phone: Text(20) | None = None
    order: OneOf(("oldest", "newest")) | None = "oldest"
    limit: Count(HISTORY_LIMIT) | None = LIST_LIMIT

    @field_validator("state", "channel", "order", "limit", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("order", mode="after")
    @classmethod
    def _default_order(cls, value: str | None) -> str:
        return value or "oldest"

    @field_validator("limit", mode="after")
    @classmethod
    def _default_limit(cls, value: int | None) -> int:
        return value or LIST_LIMIT


def _customer_filter(s: Session, phone: str) -> Any:
    """Conversations of the customer with this phone number: by the number itself (a caller,
    an SMS sender, a number given) or by a channel user bound to a person with it."""
    bound = select(ChannelBinding.user).join(Party, Party.id == ChannelBinding.party_id).where(
        Party.phone_hash == keyed_hash("phone", phone))
    return or_(Conversation.phone == phone, Conversation.user_id == phone,
               Conversation.user_id.in_(bound))


@takes(ConversationQuery)
def list_conversations(db: Database, cmd: ConversationQuery, actor: str = ""
                       ) -> list[dict[str, Any]]:
    """The conversations, oldest activity first (or newest); the filters narrow."""
    with db.read() as s:
        stmt = select(Conversation)
        if cmd.state:
            stmt = stmt.where(Conversation.state == cmd.state)
        if cmd.queue:
            stmt = stmt.where(Conversation.queue == cmd.queue)
        if cmd.channel:
            stmt = stmt.where(Conversation.channel == cmd.channel)
        if cmd.phone:
            stmt = stmt.where(_customer_filter(s, cmd.phone.replace(" ", "").replace("-", "")))
        order = ((Conversation.updated_at.desc(), Conversation.id.desc())
                 if cmd.order == "newest" else (Conversation.updated_at.asc(), Conversation.id))
        rows = s.execute(stmt.order_by(*order).limit(cmd.limit or LIST_LIMIT)).scalars()
        return [_summary(row) for row in rows]


class ConversationRef(Command):
    conversation_id: RowId


@takes(ConversationRef)
def get_conversation(db: Database, cmd: ConversationRef, actor: str = "") -> dict[str, Any]:
    with db.read() as s:
        conv = _load(s, cmd.conversation_id)
        lines = s.execute(select(ConversationMessage).where(
            ConversationMessage.conversation_id == conv.id).order_by(ConversationMessage.id)
        ).scalars()
        body = _summary(conv)
        body["messages"] = [{"role": m.role, "author": m.author, "text": m.text,
                             "payload": m.payload, "at": _at(m.created_at)} for m in lines]
        return body


def count_by_state(db: Database) -> dict[str, int]:
    with db.read() as s:
        rows = s.execute(select(Conversation.state, func.count())
                         .group_by(Conversation.state)).all()
    counts = dict.fromkeys(STATES, 0)
    counts.update({state: int(n) for state, n in rows})
    return counts


class AgentStep(ConversationRef):
    """An agent's step on a conversation. A staff member is the agent themself; an
    integration (the service token, the channels' router) names the agent (`agent`)."""

    agent: Text(60) | None = None


def agent_of(cmd: AgentStep, actor: str) -> str:
    """Who works the conversation: the staff member acting, else the agent named."""
    if isinstance(actor, Actor) and actor.is_staff:
        return str(actor)
    if not cmd.agent:
        raise ValidationError("agent", "agent 须为 1 至 60 字的坐席标识")
    return cmd.agent


@takes(AgentStep)
def take(db: Database, cmd: AgentStep, actor: str) -> dict[str, Any]:
    """An agent takes a queued conversation (or one with a bot, to step in)."""
    name = agent_of(cmd, actor)
    with db.transaction() as s:
        conv = _load(s, cmd.conversation_id, lock=True)
        if conv.state == "closed":
            raise Conflict("会话已结束", "conversation_id")
        if conv.state == "agent" and conv.agent != name:
            raise Conflict(f"会话已由坐席 {conv.agent} 接待", "agent")
        conv.state, conv.agent = "agent", name
        _say(s, conv, "system", f"坐席 {name} 接入", author=name)
        audit(s, name, "conversation", str(conv.id), "take")
        return _summary(conv)


class AgentMessage(AgentStep):
    text: Text(MAX_TEXT, blank_ok=False)


# the channels' router (channels/router.py) acts for the agent its caller named
ROUTER = Actor("channels")


@takes(AgentMessage)
def _agent_message(db: Database, cmd: AgentMessage, actor: str) -> Delivery:
    name = agent_of(cmd, actor)
    with db.transaction() as s:
        conv = _load(s, cmd.conversation_id, lock=True)
        if conv.state == "closed":
            raise Conflict("会话已结束", "conversation_id")
        if conv.state == "agent" and conv.agent != name:
            raise Conflict(f"会话由坐席 {conv.agent} 接待", "agent")
        if conv.state != "agent":  # writing to a queued conversation takes it
            conv.state, conv.agent = "agent", name
        _say(s, conv, "agent", cmd.text, author=name)
        return Delivery(conv.id, conv.channel, conv.user_id, cmd.text, conv.phone)


def agent_message(db: Database, cmd: AgentMessage | Mapping[str, Any] | int, actor: Any,
                  text: Any = None) -> Delivery:
    """Keep an agent's message in the transcript; the caller delivers it on the channel.

    The channels' router still calls `agent_message(db, conversation_id, agent, text)`: that
    call is read as the command it means until the router sits behind the channels' port."""
    if isinstance(cmd, int):
        cmd, actor = {"conversation_id": cmd, "agent": actor, "text": text}, ROUTER
    return _agent_message(db, cmd, actor)


agent_message.command = AgentMessage  # type: ignore[attr-defined]


@takes(AgentStep)
def _handback(db: Database, cmd: AgentStep, actor: str) -> dict[str, Any]:
    with db.transaction() as s:
        conv = _load(s, cmd.conversation_id, lock=True)
        if conv.state not in ("agent", "queued"):
            raise Conflict(f"会话当前状态为 {conv.state}，不能交回小保", "conversation_id")
        staff = str(actor) if isinstance(actor, Actor) and actor.is_staff else None
        who = staff or conv.agent or cmd.agent or "agent"  # a staff member as themself
        conv.state, conv.agent = "bot", None
        _say(s, conv, "system", "坐席将会话交回小保", author=who)
        audit(s, who, "conversation", str(conv.id), "handback")
        return _summary(conv)


def handback(db: Database, cmd: AgentStep | Mapping[str, Any] | int, actor: Any = None
             ) -> dict[str, Any]:
    """The bot owns the conversation again; the router tells Rasa `/agent_handback`.

    The channels' router still calls `handback(db, conversation_id, agent)`: read as the
    command it means until the router sits behind the channels' port."""
    if isinstance(cmd, int):
        cmd, actor = {"conversation_id": cmd, "agent": actor}, ROUTER
    return _handback(db, cmd, actor)


handback.command = AgentStep  # type: ignore[attr-defined]


def close(db: Database, conversation_id: int, disposition: Any,
          actor: str | None = None) -> dict[str, Any]:
    """Close with a disposition; the audit names who closed it (else its agent)."""
    if not isinstance(disposition, str) or not disposition.strip() or len(disposition) > 60:
        raise ValidationError("disposition", "disposition 须为 1 至 60 字")
    with db.transaction() as s:
        conv = _load(s, conversation_id, lock=True)
        if conv.state == "closed":
            raise Conflict("会话已结束", "conversation_id")
        now = clock.utcnow()
        conv.state, conv.open_key, conv.closed_at = "closed", None, now
        conv.disposition = disposition.strip()
        _say(s, conv, "system", f"会话结束：{conv.disposition}", author=conv.agent)
        audit(s, actor or conv.agent or "agent", "conversation", str(conv.id), "close", None,
              {"disposition": conv.disposition})
        return _summary(conv)
