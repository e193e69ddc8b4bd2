"""Channel bindings: a WeChat user, caller or web visitor identified as a party (interface 4).

Identification needs the ID number plus the phone on file or one of the party's policy numbers.
On the phone (channel `ivr`) the caller's number may stand as that phone: the number on file
plus the last six characters of the ID number (`id_last6`) or one of the party's policy numbers
identifies the one party with that number. A number alone identifies nobody: no binding is ever
found by a phone number, and a phone channel user is the call's own (channels.ivr), so an
identification ends with its call.

A mismatch never says which part was wrong. Guessing is limited, with delays that grow per
failure, under several keys at once: the channel user (on the phone: the call), the ID number
tried (whichever channel users try it, so fresh web ids gain nothing; on the phone, the ID
number of each party with the caller's number), the caller's number tried, and, when the
channel reports it, the customer's address. Each try is counted before it is checked
(backoffice.services.limits).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import WithJsonSchema, field_validator, model_validator
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from backoffice.domain import claim as cl
from backoffice.domain.errors import DomainError, NotFound, Throttled, ValidationError
from backoffice.domain.identity import mask_id_number, mask_name, mask_phone
from backoffice.domain.limits import Limit, source_key, wait_seconds, wait_text
from backoffice.services import limits
from backoffice.services.base import audit
from backoffice.services.commands import (
    Command,
    IdNumber,
    OneOf,
    Phone,
    Text,
    domain_rule,
    takes,
)
from backoffice.services.parties import find_party
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import (
    ChannelBinding,
    ClaimRow,
    ConsentRecord,
    Conversation,
    Party,
    PolicyRow,
    RosterMember,
    utcnow,
)

CHANNELS = ("wechat", "ivr", "web")
_HOUR = timedelta(hours=1)
# one channel user: 5 tries, then 1 min, 2, 4, … up to 15 min between tries
USER_LIMIT = Limit("bind.user", 5, timedelta(minutes=1), timedelta(minutes=15), _HOUR)
# one ID number, across every channel user: a guesser holds up the real customer's self-service
# at worst by the delay (the hotline and outlets still serve them), never shut out for good
ID_LIMIT = Limit("bind.id_number", 10, timedelta(minutes=1), timedelta(minutes=30), _HOUR)
# one customer address as the channel saw it: looser, many may share a carrier's NAT
SOURCE_LIMIT = Limit("bind.source", 20, timedelta(seconds=30), timedelta(minutes=15), _HOUR)
# one phone call: 3 tries, then the bot hands the caller to an agent
CALL_LIMIT = Limit("bind.call", 3, timedelta(minutes=1), timedelta(minutes=15), _HOUR)
# one caller number tried with a short second factor (about 10^5 values): 5 tries, then waits
# from 10 minutes doubling to a day, remembered for a week. It only slows this short path: the
# customer can still identify with the whole ID number, at an outlet or through the hotline.
PHONE_LIMIT = Limit("bind.phone", 5, timedelta(minutes=10), timedelta(days=1),
                    limits.LONG_MEMORY["bind.phone"])
# how long a binding made on a call may name its caller: longer than any call (defence in
# depth: a call's channel user is fresh at every start, so none is ever used again)
CALL_BINDING_TTL = timedelta(hours=4)
# parties sharing one phone number (a family) whose ID numbers a try is counted under
MAX_SHARING = 10
# parties with one number whose policies a policy number is looked for in
MAX_POLICY_HOLDERS = 200


class IdentityMismatch(DomainError):
    code = "identity_mismatch"


class TooManyAttempts(Throttled):
    code = "too_many_attempts"


class ChannelUser(Command):
    """A user on a channel: a WeChat openid, a caller's number, a web visitor's id."""

    channel: OneOf(CHANNELS)
    user: Text(128, blank_ok=False)


def _id_last6(value: Any, field: str) -> str:
    """The last six characters of an ID number: five digits and a digit or X."""
    text = value.strip().upper() if isinstance(value, str) else ""
    if not re.fullmatch(r"[0-9]{5}[0-9X]", text):
        raise ValidationError(field or "id_last6",
                              "id_last6 须为身份证号码后6位（数字，末位可为X）")
    return text


IdLast6 = Annotated[str, domain_rule(_id_last6),
                    WithJsonSchema({"type": "string", "pattern": "^[0-9]{5}[0-9Xx]$",
                                    "description": "Last 6 characters of the ID number (phone "
                                    "channel, with the caller's number as `phone`)."})]


class Identification(ChannelUser):
    """Who the channel user says they are: the ID number, and the phone on file or one of
    their policy numbers; on the phone also the caller's number as `phone` with `id_last6`
    or `policy_no` instead of the ID number."""

    id_number: IdNumber | None = None
    phone: Phone | None = None
    policy_no: Text(40) | None = None
    id_last6: IdLast6 | None = None
    # where the customer writes from as the channel saw it (a web visitor's IP, a WeChat
    # openid, a caller's number), reported by the authenticated channel: counted as one
    # more key; never the API caller's own address
    source: Text(64) | None = None

    @field_validator("phone", "id_last6", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @model_validator(mode="after")
    def _proofs(self) -> Identification:
        if self.id_number is None:
            return self._by_caller()
        if self.id_last6 is not None:
            raise ValidationError("id_last6", "提供完整 id_number 时不需要 id_last6")
        if self.phone is None and not self.policy_no:
            raise ValidationError("phone", "须提供 phone 或 policy_no 之一")
        return self

    def _by_caller(self) -> Identification:
        """The phone's short path: the caller's number plus the last 6 or a policy number."""
        if self.channel != "ivr" or (self.id_last6 is None and not self.policy_no):
            raise ValidationError("id_number", "须提供 id_number（电话渠道可用来电号码加 "
                                  "id_last6 或 policy_no）")
        if self.phone is None:
            raise ValidationError("phone", "电话核验须提供来电号码 phone")
        if self.id_last6 is not None and self.policy_no:
            raise ValidationError("id_last6", "id_last6 与 policy_no 只能提供其一")
        return self

    @property
    def secret_field(self) -> str:
        """The field the limits' refusal names: what the caller is asked to give."""
        if self.id_number is not None:
            return "id_number"
        return "id_last6" if self.id_last6 is not None else "policy_no"


