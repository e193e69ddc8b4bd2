"""The work queues through the API, as staff: wrong roles refused, a taken task not taken by
another, a supervisor's assignment, a 回访 result replayed or hostile, a task id of another
kind, a complaint raised opening a complaint, a 问题件 shown with its checks and closed by the
claim's step, and the derived queues (documents overdue, approvals by level)."""

from __future__ import annotations

from datetime import date
from typing import Any

from api_testkit import Api
from sqlalchemy import func, select
from test_api_staff_access import World, as_staff, clock, sign_in, world

from backoffice.domain import staff as roles
from backoffice.services import claims
from backoffice.store.models import AuditEntry, ClaimRow, ComplaintRow, Task

__all__ = ["clock", "world"]  # fixtures


def _task(w: World, kind: str, key: str, claim: bool = True) -> int:
    with w.db.transaction() as s:
        claim_id = s.execute(select(ClaimRow.id).where(ClaimRow.claim_no == w.claim_no)
                             ).scalar() if claim else None
        task = Task(kind=kind, claim_id=claim_id, due_on=date(2026, 6, 1), note="待办",
                    dedupe_key=key)
        s.add(task)
        s.flush()
        return int(task.id)


async def _tokens(api: Api) -> dict[str, str]:
    return {role: await sign_in(api, role) for role in roles.ROLES}


async def test_roles_owners_and_assignment(api: Api, world: World) -> None:
    t = await _tokens(api)
    task_id = _task(world, "low_score", "low_score:api:1")
    await as_staff(api, t["underwriter"], "GET", "/tasks", expect=403)
    await as_staff(api, t["administrator"], "GET", f"/tasks/{task_id}", expect=403)
    taken = await as_staff(api, t["cs_agent"], "POST", f"/tasks/{task_id}/take", {}, expect=200)
    assert taken["assigned_to"] == "agent.li"
    again = await as_staff(api, t["cs_agent"], "POST", f"/tasks/{task_id}/take", expect=200)
    assert again["assigned_to"] == "agent.li"  # one's own again: nothing changes
    other = await as_staff(api, t["complaint_handler"], "POST", f"/tasks/{task_id}/take",
                           expect=409)
    assert other["error"]["field"] == "task_id" and "agent.li" in other["error"]["message"]
    await as_staff(api, t["cs_agent"], "POST", f"/tasks/{task_id}/assignment",
                   {"assigned_to": "handler.wang"}, expect=403)
    bad = await as_staff(api, t["claims_supervisor"], "POST", f"/tasks/{task_id}/assignment",
                         {"assigned_to": "ghost.user"}, expect=400)
    assert bad["error"]["field"] == "assigned_to"
    given = await as_staff(api, t["claims_supervisor"], "POST",
                           f"/tasks/{task_id}/assignment", {"assigned_to": "handler.wang"},
                           expect=200)
    assert given["assigned_to"] == "handler.wang"
    mine = await as_staff(api, t["complaint_handler"], "GET", "/tasks?mine=true", expect=200)
    assert [i["task_id"] for i in mine["items"]] == [task_id]
    nobody = await as_staff(api, t["cs_agent"], "GET", "/tasks?assigned_to=none", expect=200)
    assert task_id not in [i["task_id"] for i in nobody["items"]]
    with world.db.read() as s:
        trail = [(e.actor, e.action, e.before, e.after) for e in s.execute(
            select(AuditEntry).where(AuditEntry.entity_type == "task",
                                     AuditEntry.entity_id == str(task_id))
            .order_by(AuditEntry.id)).scalars()]
    assert trail == [
        ("agent.li", "take", {"assigned_to": None}, {"assigned_to": "agent.li"}),
        ("supervisor.zhao", "assign", {"assigned_to": "agent.li"},
         {"assigned_to": "handler.wang"})]


async def test_a_follow_up_result_replayed_hostile_or_on_another_kind(
        api: Api, world: World) -> None:
    t = await _tokens(api)
    task_id = _task(world, "follow_up", "follow_up:api:1")
    path = f"/follow-ups/{task_id}/result"
    await as_staff(api, t["claims_adjuster"], "POST", path, {"outcome": "reached"}, expect=403)
    for hostile in ("lunch", "REACHED", "reached ", "", None, 1, ["reached"], {"$ne": 1}):
        refused = await as_staff(api, t["cs_agent"], "POST", path, {"outcome": hostile},
                                 expect=400)
        assert refused["error"]["field"] == "outcome", hostile
    with world.db.read() as s:
        complaints_before = s.execute(select(func.count()).select_from(ComplaintRow)
                                      ).scalar_one()
    done = await as_staff(api, t["cs_agent"], "POST", path, {
        "outcome": "complaint_raised", "result": "对赔付金额不满，要求投诉"}, expect=200)
    assert done["status"] == "done" and done["complaint_no"]
    replay = await as_staff(api, t["cs_agent"], "POST", path, {
        "outcome": "complaint_raised", "result": "对赔付金额不满，要求投诉"}, expect=409)
    assert replay["error"]["field"] == "task_id"
    with world.db.read() as s:
        assert s.execute(select(func.count()).select_from(ComplaintRow)
                         ).scalar_one() == complaints_before + 1
        complaint = s.execute(select(ComplaintRow).where(
            ComplaintRow.complaint_no == done["complaint_no"])).scalar_one()
    assert complaint.claim_no == world.claim_no and complaint.complainant_phone == "13811112222"
    read = await as_staff(api, t["cs_agent"], "GET", f"/tasks/{task_id}", expect=200)
    assert read["outcome_name"] == "客户提出投诉" and done["complaint_no"] in read["result"]
    # a task of another kind is no 回访; a kind the queues do not list is no task
    warning = _task(world, "deadline_warning", "deadline_warning:api:1")
    await as_staff(api, t["cs_agent"], "POST", f"/follow-ups/{warning}/result",
                   {"outcome": "reached"}, expect=404)
    hidden = _task(world, "approval_supervisor", "approval_supervisor:api:1")
    await as_staff(api, t["claims_supervisor"], "GET", f"/tasks/{hidden}", expect=404)
    await as_staff(api, t["claims_supervisor"], "POST", f"/tasks/{hidden}/take", expect=404)
    with world.db.read() as s:
        assert s.get(Task, warning).status == "open"  # type: ignore[union-attr]


