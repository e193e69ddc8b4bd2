"""The desk's work queues: the 回访 result with a complaint raised, a replay and a hostile
outcome, a task of another kind; taking a task someone else took, a supervisor's assignment;
a registration review (问题件) registered anyway or declined from its task; documents overdue
with what is missing; approvals by authority level with who may approve (four eyes)."""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable
from datetime import date

from aiohttp.test_utils import TestClient
from desk_testkit import CSRF, World
from openpyxl import load_workbook
from sqlalchemy import func, select

from backoffice.clock import ManualClock
from backoffice.services import claims
from backoffice.store.models import AuditEntry, ClaimRow, ComplaintRow, Task

Desk = Callable[[str | None], Awaitable[TestClient]]


def _task(world: World, kind: str, key: str, claim_no: str | None = None) -> int:
    with world.db.transaction() as s:
        claim_id = None if claim_no is None else s.execute(select(ClaimRow.id).where(
            ClaimRow.claim_no == claim_no)).scalar()
        task = Task(kind=kind, claim_id=claim_id, due_on=date(2026, 5, 30), note="待办",
                    dedupe_key=key)
        s.add(task)
        s.flush()
        return int(task.id)


async def _post(client: TestClient, path: str, form: dict[str, str], page: str) -> str:
    """Post a form with the session's CSRF token; the notice the desk redirected with."""
    token = CSRF.search(await (await client.get(page)).text())
    assert token
    resp = await client.post(path, data={**form, "csrf_token": token.group(1)},
                             allow_redirects=False)
    assert resp.status == 302, (resp.status, await resp.text())
    return resp.headers["Location"]


def _row(world: World, task_id: int) -> Task:
    with world.db.read() as s:
        task = s.get(Task, task_id)
        assert task is not None
        return task


def _audit(world: World, task_id: int) -> list[tuple[str, str]]:
    with world.db.read() as s:
        return [(e.actor, e.action) for e in s.execute(select(AuditEntry).where(
            AuditEntry.entity_type == "task", AuditEntry.entity_id == str(task_id))
            .order_by(AuditEntry.id)).scalars()]


async def test_a_follow_up_that_raises_a_complaint_opens_one_once(desk: Desk,
                                                                  world: World) -> None:
    task_id = _task(world, "follow_up", "follow_up:desk:1", world.claim_no)
    agent = await desk("cs_agent")
    queue = await (await agent.get("/desk/tasks?kind=follow_up")).text()
    assert f'id="task-{task_id}"' in queue and "逾期" in queue  # due 30 May, today 1 June
    page = f"/desk/tasks/{task_id}"
    with world.db.read() as s:
        before = s.execute(select(func.count()).select_from(ComplaintRow)).scalar_one()
    # a hostile outcome: refused naming nothing done
    to = await _post(agent, f"{page}/follow-up", {"outcome": "lunch'; drop", "result": "x"},
                     page)
    assert "err=" in to and _row(world, task_id).status == "open"
    to = await _post(agent, f"{page}/follow-up", {"outcome": "complaint_raised",
                                                  "result": "赔款太少，要投诉"}, page)
    assert "msg=" in to
    done = _row(world, task_id)
    assert (done.status, done.outcome, done.done_by) == ("done", "complaint_raised", "agent.li")
    with world.db.read() as s:
        made = s.execute(select(ComplaintRow).order_by(ComplaintRow.id.desc())).scalars().first()
        assert s.execute(select(func.count()).select_from(ComplaintRow)).scalar_one() == before + 1
    assert made is not None and made.claim_no == world.claim_no
    assert made.complaint_no in (done.result or "") and made.description == "赔款太少，要投诉"
    # the same result posted again: refused, the first kept, no second complaint
    to = await _post(agent, f"{page}/follow-up", {"outcome": "reached", "result": "满意"}, page)
    assert "err=" in to
    assert _row(world, task_id).outcome == "complaint_raised"
    with world.db.read() as s:
        assert s.execute(select(func.count()).select_from(ComplaintRow)).scalar_one() == before + 1
    assert ("agent.li", "follow_up_result") in _audit(world, task_id)
    assert ("agent.li", "complaint_opened") in _audit(world, task_id)
    shown = await (await agent.get(page)).text()
    assert "客户提出投诉" in shown and made.complaint_no in shown


