"""Derived work queues: claims whose documents are overdue, claims waiting for approval by the
authority level they need. Read from the claims as they stand, never stored.

Documents overdue is a derived list rather than a task the reminder job opens: the claim's
requirements already say what is missing and since when, so the list cannot drift from them
(a document received takes the claim off at once, with no task left to close), and nothing
needs a migration or a clean-up job.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from backoffice.domain import claim as cl
from backoffice.domain import clocks
from backoffice.domain import staff as roles
from backoffice.domain.money import fmt, from_fen
from backoffice.services.base import today_cn
from backoffice.services.claims import claim_requirements, claim_steps, documents_asked
from backoffice.services.commands import Command, Count, OneOf, takes
from backoffice.store.db import Database
from backoffice.store.models import ClaimRequirement, ClaimRow, StaffRow

MAX_ITEMS = 500
STAGES = ("first", "second")  # past the 5th or the 10th working day after the ask


class DocumentsOverdueQuery(Command):
    """`after`: `second` (default) lists claims past the 10-working-day reminder, `first`
    those past the 5-working-day one too."""

    after: OneOf(STAGES) = "second"  # type: ignore[valid-type]
    limit: Count(MAX_ITEMS) = 200  # type: ignore[valid-type]


@takes(DocumentsOverdueQuery)
def documents_overdue(db: Database, cmd: DocumentsOverdueQuery, actor: str = ""
                      ) -> list[dict[str, Any]]:
    """Open claims still missing documents past the reminder clock, the longest waiting
    first, with what is missing."""
    today = today_cn()
    index = STAGES.index(cmd.after)
    out = []
    with db.read() as s:
        rows = s.execute(select(ClaimRow).where(
            ClaimRow.status.in_(cl.OPEN),
            exists().where(ClaimRequirement.claim_id == ClaimRow.id,
                           ClaimRequirement.received_on.is_(None)))
            .order_by(ClaimRow.id)).scalars().all()
        for row in rows:
            item = _overdue(s, row, today, index)
            if item is not None:
                out.append(item)
    out.sort(key=lambda i: (i["asked_on"], i["claim_no"]))
    return out[:cmd.limit or MAX_ITEMS]


def _overdue(s: Session, row: ClaimRow, today: date, index: int) -> dict[str, Any] | None:
    reqs = claim_requirements(s, row)
    asked, sent = documents_asked(s, row, reqs)
    if asked is None:
        return None
    days = clocks.documents_reminders(asked)
    if days[index] > today:
        return None
    return {"claim_no": row.claim_no, "status": row.status,
            "stage": cl.STAGE_NAMES.get(row.status, row.status), "handler": row.handler,
            "asked_on": asked.isoformat(), "reminders_sent": sent,
            "reminder_days": [d.isoformat() for d in days],
            "overdue_since": days[index].isoformat(), "days_waiting": (today - asked).days,
            "missing": [r.name for r in reqs if r.received_on is None],
            "time_bar": clocks.time_bar(row.incident_date).isoformat()}


def _approvers(staff: list[StaffRow], level: str, amount: Decimal,
               barred: dict[str, list[str]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Active staff whose role's authority covers the amount, less those barred by the four
    eyes rule (they took a deciding step: never the one who decided)."""
    may, excluded = [], []
    for person in staff:
        role = roles.CLAIM_APPROVAL_ROLE.get(person.role)
        if role is None or not roles.may_take_claim_action(person.role, "approve"):
            continue
        if cl.ROLES.index(role) < cl.ROLES.index(level) \
                or not cl.within_authority(role, amount):
            continue
        if person.username in barred:
            excluded.append({"username": person.username,
                             "why": "、".join(barred[person.username])})
        else:
            may.append(person.username)
    return may, excluded


class ApprovalsQuery(Command):
    level: OneOf(cl.ROLES) | None = None  # type: ignore[valid-type]


@takes(ApprovalsQuery)
def approvals_waiting(db: Database, cmd: ApprovalsQuery, actor: str = "") -> dict[str, Any]:
    """Claims adjudicated or escalated and not yet approved, grouped by the authority level
    their amount needs (理赔员 ≤ 5 000, 理赔主管 ≤ 50 000, 分公司负责人 above), each with who may
    approve it and who may not (four eyes)."""
    groups: dict[str, list[dict[str, Any]]] = {level: [] for level in cl.ROLES}
    with db.read() as s:
        staff = list(s.execute(select(StaffRow).where(StaffRow.active.is_(True))
                               .order_by(StaffRow.username)).scalars())
        rows = s.execute(select(ClaimRow).where(
            ClaimRow.status.in_((cl.ADJUDICATED, cl.PENDING_APPROVAL)),
            ClaimRow.payable_fen.is_not(None)).order_by(ClaimRow.id)).scalars().all()
        for row in rows:
            amount = from_fen(row.payable_fen or 0)
            level = row.approval_role if row.status == cl.PENDING_APPROVAL \
                and row.approval_role in cl.ROLES else cl.required_role(amount)
            barred = cl.deciders(claim_steps(s, row))
            may, excluded = _approvers(staff, level, amount, barred)
            groups[level].append({
                "claim_no": row.claim_no, "status": row.status,
                "stage": cl.STAGE_NAMES.get(row.status, row.status), "amount": fmt(amount),
                "handler": row.handler, "may_approve": may, "barred": excluded})
    return {"levels": [{"level": level, "level_name": cl.ROLE_NAMES[level],
                        "limit": _limit(level), "claims": claims}
                       for level, claims in groups.items()
                       if cmd.level in (None, level)]}


def _limit(level: str) -> str | None:
    limit = cl.DEFAULT_LIMITS.get(level)
    return None if limit is None else fmt(limit)
