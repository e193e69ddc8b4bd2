"""The answer models (backoffice/api/answers.py) hold real answers: walks through the API where
every answer is validated with the model ANSWERS names for its operation (4xx with Error),
on top of the OpenAPI document's own check; a broken answer is refused."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest
import test_api_appeals as appeal_kit
from aiohttp.test_utils import TestClient
from api_testkit import Api, application, id_number, issue_policy, person, roster_csv, template_of
from pydantic import BaseModel, ValidationError
from test_api_claims_kit import (
    CARD,
    DOCS,
    Scheme,
    act,
    clock,
    report,
    report_body,
    scheme,
    staff_headers,
    supply_all,
    upload,
)

from backoffice.api.answers import ANSWERS, Claim, Error, PolicyDetail
from backoffice.demo.staff import DEMO_STAFF, seed_staff
from backoffice.notifications.base import SendError
from backoffice.services import conversations
from backoffice.services.notifications import dispatch_due, queue
from backoffice.store.db import Database
from backoffice.store.models import Notification, Task, utcnow

__all__ = ["clock", "scheme"]  # fixtures

PASSWORDS = {username: password for username, _, _, _, password in DEMO_STAFF}
JSON_ANSWERS = {op for op, (_, model) in ANSWERS.items() if model is not None}


class CheckedApi(Api):
    """The test kit's client, and every answer validated with its answer model as well."""

    def __init__(self, client: TestClient) -> None:
        super().__init__(client)
        self.checked: set[tuple[str, str]] = set()  # operations whose success was validated

    async def call(self, method: str, path: str, **kw: Any) -> Any:
        answer = await super().call(method, path, **kw)
        template = template_of(path)
        assert template is not None, path
        op = (method, template)
        status, model = ANSWERS[op]
        if isinstance(answer, str):  # not JSON: the operation names no model
            assert model is None, f"{op} answered text"
            return answer
        if set(answer) == {"error"}:
            Error.model_validate(answer)
            return answer
        expected = kw.get("expect")
        assert expected in (None, status) or (op == ("POST", "/claims") and expected == 200), (
            op, expected)
        if model is not None:
            model.model_validate(answer)
            self.checked.add(op)
        return answer


@pytest.fixture
async def checked(client: TestClient) -> CheckedApi:
    return CheckedApi(client)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def handed_off(db: Database, channel: str, user: str, reason: str, text: str) -> int:
    turn = conversations.user_message(db, channel, user, "我要转人工")
    conversations.bot_messages(db, turn.conversation_id, [
        {"text": "好的，正在为您转接人工客服。"},
        {"custom": {"handoff": {"reason": reason, "summary": {"text": text}}}}])
    return turn.conversation_id


class _Refusing:
    def send(self, notification: Notification) -> str:
        raise SendError("refused by the gateway", retryable=False)


# ---- the walks ----------------------------------------------------------------------------------

POLICY_OPS = {
    ("GET", "/products"), ("GET", "/products/{code}"), ("POST", "/quotes"),
    ("POST", "/applications"), ("GET", "/applications/{application_no}"),
    ("POST", "/applications/{application_no}/underwriting"),
    ("POST", "/applications/{application_no}/payments"),
    ("POST", "/applications/{application_no}/issue"), ("GET", "/policies"),
    ("GET", "/policies/{policy_no}"), ("POST", "/policies/{policy_no}/payments"),
    ("POST", "/policies/{policy_no}/transitions"), ("POST", "/policies/{policy_no}/endorsements"),
    ("POST", "/policies/{policy_no}/document-links/revocation"),
    ("GET", "/parties/{id_number}"), ("PATCH", "/parties/{id_number}"), ("GET", "/audit"),
    ("POST", "/endorsement-requests"), ("GET", "/endorsement-requests"),
    ("GET", "/endorsement-requests/{request_no}"),
    ("POST", "/endorsement-requests/{request_no}/transitions"),
    ("POST", "/bindings"), ("GET", "/bindings/{channel}/{user}"),
    ("GET", "/bindings/{channel}/{user}/cases"),
    ("DELETE", "/bindings/{channel}/{user}"), ("POST", "/auth/token"), ("DELETE", "/auth/token"),
}


