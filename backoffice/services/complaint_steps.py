"""A complaint row read into the domain's state machine and written back with its history,
audit entry and outbox event.

Shared by the complaint workflow (complaints.py) and by a customer's rating that lands on a
complaint (satisfaction.py), so that neither of the two has to import the other.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import WithJsonSchema
from sqlalchemy.orm import Session

from backoffice.domain import complaint as cp
from backoffice.services.base import audit, emit
from backoffice.services.commands import domain_rule
from backoffice.store.models import ComplaintEvent, ComplaintRow

# a customer's 1–5 rating, as the complaint rules check it (a complaint step and a rating)
Score = Annotated[int, domain_rule(lambda v, _f: cp.check_score(v)),
                  WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 5})]


def to_domain(row: ComplaintRow) -> cp.Complaint:
    return cp.Complaint(status=row.status, track=row.track, handler=row.handler,
                        notes=row.notes_count, reopen_count=row.reopen_count,
                        received_on=row.received_on)


def write_back(s: Session, row: ComplaintRow, c: cp.Complaint, action: str, actor: str,
               note: str | None) -> None:
    before = {"status": row.status, "track": row.track, "handler": row.handler}
    row.status, row.track, row.handler = c.status, str(c.track), c.handler
    row.notes_count, row.reopen_count = c.notes, c.reopen_count
    row.due_on = cp.due_date(row.received_on, row.track)
    s.add(ComplaintEvent(complaint_id=row.id, action=action, status=row.status, actor=actor,
                         note=note))
    audit(s, actor, "complaint", row.complaint_no, action, before,
          {"status": row.status, "track": row.track, "handler": row.handler})
    emit(s, f"complaint.{action}", {"complaint_no": row.complaint_no, "status": row.status})


def record_satisfaction(s: Session, row: ComplaintRow, score: int, actor: str) -> None:
    """The complainant's checked 1–5 score moves a told complaint on to `rated`."""
    c = to_domain(row)
    c.record_satisfaction(score, actor)
    row.satisfaction_score = score
    write_back(s, row, c, "record_satisfaction", actor, f"满意度 {score} 分")
