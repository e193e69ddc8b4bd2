"""The scheme year to year: renewing the group policy from this year's roster, telling members
they are enrolled, and watching the loss ratio (backoffice/domain/scheme.py has the rules).

Renewal copies the roster in one INSERT … SELECT (a county's scheme holds hundreds of
thousands of members) inside the transaction that issues the new policy, with this year's
policy row locked: two renewals at once make one policy, the second is refused (409), and
`renewal_of_id` is unique besides.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice.clock import SHANGHAI
from backoffice.domain import claim as cl
from backoffice.domain import scheme as sch
from backoffice.domain.complaint import CATEGORY_NAMES
from backoffice.domain.errors import Conflict, ValidationError
from backoffice.domain.money import fmt, from_fen, to_fen
from backoffice.domain.policy import IN_FORCE
from backoffice.domain.product import CLAIM_TYPE_NAMES
from backoffice.domain.rating import group_quote
from backoffice.services import claim_stats
from backoffice.services.base import audit, emit, number, today_cn
from backoffice.services.commands import Amount, Command, Reference, Text, takes
from backoffice.services.notifications import queue
from backoffice.services.policies import load_policy, quote_view
from backoffice.services.products import load_product
from backoffice.store.db import Database
from backoffice.store.models import (
    ChannelBinding,
    ClaimPayment,
    ClaimRow,
    ComplaintRow,
    Party,
    PolicyCoverage,
    PolicyRow,
    RosterMember,
    SatisfactionRow,
    Task,
    utcnow,
)

log = logging.getLogger("xiaobao.scheme")

DEATH_TYPES = ("death", "transport_death")
SUPERVISOR = "claims_supervisor"
NOTICES_PER_RUN = 2000  # enrollment notices queued per run: the SMS gateway's daily budget
ACTOR = "scheduler"


class RenewScheme(Command):
    """Next year's group policy from this year's roster; `premium_per_insured` is the
    government's per-head premium for the year (default: this year's)."""

    policy_no: Reference
    premium_per_insured: Amount | None = None


@takes(RenewScheme)
def renew(db: Database, cmd: RenewScheme, actor: str) -> dict[str, Any]:
    try:
        return _renew(db, cmd, actor)
    except IntegrityError:  # a renewal at the same moment won (SQLite has no row lock)
        with db.read() as s:
            if s.execute(select(PolicyRow.id).where(PolicyRow.renewal_of_id == select(
                    PolicyRow.id).where(PolicyRow.policy_no == cmd.policy_no)
                    .scalar_subquery())).first():
                raise Conflict(f"{cmd.policy_no} 已续保", "policy_no") from None
        raise


def _renew(db: Database, cmd: RenewScheme, actor: str) -> dict[str, Any]:
    today = today_cn()
    with db.transaction() as s:
        old = load_policy(s, cmd.policy_no, lock=True)
        if old.kind != "group":
            raise ValidationError("policy_no", f"{cmd.policy_no} 不是团体保单")
        if s.execute(select(PolicyRow.policy_no).where(PolicyRow.renewal_of_id == old.id)
                     ).first():
            raise Conflict(f"{old.policy_no} 已续保", "policy_no")
        product = load_product(s, old.product_code)
        per_head = cmd.premium_per_insured
        if per_head is None:
            per_head = _per_head(old, product.flat_premium_per_insured)
        terms = sch.renewal_terms(old.end_date, old.term_months, today, per_head)
        new = _issue(s, old, terms)
        members = _copy_roster(s, old, new, terms.start)
        quote = group_quote(product, members, terms.premium_per_insured)
        new.annual_premium_fen = new.instalment_fen = to_fen(quote.annual_premium)
        new.premium_lines = quote_view(quote)["lines"]
        left = s.execute(select(func.count()).select_from(RosterMember).where(
            RosterMember.policy_id == old.id)).scalar_one() - members
        audit(s, actor, "policy", new.policy_no or "", "renew_group", None,
              {"renewal_of": old.policy_no, "members": members,
               "premium_per_insured": fmt(per_head)})
        emit(s, "policy.renewed", {"policy_no": new.policy_no, "renewal_of": old.policy_no,
                                   "members": members})
        return {"policy_no": new.policy_no, "renewal_of": old.policy_no,
                "start_date": terms.start.isoformat(), "end_date": terms.end.isoformat(),
                "members": members, "not_renewed": left,
                "premium_per_insured": fmt(per_head),
                "annual_premium": fmt(quote.annual_premium)}


def _per_head(policy: PolicyRow, product_rate: Decimal | None) -> Decimal:
    if policy.premium_per_insured_fen is not None:
        return from_fen(policy.premium_per_insured_fen)
    if product_rate is None:
        raise ValidationError("premium_per_insured", "该产品没有每人保费，请提供")
    return product_rate


def _issue(s: Session, old: PolicyRow, terms: sch.RenewalTerms) -> PolicyRow:
    year = terms.start.year
    new = PolicyRow(
        application_no=number(s, "A", year, 8), policy_no=number(s, "G", year, 8),
        product_code=old.product_code, kind="group", status=IN_FORCE,
        applicant_name=old.applicant_name, applicant_relation=old.applicant_relation,
        application_date=min(terms.start, today_cn()), requested_start=terms.start,
        start_date=terms.start, end_date=terms.end, term_months=old.term_months,
        payment_mode="single", frequency="annual", underwriting_outcome="accept",
        underwriting_reasons=["政府统保续保，免核保"], issued_at=utcnow(),
        premium_per_insured_fen=to_fen(terms.premium_per_insured), renewal_of_id=old.id,
    )
    s.add(new)
    s.flush()
    s.add_all(PolicyCoverage(policy_id=new.id, code=c.code, name=c.name,
                             sum_insured_fen=c.sum_insured_fen) for c in old.coverages)
    return new


def _copy_roster(s: Session, old: PolicyRow, new: PolicyRow, start: date) -> int:
    """Members still on the roster on the renewal day (no removal for death or moving away)
    and with no death claim: one statement."""
    died = exists().where(ClaimRow.insured_party_id == RosterMember.party_id,
                          ClaimRow.claim_type.in_(DEATH_TYPES),
                          ClaimRow.status.not_in((cl.REJECTED, cl.WITHDRAWN)))
    chosen = select(literal(new.id), RosterMember.party_id, literal(start), literal("active"),
                    literal("renewal")).where(
        RosterMember.policy_id == old.id, RosterMember.status == "active", ~died)
    s.execute(insert(RosterMember).from_select(
        ["policy_id", "party_id", "enrolled_on", "status", "source"], chosen))
    # counted, not rowcount: a pipelined PostgreSQL connection reports -1
    return int(s.execute(select(func.count()).select_from(RosterMember).where(
        RosterMember.policy_id == new.id)).scalar_one())


# ---- enrollment notices ------------------------------------------------------------------------

def enrollment_text(policy: PolicyRow, name: str) -> str:
    return (f"【小保】{name}您好：您已参加{policy.applicant_name}统保的意外伤害保险"
            f"（保单号 {policy.policy_no}），保障期 {policy.start_date} 至 {policy.end_date}，"
            "保费由政府承担，您无需缴费。出险请尽快拨打客服电话或在公众号报案。")


def enrollment_notices(db: Database, today: date, per_run: int = NOTICES_PER_RUN
                       ) -> dict[str, int]:
    """Tell members of in-force group policies that they are enrolled: WeChat where bound,
    else SMS; at most `per_run` a run (the rest on the next), each member once per policy."""
    counts = {"queued": 0, "no_contact": 0}
    with db.transaction() as s:
        rows = s.execute(
            select(RosterMember.id, RosterMember.policy_id, Party.id, Party.name, Party.phone)
            .join(Party, Party.id == RosterMember.party_id)
            .join(PolicyRow, PolicyRow.id == RosterMember.policy_id)
            .where(PolicyRow.kind == "group", PolicyRow.status == IN_FORCE,
                   PolicyRow.end_date > today, RosterMember.status == "active",
                   RosterMember.notified_on.is_(None))
            .order_by(RosterMember.id).limit(per_run)).all()
        policies = {p.id: p for p in s.execute(select(PolicyRow).where(
            PolicyRow.id.in_({r[1] for r in rows}))).scalars()}
        wechat = {party: user for party, user in s.execute(
            select(ChannelBinding.party_id, ChannelBinding.user).where(
                ChannelBinding.channel == "wechat",
                ChannelBinding.party_id.in_({r[2] for r in rows})))}
        for _, policy_id, party_id, name, phone in rows:
            policy = policies[policy_id]
            channel, to = ("wechat", wechat[party_id]) if party_id in wechat else ("sms", phone)
            if not to:
                counts["no_contact"] += 1
                continue
            queue(s, f"enrollment:{policy.policy_no}:{party_id}", channel, to, "enrollment",
                  enrollment_text(policy, name), {"policy_no": policy.policy_no})
            counts["queued"] += 1
        if rows:
            s.execute(update(RosterMember).where(RosterMember.id.in_([r[0] for r in rows]))
                      .values(notified_on=today))
    return counts


# ---- loss ratio ---------------------------------------------------------------------------------

class SchemeRef(Command):
    policy_no: Reference


@takes(SchemeRef)
def loss_ratio(db: Database, cmd: SchemeRef, actor: str = "") -> dict[str, Any]:
    """The scheme year's loss ratio as of today, with the projection to the year's end."""
    with db.read() as s:
        policy = load_policy(s, cmd.policy_no)
        if policy.kind != "group":
            raise ValidationError("policy_no", f"{cmd.policy_no} 不是团体保单")
        return _loss_view(s, policy, today_cn())


def _loss_view(s: Session, policy: PolicyRow, today: date) -> dict[str, Any]:
    months, paid, reserved = _incurred(s, policy)
    lr = sch.loss_ratio(from_fen(policy.annual_premium_fen), paid, reserved, policy.start_date,
                        policy.end_date, today)
    return {"policy_no": policy.policy_no, "premium": fmt(lr.premium), "paid": fmt(lr.paid),
            "reserved": fmt(lr.reserved), "ratio": _num(lr.ratio),
            "projected": _num(lr.projected), "alert": lr.alert(),
            "floor": _num(sch.LOSS_RATIO_FLOOR), "ceiling": _num(sch.LOSS_RATIO_CEILING),
            "by_month": months}


def _num(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _incurred(s: Session, policy: PolicyRow) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
    """Paid by month of payment, and what the open claims hold in reserve: the approved or
    adjudicated amount, else the average paid per claim of the type in this policy (0 when
    none was paid yet)."""
    pays = s.execute(select(ClaimPayment.claim_id, ClaimPayment.paid_at,
                            ClaimPayment.amount_fen)
                     .join(ClaimRow, ClaimRow.id == ClaimPayment.claim_id)
                     .where(ClaimRow.policy_id == policy.id)).tuples().all()
    months: dict[str, int] = {}
    paid_on_claim: dict[int, int] = {}
    for claim_id, at, fen in pays:
        month = at.astimezone(SHANGHAI).strftime("%Y-%m")
        months[month] = months.get(month, 0) + fen
        paid_on_claim[claim_id] = paid_on_claim.get(claim_id, 0) + fen
    average = {kind: avg for kind, avg in s.execute(
        select(ClaimRow.claim_type, func.avg(ClaimRow.approved_fen))
        .where(ClaimRow.policy_id == policy.id, ClaimRow.status.in_((cl.PAID, cl.CLOSED)),
               ClaimRow.approved_fen > 0)
        .group_by(ClaimRow.claim_type))}
    reserve = 0
    for claim_id, kind, approved, payable in s.execute(
            select(ClaimRow.id, ClaimRow.claim_type, ClaimRow.approved_fen, ClaimRow.payable_fen)
            .where(ClaimRow.policy_id == policy.id, ClaimRow.status.in_(cl.OPEN))).tuples():
        amount = approved if approved is not None else payable
        if amount is None:
            amount = int(average.get(kind) or 0)
        reserve += max(amount - paid_on_claim.get(claim_id, 0), 0)
    paid = sum(fen for _, _, fen in pays)
    by_month = [{"month": m, "paid": fmt(from_fen(f))} for m, f in sorted(months.items())]
    return by_month, from_fen(paid), from_fen(reserve)


def loss_ratio_watch(db: Database, today: date, supervisor: str = SUPERVISOR
                     ) -> dict[str, int]:
    """Monthly: an alert task and notice to the supervisors for each in-force scheme whose
    projected year-end loss ratio is below the tender's 60 % or above 100 %; once a month."""
    counts = {"checked": 0, "alerts": 0}
    with db.read() as s:
        ids = list(s.execute(select(PolicyRow.id).where(
            PolicyRow.kind == "group", PolicyRow.status == IN_FORCE,
            PolicyRow.start_date <= today, PolicyRow.end_date > today)).scalars())
    for policy_id in ids:
        with db.transaction() as s:
            policy = s.get(PolicyRow, policy_id)
            assert policy is not None
            view = _loss_view(s, policy, today)
            counts["checked"] += 1
            if view["alert"] and _alert(s, policy, view, today, supervisor):
                counts["alerts"] += 1
    return counts