async def test_policy_party_request_binding_and_staff_answers(checked: CheckedApi,
                                                              db: Database) -> None:
    api = checked
    products = await api.get("/products", expect=200)
    await api.get(f"/products/{products['items'][0]['code']}", expect=200)
    body = application(person(address="广东省汕头市潮南区峡山街道1号"),
                       beneficiaries=[{"name": "李四", "relation": "spouse",
                                       "id_number": id_number(date(1982, 3, 4), 222),
                                       "share_pct": 100}])
    await api.post("/quotes", {"product_code": "PA-GUARD", "birth_date": "1980-05-06",
                               "occupation_class": 1, "coverages": body["coverages"],
                               "payment_mode": "instalments", "frequency": "quarterly"},
                   expect=200)
    policy = await issue_policy(api, body)  # apply, underwrite, pay, issue
    no, idn = policy["policy_no"], id_number(date(1980, 5, 6))
    await api.get(f"/applications/{policy['application_no']}", expect=200)
    await api.get(f"/policies?id_number={idn}", expect=200)
    await api.get(f"/policies/{no}", expect=200)
    await api.get(f"/policies/{no}/document", expect=200)  # HTML: no model

    endorse = f"/policies/{no}/endorsements"
    await api.post(endorse, {"kind": "change_contact", "phone": "13912345678"}, expect=201)
    await api.post(endorse, {"kind": "change_sum_insured",
                             "coverage_code": "accidental_death_disability",
                             "sum_insured": "200000.00"}, expect=201)
    await api.post(endorse, {"kind": "add_coverage", "coverage_code": "hospital_allowance",
                             "sum_insured": "100.00"}, expect=201)
    move = f"/policies/{no}/transitions"
    due = await api.post(move, {"action": "premium_due"}, expect=200)
    await api.post(f"/policies/{no}/payments", {"amount": due["premium_schedule"][1]["amount"],
                                                "method": "cash", "reference": "C-1"},
                   expect=201)
    # a lapse and a reinstatement on a second policy: lapsed_on, grace_ends_on filled
    other = await issue_policy(api, application(person("王五", date(1975, 7, 8), 456)))
    other_move = f"/policies/{other['policy_no']}/transitions"
    due = await api.post(other_move, {"action": "premium_due"}, expect=200)
    due_on = date.fromisoformat(due["premium_schedule"][1]["due_date"])
    grace = await api.post(other_move, {"action": "start_grace",
                                        "today": (due_on + timedelta(days=1)).isoformat()},
                           expect=200)
    lapse_on = date.fromisoformat(grace["grace_ends_on"]) + timedelta(days=1)
    await api.post(other_move, {"action": "lapse", "today": lapse_on.isoformat()}, expect=200)
    await api.post(other_move, {"action": "reinstate",
                                "today": (lapse_on + timedelta(days=5)).isoformat(),
                                "health_declarations": body["health_declarations"],
                                "payment": {"amount": due["premium_schedule"][1]["amount"]}},
                   expect=200)
    await api.post(f"/policies/{other['policy_no']}/endorsements", {"kind": "surrender"},
                   expect=201)
    await api.post(f"/policies/{other['policy_no']}/document-links/revocation", expect=200)
    declined = await api.post("/applications", application(
        person("赵六", date(1970, 2, 2), 66),
        health_declarations={**body["health_declarations"], "epilepsy": True}), expect=201)
    await api.post(f"/applications/{declined['application_no']}/underwriting", expect=200)

    await api.patch(f"/parties/{idn}", {"phone": "13711112222", "occupation": "教师",
                                        "actor": "agent-007"}, expect=200)
    await api.get(f"/parties/{idn}", expect=200)
    await api.get(f"/audit?entity_type=policy&entity_id={no}", expect=200)
    await api.get(f"/audit?entity_type=party&entity_id={idn}", expect=200)

    asked = await api.post("/endorsement-requests", {
        "channel": "wechat", "user": "wechat:o-bq-1", "policy_no": no,
        "kind": "change_beneficiary",
        "details": {"beneficiaries": [{"name": "王小红", "relation": "child"}]}}, expect=201)
    await api.get("/endorsement-requests?status=submitted", expect=200)
    await api.get(f"/endorsement-requests/{asked['request_no']}", expect=200)
    await api.post(f"/endorsement-requests/{asked['request_no']}/transitions", {
        "action": "approve", "actor": "underwriter.sun", "details": {"beneficiaries": [
            {"name": "王小红", "relation": "child",
             "id_number": id_number(date(1984, 2, 3), 22)}]}}, expect=200)
    priced = await api.post("/endorsement-requests", {
        "channel": "api", "policy_no": no, "kind": "change_sum_insured",
        "details": {"coverage_code": "accidental_death_disability", "sum_insured": "150000.00"}},
        expect=201)
    await api.post(f"/endorsement-requests/{priced['request_no']}/transitions",
                   {"action": "reject", "actor": "underwriter.sun", "reason": "未签字"},
                   expect=200)

    await api.post("/bindings", {"channel": "wechat", "user": "o-abc", "id_number": idn,
                                 "policy_no": no}, expect=200)
    await api.get("/bindings/wechat/o-abc", expect=200)
    await api.get("/bindings/wechat/o-abc/cases", expect=200)
    await api.call("DELETE", "/bindings/wechat/o-abc", expect=200)
    await api.error("GET", "/bindings/wechat/o-abc", 404, "not_found", "user")

    # a staff member's answers (masked where the role says so) hold the models too
    seed_staff(db)
    signed = await api.post("/auth/token", {"username": "underwriter.sun",
                                            "password": PASSWORDS["underwriter.sun"]},
                            auth=False, expect=201)
    token = signed["access_token"]
    await api.call("GET", f"/policies/{no}", auth=False, headers=bearer(token), expect=200)
    await api.call("GET", f"/parties/{idn}", auth=False, headers=bearer(token), expect=200)
    await api.call("DELETE", "/auth/token", auth=False, headers=bearer(token), expect=200)
    await api.error("GET", f"/policies/{no}", 401, "unauthorized", "Authorization",
                    auth=False, headers=bearer(token))
    assert api.checked >= POLICY_OPS, POLICY_OPS - api.checked


