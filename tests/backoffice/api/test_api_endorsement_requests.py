"""Endorsement requests (保全申请) through the API: a beneficiary change asked for on WeChat,
completed from the signed form and approved (the endorsement applied, the customer told);
rejections with a reason by SMS, withdrawals, refusals that change nothing; and an
underwriter's own decision on a referred application."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from api_testkit import Api, application, id_number, issue_policy, person
from sqlalchemy import select

from backoffice.domain.calendar import CN_CALENDAR
from backoffice.services.base import today_cn
from backoffice.store.db import Database
from backoffice.store.models import Notification

BENEFICIARY_ID = id_number(date(1984, 2, 3), 22)


def request_body(policy_no: str, **extra: Any) -> dict[str, Any]:
    return {"channel": "wechat", "user": "wechat:o-bq-1", "policy_no": policy_no,
            "kind": "change_beneficiary",
            "details": {"beneficiaries": [{"name": "王小红", "relation": "child"}]}, **extra}


def notices(db: Database, template: str) -> list[Notification]:
    with db.read() as s:
        return list(s.execute(select(Notification).where(Notification.template == template)
                              ).scalars())


async def step(api: Api, no: str, expect: int = 200, **body: Any) -> dict[str, Any]:
    answer: dict[str, Any] = await api.post(f"/endorsement-requests/{no}/transitions",
                                            {"actor": "underwriter.sun", **body}, expect=expect)
    return answer


async def test_a_beneficiary_change_is_completed_approved_applied_and_told(
        api: Api, db: Database) -> None:
    policy = await issue_policy(api)
    made = await api.post("/endorsement-requests", request_body(policy["policy_no"]),
                          expect=201)
    no = made["request_no"]
    assert no.startswith(f"BQ{today_cn().year}") and made["status"] == "submitted"
    assert made["due_by"] == CN_CALENDAR.add_working_days(today_cn(), 5).isoformat()
    assert made["details"]["beneficiaries"] == [
        {"name": "王小红", "relation": "child", "share_pct": 100, "id_number": None}]
    assert made["missing"] == ["beneficiaries[0].id_number"]
    assert made["allowed_actions"] == ["approve", "reject", "withdraw"]

    listed = await api.get("/endorsement-requests?status=submitted", expect=200)
    assert [r["request_no"] for r in listed["items"]] == [no]
    assert (await api.get("/endorsement-requests?status=approved", expect=200))["items"] == []

    before = await api.get(f"/policies/{policy['policy_no']}", expect=200)
    await step(api, no, 400, action="approve")  # the ID number is still missing
    bad = {"beneficiaries": [{"name": "王小红", "relation": "child", "id_number": "123"}]}
    await api.error("POST", f"/endorsement-requests/{no}/transitions", 400, "invalid",
                    "details.beneficiaries[0].id_number",
                    {"action": "approve", "actor": "u", "details": bad})
    # unchanged, but for the document link's expiry, signed afresh at each reading (a second
    # boundary between the two readings changes it)
    after_refusal = await api.get(f"/policies/{policy['policy_no']}", expect=200)
    assert {**after_refusal, "document_url": None} == {**before, "document_url": None}
    assert (await api.get(f"/endorsement-requests/{no}", expect=200))["status"] == "submitted"

    signed = {"beneficiaries": [{"name": "王小红", "relation": "child",
                                 "id_number": BENEFICIARY_ID}]}
    done = await step(api, no, action="approve", details=signed)
    assert done["status"] == "approved" and done["endorsement_no"].startswith("E")
    assert done["details"]["beneficiaries"][0]["id_number"] == BENEFICIARY_ID[:6] + "*" * 8 \
        + BENEFICIARY_ID[-4:]
    assert done["clock"]["done_on"] == today_cn().isoformat() and not done["clock"]["breached"]
    assert [t["action"] for t in done["timeline"]] == ["submit", "approve"]
    after = await api.get(f"/policies/{policy['policy_no']}", expect=200)
    assert [(b["name"], b["relation"], b["share_pct"]) for b in after["beneficiaries"]] == [
        ("王小红", "child", 100)]
    assert after["endorsements"][-1]["endorsement_no"] == done["endorsement_no"]
    [told] = notices(db, "endorsement_request_approved")
    assert (told.channel, told.recipient) == ("wechat", "o-bq-1")
    assert no in told.text and "已办理完成" in told.text
    await step(api, no, 409, action="reject", reason="重复")


async def test_rejection_with_a_reason_by_sms_and_a_withdrawal(api: Api, db: Database) -> None:
    policy = await issue_policy(api, application(person("赵六", date(1975, 7, 7), 77,
                                                        phone="13566667777")))
    web = request_body(policy["policy_no"], channel="web", user="web-1")
    first = (await api.post("/endorsement-requests", web, expect=201))["request_no"]
    await step(api, first, 400, action="reject")
    await step(api, first, 400, action="reject", reason="  ")
    rejected = await step(api, first, action="reject", reason="未提供投保人签字的申请书")
    assert rejected["status"] == "rejected" and rejected["reason"] == "未提供投保人签字的申请书"
    [told] = notices(db, "endorsement_request_rejected")
    assert (told.channel, told.recipient) == ("sms", "13566667777")
    assert "未提供投保人签字的申请书" in told.text
    await step(api, first, 409, action="approve")

    second = (await api.post("/endorsement-requests", web, expect=201))["request_no"]
    withdrawn = await step(api, second, action="withdraw", note="客户来电撤回")
    assert withdrawn["status"] == "withdrawn" and withdrawn["allowed_actions"] == []
    listed = await api.get(f"/endorsement-requests?policy_no={policy['policy_no']}",
                           expect=200)
    assert {r["status"] for r in listed["items"]} == {"rejected", "withdrawn"}
    unchanged = await api.get(f"/policies/{policy['policy_no']}", expect=200)
    assert unchanged["endorsements"] == []


async def test_requests_that_cannot_be_taken(api: Api) -> None:
    policy = await issue_policy(api)
    no = policy["policy_no"]
    group = await api.post("/group-policies", {"product_code": "CN-ELDER-ACC",
                                               "applicant_name": "潮南区民政局",
                                               "start_date": "2026-01-01"}, expect=201)
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({**request_body(no), "channel": "pigeon"}, 400, "invalid", "channel"),
        ({**request_body(no), "kind": "explode"}, 400, "invalid", "kind"),
        (request_body(no, details={"beneficiaries": []}), 400, "invalid",
         "details.beneficiaries"),
        (request_body(no, details={"beneficiaries": [{"name": "甲", "relation": "boss"}]}),
         400, "invalid", "details.beneficiaries[0].relation"),
        (request_body(no, details={"beneficiaries": [
            {"name": "甲", "relation": "child", "share_pct": 60},
            {"name": "乙", "relation": "child"}]}), 400, "invalid", "details.beneficiaries"),
        (request_body(no, details={"wish": "x"}), 400, "invalid", "details.wish"),
        (request_body("P20269999999999"), 404, "not_found", "policy_no"),
        (request_body(group["policy_no"]), 422, "domain_error", "policy_no"),
    ]
    for raw, status, code, field in cases:
        await api.error("POST", "/endorsement-requests", status, code, field, raw)
    assert (await api.get("/endorsement-requests", expect=200))["items"] == []
    await api.error("GET", "/endorsement-requests/BQ2026999999", 404, "not_found",
                    "request_no")
    await api.error("GET", "/endorsement-requests?status=lost", 400, "invalid", "status")


async def test_an_underwriter_decides_a_referred_application(api: Api) -> None:
    filed = await api.post("/applications", application(person("钱七", date(1970, 3, 3), 33)),
                           expect=201)
    no = filed["application_no"]
    await api.error("POST", f"/applications/{no}/underwriting", 400, "invalid", "reasons",
                    {"outcome": "accept_with_loading", "loading_pct": "25"})
    await api.error("POST", f"/applications/{no}/underwriting", 400, "invalid",
                    "loading_pct", {"outcome": "accept_with_loading", "loading_pct": "900",
                                    "reasons": ["高血压"]})
    await api.error("POST", f"/applications/{no}/underwriting", 400, "invalid", "outcome",
                    {"outcome": "maybe", "reasons": ["x"]})
    assert (await api.get(f"/applications/{no}", expect=200))["status"] == "applied"
    loaded = await api.post(f"/applications/{no}/underwriting",
                            {"outcome": "accept_with_loading", "loading_pct": "25",
                             "reasons": ["体检报告显示血压偏高"], "actor": "underwriter.sun"},
                            expect=200)
    assert loaded["status"] == "accepted"
    assert loaded["underwriting"]["outcome"] == "accept_with_loading"
    assert loaded["underwriting"]["reasons"] == ["体检报告显示血压偏高"]
    assert Decimal(loaded["premium"]["annual"]) > Decimal(filed["premium"]["annual"])
    other = await api.post("/applications", application(person("孙八", date(1971, 4, 4), 44)),
                           expect=201)
    postponed = await api.post(f"/applications/{other['application_no']}/underwriting",
                               {"outcome": "postpone", "reasons": ["术后三个月内"]}, expect=200)
    assert postponed["status"] == "postponed"