async def test_a_result_on_a_task_of_another_kind_is_refused(desk: Desk, world: World) -> None:
    warning = _task(world, "deadline_warning", "deadline_warning:desk:1", world.claim_no)
    agent = await desk("cs_agent")
    page = f"/desk/tasks/{warning}"
    to = await _post(agent, f"{page}/follow-up", {"outcome": "reached"}, page)
    assert "err=" in to and _row(world, warning).status == "open"
    adjuster = await desk("claims_adjuster")  # a 回访 is not the adjuster's to record
    resp = await adjuster.post(f"{page}/follow-up", data={"outcome": "reached"})
    assert resp.status == 403
    follow_up = _task(world, "follow_up", "follow_up:desk:2")
    to = await _post(adjuster, f"/desk/tasks/{follow_up}/close", {"result": "已处理"},
                     f"/desk/tasks/{follow_up}")
    assert "err=" in to and _row(world, follow_up).status == "open"  # its own step only
    to = await _post(adjuster, f"{page}/close", {"result": "已催经办人"}, page)
    assert "msg=" in to and _row(world, warning).result == "已催经办人"


async def test_a_taken_task_is_not_taken_again_but_a_supervisor_assigns_it(
        desk: Desk, world: World) -> None:
    task_id = _task(world, "low_score", "low_score:desk:1", world.claim_no)
    page = f"/desk/tasks/{task_id}"
    agent, handler = await desk("cs_agent"), await desk("complaint_handler")
    assert "msg=" in await _post(agent, f"{page}/take", {}, page)
    assert "msg=" in await _post(agent, f"{page}/take", {}, page)  # mine already: no change
    to = await _post(handler, f"{page}/take", {}, page)
    assert "err=" in to and _row(world, task_id).assigned_to == "agent.li"
    mine = await (await agent.get("/desk/tasks?owner=mine")).text()
    assert f'id="task-{task_id}"' in mine
    assert f'id="task-{task_id}"' not in await (await handler.get("/desk/tasks?owner=mine")).text()
    resp = await handler.post(f"{page}/assign", data={"assigned_to": "handler.wang"})
    assert resp.status == 403  # not a supervisor
    supervisor = await desk("claims_supervisor")
    to = await _post(supervisor, f"{page}/assign", {"assigned_to": "nobody.here"}, page)
    assert "err=" in to and _row(world, task_id).assigned_to == "agent.li"
    assert "msg=" in await _post(supervisor, f"{page}/assign", {"assigned_to": "handler.wang"},
                                 page)
    assert _row(world, task_id).assigned_to == "handler.wang"
    assert _audit(world, task_id) == [("agent.li", "take"), ("supervisor.zhao", "assign")]


def _held_claim(world: World) -> str:
    _, claim = claims.report(world.db, {
        "policy_no": world.group_policy_no, "insured_id_number": world.members[2],
        "claim_type": "hospital_allowance", "incident_date": "2025-03-01",
        "incident_place": "峡山", "description": "摔倒住院", "channel": "wechat",
        "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"}})
    assert claim["status"] == "reported"
    return str(claim["claim_no"])


def _review_task(world: World, claim_no: str) -> int:
    with world.db.read() as s:
        return int(s.execute(select(Task.id).join(ClaimRow, ClaimRow.id == Task.claim_id).where(
            Task.kind == "registration_review", ClaimRow.claim_no == claim_no)).scalar_one())


async def test_a_registration_review_is_registered_anyway_or_declined_from_its_task(
        desk: Desk, world: World) -> None:
    no = _held_claim(world)
    task_id = _review_task(world, no)
    page = f"/desk/tasks/{task_id}"
    adjuster = await desk("claims_adjuster")
    shown = await (await adjuster.get(page)).text()
    assert 'id="failed-checks"' in shown and "不在保单有效期内" in shown
    assert "register-anyway-form" not in shown  # a supervisor's step
    assert (await adjuster.post(f"{page}/review", data={"action": "register_anyway"})
            ).status == 403
    supervisor = await desk("claims_supervisor")
    shown = await (await supervisor.get(page)).text()
    assert "register-anyway-form" in shown and "decline-form" in shown
    to = await _post(supervisor, f"{page}/review", {"action": "register_anyway", "note": ""},
                     page)
    assert "err=" in to and _row(world, task_id).status == "open"  # a reason is required
    token = CSRF.search(shown)
    assert token
    resp = await supervisor.post(f"{page}/review", data={"action": "withdraw",
                                                         "csrf_token": token.group(1)})
    assert resp.status == 403 and _row(world, task_id).status == "open"  # no other step
    assert "msg=" in await _post(supervisor, f"{page}/review", {
        "action": "register_anyway", "note": "民政局来函确认户籍迁入登记延误"}, page)
    done = _row(world, task_id)
    assert (done.status, done.outcome, done.done_by) == ("done", "register_anyway",
                                                         "supervisor.zhao")
    assert "民政局来函" in (done.result or "")
    assert claims.get_claim(world.db, no)["status"] != "reported"
    assert ("supervisor.zhao", "register_anyway") in _audit(world, task_id)
    # another held claim declined with a letter
    other = _held_claim(world)
    other_task = _review_task(world, other)
    assert "msg=" in await _post(supervisor, f"/desk/tasks/{other_task}/review", {
        "action": "decline_registration", "reasons": "出险日期不在保险期间内"},
        f"/desk/tasks/{other_task}")
    declined = claims.get_claim(world.db, other)
    assert declined["status"] == "rejected" and declined["letters"]
    assert _row(world, other_task).outcome == "decline_registration"