GROUP_OPS = {("POST", "/group-policies"), ("POST", "/group-policies/{policy_no}/roster"),
             ("POST", "/group-policies/{policy_no}/auto-enrollment"),
             ("POST", "/group-policies/{policy_no}/roster/removals"),
             ("GET", "/service-outlets"), ("GET", "/policies"), ("GET", "/policies/{policy_no}"),
             ("GET", "/notifications/dead"), ("POST", "/notifications/dead/requeue"),
             ("POST", "/group-policies/{policy_no}/renewal"),
             ("GET", "/group-policies/{policy_no}/loss-ratio"),
             ("GET", "/group-policies/{policy_no}/disclosure")}


async def test_group_outlet_and_dead_letter_answers(checked: CheckedApi, scheme: Scheme,
                                                    db: Database) -> None:
    api = checked
    group = await api.post("/group-policies", {"product_code": "CN-ELDER-ACC",
                                               "applicant_name": "汕头市潮南区民政局",
                                               "start_date": scheme.today().isoformat()},
                           expect=201)
    no = group["policy_no"]
    elder = id_number(date(1950, 3, 15), 2, "440514")
    result = await api.call("POST", f"/group-policies/{no}/roster", data=roster_csv([
        ("陈阿婆", "女", "1950-03-15", elder, "13800000001", "潮南区峡山街道1号"),
        ("没电话", "女", "1950-03-15", id_number(date(1950, 3, 15), 12, "440514"), "", "地址"),
    ]), headers={"Content-Type": "text/csv; charset=utf-8"}, expect=200)
    assert result["imported"] == 1 and result["errors"]  # a bad line reported too
    await api.post(f"/group-policies/{no}/auto-enrollment", {}, expect=200)
    await api.get(f"/policies/{no}", expect=200)  # a group policy's detail
    await api.get(f"/policies?id_number={elder}", expect=200)  # a membership in the list
    await api.get(f"/policies?id_number={scheme.members[0]}", expect=200)
    removal = await api.post(f"/group-policies/{no}/roster/removals", {
        "id_number": elder, "reason": "moved_away", "date": scheme.today().isoformat()},
        expect=200)
    assert removal["outcome"] == "removed"
    await api.get(f"/policies?id_number={elder}", expect=200)  # a removed member listed
    await api.get("/service-outlets", expect=200)
    await api.get("/service-outlets?service=claims", expect=200)

    with db.transaction() as s:
        queue(s, "t:sms", "sms", "13912345678", "claim_progress", "进度通知")
        queue(s, "t:wechat", "wechat", "oUserOpenId123", "claim_progress", "进度通知")
    refusing = _Refusing()
    dispatch_due(db, {"sms": refusing, "wechat": refusing, "log": refusing}, utcnow())
    dead = await api.get("/notifications/dead", expect=200)
    assert len(dead["items"]) == 2
    await api.post("/notifications/dead/requeue", {"ids": [dead["items"][0]["id"]]}, expect=200)
    last_year = await api.post("/group-policies", {"product_code": "CN-ELDER-ACC",
                                                    "applicant_name": "汕头市潮南区民政局",
                                                    "start_date": "2025-07-01"}, expect=201)
    await api.get(f"/group-policies/{last_year['policy_no']}/loss-ratio", expect=200)
    renewed = await api.post(f"/group-policies/{last_year['policy_no']}/renewal", {},
                             expect=201)
    assert renewed["renewal_of"] == last_year["policy_no"]
    await api.post(f"/group-policies/{last_year['policy_no']}/renewal", {}, expect=409)
    quarter = f"{scheme.today().year}Q{(scheme.today().month + 2) // 3}"
    report = await api.get(f"/group-policies/{no}/disclosure?quarter={quarter}", expect=200)
    assert report["insureds"]["at_quarter_end"] >= 1
    page = await api.call("GET", f"/group-policies/{no}/disclosure.html?quarter={quarter}",
                          expect=200)  # HTML, and below a workbook: no model
    assert no in page
    await api.call("GET", f"/group-policies/{no}/disclosure.xlsx?quarter={quarter}",
                   expect=200)
    await api.error("GET", f"/group-policies/{no}/disclosure?quarter=2026Q9", 400, "invalid",
                    "quarter")
    assert api.checked >= GROUP_OPS, GROUP_OPS - api.checked


