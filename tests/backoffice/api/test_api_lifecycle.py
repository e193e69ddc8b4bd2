"""An individual policy's whole life over HTTP: quote, application, underwriting, premium,
issue, look-up, endorsements, lapse and reinstatement, surrender, the policy document."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from api_testkit import HEALTH_NO, MONEY, Api, application, id_number, issue_policy, person


def d(text: str) -> date:
    return date.fromisoformat(text)


def money(text: str) -> Decimal:
    assert MONEY.match(text), text
    return Decimal(text)


async def test_quote_explains_the_premium_line_by_line(api: Api) -> None:
    q = await api.post("/quotes", {
        "product_code": "PA-GUARD", "birth_date": "1980-05-06", "occupation_class": 1,
        "coverages": [{"code": "accidental_death_disability", "sum_insured": "100000.00"},
                      {"code": "accidental_medical", "sum_insured": 10000}],
        "payment_mode": "instalments", "frequency": "quarterly", "on": "2026-01-10",
    }, expect=200)
    # 45 years old: 100000 / 1000 × 0.80 + 10000 / 1000 × 5.00
    assert q["annual_premium"] == "130.00"
    assert q["instalments"] == 4
    assert q["instalment_amount"] == "34.45"  # 130 × 0.265
    assert q["total_premium"] == "137.80"
    assert all(MONEY.match(line["amount"]) for line in q["lines"])
    assert any("意外医疗" in line["text"] for line in q["lines"])


async def test_individual_policy_lifecycle(api: Api) -> None:
    idn = id_number(date(1980, 5, 6))
    body = application(person(address="广东省汕头市潮南区峡山街道1号"))

    # quote, then apply: the application is priced like the quote
    q = await api.post("/quotes", {"product_code": "PA-GUARD", "birth_date": "1980-05-06",
                                   "occupation_class": 1, "coverages": body["coverages"],
                                   "payment_mode": "instalments", "frequency": "quarterly"},
                       expect=200)
    filed = await api.post("/applications", body, expect=201)
    no = filed["application_no"]
    assert no.startswith("A") and filed["policy_no"] is None
    assert filed["status"] == "applied"
    assert filed["premium"]["annual"] == q["annual_premium"]
    assert filed["premium"]["instalment"] == q["instalment_amount"]
    assert filed["insured"]["id_number"] != idn  # masked
    assert filed["insured"]["phone"] == "138****8000"
    assert (await api.get(f"/applications/{no}", expect=200))["application_no"] == no

    # issue needs underwriting first, then the first premium
    await api.error("POST", f"/applications/{no}/issue", 409, "illegal_transition", "action")
    uw = await api.post(f"/applications/{no}/underwriting", {"actor": "uw-li"}, expect=200)
    assert uw["status"] == "accepted"
    assert uw["underwriting"]["outcome"] == "accept"
    schedule = uw["premium_schedule"]
    assert [i["seq"] for i in schedule] == [1, 2, 3, 4]
    assert {i["status"] for i in schedule} == {"due"}
    await api.error("POST", f"/applications/{no}/underwriting", 409, "illegal_transition",
                    "action")
    await api.error("POST", f"/applications/{no}/issue", 422, "domain_error", "payment")
    await api.error("POST", f"/applications/{no}/payments", 400, "invalid", "amount",
                    {"amount": "1.00"})
    paid = await api.post(f"/applications/{no}/payments",
                          {"amount": schedule[0]["amount"], "method": "wechat_pay",
                           "reference": "WX-0001"}, expect=201)
    assert paid["premium_schedule"][0]["status"] == "paid"
    assert paid["payments"][0]["amount"] == schedule[0]["amount"]

    issued = await api.post(f"/applications/{no}/issue", expect=200)
    policy_no = issued["policy_no"]
    assert policy_no and policy_no.startswith("P")
    assert issued["status"] == "in_force"
    start, end = d(issued["start_date"]), d(issued["end_date"])
    assert start > date.today() - timedelta(days=1)
    assert end == date(start.year + 1, start.month, start.day)
    await api.error("POST", f"/applications/{no}/issue", 409, "illegal_transition", "action")

    # look-up by ID number: the contract's shape
    found = await api.get(f"/policies?id_number={idn}", expect=200)
    assert len(found["items"]) == 1
    item = found["items"][0]
    assert {"policy_no", "product_code", "status", "insured", "coverages"} <= set(item)
    assert (item["policy_no"], item["product_code"], item["status"]) == (
        policy_no, "PA-GUARD", "in_force")
    assert item["insured"]["name"] == "张三"
    assert item["coverages"] == [
        {"code": "accidental_death_disability", "name": "意外身故及伤残",
         "sum_insured": "100000.00"},
        {"code": "accidental_medical", "name": "意外医疗", "sum_insured": "10000.00"},
    ]
    lower_x = await api.get(f"/policies?id_number={idn.lower()}", expect=200)
    assert lower_x == found
    nobody = await api.get(f"/policies?id_number={id_number(date(1990, 1, 1))}", expect=200)
    assert nobody == {"items": []}

    detail = await api.get(f"/policies/{policy_no}", expect=200)
    assert len(detail["premium_schedule"]) == 4
    assert detail["endorsements"] == []
    assert detail["application_no"] == no

    # endorsements
    endorse = f"/policies/{policy_no}/endorsements"
    ben_id = id_number(date(1982, 3, 4), 222)
    e = await api.post(endorse, {"kind": "change_beneficiary", "actor": "clerk-wang",
                                 "beneficiaries": [{"name": "李四", "relation": "spouse",
                                                    "id_number": ben_id, "share_pct": 100}]},
                       expect=201)
    assert e["endorsement"]["kind"] == "change_beneficiary"
    assert e["endorsement"]["before"] == {"beneficiaries": []}
    assert e["endorsement"]["after"]["beneficiaries"][0]["name"] == "李四"
    assert e["endorsement"]["actor"] == "api"  # the service token's, not the body's
    assert e["beneficiaries"] == [{"name": "李四", "relation": "spouse", "share_pct": 100}]

    e = await api.post(endorse, {"kind": "change_contact", "phone": "13912345678"},
                       headers={"X-Actor": "desk-zhao"}, expect=201)
    assert e["endorsement"]["before"] == {"phone": "138****8000"}
    assert e["endorsement"]["after"] == {"phone": "139****5678"}
    assert e["endorsement"]["actor"] == "api"  # X-Actor decides nothing
    assert e["insured"]["phone"] == "139****5678"

    old_annual = money(e["premium"]["annual"])
    old_instalment = money(e["premium"]["instalment"])
    e = await api.post(endorse, {"kind": "change_sum_insured",
                                 "coverage_code": "accidental_death_disability",
                                 "sum_insured": "200000.00"}, expect=201)
    diff = money(e["endorsement"]["premium_difference"])
    assert diff > 0
    assert money(e["premium"]["annual"]) == old_annual + Decimal("80.00")
    new_instalment = money(e["premium"]["instalment"])
    assert new_instalment > old_instalment
    # the paid quarter pays its remainder (here all of it); the unpaid ones are rebilled
    assert diff == new_instalment - old_instalment
    assert {i["amount"] for i in e["premium_schedule"][1:]} == {e["premium"]["instalment"]}
    assert e["endorsement"]["explanation"]
    assert any(p["kind"] == "additional_premium" and money(p["amount"]) == diff
               for p in e["payments"])
    cov = {c["code"]: c["sum_insured"] for c in e["coverages"]}
    assert cov["accidental_death_disability"] == "200000.00"

    e = await api.post(endorse, {"kind": "add_coverage", "coverage_code": "hospital_allowance",
                                 "sum_insured": "100.00"}, expect=201)
    assert e["endorsement"]["after"]["added"] == "hospital_allowance"
    assert money(e["endorsement"]["premium_difference"]) > 0
    assert "hospital_allowance" in {c["code"] for c in e["coverages"]}

    e = await api.post(endorse, {"kind": "remove_coverage",
                                 "coverage_code": "accidental_medical"}, expect=201)
    assert money(e["endorsement"]["premium_difference"]) < 0
    assert "accidental_medical" not in {c["code"] for c in e["coverages"]}
    await api.error("POST", endorse, 400, "invalid", "coverage_code",
                    {"kind": "remove_coverage", "coverage_code": "accidental_death_disability"})
    await api.error("POST", endorse, 400, "invalid", "coverage_code",
                    {"kind": "remove_coverage", "coverage_code": "accidental_medical"})

    detail = await api.get(f"/policies/{policy_no}", expect=200)
    assert [x["kind"] for x in detail["endorsements"]] == [
        "change_beneficiary", "change_contact", "change_sum_insured", "add_coverage",
        "remove_coverage"]

    # premium due → grace → lapse → reinstate
    move = f"/policies/{policy_no}/transitions"
    due = await api.post(move, {"action": "premium_due"}, expect=200)
    assert due["status"] == "premium_due"
    second = due["premium_schedule"][1]
    due_date = d(second["due_date"])
    await api.error("POST", move, 409, "illegal_transition", "action", {"action": "lapse"})
    await api.error("POST", move, 422, "domain_error", "today",
                    {"action": "start_grace", "today": due_date.isoformat()})
    grace = await api.post(move, {"action": "start_grace",
                                  "today": (due_date + timedelta(days=1)).isoformat()},
                           expect=200)
    assert grace["status"] == "grace_period"
    grace_end = d(grace["grace_ends_on"])
    assert grace_end == due_date + timedelta(days=60)
    await api.error("POST", move, 422, "domain_error", "today",
                    {"action": "lapse", "today": grace_end.isoformat()})
    lapsed = await api.post(move, {"action": "lapse",
                                   "today": (grace_end + timedelta(days=1)).isoformat()},
                            headers={"X-Actor": "scheduler"}, expect=200)
    assert lapsed["status"] == "lapsed"
    assert lapsed["lapsed_on"] == (grace_end + timedelta(days=1)).isoformat()
    await api.error("POST", endorse, 422, "domain_error", "policy_no",
                    {"kind": "change_contact", "phone": "13700000000"})
    await api.error("POST", f"/policies/{policy_no}/payments", 422, "domain_error",
                    "policy_no", {"amount": second["amount"]})

    back_on = (grace_end + timedelta(days=10)).isoformat()
    await api.error("POST", move, 400, "invalid", "payment",
                    {"action": "reinstate", "today": back_on,
                     "health_declarations": HEALTH_NO})
    await api.error("POST", move, 400, "invalid", "health_declarations.hospitalised_now",
                    {"action": "reinstate", "today": back_on,
                     "payment": {"amount": second["amount"]}})
    await api.error("POST", move, 400, "invalid", "amount",
                    {"action": "reinstate", "today": back_on, "health_declarations": HEALTH_NO,
                     "payment": {"amount": "0.01"}})
    await api.error("POST", move, 422, "domain_error", "health_declarations",
                    {"action": "reinstate", "today": back_on,
                     "health_declarations": {**HEALTH_NO, "epilepsy": True},
                     "payment": {"amount": second["amount"]}})
    still = await api.get(f"/policies/{policy_no}", expect=200)
    assert still["status"] == "lapsed"
    assert still["premium_schedule"][1]["status"] == "due"
    back = await api.post(move, {"action": "reinstate", "today": back_on,
                                 "health_declarations": HEALTH_NO,
                                 "payment": {"amount": second["amount"], "method": "cash"}},
                          expect=200)
    assert back["status"] == "in_force"
    assert back["premium_schedule"][1]["status"] == "paid"
    assert back["lapsed_on"] is None
    await api.error("POST", move, 409, "illegal_transition", "action",
                    {"action": "reinstate", "today": back_on})

    # surrender after the cooling-off period: unearned premium less the fee
    on = (start + timedelta(days=30)).isoformat()
    e = await api.post(endorse, {"kind": "surrender", "effective_date": on}, expect=201)
    assert e["status"] == "surrendered"
    assert e["ended_on"] == on
    refund = money(e["endorsement"]["after"]["refund"])
    assert refund > 0
    assert money(e["endorsement"]["premium_difference"]) == -refund
    assert {i["status"] for i in e["premium_schedule"][2:]} == {"cancelled"}
    assert any(p["kind"] == "refund" and money(p["amount"]) == -refund for p in e["payments"])
    await api.error("POST", endorse, 422, "domain_error", "policy_no", {"kind": "surrender"})
    await api.error("POST", move, 409, "illegal_transition", "action",
                    {"action": "premium_due"})
    found = await api.get(f"/policies?id_number={idn}", expect=200)
    assert found["items"][0]["status"] == "surrendered"

    # the audit log tells who did what
    log = await api.get(f"/audit?entity_type=policy&entity_id={policy_no}", expect=200)
    actions = [(x["action"], x["actor"]) for x in log["items"]]
    assert ("issue", "api") in actions
    assert ("endorsement.change_beneficiary", "api") in actions
    assert ("endorsement.change_contact", "api") in actions
    assert ("lapse", "api") in actions  # X-Actor decides nothing
    assert [a for a, _ in actions][-1] == "endorsement.surrender"
    assert all(x["at"].endswith("+00:00") for x in log["items"])
    applied = await api.get(f"/audit?entity_type=policy&entity_id={no}", expect=200)
    assert [(x["action"], x["actor"]) for x in applied["items"]][:2] == [
        ("apply", "api"), ("underwrite", "api")]  # the token acts, never the body's "uw-li"


async def test_surrender_in_the_cooling_off_period_refunds_everything(api: Api) -> None:
    policy = await issue_policy(api, application(payment_mode="single", frequency="annual"))
    no = policy["policy_no"]
    assert [i["status"] for i in policy["premium_schedule"]] == ["paid"]
    await api.error("POST", f"/policies/{no}/transitions", 422, "domain_error", "action",
                    {"action": "premium_due"})
    e = await api.post(f"/policies/{no}/endorsements", {"kind": "surrender"}, expect=201)
    assert e["status"] == "cancelled"
    assert e["endorsement"]["after"]["refund"] == policy["premium"]["annual"]


async def test_cancel_and_expire_transitions(api: Api) -> None:
    policy = await issue_policy(api)
    no = policy["policy_no"]
    move = f"/policies/{no}/transitions"
    await api.error("POST", move, 422, "domain_error", "today",
                    {"action": "expire", "today": policy["start_date"]})
    cancelled = await api.post(move, {"action": "cancel"}, expect=200)
    assert cancelled["status"] == "cancelled"
    assert any(p["kind"] == "refund" for p in cancelled["payments"])

    other = await issue_policy(api, application(person("王五", date(1975, 7, 8), 456)))
    expired = await api.post(f"/policies/{other['policy_no']}/transitions",
                             {"action": "expire", "today": other["end_date"]}, expect=200)
    assert expired["status"] == "expired"
    assert expired["ended_on"] == other["end_date"]


async def test_declined_application_cannot_be_issued(api: Api) -> None:
    body = application(health_declarations={**HEALTH_NO, "epilepsy": True})
    filed = await api.post("/applications", body, expect=201)
    no = filed["application_no"]
    uw = await api.post(f"/applications/{no}/underwriting", expect=200)
    assert uw["status"] == "declined"
    assert uw["underwriting"]["reasons"]
    await api.error("POST", f"/applications/{no}/payments", 422, "domain_error", "policy_no",
                    {"amount": "10.00"})
    await api.error("POST", f"/applications/{no}/issue", 409, "illegal_transition", "action")


async def test_loading_reprices_the_application(api: Api) -> None:
    body = application(health_declarations={**HEALTH_NO, "hypertension": True},
                       payment_mode="single", frequency="annual")
    filed = await api.post("/applications", body, expect=201)
    uw = await api.post(f"/applications/{filed['application_no']}/underwriting", expect=200)
    assert uw["underwriting"]["outcome"] == "accept_with_loading"
    assert money(uw["premium"]["annual"]) == money(filed["premium"]["annual"]) * Decimal("1.2")


def _html_has(html: str, *texts: str) -> None:
    for text in texts:
        assert text in html, text


async def test_policy_document_is_html_with_number_coverages_and_escaped_names(
        api: Api) -> None:
    hostile = "<b>赵</b>&\"钱'"
    ben_id = id_number(date(1990, 2, 3), 246)
    body: dict[str, Any] = application(
        person(hostile),
        beneficiaries=[{"name": "<script>alert(1)</script>", "relation": "child",
                        "id_number": ben_id, "share_pct": 100}])
    policy = await issue_policy(api, body)
    no = policy["policy_no"]
    html = await api.get(f"/policies/{no}/document", expect=200)
    assert html.lstrip().lower().startswith("<!doctype html>")
    _html_has(html, no, "意外身故及伤残", "意外医疗", "100000.00", "10000.00")
    assert "<b>赵</b>" not in html
    assert "<script>alert(1)</script>" not in html
    _html_has(html, "&lt;b&gt;赵&lt;/b&gt;&amp;", "&lt;script&gt;alert(1)&lt;/script&gt;")
    assert "<script" not in html.lower()
    await api.error("GET", "/policies/P20260099999999/document", 404, "not_found",
                    "policy_no")
    await api.error("GET", f"/policies/{policy['application_no']}/document", 404, "not_found",
                    "policy_no")