def _alert(s: Session, policy: PolicyRow, view: dict[str, Any], today: date,
           supervisor: str) -> bool:
    key = f"loss_ratio:{policy.policy_no}:{today:%Y-%m}"
    if s.execute(select(Task.id).where(Task.dedupe_key == key)).first():
        return False
    side = "低于招标要求的 60%" if view["alert"] == "low" else "超过 100%"
    note = (f"统保保单 {policy.policy_no} 预计全年赔付率 "
            f"{sch.pct(Decimal(view['projected']))}，{side}（已赔 {view['paid']} 元，"
            f"未决 {view['reserved']} 元，保费 {view['premium']} 元），请关注。")
    s.add(Task(kind="loss_ratio_alert", policy_id=policy.id, due_on=today,
               assigned_to=supervisor, note=note, dedupe_key=key))
    queue(s, f"{key}:notice", "log", supervisor, "loss_ratio_alert", note,
          {"policy_no": policy.policy_no, "projected": view["projected"],
           "alert": view["alert"]})
    return True



def group_policies(db: Database) -> list[dict[str, Any]]:
    """The group (scheme) policies, newest first: for the supervisor's choice of report."""
    with db.read() as s:
        return [{"policy_no": p.policy_no, "applicant_name": p.applicant_name,
                 "start_date": p.start_date.isoformat(), "end_date": p.end_date.isoformat(),
                 "status": p.status}
                for p in s.execute(select(PolicyRow).where(PolicyRow.kind == "group")
                                   .order_by(PolicyRow.start_date.desc(), PolicyRow.id.desc())
                                   .limit(200)).scalars()]