CLAIM_OPS = {
    ("POST", "/claims"), ("GET", "/claims"), ("GET", "/claims/{claim_no}"),
    ("GET", "/claims/{claim_no}/progress"), ("POST", "/claims/{claim_no}/documents"),
    ("GET", "/claims/{claim_no}/documents/{document_id}"),
    ("POST", "/claims/{claim_no}/transitions"), ("POST", "/adjudication/preview"),
    ("GET", "/stats/claims"), ("POST", "/satisfaction"), ("GET", "/stats/satisfaction"),
}


async def test_claim_answers_from_report_to_close(checked: CheckedApi, scheme: Scheme) -> None:
    api = checked
    # fast track: report (and the same key again), documents, pay, close, a rating
    claim = await report(api, report_body(scheme), key="wx-answers-1")
    await report(api, report_body(scheme), key="wx-answers-1", expect=200)
    no = claim["claim_no"]
    await api.get(f"/claims/{no}/progress", expect=200)
    receipt = await upload(api, no, DOCS["hospital_allowance"][0])
    await api.get(f"/claims/{no}/documents/{receipt['document_id']}", expect=200)
    claim = await supply_all(api, claim)
    await api.get(f"/claims/{no}/progress", expect=200)  # expected_by set
    await act(api, no, "pay", amount=claim["approved"], account=CARD, reference="BANK-1")
    await act(api, no, "close")
    await api.post("/satisfaction", {"subject_type": "claim", "subject_id": no, "score": 5,
                                     "channel": "sms", "comment": "很快"}, expect=201)

    # manual track: assign, investigate, adjudicate, escalate, approve
    manual = await supply_all(api, await report(api, report_body(
        scheme, "transport_death", insured=scheme.members[1], incident="2026-05-25")))
    manual_no = manual["claim_no"]
    await act(api, manual_no, "assign", handler="adjuster.li")
    await act(api, manual_no, "investigate", note="走访公交公司")
    await act(api, manual_no, "finish_investigation")
    await act(api, manual_no, "advance_payment", amount="10000.00", determinable="30000.00",
              account=CARD)
    await act(api, manual_no, "adjudicate")
    pending = await act(api, manual_no, "approve")
    assert pending["approval_role"] == "supervisor"
    await api.get("/claims?handler=adjuster.li", expect=200)

    # missing documents asked again, then a rejection with its letter (text)
    rejected = await report(api, report_body(scheme, "disability", insured=scheme.members[2]))
    rejected_no = rejected["claim_no"]
    rejected = await supply_all(api, rejected)
    await act(api, rejected_no, "request_documents",
              documents=[{"type": "police_report", "name": "派出所事故证明"}])
    await api.get(f"/claims/{rejected_no}", expect=200)  # a paused clock
    await upload(api, rejected_no, "police_report", filename="事故证明.pdf")
    rejected = await act(api, rejected_no, "reject", reasons=["伤残系既往疾病所致"])
    await api.get(f"/claims/{rejected_no}/letters/{rejected['letters'][0]['letter_no']}",
                  expect=200)
    await act(api, rejected_no, "send_rejection_letter")
    await api.get(f"/claims/{rejected_no}/progress", expect=200)

    # a report that fails the coverage check; a withdrawal
    outsider = await report(api, report_body(scheme, "death", insured=scheme.outsider))
    await act(api, outsider["claim_no"], "decline_registration", reasons=["不是被保险人"])
    await act(api, outsider["claim_no"], "reopen")
    withdrawn = await report(api, report_body(scheme, "death"))
    await act(api, withdrawn["claim_no"], "withdraw", note="家属决定不再申请")

    scheme.clock.advance(days=20)  # some clocks are late now
    await api.get(f"/claims?insured_id_number={scheme.members[0]}", expect=200)
    await api.get("/claims?breached=true", expect=200)
    await api.get(f"/claims?due_before={(scheme.today() + timedelta(days=60)).isoformat()}",
                  expect=200)
    await api.get(f"/claims/{manual_no}", expect=200)
    await api.post("/adjudication/preview", {
        "product_code": "CN-ELDER-ACC", "claim_type": "death", "incident_date": "2026-03-01",
        "facts": {"death_date": "2026-03-01", "cause": "sudden_death"}}, expect=200)
    await api.post("/adjudication/preview", {
        "product_code": "CN-ELDER-ACC", "claim_type": "hospital_allowance",
        "incident_date": "2026-03-01",
        "facts": {"admission_date": "2026-03-01", "discharge_date": "2026-03-11"}}, expect=200)
    await api.get("/stats/claims", expect=200)
    await api.get("/stats/claims?from=2025-01-01&to=2025-01-31", expect=200)  # empty window
    await api.get("/stats/claims/charts", expect=200)  # HTML: no model
    await api.get("/stats/satisfaction", expect=200)
    assert api.checked >= CLAIM_OPS, CLAIM_OPS - api.checked