async def test_a_registration_review_shows_its_checks_and_the_claims_step_closes_it(
        api: Api, world: World) -> None:
    t = await _tokens(api)
    _, claim = claims.report(world.db, {
        "policy_no": world.group_policy_no, "insured_id_number": world.members[3],
        "claim_type": "hospital_allowance", "incident_date": "2025-03-01",
        "incident_place": "峡山", "description": "摔倒住院", "channel": "wechat",
        "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"}})
    queue = await as_staff(api, t["claims_adjuster"], "GET",
                           "/tasks?kind=registration_review", expect=200)
    item = next(i for i in queue["items"] if i["claim_no"] == claim["claim_no"])
    detail = await as_staff(api, t["claims_adjuster"], "GET", f"/tasks/{item['task_id']}",
                            expect=200)
    assert detail["failed_checks"] and "register_anyway" in detail["claim"]["allowed_actions"]
    closed = await as_staff(api, t["claims_supervisor"], "POST",
                            f"/tasks/{item['task_id']}/close", {"result": "已处理"}, expect=400)
    assert closed["error"]["field"] == "task_id"  # the claim's own step only
    await as_staff(api, t["claims_supervisor"], "POST",
                   f"/claims/{claim['claim_no']}/transitions",
                   {"action": "register_anyway", "note": "民政局来函确认户籍登记延误"}, expect=200)
    after = await as_staff(api, t["claims_adjuster"], "GET", f"/tasks/{item['task_id']}",
                           expect=200)
    assert (after["status"], after["outcome"], after["done_by"]) == (
        "done", "register_anyway", "supervisor.zhao")
    assert "民政局来函" in after["result"] and after["outcome_name"] == "仍予立案"


async def test_the_derived_queues(api: Api, world: World, clock: Any) -> None:
    t = await _tokens(api)
    await as_staff(api, t["cs_agent"], "GET", "/queues/approvals", expect=403)
    none_yet = await as_staff(api, t["claims_adjuster"], "GET", "/queues/documents-overdue",
                              expect=200)
    assert world.claim_no not in [i["claim_no"] for i in none_yet["items"]]
    clock.advance(days=20)
    t = await _tokens(api)  # the tokens expired meanwhile
    items = (await as_staff(api, t["claims_adjuster"], "GET",
                            "/queues/documents-overdue?after=second", expect=200))["items"]
    mine = next(i for i in items if i["claim_no"] == world.claim_no)
    assert "出院小结" in mine["missing"] and mine["overdue_since"] > mine["asked_on"]
    await as_staff(api, t["claims_adjuster"], "GET", "/queues/documents-overdue?after=third",
                   expect=400)
    _, death = claims.report(world.db, {
        "policy_no": world.group_policy_no, "insured_id_number": world.members[1],
        "claim_type": "death", "incident_date": "2026-05-20", "incident_place": "峡山",
        "description": "交通事故", "channel": "wechat",
        "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"},
        "facts": {"death_date": "2026-05-20", "cause": "accident"}})
    no = death["claim_no"]
    for action in ({"action": "documents_complete", "waive_missing": True},
                   {"action": "adjudicate"}):
        claims.transition(world.db, {"claim_no": no, **action},
                          roles.Actor("adjuster.chen", roles.CLAIMS_ADJUSTER))
    levels = (await as_staff(api, t["claims_supervisor"], "GET", "/queues/approvals",
                             expect=200))["levels"]
    adjuster_level = next(g for g in levels if g["level"] == "adjuster")
    waiting = next(c for c in adjuster_level["claims"] if c["claim_no"] == no)
    assert "supervisor.zhao" in waiting["may_approve"]
    assert "adjuster.chen" not in waiting["may_approve"]
    assert [b["username"] for b in waiting["barred"]] == ["adjuster.chen"]
    only = await as_staff(api, t["claims_supervisor"], "GET",
                          "/queues/approvals?level=branch_head", expect=200)
    assert [g["level"] for g in only["levels"]] == ["branch_head"]
    await as_staff(api, t["claims_supervisor"], "GET", "/queues/approvals?level=ceo",
                   expect=400)
