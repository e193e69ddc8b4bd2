"""Channel bindings: a WeChat user, caller or web visitor identified as a party (interface 4).

Identification needs the ID number plus the phone on file or one of the party's policy numbers.
A mismatch never says which part was wrong, and repeated failures from one channel user are
refused for a while so that ID numbers cannot be guessed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import field_validator, model_validator
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from backoffice.domain import claim as cl
from backoffice.domain.errors import DomainError, NotFound, ValidationError
from backoffice.domain.identity import mask_id_number, mask_name, mask_phone
from backoffice.services.base import audit
from backoffice.services.commands import Command, IdNumber, OneOf, Phone, Text, takes
from backoffice.services.parties import find_party
from backoffice.store.db import Database
from backoffice.store.models import (
    BindingFailure,
    ChannelBinding,
    ClaimRow,
    Party,
    PolicyRow,
    RosterMember,
    utcnow,
)

CHANNELS = ("wechat", "ivr", "web")
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


class IdentityMismatch(DomainError):
    code = "identity_mismatch"


class TooManyAttempts(DomainError):
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


def _failures(s: Session, channel: str, user: str) -> int:
    since = utcnow() - FAILURE_WINDOW
    return int(s.execute(select(func.count()).select_from(BindingFailure).where(
        BindingFailure.channel == channel, BindingFailure.user == user,
        BindingFailure.at >= since)).scalar_one())


def _matches(s: Session, party: Party | None, phone: str | None, policy_no: str | None) -> bool:
    if party is None:
        return False
    if phone is not None:
        return party.phone == phone
    return policy_no in _policies_of(s, party)


@takes(Identification)
def bind(db: Database, cmd: Identification, actor: str = "bot") -> dict[str, Any]:
    """POST /bindings: identify and bind, or refuse (403 mismatch, 429 too many failures)."""
    channel, user, id_number, phone = cmd.channel, cmd.user, cmd.id_number, cmd.phone
    policy_no = cmd.policy_no
    with db.transaction() as s:
        if _failures(s, channel, user) >= MAX_FAILURES:
            raise TooManyAttempts("身份核验失败次数过多，请稍后再试或联系人工客服", "id_number")
        party = find_party(s, id_number)
        if not _matches(s, party, phone, policy_no.upper() if policy_no else None):
            s.add(BindingFailure(channel=channel, user=user))
            failed = True
        else:
            failed = False
            assert party is not None
            row = s.execute(select(ChannelBinding).where(
                ChannelBinding.channel == channel, ChannelBinding.user == user)).scalar()
            if row is None:
                s.add(ChannelBinding(channel=channel, user=user, party_id=party.id))
            else:
                row.party_id = party.id
            s.execute(delete(BindingFailure).where(BindingFailure.channel == channel,
                                                   BindingFailure.user == user))
            audit(s, actor, "party", str(party.id), "channel.bind", None, {"channel": channel})
            return _view(s, party)
    if failed:  # committed above: the failure counts even though the request is refused
        raise IdentityMismatch("身份信息核对不一致", "id_number")
    raise AssertionError("unreachable")


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
