"""Is this person covered? ("我妈有没有参保") — asked by a family member who is not the insured
and not identified as them: the answer is yes or no for one product, nothing more (no policy
number, no dates, no name), and the chat is not bound to the person checked.

Every check is counted like a guess (it is one: an ID number tried for a yes), per channel
user, per ID number checked and per source, with growing delays (backoffice.domain.limits):
nobody can run through a list of ID numbers, nor hold up the checks of one person for good.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select

from backoffice.domain.limits import Limit, wait_seconds, wait_text
from backoffice.services import limits
from backoffice.services.base import audit, today_cn
from backoffice.services.bindings import ChannelUser, TooManyAttempts, _counted_source
from backoffice.services.commands import IdNumber, Text, takes
from backoffice.services.parties import find_party
from backoffice.services.products import load_product
from backoffice.store.models import PolicyRow, RosterMember

_DAY = timedelta(days=1)
# one channel user: a family checks a few elders, not a street
USER_LIMIT = Limit("cover_check.user", 5, timedelta(minutes=1), timedelta(hours=1), _DAY)
# one ID number, from anywhere: its own family may still check it now and then
ID_LIMIT = Limit("cover_check.id_number", 5, timedelta(minutes=1), timedelta(hours=1), _DAY)
# one address or openid as the channel saw it: looser, many share a carrier's NAT
SOURCE_LIMIT = Limit("cover_check.source", 20, timedelta(seconds=30), timedelta(hours=1), _DAY)
_OPEN = ("in_force", "premium_due", "grace_period")


class TooManyChecks(TooManyAttempts):
    """Checks come too often (429 with Retry-After, as for identification)."""


class CoverageCheck(ChannelUser):
    """Whether the person with this ID number is covered today by `product_code`."""

    id_number: IdNumber
    product_code: Text(40, blank_ok=False)  # type: ignore[valid-type]
    # where the customer writes from, as the channel saw it (see bindings.Identification)
    source: Text(64) | None = None


def _keys(cmd: CoverageCheck) -> list[limits.Key]:
    keys = [limits.key(USER_LIMIT, cmd.channel, cmd.user), limits.key(ID_LIMIT, cmd.id_number)]
    if cmd.source:
        keys.append(limits.key(SOURCE_LIMIT, _counted_source(cmd.source)))
    return keys


@takes(CoverageCheck)
def check(db: Any, cmd: CoverageCheck, actor: str = "bot") -> dict[str, Any]:
    """POST /coverage-checks: {"covered": true|false, "product_name"}; 429 when checks come
    too often; 404 naming `product_code` for an unknown product."""
    try:
        with db.transaction() as s:
            limits.reserve(s, _keys(cmd))
    except limits.Blocked as blocked:
        raise TooManyChecks(
            f"查询过于频繁，请 {wait_text(blocked.until, blocked.now)}后再试；也可以拨打客服热线"
            "或到就近网点查询", "id_number", wait_seconds(blocked.until, blocked.now)) from None
    with db.transaction() as s:
        product = load_product(s, cmd.product_code)
        party = find_party(s, cmd.id_number)
        covered = party is not None and _covered(s, party.id, product.code)
        # who asked about whom, and what they were told: a personal answer is on the record
        audit(s, actor, "party", str(party.id) if party else "-", "coverage.check", None,
              {"channel": cmd.channel, "user": cmd.user, "product_code": product.code,
               "covered": covered})
    return {"covered": covered, "product_code": product.code, "product_name": product.name}


def _covered(s: Any, party_id: int, product_code: str) -> bool:
    """Covered today: an active member of a group policy in force from their enrolment, or
    the insured of an individual policy in force."""
    today = today_cn()
    member = and_(PolicyRow.kind == "group", RosterMember.status == "active",
                  RosterMember.enrolled_on <= today)
    own = and_(PolicyRow.kind != "group", PolicyRow.insured_party_id == party_id)
    found = s.execute(
        select(PolicyRow.id).outerjoin(RosterMember, and_(
            RosterMember.policy_id == PolicyRow.id, RosterMember.party_id == party_id))
        .where(PolicyRow.product_code == product_code, PolicyRow.status.in_(_OPEN),
               PolicyRow.start_date <= today, PolicyRow.end_date > today,
               or_(member, own)).limit(1)).first()
    return found is not None