def _own_policies(s: Session, party: Party) -> list[str]:
    """The individual policies the party holds or is insured by: a number that can prove who
    someone is. A group policy's number is every member's (a whole scheme shares it), so it
    proves nothing."""
    return [str(p) for p in s.execute(select(PolicyRow.policy_no).where(
        or_(PolicyRow.insured_party_id == party.id, PolicyRow.applicant_party_id == party.id),
        PolicyRow.policy_no.is_not(None)).order_by(PolicyRow.id.desc())).scalars() if p]


def _policies_of(s: Session, party: Party) -> list[str]:
    """Every policy the party is on: their own, then the schemes they are enrolled in."""
    own = _own_policies(s, party)
    group = s.execute(select(PolicyRow.policy_no).join(
        RosterMember, RosterMember.policy_id == PolicyRow.id).where(
        RosterMember.party_id == party.id, RosterMember.status == "active")).scalars().all()
    return list(dict.fromkeys(str(p) for p in [*own, *group] if p))


def _view(s: Session, party: Party) -> dict[str, Any]:
    claims = s.execute(select(ClaimRow.claim_no).where(
        ClaimRow.insured_party_id == party.id, ClaimRow.status.in_(cl.OPEN)
    ).order_by(ClaimRow.id.desc())).scalars().all()
    return {
        "party": {"name_masked": mask_name(party.name),
                  "id_number_masked": mask_id_number(party.id_number),
                  "phone_masked": mask_phone(party.phone) if party.phone else None},
        "policies": _policies_of(s, party),
        "open_claims": list(claims),
    }


def _matches(s: Session, party: Party | None, phone: str | None, policy_no: str | None) -> bool:
    if party is None:
        return False
    if phone is not None:
        return party.phone == phone
    return policy_no in _own_policies(s, party)


