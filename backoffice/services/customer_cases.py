"""All the cases of an identified customer (GET /bindings/{channel}/{user}/cases): their
claims of the last two years, complaints, home visits and endorsement requests, told in plain
words with personal data masked.

Only the bound party's own cases: claims where they are the insured; complaints about those
claims or their own policies (a group policy's number is the whole scheme's, so it names
nobody); home visits asked for with their ID number; endorsement requests on their own
policies. Besides, what this very channel user filed (a WeChat openid or web visitor id now
bound to the party) — never by a caller's number, which proves nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from backoffice.clock import SHANGHAI
from backoffice.domain import claim as cl
from backoffice.domain import customer_cases as cc
from backoffice.domain.errors import NotFound
from backoffice.domain.masking import mask_text
from backoffice.domain.money import fmt, from_fen
from backoffice.services import claims as claims_service
from backoffice.services.base import today_cn
from backoffice.services.bindings import ChannelUser, _own_policies, bound_party
from backoffice.services.commands import takes
from backoffice.store.db import Database
from backoffice.store.models import (
    AppealRow,
    ClaimRow,
    ComplaintRow,
    EndorsementRequestRow,
    HomeVisit,
    Party,
    PolicyRow,
)


def _day(at: datetime | None) -> date | None:
    return at.astimezone(SHANGHAI).date() if at else None


def _own_channel_user(model: Any, channel: str, user: str) -> Any:
    """Filed by this bound channel user; a call's user is a caller's number: proves nothing."""
    if channel == "ivr":
        return false()
    return and_(model.channel == channel, model.channel_user == user)


def _claims(s: Session, party: Party, today: date) -> list[ClaimRow]:
    return list(s.execute(select(ClaimRow).where(
        ClaimRow.insured_party_id == party.id, ClaimRow.status.in_(cc.LISTED_CLAIMS),
        ClaimRow.reported_on >= cc.claims_since(today))
        .order_by(ClaimRow.reported_at.desc(), ClaimRow.id.desc())).scalars())


def _complaints(s: Session, party: Party, channel: str, user: str) -> list[ComplaintRow]:
    claim_nos = select(ClaimRow.claim_no).where(ClaimRow.insured_party_id == party.id)
    return list(s.execute(select(ComplaintRow).where(or_(
        ComplaintRow.claim_no.in_(claim_nos),
        ComplaintRow.policy_no.in_(_own_policies(s, party)),
        _own_channel_user(ComplaintRow, channel, user)))
        .order_by(ComplaintRow.received_at.desc(), ComplaintRow.id.desc())).scalars())


def _visits(s: Session, party: Party, channel: str, user: str) -> list[HomeVisit]:
    return list(s.execute(select(HomeVisit).where(or_(
        HomeVisit.id_number_hash == party.id_number_hash,
        _own_channel_user(HomeVisit, channel, user)))
        .order_by(HomeVisit.requested_at.desc(), HomeVisit.id.desc())).scalars())


def _endorsements(s: Session, party: Party, channel: str,
                  user: str) -> list[EndorsementRequestRow]:
    own = select(PolicyRow.id).where(or_(PolicyRow.insured_party_id == party.id,
                                         PolicyRow.applicant_party_id == party.id))
    return list(s.execute(select(EndorsementRequestRow).where(or_(
        EndorsementRequestRow.policy_id.in_(own),
        _own_channel_user(EndorsementRequestRow, channel, user)))
        .order_by(EndorsementRequestRow.submitted_at.desc(),
                  EndorsementRequestRow.id.desc())).scalars())


def _appeals(s: Session, claims: list[ClaimRow]) -> dict[int, str]:
    """The latest appeal of each claim, as a line of its journey."""
    rows = s.execute(select(AppealRow).where(AppealRow.claim_id.in_([c.id for c in claims]))
                     .order_by(AppealRow.id)).scalars() if claims else []
    return {a.claim_id: cc.appeal_journey(a.appeal_no, a.status, a.due_on, a.decided_on,
                                          a.note) for a in rows}


def _claim_item(db: Database, row: ClaimRow, appeal: str | None = None) -> dict[str, Any]:
    missing: list[str] = []
    expected = None
    if row.status in cl.OPEN:  # what is missing and the clock's date, as the progress says
        progress = claims_service.progress(db, row.claim_no)
        missing = [m["name"] for m in progress["missing_documents"]]
        expected = date.fromisoformat(progress["expected_by"]) if progress["expected_by"] \
            else None
    approved = fmt(from_fen(row.approved_fen)) if row.approved_fen is not None else None
    journey = cc.claim_journey(row.status, row.claim_type, row.incident_date,
                               [str(r) for r in row.rejection_reasons or ()], missing,
                               approved, expected, appeal)
    return {"kind": "claim", "number": row.claim_no, "status": row.status,
            "reported_on": row.reported_on.isoformat(),
            "reasons": [mask_text(str(r)) for r in row.rejection_reasons or ()],
            "text": f"理赔 {row.claim_no}：{journey.text()}"}


def _complaint_item(row: ComplaintRow) -> dict[str, Any]:
    journey = cc.complaint_journey(row.status, row.category, row.outcome, row.decision,
                                   row.due_on)
    return {"kind": "complaint", "number": row.complaint_no, "status": row.status,
            "text": f"投诉 {row.complaint_no}：{journey.text()}"}


def _visit_item(row: HomeVisit) -> dict[str, Any]:
    journey = cc.home_visit_journey(row.status, _day(row.contact_by) or date.min,
                                    _day(row.visit_by) or date.min, _day(row.scheduled_for))
    return {"kind": "home_visit", "number": row.visit_no, "status": row.status,
            "text": f"{row.visit_no}：{journey.text()}"}


def _endorsement_item(row: EndorsementRequestRow) -> dict[str, Any]:
    journey = cc.endorsement_journey(row.status, row.kind, row.reason, row.due_on)
    return {"kind": "endorsement_request", "number": row.request_no, "status": row.status,
            "text": f"保全 {row.request_no}：{journey.text()}"}


@takes(ChannelUser)
def cases(db: Database, cmd: ChannelUser, actor: str = "") -> dict[str, Any]:
    """The bound party's cases, newest first, each kind capped; `more` counts the rest."""
    with db.read() as s:
        party = bound_party(s, cmd.channel, cmd.user)
        if party is None:
            raise NotFound("该渠道用户尚未核验身份", "user")
        claims = _claims(s, party, today_cn())
        appeals = _appeals(s, claims[:cc.MAX_CLAIMS])
        others = {
            "complaints": [_complaint_item(r) for r in _complaints(s, party, cmd.channel,
                                                                   cmd.user)],
            "home_visits": [_visit_item(r) for r in _visits(s, party, cmd.channel, cmd.user)],
            "endorsement_requests": [_endorsement_item(r) for r in _endorsements(
                s, party, cmd.channel, cmd.user)],
        }
    shown = claims[:cc.MAX_CLAIMS]
    answer: dict[str, Any] = {"claims": [_claim_item(db, r, appeals.get(r.id)) for r in shown],
                              "more": {"claims": len(claims) - len(shown)}}
    for item in answer["claims"]:
        item["text"] = mask_text(item["text"])
    for key, items in others.items():
        for item in items:
            item["text"] = mask_text(item["text"])
        answer[key] = items[:cc.MAX_OTHERS]
        answer["more"][key] = max(0, len(items) - cc.MAX_OTHERS)
    answer["text"] = _text(answer)
    return answer


_WHAT = {"claims": "理赔", "complaints": "投诉", "home_visits": "上门服务",
         "endorsement_requests": "保全申请"}


def _text(answer: dict[str, Any]) -> str:
    """The whole answer for the customer: one short line per case, then what was left out."""
    lines = []
    for key, what in _WHAT.items():
        lines += ["· " + item["text"] for item in answer[key]]  # masked: staff free text
        more = cc.more_text(answer["more"][key], what)
        if more:
            lines.append(more)
    if not lines:
        return ("您名下近两年没有理赔记录，也没有投诉、上门服务或保全申请。"
                "如果需要报案，请直接告诉我发生了什么。")
    return "您名下的案件（近两年理赔，最新的在前）：\n" + "\n".join(lines)