DESK_OPS = {
    ("POST", "/complaints"), ("GET", "/complaints"), ("GET", "/complaints/{complaint_no}"),
    ("POST", "/complaints/{complaint_no}/transitions"), ("POST", "/home-visits"),
    ("GET", "/home-visits"), ("GET", "/home-visits/{visit_no}"),
    ("POST", "/home-visits/{visit_no}/transitions"), ("POST", "/satisfaction"),
    ("GET", "/stats/satisfaction"), ("GET", "/claims/{claim_no}"),
    ("POST", "/follow-ups/{task_id}/result"), ("GET", "/tasks"),
    ("POST", "/tasks/{task_id}/close"), ("GET", "/search"), ("GET", "/stats/handlers"),
    ("GET", "/tasks/{task_id}"),
    ("POST", "/tasks/{task_id}/take"), ("POST", "/tasks/{task_id}/assignment"),
    ("GET", "/queues/documents-overdue"), ("GET", "/queues/approvals"),
    ("GET", "/access-log"), ("GET", "/access-log/unusual"),
}


async def test_complaint_and_home_visit_answers(checked: CheckedApi, scheme: Scheme,
                                                db: Database) -> None:
    api = checked
    seed_staff(db)
    claim = await report(api, report_body(scheme))
    made = await api.post("/complaints", {
        "channel": "wechat", "user": "wechat:o-openid-1",
        "complainant": {"name": "陈美玲", "phone": "13912345678"}, "category": "claims",
        "description": "理赔太慢", "claim_no": claim["claim_no"]}, expect=201)
    no = made["complaint_no"]
    await api.get(f"/claims/{claim['claim_no']}", expect=200)  # the complaint linked
    step = f"/complaints/{no}/transitions"
    await api.post(step, {"action": "take", "actor": "handler1"}, expect=200)
    await api.post(step, {"action": "note", "actor": "handler1", "note": "已调取案件记录"},
                   expect=200)
    await api.post(step, {"action": "classify", "actor": "handler1", "track": "complex"},
                   expect=200)
    supervisor = await staff_headers(api, "supervisor.zhao",
                                     password=PASSWORDS["supervisor.zhao"])
    await api.call("POST", step, json_body={"action": "extend"}, headers=supervisor,
                   expect=200)  # a supervisor's approval, with their own token
    scheme.clock.advance(days=3)
    await api.post(step, {"action": "decide", "actor": "handler1", "decision": "致歉并加急",
                          "outcome": "upheld"}, expect=200)
    await api.post(step, {"action": "notify", "actor": "handler1"}, expect=200)
    await api.post("/satisfaction", {"subject_type": "complaint", "subject_id": no,
                                     "score": 4, "channel": "wechat"}, expect=201)
    await api.post(step, {"action": "close", "actor": "handler1"}, expect=200)
    await api.post(step, {"action": "reopen", "actor": "desk", "note": "申请复核"}, expect=200)
    await api.post("/complaints", {"channel": "ivr", "complainant": {
        "name": "林先生", "phone": "13800001111"}, "category": "理赔时效",
        "description": "电话打不通"}, expect=201)
    await api.get(f"/complaints/{no}", expect=200)
    await api.get("/complaints", expect=200)
    await api.get("/complaints?open=true&breached=false", expect=200)
    token = (await api.post("/auth/token", {"username": "agent.li",
                                            "password": PASSWORDS["agent.li"]},
                            auth=False, expect=201))["access_token"]
    await api.call("GET", "/complaints", auth=False, headers=bearer(token), expect=200)

    visit = await api.post("/home-visits", {
        "channel": "ivr", "name": "林阿婆", "phone": "13812340000", "address": "潮南区峡山街道1号",
        "reason": "行动不便", "preferred_time": "上午",
        "id_number": id_number(date(1950, 1, 2))}, expect=201)
    base = f"/home-visits/{visit['visit_no']}/transitions"
    await api.post(base, {"action": "assign", "handler": "agent.li"}, expect=200)
    scheme.clock.advance(hours=30)  # the contact clock is late
    at = (scheme.clock.at + timedelta(hours=5)).isoformat()
    await api.post(base, {"action": "schedule", "actor": "agent.li", "time": at}, expect=200)
    scheme.clock.advance(hours=5)
    await api.post(base, {"action": "visit", "actor": "agent.li", "note": "已上门"}, expect=200)
    await api.post("/home-visits", {"channel": "bot", "name": "黄伯", "phone": "13812349999",
                                    "address": "两英镇", "reason": "办理保全"}, expect=201)
    await api.get("/home-visits", expect=200)
    await api.get(f"/home-visits/{visit['visit_no']}", expect=200)
    await api.get("/search?q=13912345678", expect=200)  # the complainant's phone
    await api.get(f"/search?q={no}", expect=200)
    await api.get("/search?q=陈美", expect=200)
    await api.get("/stats/handlers", expect=200)
    await api.get("/stats/satisfaction", expect=200)
    with db.transaction() as s:  # a 回访 task as a claim's close leaves it
        task = Task(kind="follow_up", claim_id=None, due_on=date(2026, 6, 1),
                    note="结案后一周内回访", dedupe_key="follow_up:answers:0")
        s.add(task)
        s.flush()
        task_id = task.id
    await api.post(f"/follow-ups/{task_id}/result", {"outcome": "reached", "score": 5,
                                                      "result": "已收到赔款，满意"}, expect=200)
    await api.post(f"/follow-ups/{task_id}/result", {"outcome": "not_reached"}, expect=409)
    queue = await api.get("/tasks?status=all&kind=follow_up", expect=200)
    done = next(t for t in queue["items"] if t["task_id"] == task_id)
    assert done["status"] == "done" and done["outcome"] == "reached"
    refused = await api.post(f"/tasks/{task_id}/close", {"result": "已处理"}, expect=400)
    assert refused["error"]["field"] == "task_id"  # a 回访 has its own result
    with db.transaction() as s:
        warning = Task(kind="deadline_warning", due_on=date(2026, 6, 1), note="审核明天到期",
                       dedupe_key="deadline_warning:answers:0")
        s.add(warning)
        s.flush()
        warning_id = warning.id
    listed = await api.get("/tasks?kind=deadline_warning", expect=200)
    assert [t["task_id"] for t in listed["items"]] == [warning_id]
    assert listed["items"][0]["kind_name"] == "时限预警"
    closed = await api.post(f"/tasks/{warning_id}/close", {"result": "已催办"}, expect=200)
    assert closed["status"] == "done" and closed["result"] == "已催办"
    await api.post(f"/tasks/{warning_id}/close", {"result": "再办"}, expect=409)
    await api.error("GET", "/tasks?kind=lunch", 400, "invalid", "kind")
    with db.transaction() as s:
        escalation = Task(kind="escalation", due_on=date(2026, 6, 1), note="审核已超时",
                          dedupe_key="escalation:answers:0")
        s.add(escalation)
        s.flush()
        escalation_id = escalation.id
    await api.get(f"/tasks/{escalation_id}", expect=200)
    await api.post(f"/tasks/{escalation_id}/assignment", {"assigned_to": "agent.li"},
                   expect=200)
    await api.post(f"/tasks/{escalation_id}/take", None, expect=409)  # agent.li has it
    with db.transaction() as s:
        low = Task(kind="low_score", due_on=date(2026, 6, 1), note="2 分", dedupe_key="low:a:0")
        s.add(low)
        s.flush()
        low_id = low.id
    taken = await api.post(f"/tasks/{low_id}/take", None, expect=200)
    assert taken["assigned_to"] and taken["status"] == "open"
    await api.get("/tasks?assigned_to=agent.li&overdue=true", expect=200)
    await api.get("/queues/documents-overdue?after=first", expect=200)
    await api.get("/queues/approvals", expect=200)
    # a supervisor's own token (the first expired while the clock ran): the access log
    supervisor = await staff_headers(api, "supervisor.zhao", fresh=True,
                                     password=PASSWORDS["supervisor.zhao"])
    await api.call("GET", "/access-log/unusual?threshold=1", headers=supervisor, expect=200)
    log = await api.call("GET", "/access-log?staff=supervisor.zhao", headers=supervisor,
                         expect=200)
    assert log["items"][0]["purpose"] == "getUnusualAccess"  # reading the log is logged
    assert api.checked >= DESK_OPS, DESK_OPS - api.checked


