"""Who acts is the token's staff member, for every writing operation of the table.

Each role signs in and calls every writing operation its role may call, with `"actor":
"admin"` and `"role": "supervisor"` in the body and `X-Actor: admin` in the headers; the audit
entries the call writes name the staff member (or the system's own follow-up steps), never
"admin". Generated from the table: a writing operation without an example fails the test.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from aiohttp import FormData
from api_testkit import (
    PREFIX,
    TOKEN,
    Api,
    application,
    id_number,
    issue_policy,
    person,
    roster_csv,
)
from sqlalchemy import func, select
from test_api_staff_access import (  # the fixtures too
    USER_OF_ROLE,
    World,
    bearer,
    clock,
    handed_off,
    sign_in,
    world,
)

from backoffice.api.operations import OPERATIONS
from backoffice.domain import staff as roles
from backoffice.services import appeals, claims, complaints, home_visits, privacy_requests
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import AuditEntry, Party, Task

Example = Callable[[Api, World], Awaitable[tuple[dict[str, str], Any]]]
EXAMPLES: dict[tuple[str, str], Example] = {}
SIGN_IN = {("POST", "/auth/token"), ("DELETE", "/auth/token")}  # no actor: who signs in
SYSTEM = {"system", "bot"}  # the platform's own follow-up steps (a handed-back bot's turn)
__all__ = ["clock", "world"]  # fixtures, shared with test_api_staff_access


def example(method: str, path: str) -> Callable[[Example], Example]:
    def register(fn: Example) -> Example:
        EXAMPLES[(method, path)] = fn
        return fn

    return register


async def _application(api: Api, stage: str) -> str:
    made = await api.post("/applications", application(), expect=201)
    no = str(made["application_no"])
    if stage in ("accepted", "paid"):
        uw = await api.post(f"/applications/{no}/underwriting", expect=200)
        if stage == "paid":
            await api.post(f"/applications/{no}/payments", {
                "amount": uw["premium_schedule"][0]["amount"], "method": "wechat_pay"},
                expect=201)
    return no


@example("POST", "/quotes")
async def _quote(api: Api, w: World) -> tuple[dict[str, str], Any]:
    body = application()
    return {}, {"birth_date": "1980-05-06", "occupation_class": 1,
                **{k: body[k] for k in ("product_code", "payment_mode", "frequency",
                                        "coverages")}}


@example("POST", "/applications")
async def _apply(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {}, application()


@example("POST", "/applications/{application_no}/underwriting")
async def _underwrite(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {"application_no": await _application(api, "applied")}, {}


@example("POST", "/applications/{application_no}/payments")
async def _first_premium(api: Api, w: World) -> tuple[dict[str, str], Any]:
    no = await _application(api, "accepted")
    detail = await api.get(f"/applications/{no}", expect=200)
    return {"application_no": no}, {"amount": detail["premium_schedule"][0]["amount"],
                                    "method": "wechat_pay"}


@example("POST", "/applications/{application_no}/issue")
async def _issue(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {"application_no": await _application(api, "paid")}, {}


@example("POST", "/policies/{policy_no}/payments")
async def _next_premium(api: Api, w: World) -> tuple[dict[str, str], Any]:
    policy = await issue_policy(api)
    due = next(i for i in policy["premium_schedule"] if i["status"] != "paid")
    return {"policy_no": policy["policy_no"]}, {"amount": due["amount"],
                                                "method": "bank_transfer"}


@example("POST", "/policies/{policy_no}/transitions")
async def _policy_move(api: Api, w: World) -> tuple[dict[str, str], Any]:
    policy = await issue_policy(api)
    return {"policy_no": policy["policy_no"]}, {"action": "cancel", "reason": "客户申请"}


@example("POST", "/policies/{policy_no}/document-links/revocation")
async def _revoke_links(api: Api, w: World) -> tuple[dict[str, str], Any]:
    policy = await issue_policy(api)
    return {"policy_no": policy["policy_no"]}, {}


@example("POST", "/policies/{policy_no}/endorsements")
async def _endorse(api: Api, w: World) -> tuple[dict[str, str], Any]:
    policy = await issue_policy(api)
    return {"policy_no": policy["policy_no"]}, {"kind": "change_contact",
                                                "phone": "13900002222"}


@example("PATCH", "/parties/{id_number}")
async def _party(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {"id_number": w.members[2]}, {"phone": "13900003333"}


@example("POST", "/group-policies")
async def _group(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {}, {"product_code": "CN-ELDER-ACC", "applicant_name": "汕头市潮南区民政局",
                "start_date": "2026-06-01"}


@example("POST", "/group-policies/{policy_no}/roster")
async def _roster(api: Api, w: World) -> tuple[dict[str, str], Any]:
    row = ("黄大伯", "男", "1950-03-04", id_number(date(1950, 3, 4), 77, "440514"),
           "13812340077", "峡山街道")
    return {"policy_no": w.group_policy_no}, roster_csv([row])


@example("POST", "/group-policies/{policy_no}/roster/removals")
async def _roster_removal(api: Api, w: World) -> tuple[dict[str, str], Any]:
    # a member without claims moved away (again: the same removal is answered unchanged)
    return {"policy_no": w.group_policy_no}, {"id_number": w.members[2],
                                              "reason": "moved_away", "date": "2026-05-31"}


@example("POST", "/group-policies/{policy_no}/auto-enrollment")
async def _auto_enroll(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {"policy_no": w.group_policy_no}, {}


@example("POST", "/group-policies/{policy_no}/renewal")
async def _renewal(api: Api, w: World) -> tuple[dict[str, str], Any]:
    # last year's scheme, ending within the renewal window
    made = await api.post("/group-policies", {"product_code": "CN-ELDER-ACC",
                                              "applicant_name": "汕头市潮南区民政局",
                                              "start_date": "2025-07-01"}, expect=201)
    return {"policy_no": made["policy_no"]}, {"premium_per_insured": "12.00"}


@example("POST", "/notifications/dead/requeue")
async def _requeue(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {}, {}


def _report(w: World, n: int) -> dict[str, Any]:
    return {"policy_no": w.group_policy_no, "insured_id_number": w.members[n % len(w.members)],
            "claim_type": "hospital_allowance", "incident_date": "2026-05-21",
            "channel": "desk", "incident_place": "峡山街道", "description": "摔倒",
            "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"}}


@example("POST", "/claims")
async def _claim(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {}, _report(w, 11)  # members 11 and 12: covered, with no other claim


@example("POST", "/claims/{claim_no}/documents")
async def _document(api: Api, w: World) -> tuple[dict[str, str], Any]:
    form = FormData()
    form.add_field("doc_type", "id_card")
    form.add_field("actor", "admin")
    form.add_field("file", b"scan of an id card", filename="id.jpg", content_type="image/jpeg")
    return {"claim_no": w.claim_no}, form


@example("POST", "/claims/{claim_no}/transitions")
async def _claim_step(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {"claim_no": w.claim_no}, {"action": "assign", "handler": "adjuster.chen"}


def _rejected_claim(w: World) -> str:
    """A claim another supervisor rejected: the demo supervisor may decide its appeal."""
    _, made = claims.report(w.db, _report(w, 12))
    claims.transition(w.db, {"claim_no": made["claim_no"], "action": "reject",
                             "reasons": ["不属于保险责任"]}, "supervisor.other")
    return str(made["claim_no"])


@example("POST", "/claims/{claim_no}/appeals")
async def _appeal(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {"claim_no": _rejected_claim(w)}, {"reasons": "我母亲确实是摔伤住院，有病历为证"}


@example("POST", "/appeals/{appeal_no}/decision")
async def _appeal_decision(api: Api, w: World) -> tuple[dict[str, str], Any]:
    made = appeals.file(w.db, {"claim_no": _rejected_claim(w), "reasons": "有新的病历"},
                        "agent.li")
    return {"appeal_no": made["appeal_no"]}, {"action": "uphold", "note": "病历不改变结论"}


def _privacy_body(w: World, kind: str = "access") -> dict[str, Any]:
    with w.db.read() as s:
        party = s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", w.members[2]))).scalar_one()
    return {"id_number": party.id_number, "name": party.name, "kind": kind,
            "channel": "phone", "verified_by": "phone", "phone": party.phone}


@example("POST", "/privacy-requests")
async def _privacy_request(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {}, _privacy_body(w)


@example("POST", "/privacy-requests/{privacy_request_no}/steps")
async def _privacy_request_step(api: Api, w: World) -> tuple[dict[str, str], Any]:
    made = privacy_requests.create(w.db, _privacy_body(w, "copy"), "handler.wang")
    return {"privacy_request_no": made["privacy_request_no"]}, {"action": "start"}


@example("POST", "/adjudication/preview")
async def _preview(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {}, {"product_code": "CN-ELDER-ACC", "claim_type": "hospital_allowance",
                "incident_date": "2026-05-01", "facts": {"hospital_days": 3}}


@example("POST", "/complaints")
async def _complaint(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {}, {"channel": "wechat", "complainant": {"name": "林小红", "phone": "13811112222"},
                "category": "claims", "description": "理赔太慢"}


@example("POST", "/complaints/{complaint_no}/transitions")
async def _complaint_step(api: Api, w: World) -> tuple[dict[str, str], Any]:
    made = complaints.intake(w.db, {"channel": "wechat", "category": "claims",
                                    "complainant": {"name": "林小红", "phone": "13811112222"},
                                    "description": "材料交了很久没有消息"})
    no = made["complaint_no"]
    complaints.transition(w.db, {"complaint_no": no, "action": "assign",
                                 "handler": "handler.wang"}, "handler.wang")
    return {"complaint_no": no}, {"action": "note", "note": "核实中"}


@example("POST", "/home-visits")
async def _visit(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {}, {"channel": "ivr", "name": "林阿婆", "phone": "13812340000",
                "address": "潮南区峡山街道1号", "reason": "行动不便"}


@example("POST", "/home-visits/{visit_no}/transitions")
async def _visit_step(api: Api, w: World) -> tuple[dict[str, str], Any]:
    made = home_visits.request(w.db, {"channel": "ivr", "name": "林阿婆",
                                      "phone": "13812340000", "address": "峡山街道1号",
                                      "reason": "行动不便"}, "customer")
    return {"visit_no": made["visit_no"]}, {"action": "contact", "note": "已电话联系"}


@example("POST", "/satisfaction")
async def _rating(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {}, {"subject_type": "claim", "subject_id": w.claim_no, "score": 4,
                "channel": "sms"}


@example("POST", "/follow-ups/{task_id}/result")
async def _follow_up_result(api: Api, w: World) -> tuple[dict[str, str], Any]:
    with w.db.transaction() as s:  # a 回访 task as claims.close leaves it
        task = Task(kind="follow_up", due_on=date(2026, 6, 1), note="结案后一周内回访",
                    dedupe_key=f"follow_up:example:{uuid.uuid4().hex}")
        s.add(task)
        s.flush()
        task_id = task.id
    return {"task_id": str(task_id)}, {"outcome": "not_reached", "result": "电话无人接听"}


@example("POST", "/tasks/{task_id}/close")
async def _close_task(api: Api, w: World) -> tuple[dict[str, str], Any]:
    with w.db.transaction() as s:  # a deadline warning as the scheduler leaves it
        task = Task(kind="deadline_warning", due_on=date(2026, 6, 1), note="审核时限明天到期",
                    dedupe_key=f"deadline_warning:example:{uuid.uuid4().hex}")
        s.add(task)
        s.flush()
        task_id = task.id
    return {"task_id": str(task_id)}, {"result": "已催经办人当天审核"}


def _open_task(w: World, kind: str) -> str:
    with w.db.transaction() as s:
        task = Task(kind=kind, due_on=date(2026, 6, 1), note="待处理",
                    dedupe_key=f"{kind}:example:{uuid.uuid4().hex}")
        s.add(task)
        s.flush()
        return str(task.id)


@example("POST", "/tasks/{task_id}/take")
async def _take_task(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {"task_id": _open_task(w, "low_score")}, {}


@example("POST", "/tasks/{task_id}/assignment")
async def _assign_task(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {"task_id": _open_task(w, "escalation")}, {"assigned_to": "handler.wang"}


@example("POST", "/endorsement-requests")
async def _bq(api: Api, w: World) -> tuple[dict[str, str], Any]:
    policy = await issue_policy(api)
    return {}, {"channel": "wechat", "user": "wechat:o-bq-1", "policy_no": policy["policy_no"],
                "kind": "change_contact", "details": {"phone": "13900004444"}}


@example("POST", "/endorsement-requests/{request_no}/transitions")
async def _bq_step(api: Api, w: World) -> tuple[dict[str, str], Any]:
    _, body = await _bq(api, w)
    made = await api.post("/endorsement-requests", body, expect=201)
    return {"request_no": made["request_no"]}, {"action": "reject", "reason": "资料不全"}


async def _own_policy(api: Api) -> dict[str, str]:
    """An individual policy's number with its insured's ID number: a proof of identity (a
    group policy's number is every member's and proves nothing)."""
    policy = await issue_policy(api)
    return {"id_number": person()["id_number"], "policy_no": policy["policy_no"]}


@example("POST", "/bindings")
async def _bind(api: Api, w: World) -> tuple[dict[str, str], Any]:
    return {}, {"channel": "wechat", "user": "o-bind-1", **await _own_policy(api)}


@example("POST", "/coverage-checks")
async def _coverage_check(api: Api, w: World) -> tuple[dict[str, str], Any]:
    await issue_policy(api)
    return {}, {"channel": "wechat", "user": "o-check-1", "id_number": person()["id_number"],
                "product_code": "PA-GUARD"}


@example("DELETE", "/bindings/{channel}/{user}")
async def _unbind(api: Api, w: World) -> tuple[dict[str, str], Any]:
    await api.post("/bindings", {"channel": "wechat", "user": "o-bind-2",
                                 **await _own_policy(api)}, expect=200)
    return {"channel": "wechat", "user": "o-bind-2"}, None


def _conversation(step: str, body: dict[str, Any]) -> Example:
    async def make(api: Api, w: World) -> tuple[dict[str, str], Any]:
        openid = f"oActor{step}{len(w.members)}".ljust(28, "0")
        return {"conversation_id": str(handed_off(w.db, openid))}, body

    return make


for _step, _body in (("take", {}), ("messages", {"text": "您好，我是客服。"}),
                     ("handback", {}), ("transfer", {"target": "queue"}),
                     ("close", {"disposition": "已解决"})):
    EXAMPLES[("POST", f"/conversations/{{conversation_id}}/{_step}")] = _conversation(
        _step, _body)

WRITING = sorted((op.method, op.path, op.permission) for op in OPERATIONS
                 if op.method != "GET" and (op.method, op.path) not in SIGN_IN
                 and any(roles.Actor("x", r).may(op.permission) for r in roles.ROLES))
# writing operations no staff role may call (the channels' port): every role is refused
SERVICE_ONLY = sorted((op.method, op.path) for op in OPERATIONS
                      if op.method != "GET" and (op.method, op.path) not in SIGN_IN
                      and not any(roles.Actor("x", r).may(op.permission) for r in roles.ROLES))


def test_every_writing_operation_has_an_example() -> None:
    assert {(m, p) for m, p, _ in WRITING} == set(EXAMPLES)


def _audit_since(db: Database, after: int) -> list[str]:
    with db.read() as s:
        return list(s.execute(select(AuditEntry.actor).where(AuditEntry.id > after)).scalars())


def _last_audit(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.coalesce(func.max(AuditEntry.id), 0))).scalar_one())


def impostor(username: str) -> str:
    """Whom the body claims to be: the administrator, or for the administrator an agent."""
    return "admin" if username != "admin" else "agent.li"


async def _send(api: Api, token: str, method: str, path: str, body: Any,
                claim: str = "admin") -> tuple[int, Any]:
    headers = {**bearer(token), "X-Actor": claim}
    kwargs: dict[str, Any] = {"headers": headers}
    if isinstance(body, dict):
        headers["Content-Type"] = "application/json"
        kwargs["data"] = json.dumps({**body, "actor": claim, "role": "supervisor",
                                     "approved_by": claim, "agent": claim})
    elif body is not None:
        kwargs["data"] = body
    async with api.client.request(method, PREFIX + path, **kwargs) as resp:
        text = await resp.text()
        return resp.status, text


@pytest.mark.parametrize("role", roles.ROLES)
async def test_the_audit_names_the_token_never_the_body(api: Api, world: World,
                                                       role: str) -> None:
    token = await sign_in(api, role)
    username = USER_OF_ROLE[role]
    actor = roles.Actor(username, role)
    done = []
    for method, path, permission in WRITING:
        if not actor.may(permission):
            continue
        fill, body = await EXAMPLES[(method, path)](api, world)
        before = _last_audit(world.db)
        claim = impostor(username)
        status, text = await _send(api, token, method, path.format(**fill), body, claim)
        assert status < 500, (role, method, path, status, text)
        written = _audit_since(world.db, before)
        assert claim not in written, (role, method, path, written)
        assert set(written) <= {username, *SYSTEM}, (role, method, path, written)
        if 200 <= status < 300:
            done.append((method, path, bool(written)))
            if written:
                assert username in written, (role, method, path, written)
    for method, path in SERVICE_ONLY:
        before = _last_audit(world.db)
        # a path parameter filled with some value: the permission is refused before it is read
        filled = re.sub(r"\{\w+\}", "R202600000001", path)
        status, text = await _send(api, token, method, filled, {}, impostor(username))
        assert status == 403 and _audit_since(world.db, before) == [], (role, path, text)
    assert done, role  # every role can write something
    assert any(audited for _, _, audited in done), (role, done)


async def test_each_writing_operation_was_made_by_some_role(api: Api, world: World) -> None:
    """The examples are real: every writing operation succeeds for a role that may call it,
    and what it audits names that staff member."""
    tokens = {role: await sign_in(api, role) for role in roles.ROLES}
    for method, path, permission in WRITING:
        allowed = [r for r in roles.ROLES if roles.Actor("x", r).may(permission)]
        made = []
        for role in allowed:  # the first role whose work this is makes it
            fill, body = await EXAMPLES[(method, path)](api, world)
            before = _last_audit(world.db)
            claim = impostor(USER_OF_ROLE[role])
            status, text = await _send(api, tokens[role], method, path.format(**fill), body,
                                       claim)
            written = _audit_since(world.db, before)
            assert claim not in written and set(written) <= {USER_OF_ROLE[role], *SYSTEM}, (
                method, path, written)
            if 200 <= status < 300:
                made.append(role)
                break
        assert made or not allowed, (method, path, status, text)


async def test_the_customers_own_steps_are_the_customers_never_the_body(
        api: Api, world: World) -> None:
    """The channels' port acts as `customer` for the bound customer's steps on their claim
    (撤案, 收款账户, 复核): a body or header naming someone else changes nothing."""
    with world.db.read() as s:
        phone = s.execute(select(Party.phone).where(
                Party.id_number_hash == keyed_hash("id_number", world.members[0]))).scalar()
    await api.post("/bindings", {"channel": "wechat", "user": "o-own-steps",
                                 "id_number": world.members[0], "phone": phone}, expect=200)
    who = {"channel": "wechat", "user": "o-own-steps"}
    for path, body in ((f"/channel/claims/{world.claim_no}/bank-account",
                        {**who, "account": "6222020200112233446"}),
                       (f"/channel/claims/{world.claim_no}/withdrawal", who)):
        before = _last_audit(world.db)
        status, text = await _send(api, TOKEN, "POST", path, body, "admin")
        assert status == 200, (path, text)
        assert set(_audit_since(world.db, before)) == {"customer"}, path