async def test_documents_overdue_lists_what_is_missing(desk: Desk, world: World,
                                                       clock: ManualClock) -> None:
    adjuster = await desk("claims_adjuster")
    page = await (await adjuster.get("/desk/queues/documents-overdue")).text()
    assert f'id="overdue-{world.claim_no}"' not in page  # asked today
    clock.advance(days=21)  # past the 10th working day after the ask
    adjuster = await desk("claims_adjuster")  # signed in again: sessions expire
    page = await (await adjuster.get("/desk/queues/documents-overdue")).text()
    row = re.search(rf'id="overdue-{world.claim_no}".*?</tr>', page, re.S)
    assert row and "class=\"missing\"" in row.group(0)
    missing = claims.get_claim(world.db, world.claim_no)["missing_documents"]
    assert missing and all(m["name"] in row.group(0) for m in missing)


async def test_approvals_by_level_name_who_may_approve_never_the_decider(
        desk: Desk, world: World) -> None:
    _, claim = claims.report(world.db, {
        "policy_no": world.group_policy_no, "insured_id_number": world.members[1],
        "claim_type": "death", "incident_date": "2026-05-20", "incident_place": "峡山",
        "description": "交通事故", "channel": "wechat",
        "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"},
        "facts": {"death_date": "2026-05-20", "cause": "accident"}})
    no = claim["claim_no"]
    claims.transition(world.db, {"claim_no": no, "action": "documents_complete",
                                 "waive_missing": True}, "adjuster.chen")
    claims.transition(world.db, {"claim_no": no, "action": "adjudicate"}, "adjuster.chen")
    supervisor = await desk("claims_supervisor")
    page = await (await supervisor.get("/desk/queues/approvals")).text()
    level = re.search(r'id="level-adjuster".*?</section>', page, re.S)
    assert level and f'id="approval-{no}"' in level.group(0)
    row = re.search(rf'id="approval-{no}".*?</tr>', page, re.S)
    assert row
    cells = dict(re.findall(r'class="(may-approve|barred)">(.*?)</td>', row.group(0)))
    may, barred = cells["may-approve"], cells["barred"]
    assert "supervisor.zhao" in may and "adjuster.chen" not in may
    assert "adjuster.chen" in barred and "理算" in barred


async def test_the_queue_exports_as_shown_and_the_export_is_audited(desk: Desk,
                                                                     world: World) -> None:
    follow_up = _task(world, "follow_up", "follow_up:desk:export", world.claim_no)
    warning = _task(world, "deadline_warning", "deadline_warning:desk:export", world.claim_no)
    supervisor = await desk("claims_supervisor")
    page = await (await supervisor.get("/desk/tasks?kind=follow_up")).text()
    assert 'id="export-tasks-xlsx"' in page and "kind=follow_up" in page
    resp = await supervisor.get("/desk/tasks?kind=follow_up&format=xlsx")
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(await resp.read()))
    cells = [str(c.value) for row in book.active.iter_rows() for c in row]
    assert str(follow_up) in cells and str(warning) not in cells  # the page's own filter
    csv_body = (await (await supervisor.get("/desk/tasks?format=csv")).read()).decode("utf-8-sig")
    assert world.claim_no in csv_body
    bad = await supervisor.get("/desk/tasks?format=pdf")
    assert bad.status == 400
    with world.db.read() as s:
        exported = [(e.actor, e.entity_id) for e in s.execute(select(AuditEntry).where(
            AuditEntry.entity_type == "export").order_by(AuditEntry.id)).scalars()]
    assert exported == [("supervisor.zhao", "tasks"), ("supervisor.zhao", "tasks")]
    underwriter = await desk("underwriter")
    refused = await underwriter.get("/desk/tasks?format=csv", allow_redirects=False)
    assert refused.status in (302, 403)