CONVERSATION_OPS = {
    ("GET", "/conversations"), ("GET", "/conversations/{conversation_id}"),
    ("POST", "/conversations/{conversation_id}/take"),
    ("POST", "/conversations/{conversation_id}/messages"),
    ("POST", "/conversations/{conversation_id}/handback"),
    ("POST", "/conversations/{conversation_id}/transfer"),
    ("POST", "/conversations/{conversation_id}/close"), ("POST", "/satisfaction"),
    ("GET", "/stats/satisfaction"),
}


async def test_conversation_answers(checked: CheckedApi, db: Database) -> None:
    api = checked
    seed_staff(db)
    first = handed_off(db, "wechat", "oAnswers1", "complaint", "要投诉")
    second = handed_off(db, "web", "web-answers-2", "user_request", "咨询")
    await api.get("/conversations", expect=200)
    await api.get("/conversations?state=queued&queue=complaints", expect=200)
    await api.post(f"/conversations/{first}/take", {"agent": "agent.li"}, expect=200)
    await api.post(f"/conversations/{first}/messages", {"agent": "agent.li",
                                                        "text": "您好，请讲"}, expect=201)
    await api.get(f"/conversations/{first}", expect=200)
    await api.post(f"/conversations/{first}/transfer",
                   {"agent": "agent.li", "target": "queue:claims"}, expect=200)
    await api.post(f"/conversations/{first}/transfer",
                   {"agent": "agent.li", "target": "supervisor.zhao"}, expect=200)
    await api.post(f"/conversations/{first}/close", {"disposition": "已解决"}, expect=200)
    await api.post("/satisfaction", {"subject_type": "conversation", "subject_id": str(first),
                                     "score": 3, "channel": "wechat"}, expect=201)
    await api.post(f"/conversations/{second}/take", {"agent": "agent.li"}, expect=200)
    await api.post(f"/conversations/{second}/handback", {"agent": "agent.li"}, expect=200)
    await api.get(f"/conversations/{second}", expect=200)
    await api.get("/conversations?state=closed&order=newest&channel=wechat&limit=5",
                  expect=200)
    await api.get("/stats/satisfaction", expect=200)
    assert api.checked >= CONVERSATION_OPS, CONVERSATION_OPS - api.checked


