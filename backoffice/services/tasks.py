"""Work queues (工作队列): every task the back office opens — 回访, registration reviews (问题件),
deadline warnings and escalations, low scores, complaint escalations, claim reviews and
loss-ratio alerts — listed by kind with its owner, due day, result and outcome.

Tasks are opened by the use cases that need them (claims, reminders, satisfaction, scheme,
the 回访 samples); here they are read, taken by a staff member or assigned by a supervisor,
and a task with no step of its own is closed with its result. A 回访 has its own result
(customer_answers.record_follow_up: reached / not reached / complaint raised); a registration
review is closed by the claim's step (register anyway, decline), which records the task's
result (claims._settle_work).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.domain import claim as cl
from backoffice.domain import customer_answer as ca
from backoffice.domain import staff as roles
from backoffice.domain.errors import Conflict, NotFound, ValidationError
from backoffice.domain.identity import age_on, mask_phone
from backoffice.services.base import audit, today_cn
from backoffice.services.commands import Command, Count, Flag, OneOf, RowId, Text, takes
from backoffice.store.db import Database
from backoffice.store.models import ClaimRow, Party, PolicyRow, StaffRow, Task, utcnow

KIND_NAMES = {
    "follow_up": "回访", "registration_review": "立案核查未通过（问题件）",
    "claim_review": "案件复核", "deadline_warning": "时限预警", "escalation": "超时督办",
    "complaint_escalation": "投诉督办", "low_score": "低分回访", "loss_ratio_alert": "赔付率预警",
}
STATUSES = ("open", "done", "all")
STATUS_NAMES = {"open": "待办", "asked": "已发问，待客户答复", "done": "已办结"}
# what a task's outcome code says, in Chinese: the 回访 outcomes, the claim steps that close a
# registration review, and a bare close
OUTCOME_NAMES = {**ca.OUTCOME_NAMES, "handled": "已处理",
                 "register_anyway": "仍予立案", "decline_registration": "不予立案",
                 "register": "已立案"}
# kinds closed by a step of their own, never by a bare result
_OWN_STEP = {"follow_up": "回访结果请用回访登记",
             "registration_review": "问题件须在案件上立案或不予立案"}
MAX_ITEMS = 500


def pii_for(actor: object) -> bool:
    """Whether the actor sees a task's person in full: integrations do, and the staff who
    phone them (the 回访 workers) or work claims."""
    role = getattr(actor, "role", None)
    return role is None or roles.sees_pii(role, "follow_ups")


class TaskQuery(Command):
    """The queue's filters: open tasks of every kind by default, the oldest due first.
    `mine` is the caller's own queue (我的任务); `owner` another's (`none`: nobody's yet)."""

    kind: OneOf(tuple(KIND_NAMES)) | None = None  # type: ignore[valid-type]
    status: OneOf(STATUSES) = "open"  # type: ignore[valid-type]
    assigned_to: Text(60) | None = None  # type: ignore[valid-type]
    mine: Flag = False
    overdue: Flag = False
    limit: Count(MAX_ITEMS) = 200  # type: ignore[valid-type]


_ROW = (Task, ClaimRow.claim_no, PolicyRow.policy_no, Party)


def _joined() -> Any:
    return (select(*_ROW)
            .outerjoin(ClaimRow, ClaimRow.id == Task.claim_id)
            .outerjoin(PolicyRow, PolicyRow.id == Task.policy_id)
            .outerjoin(Party, Party.id == Task.party_id)
            .where(Task.kind.in_(tuple(KIND_NAMES))))


@takes(TaskQuery)
def search(db: Database, cmd: TaskQuery, actor: str = "") -> list[dict[str, Any]]:
    today = today_cn()
    stmt = _joined()
    if cmd.kind:
        stmt = stmt.where(Task.kind == cmd.kind)
    if cmd.status == "open":  # a 回访 asked and awaiting the customer is still open work
        stmt = stmt.where(Task.status.in_(("open", "asked")))
    elif cmd.status == "done":
        stmt = stmt.where(Task.status == "done")
    owner = str(actor) if cmd.mine else cmd.assigned_to
    if owner == "none":
        stmt = stmt.where(Task.assigned_to.is_(None))
    elif owner:
        stmt = stmt.where(Task.assigned_to == owner)
    if cmd.overdue:
        stmt = stmt.where(Task.status != "done", Task.due_on < today)
    stmt = stmt.order_by(Task.due_on, Task.id).limit(cmd.limit or MAX_ITEMS)
    pii = pii_for(actor)
    with db.read() as s:
        return [view(*row, today, pii=pii) for row in s.execute(stmt).all()]


def view(task: Task, claim_no: str | None, policy_no: str | None, party: Party | None,
         today: date, *, pii: bool = True) -> dict[str, Any]:
    status = "done" if task.status == "done" else "open"
    return {"task_id": task.id, "kind": task.kind,
            "kind_name": KIND_NAMES.get(task.kind, task.kind),
            "claim_no": claim_no, "policy_no": policy_no, "due_on": task.due_on.isoformat(),
            "overdue": status == "open" and task.due_on < today,
            "assigned_to": task.assigned_to, "status": status,
            "status_name": STATUS_NAMES.get(task.status, task.status), "note": task.note,
            "outcome": task.outcome,
            "outcome_name": _outcome_name(task.outcome),
            "result": task.result, "done_by": task.done_by,
            "done_at": task.done_at.isoformat() if task.done_at else None,
            "person": _person(party, today, pii)}


def _outcome_name(outcome: str | None) -> str | None:
    """In Chinese: a 回访 outcome, a bare close, or the claim step that finished the task."""
    if not outcome:
        return None
    return OUTCOME_NAMES.get(outcome) or cl.ACTION_NAMES.get(outcome, outcome)


def _person(party: Party | None, today: date, pii: bool) -> dict[str, Any] | None:
    if party is None:
        return None
    phone = party.phone if pii or not party.phone else mask_phone(party.phone)
    return {"name": party.name, "phone": phone, "age": age_on(party.birth_date, today)}


class TaskRef(Command):
    task_id: RowId


def _load(s: Session, task_id: int, *, lock: bool = False) -> Task:
    stmt = select(Task).where(Task.id == task_id, Task.kind.in_(tuple(KIND_NAMES)))
    task = s.execute(stmt.with_for_update() if lock else stmt).scalar()
    if task is None:
        raise NotFound(f"任务 {task_id} 不存在", "task_id")
    return task


def _view_of(s: Session, task: Task, pii: bool = True) -> dict[str, Any]:
    claim = s.get(ClaimRow, task.claim_id) if task.claim_id else None
    policy = s.get(PolicyRow, task.policy_id) if task.policy_id else None
    party = s.get(Party, task.party_id) if task.party_id else None
    return view(task, claim.claim_no if claim else None, policy.policy_no if policy else None,
                party, today_cn(), pii=pii)


@takes(TaskRef)
def get(db: Database, cmd: TaskRef, actor: str = "") -> dict[str, Any]:
    """One task with what its action needs: a registration review's failed checks and the
    claim's stage, a 回访's claim."""
    with db.read() as s:
        task = _load(s, cmd.task_id)
        out = _view_of(s, task, pii_for(actor))
        claim = s.get(ClaimRow, task.claim_id) if task.claim_id else None
        out["claim"] = None if claim is None else {
            "claim_no": claim.claim_no, "status": claim.status,
            "stage": cl.STAGE_NAMES.get(claim.status, claim.status),
            "allowed_actions": list(cl.allowed_actions(claim.status))}
        out["failed_checks"] = ([p for p in (task.note or "").split("；") if p]
                                if task.kind == "registration_review" else [])
        return out


class TakeTask(Command):
    """The caller takes the task as its owner."""

    task_id: RowId


@takes(TakeTask)
def take(db: Database, cmd: TakeTask, actor: str) -> dict[str, Any]:
    """The caller becomes the owner. Taking one's own task again changes nothing; a task
    another staff member owns is theirs until a supervisor assigns it (409)."""
    with db.transaction() as s:
        task = _load(s, cmd.task_id, lock=True)
        if task.status == "done":
            raise Conflict("该任务已办结", "task_id")
        if task.assigned_to and task.assigned_to != str(actor):
            raise Conflict(f"该任务已由 {task.assigned_to} 领取，如需转办请主管分派", "task_id")
        if task.assigned_to != str(actor):
            audit(s, str(actor), "task", str(task.id), "take", {"assigned_to": None},
                  {"assigned_to": str(actor)})
            task.assigned_to = str(actor)
        return _view_of(s, task, pii_for(actor))


class AssignTask(Command):
    """A supervisor gives the task to a named, active staff member."""

    task_id: RowId
    assigned_to: Text(40, blank_ok=False)  # type: ignore[valid-type]


@takes(AssignTask)
def assign(db: Database, cmd: AssignTask, actor: str) -> dict[str, Any]:
    with db.transaction() as s:
        task = _load(s, cmd.task_id, lock=True)
        if task.status == "done":
            raise Conflict("该任务已办结", "task_id")
        person = s.execute(select(StaffRow).where(StaffRow.username == cmd.assigned_to,
                                                  StaffRow.active.is_(True))).scalar()
        if person is None:
            raise ValidationError("assigned_to", f"没有在职的工作人员 {cmd.assigned_to}")
        if task.assigned_to != person.username:
            audit(s, str(actor), "task", str(task.id), "assign",
                  {"assigned_to": task.assigned_to}, {"assigned_to": person.username})
            task.assigned_to = person.username
        return _view_of(s, task, pii_for(actor))


class CloseTask(Command):
    """A task with no step of its own closed with what was done (a deadline warning handled,
    an escalation followed up)."""

    task_id: RowId
    result: Text(1000, blank_ok=False)  # type: ignore[valid-type]


@takes(CloseTask)
def close(db: Database, cmd: CloseTask, actor: str) -> dict[str, Any]:
    with db.transaction() as s:
        task = _load(s, cmd.task_id, lock=True)
        if task.kind in _OWN_STEP:
            raise ValidationError("task_id", _OWN_STEP[task.kind])
        if task.status == "done":
            raise Conflict("该任务已办结", "task_id")
        task.status, task.result, task.done_by = "done", cmd.result, str(actor)
        task.outcome, task.done_at = "handled", utcnow()
        audit(s, str(actor), "task", str(task.id), "close", {"status": "open"},
              {"status": "done", "result": cmd.result})
        return _view_of(s, task, pii_for(actor))