# ---- the quarterly disclosure report -------------------------------------------------------------

class QuarterRef(Command):
    policy_no: Reference
    quarter: Text(7, blank_ok=False)  # type: ignore[valid-type]


@takes(QuarterRef)
def quarterly_report(db: Database, cmd: QuarterRef, actor: str = "") -> dict[str, Any]:
    """The government's quarterly disclosure (信息披露): insureds, claims by type and town,
    amounts, service-clock compliance, complaints and satisfaction, for one scheme policy and
    one quarter. The HTML and XLSX renderings are made from this one dict."""
    first, last = sch.parse_quarter(cmd.quarter)
    with db.read() as s:
        policy = load_policy(s, cmd.policy_no)
        if policy.kind != "group":
            raise ValidationError("policy_no", f"{cmd.policy_no} 不是团体保单")
        lo, hi = (datetime.combine(d, time(), SHANGHAI) for d in (first, last + timedelta(1)))
        claims = _quarter_claims(s, policy, first, last)
        return {
            "policy_no": policy.policy_no, "applicant_name": policy.applicant_name,
            "quarter": f"{first.year}Q{(first.month + 2) // 3}",
            "from": first.isoformat(), "to": last.isoformat(),
            "insureds": _insureds(s, policy, first, last),
            "claims": _claims_summary(claims),
            "by_type": _by(claims, "claim_type", CLAIM_TYPE_NAMES),
            "by_town": _by(claims, "town", None),
            "paid_in_quarter": _paid_between(s, policy, lo, hi),
            "sla": claim_stats.sla_by_clock(s, and_(
                ClaimRow.policy_id == policy.id, ClaimRow.reported_on >= first,
                ClaimRow.reported_on <= last), min(last, today_cn())),
            "complaints": _complaints(s, policy, first, last),
            "satisfaction": _satisfaction(s, [c["claim_no"] for c in claims], lo, hi),
        }