def proves_identity(s: Session, party: Party, phone: str | None, policy_no: str | None
                    ) -> bool:
    """The channels' rule, for staff who take a request in person or on the phone: the ID
    number's party has this phone on file, or holds this policy of their own."""
    if phone is None and not policy_no:
        return False
    return _matches(s, party, phone, policy_no)


def _counted_source(source: str) -> str:
    """An address counts per address (an IPv6 client per /64); a source that is no address
    (a WeChat openid, a caller's number) counts as itself, never in one key shared by all."""
    address = source_key(source)
    return address if address != "unknown" else f"id:{source}"


def _sharing(s: Session, phone: str) -> list[Party]:
    """The parties whose phone on file is `phone` (a family may share one)."""
    return list(s.execute(select(Party).where(Party.phone_hash == keyed_hash("phone", phone))
                          .order_by(Party.id)
                          .limit(MAX_SHARING)).scalars())


def _caller_party(s: Session, cmd: Identification) -> Party | None:
    """The one party with the caller's number whose ID number ends with `id_last6`, or who
    holds `policy_no`; None when none or several do. However many share the number (a village
    head's phone for a whole roster): the match is not limited to the first MAX_SHARING."""
    with_phone = select(Party).where(Party.phone_hash == keyed_hash("phone", cmd.phone))
    if cmd.id_last6 is not None:  # the ID numbers are sealed: compared once opened
        last6 = cmd.id_last6.upper()
        ids = [pid for pid, idn in s.execute(select(Party.id, Party.id_number).where(
            Party.phone_hash == keyed_hash("phone", cmd.phone))) if idn.upper().endswith(last6)]
        found = [p for p in (s.get(Party, pid) for pid in ids[:2]) if p is not None]
    else:
        policy_no = (cmd.policy_no or "").upper()
        found = [p for p in s.execute(with_phone.limit(MAX_POLICY_HOLDERS)).scalars()
                 if policy_no in _own_policies(s, p)]
    return found[0] if len(found) == 1 else None


def _keys(s: Session, cmd: Identification) -> list[limits.Key]:
    """The keys a try counts under: the channel user (on the phone, the call) and the ID
    number first (cleared by a match), then the others (given back by a match)."""
    user_limit = CALL_LIMIT if cmd.channel == "ivr" else USER_LIMIT
    keys = [limits.key(user_limit, cmd.channel, cmd.user)]
    if cmd.id_number is not None:
        keys.append(limits.key(ID_LIMIT, cmd.id_number))
    else:
        assert cmd.phone is not None  # Identification._by_caller
        keys.append(limits.key(PHONE_LIMIT, cmd.phone))
        keys += [limits.key(ID_LIMIT, p.id_number) for p in _sharing(s, cmd.phone)]
    if cmd.source:
        keys.append(limits.key(SOURCE_LIMIT, _counted_source(cmd.source)))
    return keys


def _reserve(db: Database, cmd: Identification) -> list[limits.Key]:
    """Count this try under each key first (its own transaction), or refuse it uncounted."""
    try:
        with db.transaction() as s:
            keys = _keys(s, cmd)
            limits.reserve(s, keys)
    except limits.Blocked as blocked:
        raise TooManyAttempts(
            f"身份核验失败次数过多，请 {wait_text(blocked.until, blocked.now)}后再试；"
            "如需立即办理，请拨打客服热线或携带身份证件前往就近网点", cmd.secret_field,
            wait_seconds(blocked.until, blocked.now)) from None
    return keys


def _identified(s: Session, cmd: Identification) -> Party | None:
    if cmd.id_number is None:
        assert cmd.phone is not None  # Identification._by_caller
        return _caller_party(s, cmd)
    party = find_party(s, cmd.id_number)
    policy_no = cmd.policy_no.upper() if cmd.policy_no else None
    return party if _matches(s, party, cmd.phone, policy_no) else None


