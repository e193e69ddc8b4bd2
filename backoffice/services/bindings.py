"""Channel bindings: a WeChat user, caller or web visitor identified as a party (interface 4).

Identification needs the ID number plus the phone on file or one of the party's policy numbers.
A mismatch never says which part was wrong. Guessing is limited, with delays that grow per
failure, under three keys at once: the channel user, the ID number tried (whichever channel
users try it, so fresh web ids gain nothing) and, when the channel reports it, the customer's
address. Each try is counted before it is checked (backoffice.services.limits).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import field_validator, model_validator
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backoffice.domain import claim as cl
from backoffice.domain.errors import DomainError, NotFound, Throttled, ValidationError
from backoffice.domain.identity import mask_id_number, mask_name, mask_phone
from backoffice.domain.limits import Limit, source_key, wait_seconds, wait_text
from backoffice.services import limits
from backoffice.services.base import audit
from backoffice.services.commands import Command, IdNumber, OneOf, Phone, Text, takes
from backoffice.services.parties import find_party
from backoffice.store.db import Database
from backoffice.store.models import (
    ChannelBinding,
    ClaimRow,
    Party,
    PolicyRow,
    RosterMember,
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


class IdentityMismatch(DomainError):
    code = "identity_mismatch"


class TooManyAttempts(Throttled):
    code = "too_many_attempts"


class ChannelUser(Command):
    """A user on a channel: a WeChat openid, a caller's number, a web visitor's id."""

    channel: OneOf(CHANNELS)
    user: Text(128, blank_ok=False)


class Identification(ChannelUser):
    """Who the channel user says they are: the ID number, and the phone on file or one of
    their policy numbers."""

    id_number: IdNumber
    phone: Phone | None = None
    policy_no: Text(40) | None = None
    # where the customer writes from as the channel saw it (a web visitor's IP, a WeChat
    # openid, a caller's number), reported by the authenticated channel: counted as one
    # more key; never the API caller's own address
    source: Text(64) | None = None

    @field_validator("phone", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @model_validator(mode="after")
    def _phone_or_policy(self) -> Identification:
        if self.phone is None and not self.policy_no:
            raise ValidationError("phone", "须提供 phone 或 policy_no 之一")
        return self


def _policies_of(s: Session, party: Party) -> list[str]:
    own = s.execute(select(PolicyRow.policy_no).where(
        or_(PolicyRow.insured_party_id == party.id, PolicyRow.applicant_party_id == party.id),
        PolicyRow.policy_no.is_not(None)).order_by(PolicyRow.id.desc())).scalars().all()
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
    return policy_no in _policies_of(s, party)


def _counted_source(source: str) -> str:
    """An address counts per address (an IPv6 client per /64); a source that is no address
    (a WeChat openid, a caller's number) counts as itself, never in one key shared by all."""
    address = source_key(source)
    return address if address != "unknown" else f"id:{source}"


def _reserve(db: Database, cmd: Identification) -> list[limits.Key]:
    """Count this try under each key first (its own transaction), or refuse it uncounted."""
    keys = [limits.key(USER_LIMIT, cmd.channel, cmd.user), limits.key(ID_LIMIT, cmd.id_number)]
    if cmd.source:
        keys.append(limits.key(SOURCE_LIMIT, _counted_source(cmd.source)))
    try:
        with db.transaction() as s:
            limits.reserve(s, keys)
    except limits.Blocked as blocked:
        raise TooManyAttempts(
            f"身份核验失败次数过多，请 {wait_text(blocked.until, blocked.now)}后再试；"
            "如需立即办理，请拨打客服热线或携带身份证件前往就近网点", "id_number",
            wait_seconds(blocked.until, blocked.now)) from None
    return keys


@takes(Identification)
def bind(db: Database, cmd: Identification, actor: str = "bot") -> dict[str, Any]:
    """POST /bindings: identify and bind, or refuse (403 mismatch, 429 too many failures).
    A mismatch stays counted; a match clears the user's and the ID number's counts."""
    channel, user, policy_no = cmd.channel, cmd.user, cmd.policy_no
    keys = _reserve(db, cmd)
    with db.transaction() as s:
        party = find_party(s, cmd.id_number)
        if party is None or not _matches(s, party, cmd.phone,
                                         policy_no.upper() if policy_no else None):
            raise IdentityMismatch("身份信息核对不一致，请核对证件号码和手机号或保单号",
                                   "id_number")
        row = s.execute(select(ChannelBinding).where(
            ChannelBinding.channel == channel, ChannelBinding.user == user)).scalar()
        if row is None:
            s.add(ChannelBinding(channel=channel, user=user, party_id=party.id))
        else:
            row.party_id = party.id
        limits.clear(s, keys[:2])
        limits.release(s, keys[2:])
        audit(s, actor, "party", str(party.id), "channel.bind", None, {"channel": channel})
        return _view(s, party)


@takes(ChannelUser)
def get(db: Database, cmd: ChannelUser, actor: str = "") -> dict[str, Any]:
    """GET /bindings/{channel}/{user}; an unbound caller falls back to the party with that phone."""
    with db.read() as s:
        party = bound_party(s, cmd.channel, cmd.user)
        if party is None:
            raise NotFound("该渠道用户尚未核验身份", "user")
        return _view(s, party)


def bound_party(s: Session, channel: str, user: str) -> Party | None:
    """The party a channel user is bound to; a caller not bound yet is known by the phone on
    file when exactly one party has it."""
    row = s.execute(select(ChannelBinding).where(
        ChannelBinding.channel == channel, ChannelBinding.user == user)).scalar()
    party = s.get(Party, row.party_id) if row else None
    if party is None and channel == "ivr":
        found = s.execute(select(Party).where(Party.phone == user).limit(2)).scalars().all()
        party = found[0] if len(found) == 1 else None
    return party


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