def _quarter_claims(s: Session, policy: PolicyRow, first: date, last: date
                    ) -> list[dict[str, Any]]:
    rows = s.execute(select(ClaimRow, Party.address).join(
        Party, Party.id == ClaimRow.insured_party_id).where(
        ClaimRow.policy_id == policy.id, ClaimRow.reported_on >= first,
        ClaimRow.reported_on <= last).order_by(ClaimRow.id)).all()
    return [{"row": row, "claim_no": row.claim_no, "claim_type": row.claim_type,
             "status": row.status, "town": sch.town_of(address),
             "approved_fen": row.approved_fen or 0} for row, address in rows]


def _insureds(s: Session, policy: PolicyRow, first: date, last: date) -> dict[str, int]:
    member = RosterMember.policy_id == policy.id
    covered = s.execute(select(func.count()).select_from(RosterMember).where(
        member, RosterMember.enrolled_on <= last,
        (RosterMember.ended_on.is_(None)) | (RosterMember.ended_on >= last))).scalar_one()
    joined = s.execute(select(func.count()).select_from(RosterMember).where(
        member, RosterMember.enrolled_on >= first, RosterMember.enrolled_on <= last)
    ).scalar_one()
    left = {reason: n for reason, n in s.execute(
        select(RosterMember.end_reason, func.count()).where(
            member, RosterMember.ended_on >= first, RosterMember.ended_on <= last)
        .group_by(RosterMember.end_reason))}
    return {"at_quarter_end": covered, "joined": joined, "left_death": left.get("death", 0),
            "left_moved_away": left.get("moved_away", 0),
            "left_correction": left.get("correction", 0)}


