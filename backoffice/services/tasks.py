"""Work queues (工作队列): every task the back office opens — 回访, registration reviews (问题件),
deadline warnings and escalations, low scores, complaint escalations, claim reviews and
loss-ratio alerts — listed by kind with its owner, due day, result and outcome.

Tasks are opened by the use cases that need them (claims, reminders, satisfaction, scheme);
here they are read, and a task with no step of its own is closed with its result. A 回访 has
its own result (customer_answers.record_follow_up: reached / not reached / complaint raised);
a registration review is closed by the claim's step (register, register anyway, decline).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backoffice.domain.errors import Conflict, NotFound, ValidationError
from backoffice.services.base import audit, today_cn
from backoffice.services.commands import Command, Count, OneOf, RowId, Text, takes
from backoffice.store.db import Database
from backoffice.store.models import ClaimRow, PolicyRow, Task

KIND_NAMES = {
    "follow_up": "回访", "registration_review": "立案核查未通过（问题件）",
    "claim_review": "案件复核", "deadline_warning": "时限预警", "escalation": "超时督办",
    "complaint_escalation": "投诉督办", "low_score": "低分回访", "loss_ratio_alert": "赔付率预警",
}
STATUSES = ("open", "done", "all")
# kinds closed by a step of their own, never by a bare result
_OWN_STEP = {"follow_up": "回访结果请用回访登记",
             "registration_review": "问题件须在案件上立案或不予立案"}
MAX_ITEMS = 500


class TaskQuery(Command):
    """The queue's filters: open tasks of every kind by default, the oldest due first."""

    kind: OneOf(tuple(KIND_NAMES)) | None = None  # type: ignore[valid-type]
    status: OneOf(STATUSES) = "open"  # type: ignore[valid-type]
    assigned_to: Text(60) | None = None  # type: ignore[valid-type]
    limit: Count(MAX_ITEMS) = 200  # type: ignore[valid-type]


@takes(TaskQuery)
def search(db: Database, cmd: TaskQuery, actor: str = "") -> list[dict[str, Any]]:
    stmt = (select(Task, ClaimRow.claim_no, PolicyRow.policy_no)
            .outerjoin(ClaimRow, ClaimRow.id == Task.claim_id)
            .outerjoin(PolicyRow, PolicyRow.id == Task.policy_id)
            .where(Task.kind.in_(tuple(KIND_NAMES))))
    if cmd.kind:
        stmt = stmt.where(Task.kind == cmd.kind)
    if cmd.status != "all":
        stmt = stmt.where(Task.status == cmd.status)
    if cmd.assigned_to:
        stmt = stmt.where(Task.assigned_to == cmd.assigned_to)
    stmt = stmt.order_by(Task.due_on, Task.id).limit(cmd.limit or MAX_ITEMS)
    today = today_cn()
    with db.read() as s:
        return [view(task, claim_no, policy_no, today)
                for task, claim_no, policy_no in s.execute(stmt).all()]


def view(task: Task, claim_no: str | None, policy_no: str | None, today: Any) -> dict[str, Any]:
    return {"task_id": task.id, "kind": task.kind,
            "kind_name": KIND_NAMES.get(task.kind, task.kind),
            "claim_no": claim_no, "policy_no": policy_no, "due_on": task.due_on.isoformat(),
            "overdue": task.status == "open" and task.due_on < today,
            "assigned_to": task.assigned_to, "status": task.status, "note": task.note,
            "outcome": task.outcome, "result": task.result, "done_by": task.done_by}


class CloseTask(Command):
    """A task with no step of its own closed with what was done (a deadline warning handled,
    an escalation followed up)."""

    task_id: RowId
    result: Text(1000, blank_ok=False)  # type: ignore[valid-type]


@takes(CloseTask)
def close(db: Database, cmd: CloseTask, actor: str) -> dict[str, Any]:
    with db.transaction() as s:
        task = s.execute(select(Task).where(Task.id == cmd.task_id).with_for_update()).scalar()
        if task is None or task.kind not in KIND_NAMES:
            raise NotFound(f"任务 {cmd.task_id} 不存在", "task_id")
        if task.kind in _OWN_STEP:
            raise ValidationError("task_id", _OWN_STEP[task.kind])
        if task.status == "done":
            raise Conflict("该任务已办结", "task_id")
        task.status, task.result, task.done_by = "done", cmd.result, str(actor)
        task.outcome = "handled"
        audit(s, str(actor), "task", str(task.id), "close", {"status": "open"},
              {"status": "done", "result": cmd.result})
        claim_no = s.get(ClaimRow, task.claim_id).claim_no if task.claim_id else None
        policy_no = s.get(PolicyRow, task.policy_id).policy_no if task.policy_id else None
        return view(task, claim_no, policy_no, today_cn())