APPEAL_OPS = {
    ("POST", "/channel/appeals"), ("POST", "/claims/{claim_no}/appeals"), ("GET", "/appeals"),
    ("GET", "/appeals/{appeal_no}"), ("POST", "/appeals/{appeal_no}/decision"),
}


async def test_appeal_answers(checked: CheckedApi, scheme: Scheme, db: Database) -> None:
    api = checked
    first = await appeal_kit.rejected(api, scheme)
    await appeal_kit.bind(api, db, scheme.members[0], "o-answers-appeal")
    made = await appeal_kit.customer_appeal(api, first, "o-answers-appeal")
    second = await appeal_kit.rejected(api, scheme, insured=scheme.members[1])
    other = await appeal_kit.staff_appeal(api, second)
    await api.get("/appeals", expect=200)
    await api.get(f"/appeals/{made['appeal_no']}", expect=200)
    await appeal_kit.decide(api, made["appeal_no"], "uphold", note="维持原决定")
    await appeal_kit.decide(api, other["appeal_no"], "reopen")
    await api.get("/appeals?status=reopened", expect=200)
    assert api.checked >= APPEAL_OPS, APPEAL_OPS - api.checked


CUSTOMER_STEP_OPS = {("POST", "/channel/claims/{claim_no}/withdrawal"),
                     ("POST", "/channel/claims/{claim_no}/bank-account")}