_DECIDED_PAID = (cl.APPROVED, cl.PAID, cl.CLOSED)


def _claims_summary(claims: list[dict[str, Any]]) -> dict[str, Any]:
    paid = [c for c in claims if c["status"] in _DECIDED_PAID]
    return {"reported": len(claims), "approved": len(paid),
            "rejected": sum(c["status"] == cl.REJECTED for c in claims),
            "withdrawn": sum(c["status"] == cl.WITHDRAWN for c in claims),
            "open": sum(c["status"] in cl.OPEN and c["status"] not in _DECIDED_PAID
                        for c in claims),
            "approved_amount": fmt(from_fen(sum(c["approved_fen"] for c in paid)))}


def _by(claims: list[dict[str, Any]], key: str, names: dict[str, str] | None
        ) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in claims:
        groups.setdefault(c[key], []).append(c)
    out = []
    for value in sorted(groups, key=lambda v: (-len(groups[v]), v)):
        part = groups[value]
        decided = [c for c in part if c["status"] in _DECIDED_PAID]
        out.append({key: value, "name": (names or {}).get(value, value),
                    "reported": len(part), "approved": len(decided),
                    "approved_amount": fmt(from_fen(sum(c["approved_fen"] for c in decided)))})
    return out


def _paid_between(s: Session, policy: PolicyRow, lo: datetime, hi: datetime) -> dict[str, Any]:
    count, fen = s.execute(select(func.count(), func.coalesce(func.sum(ClaimPayment.amount_fen), 0))
                           .join(ClaimRow, ClaimRow.id == ClaimPayment.claim_id)
                           .where(ClaimRow.policy_id == policy.id, ClaimPayment.paid_at >= lo,
                                  ClaimPayment.paid_at < hi)).one()
    return {"payments": int(count), "amount": fmt(from_fen(int(fen)))}



def _complaints(s: Session, policy: PolicyRow, first: date, last: date) -> dict[str, Any]:
    claim_nos = select(ClaimRow.claim_no).where(ClaimRow.policy_id == policy.id)
    about = (ComplaintRow.policy_no == policy.policy_no) | ComplaintRow.claim_no.in_(claim_nos)
    rows = s.execute(select(ComplaintRow.category, ComplaintRow.decided_on, ComplaintRow.due_on)
                     .where(about, ComplaintRow.received_on >= first,
                            ComplaintRow.received_on <= last)).all()
    decided = [r for r in rows if r.decided_on is not None]
    return {"received": len(rows), "decided": len(decided),
            "decided_in_time": sum(r.decided_on <= r.due_on for r in decided),
            "by_category": {CATEGORY_NAMES.get(k, k): n for k, n in sorted(
                {r.category: sum(x.category == r.category for x in rows) for r in rows}.items())}}


def _satisfaction(s: Session, claim_nos: list[str], lo: datetime, hi: datetime
                  ) -> dict[str, Any]:
    """Ratings given in the quarter on this scheme's claims."""
    scores = list(s.execute(select(SatisfactionRow.score).where(
        SatisfactionRow.subject_type == "claim", SatisfactionRow.subject_id.in_(claim_nos),
        SatisfactionRow.score.is_not(None), SatisfactionRow.rated_at >= lo,
        SatisfactionRow.rated_at < hi)).scalars()) if claim_nos else []
    return {"ratings": len(scores),
            "average": f"{sum(scores) / len(scores):.2f}" if scores else None,
            "satisfied_pct": f"{100 * sum(x >= 4 for x in scores) / len(scores):.1f}"
            if scores else None}