@takes(Identification)
def bind(db: Database, cmd: Identification, actor: str = "bot") -> dict[str, Any]:
    """POST /bindings: identify and bind, or refuse (403 mismatch, 429 too many failures).
    A mismatch stays counted; a match clears the user's and the ID number's (or the caller
    number's and the party's) counts and gives back the others'."""
    channel, user = cmd.channel, cmd.user
    keys = _reserve(db, cmd)
    with db.transaction() as s:
        party = _identified(s, cmd)
        if party is None:
            raise IdentityMismatch("身份信息核对不一致，请核对证件号码和手机号或保单号",
                                   cmd.secret_field)
        row = s.execute(select(ChannelBinding).where(
            ChannelBinding.channel == channel, ChannelBinding.user == user)).scalar()
        if row is None:
            s.add(ChannelBinding(channel=channel, user=user, party_id=party.id))
        else:
            row.party_id = party.id
        # decisions on the consent notice made before identifying are now known to be theirs
        s.execute(update(ConsentRecord).where(
            ConsentRecord.channel == channel, ConsentRecord.channel_user == user,
            ConsentRecord.party_id.is_(None)).values(party_id=party.id))
        own = limits.key(ID_LIMIT, party.id_number)
        limits.clear(s, [*keys[:2], own])
        limits.release(s, [k for k in keys[2:] if k != own])
        audit(s, actor, "party", str(party.id), "channel.bind",
              None, {"channel": channel, "by": cmd.secret_field})
        return _view(s, party)


@takes(ChannelUser)
def get(db: Database, cmd: ChannelUser, actor: str = "") -> dict[str, Any]:
    """GET /bindings/{channel}/{user}: the party the channel user proved to be."""
    with db.read() as s:
        party = bound_party(s, cmd.channel, cmd.user)
        if party is None:
            raise NotFound("该渠道用户尚未核验身份", "user")
        return _view(s, party)


def bound_party(s: Session, channel: str, user: str) -> Party | None:
    """The party a channel user is bound to, never found any other way (a caller's number
    proves nothing); a binding made on a call no longer counts once the call must be over."""
    row = s.execute(select(ChannelBinding).where(
        ChannelBinding.channel == channel, ChannelBinding.user == user)).scalar()
    if row is None:
        return None
    if channel == "ivr" and utcnow() - row.updated_at > CALL_BINDING_TTL:
        return None
    return s.get(Party, row.party_id)


@takes(ChannelUser)
def unbind(db: Database, cmd: ChannelUser, actor: str = "bot") -> dict[str, Any]:
    channel, user = cmd.channel, cmd.user
    with db.transaction() as s:
        row = s.execute(select(ChannelBinding).where(
            ChannelBinding.channel == channel, ChannelBinding.user == user)).scalar()
        if row is None:
            raise NotFound("该渠道用户尚未核验身份", "user")
        audit(s, actor, "party", str(row.party_id), "channel.unbind", {"channel": channel}, None)
        s.delete(row)
    return {"unbound": True}


@takes(ChannelUser)
def unsubscribe(db: Database, cmd: ChannelUser, actor: str = "channel") -> dict[str, Any]:
    """The user unfollowed the account (WeChat `unsubscribe`): their binding to a party ends,
    so a re-subscribe must identify again, and the time is kept on their conversations, where
    the retention of what they hold counts from. Nothing to unbind is no error: the event may
    come for a user who never identified, or come again."""
    with db.transaction() as s:
        row = s.execute(select(ChannelBinding).where(
            ChannelBinding.channel == cmd.channel, ChannelBinding.user == cmd.user)).scalar()
        if row is not None:
            audit(s, actor, "party", str(row.party_id), "channel.unsubscribe",
                  {"channel": cmd.channel}, None)
            s.delete(row)
        # a retry keeps the first time; a user who came back and wrote since starts anew
        s.execute(update(Conversation).where(
            Conversation.channel == cmd.channel, Conversation.user_id == cmd.user,
            or_(Conversation.unsubscribed_at.is_(None),
                Conversation.last_user_at > Conversation.unsubscribed_at))
            .values(unsubscribed_at=utcnow()))
    return {"unbound": row is not None}