async def test_customer_step_answers(checked: CheckedApi, scheme: Scheme, db: Database) -> None:
    api = checked
    body = report_body(scheme)
    del body["bank_account"]
    claim_no = (await report(api, body))["claim_no"]
    await appeal_kit.bind(api, db, scheme.members[0], "o-answers-steps")
    who = {"channel": "wechat", "user": "o-answers-steps"}
    for _ in range(2):  # set, then the replay
        await api.post(f"/channel/claims/{claim_no}/bank-account", {**who, "account": CARD})
        await api.post(f"/channel/claims/{claim_no}/withdrawal", who)
    assert api.checked >= CUSTOMER_STEP_OPS, CUSTOMER_STEP_OPS - api.checked


CONSENT_OPS = {("GET", "/channel/consent-notice"), ("GET", "/channel/consents/{channel}/{user}"),
               ("POST", "/channel/consents"), ("GET", "/parties/{id_number}/consents")}


async def test_consent_answers(checked: CheckedApi, scheme: Scheme, db: Database) -> None:
    api = checked
    user = "o-answers-consent"
    shown = await api.get("/channel/consent-notice?channel=wechat")
    await api.get(f"/channel/consents/wechat/{user}")  # none yet: nulls
    await appeal_kit.bind(api, db, scheme.members[0], user)
    await api.post("/channel/consents", {"channel": "wechat", "user": user, "decision": "given",
                                         "notice_version": shown["version"],
                                         "notice_sha256": shown["sha256"]})
    await api.get(f"/channel/consents/wechat/{user}")
    await api.get(f"/parties/{scheme.members[0]}/consents")
    assert api.checked >= CONSENT_OPS, CONSENT_OPS - api.checked


def test_every_json_answer_is_met_by_a_walk() -> None:
    walked = POLICY_OPS | GROUP_OPS | CLAIM_OPS | DESK_OPS | CONVERSATION_OPS | APPEAL_OPS \
        | CUSTOMER_STEP_OPS | CONSENT_OPS
    assert walked <= set(ANSWERS)
    assert JSON_ANSWERS - walked == set()


# ---- a broken answer is refused ---------------------------------------------------------------

def refused(model: type[BaseModel], answer: Any) -> bool:
    try:
        model.model_validate(answer)
    except ValidationError:
        return True
    return False


def without(answer: dict[str, Any], *path: Any) -> dict[str, Any]:
    out = copy.deepcopy(answer)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


def replaced(answer: dict[str, Any], value: Any, *path: Any) -> dict[str, Any]:
    out = copy.deepcopy(answer)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


async def test_broken_answers_are_refused(checked: CheckedApi, scheme: Scheme) -> None:
    api = checked
    claim = await supply_all(api, await report(api, report_body(scheme)))
    policy = await api.get(f"/policies/{scheme.individual_policies[0]}", expect=200)
    error = await api.error("GET", "/claims/R202699999999", 404, "not_found", "claim_no")
    assert not refused(Claim, claim) and not refused(PolicyDetail, policy)
    # more fields are fine: answers are open
    assert not refused(Claim, {**claim, "something_new": [1, 2]})

    for field in ("claim_no", "status", "missing_documents", "deadlines", "payable", "timeline"):
        assert refused(Claim, without(claim, field)), field
    assert refused(Claim, without(claim, "timeline", 0, "actor"))
    assert refused(Claim, replaced(claim, "300", "payable"))  # Money has two decimals
    assert refused(Claim, replaced(claim, 300.0, "payable"))
    assert refused(Claim, replaced(claim, "lost", "status"))
    assert refused(Claim, replaced(claim, None, "claim_type"))
    assert refused(Claim, replaced(claim, None, "track"))  # may be left out, never null
    assert refused(Claim, replaced(claim, "2026-06-01T09:30:00", "timeline", 0, "at"))
    assert refused(Claim, replaced(claim, "2026/06/01", "reported_on"))
    assert refused(PolicyDetail, without(policy, "premium", "annual"))
    assert refused(PolicyDetail, replaced(policy, "2026-13-01", "application_date"))
    assert refused(Error, {"error": {"code": "x", "message": "y"}})
    assert not refused(Error, {"error": error})
