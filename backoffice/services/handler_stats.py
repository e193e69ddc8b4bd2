"""Per staff member figures for supervisors (绩效), over one window of Beijing dates:

- claims: those reported in the window whose handler is the member (`handled`); of them the
  ones decided (approved, i.e. `decided_on`, or rejected), the days from report to decision
  (median and p90, as PostgreSQL's percentile_cont), and the share of the claims' staff clocks
  (review, decision, payment, rejection letter…) met of those met or breached (open ones are
  not counted either way);
- satisfaction: ratings given in the window about the member's conversations (the agent
  rated) and the member's claims (by claim number), their count and average;
- complaints: those received in the window that the member handled, and those about the
  member's claims;
- conversations: closed in the window by the member as agent.

Each figure is one SQL aggregate per member except the clocks, which run the same pure clock
functions the claim view uses (as claim_stats does).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from pydantic import Field
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from backoffice.domain.clocks import NOTICE_CLOCKS
from backoffice.domain.staff import ROLE_NAMES
from backoffice.services.base import today_cn
from backoffice.services.claim_stats import (
    Window,
    _pct,
    _quantile,
    _round1,
    parse_window,
    staff_clocks,
)
from backoffice.services.commands import Command, Day, takes
from backoffice.store.db import Database
from backoffice.store.models import (
    ClaimRow,
    ComplaintRow,
    Conversation,
    SatisfactionRow,
    StaffRow,
)


class HandlerWindow(Command):
    """`from` and `to`, YYYY-MM-DD (default: this year so far)."""

    start: Day | None = Field(default=None, alias="from")
    end: Day | None = Field(default=None, alias="to")


def _summary(days: list[int]) -> dict[str, float | None]:
    values = sorted(days)
    if not values:
        return {"median": None, "p90": None}
    return {"median": _round1(_quantile(values, 0.5)), "p90": _round1(_quantile(values, 0.9))}


def _claims(s: Session, w: Window, today: date) -> dict[str, dict[str, Any]]:
    """handled, decided, days to decision, clocks met/breached, claim numbers: per handler."""
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "handled": 0, "decided": 0, "days": [], "met": 0, "breached": 0, "claim_nos": []})
    chosen = and_(ClaimRow.handler.is_not(None), ClaimRow.reported_on >= w.start,
                  ClaimRow.reported_on <= w.end)
    for (no, handler), events, clocks in staff_clocks(s, chosen, today, ClaimRow.claim_no,
                                                      ClaimRow.handler):
        f = out[handler]
        f["handled"] += 1
        f["claim_nos"].append(no)
        decision = events.decided_on or events.rejected_on
        if decision is not None:
            f["decided"] += 1
            f["days"].append((decision - events.reported_on).days)
        for name, d in clocks.items():
            if name in NOTICE_CLOCKS:  # the customer's notices are the scheduler's, not theirs
                continue
            if d.breached:
                f["breached"] += 1
            elif d.done_on is not None:
                f["met"] += 1
    return out


def _ratings(s: Session, w: Window, member: str, claim_nos: list[str]) -> tuple[int, Any]:
    lo, hi = w.utc_bounds
    about = or_(and_(SatisfactionRow.subject_type == "conversation",
                     SatisfactionRow.agent == member),
                and_(SatisfactionRow.subject_type == "claim",
                     SatisfactionRow.subject_id.in_(claim_nos or [""])))
    n, avg = s.execute(select(func.count(), func.avg(SatisfactionRow.score)).where(
        about, SatisfactionRow.score.is_not(None), SatisfactionRow.rated_at >= lo,
        SatisfactionRow.rated_at < hi)).one()
    return int(n), (_round1(float(avg)) if avg is not None else None)


def _count(s: Session, stmt: Any) -> int:
    return int(s.execute(stmt).scalar_one())


@takes(HandlerWindow)
def handler_stats(db: Database, cmd: HandlerWindow, actor: str = "") -> dict[str, Any]:
    """The figures of every staff member who handled something in the window, by name."""
    today = today_cn()
    w = parse_window(cmd.start.isoformat() if cmd.start else None,
                     cmd.end.isoformat() if cmd.end else None, today)
    lo, hi = w.utc_bounds
    with db.read() as s:
        claims = _claims(s, w, today)
        complaints_handled = dict(s.execute(
            select(ComplaintRow.handler, func.count()).where(
                ComplaintRow.handler.is_not(None), ComplaintRow.received_on >= w.start,
                ComplaintRow.received_on <= w.end).group_by(ComplaintRow.handler)).tuples().all())
        closed = dict(s.execute(
            select(Conversation.agent, func.count()).where(
                Conversation.agent.is_not(None), Conversation.state == "closed",
                Conversation.closed_at >= lo, Conversation.closed_at < hi)
            .group_by(Conversation.agent)).tuples().all())
        rated = {a for (a,) in s.execute(select(SatisfactionRow.agent).where(
            SatisfactionRow.agent.is_not(None), SatisfactionRow.rated_at >= lo,
            SatisfactionRow.rated_at < hi).distinct()).all()}
        members = sorted(set(claims) | set(complaints_handled) | set(closed) | rated)
        staff = {r.username: r for r in s.execute(
            select(StaffRow).where(StaffRow.username.in_(members or [""]))).scalars()}
        items = []
        for m in members:
            c = claims.get(m) or {"handled": 0, "decided": 0, "days": [], "met": 0,
                                  "breached": 0, "claim_nos": []}
            ratings, average = _ratings(s, w, m, c["claim_nos"])
            about = 0
            for chunk in range(0, len(c["claim_nos"]), 500):
                about += _count(s, select(func.count()).select_from(ComplaintRow).where(
                    ComplaintRow.claim_no.in_(c["claim_nos"][chunk:chunk + 500]),
                    ComplaintRow.received_on >= w.start, ComplaintRow.received_on <= w.end))
            person = staff.get(m)
            items.append({
                "username": m, "name": person.display_name if person else m,
                "role": person.role if person else None,
                "role_name": ROLE_NAMES.get(person.role, "") if person else "",
                "claims_handled": c["handled"], "claims_decided": c["decided"],
                "days_to_decision": _summary(c["days"]),
                "clocks_met": c["met"], "clocks_breached": c["breached"],
                "sla_kept_pct": _pct(c["met"], c["met"] + c["breached"]),
                "conversations_closed": int(closed.get(m, 0)),
                "ratings": ratings, "average_rating": average,
                "complaints_handled": int(complaints_handled.get(m, 0)),
                "complaints_about_claims": about})
    return {"from": w.start.isoformat(), "to": w.end.isoformat(), "as_of": today.isoformat(),
            "items": items}
