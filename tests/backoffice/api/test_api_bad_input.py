"""Bad input gets a 4xx naming the field and changes nothing; nothing a stranger sends
yields a 5xx."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_testkit import (
    HEALTH_NO,
    Api,
    application,
    bad_check_digit,
    id_number,
    issue_policy,
    person,
    roster_csv,
)

from backoffice.api.app import create_api
from backoffice.store.db import Database

JSON = {"Content-Type": "application/json"}


@dataclass
class World:
    application_no: str  # applied, not yet underwritten
    policy_no: str  # issued, in force, paid quarterly
    insured_id: str  # the insured of policy_no
    lapsed_no: str  # lapsed, one instalment in arrears
    arrears: str
    group_no: str
    complaint_no: str = ""
    visit_no: str = ""
    request_no: str = ""  # an endorsement request, submitted

    def fill(self, template: str) -> str:
        group = template.startswith("/group-policies/")
        return template.format(
            application_no=self.application_no,
            policy_no=self.group_no if group else self.policy_no,
            id_number=self.insured_id, code="PA-GUARD",
            complaint_no=self.complaint_no, visit_no=self.visit_no,
            request_no=self.request_no, appeal_no="FH2026000001", task_id="1",
            privacy_request_no="GR2026000001",
            channel="wechat", user="o-hostile",
        )


async def lapse(api: Api, policy_no: str) -> dict[str, Any]:
    move = f"/policies/{policy_no}/transitions"
    due = await api.post(move, {"action": "premium_due"}, expect=200)
    due_date = date.fromisoformat(due["premium_schedule"][1]["due_date"])
    grace = await api.post(move, {"action": "start_grace",
                                  "today": (due_date + timedelta(days=1)).isoformat()},
                           expect=200)
    end = date.fromisoformat(grace["grace_ends_on"])
    lapsed: dict[str, Any] = await api.post(
        move, {"action": "lapse", "today": (end + timedelta(days=1)).isoformat()}, expect=200)
    return lapsed


@pytest.fixture
async def world(api: Api) -> World:
    filed = await api.post("/applications", application(person("申请人", date(1988, 8, 8), 88)),
                           expect=201)
    policy = await issue_policy(api)
    other = await issue_policy(api, application(person("失效人", date(1970, 1, 2), 70)))
    lapsed = await lapse(api, other["policy_no"])
    group = await api.post("/group-policies", {"product_code": "CN-ELDER-ACC",
                                               "applicant_name": "潮南区民政局",
                                               "start_date": "2026-01-01"}, expect=201)
    complaint = await api.post("/complaints", COMPLAINT, expect=201)
    await api.post(f"/complaints/{complaint['complaint_no']}/transitions",
                   {"action": "assign", "actor": "lead", "handler": "h1"}, expect=200)
    visit = await api.post("/home-visits", HOME_VISIT, expect=201)
    asked = await api.post("/endorsement-requests", {**ENDORSEMENT_REQUEST,
                                                     "policy_no": policy["policy_no"]},
                           expect=201)
    return World(
        application_no=filed["application_no"], policy_no=policy["policy_no"],
        insured_id=id_number(date(1980, 5, 6)), lapsed_no=lapsed["policy_no"],
        arrears=lapsed["premium_schedule"][1]["amount"], group_no=group["policy_no"],
        complaint_no=complaint["complaint_no"], visit_no=visit["visit_no"],
        request_no=asked["request_no"],
    )


COMPLAINT = {"channel": "wechat", "user": "wechat:o-1", "category": "claims",
             "complainant": {"name": "陈美玲", "phone": "13912345678"},
             "description": "理赔太慢", "policy_no": "P1"}
HOME_VISIT = {"channel": "ivr", "name": "林阿婆", "phone": "13812340000", "address": "峡山街道1号",
              "reason": "行动不便", "preferred_time": "上午",
              "id_number": id_number(date(1950, 1, 2))}

ENDORSEMENT_REQUEST = {"channel": "wechat", "user": "wechat:o-2", "kind": "change_beneficiary",
                       "details": {"beneficiaries": [{"name": "王小红", "relation": "child"}]},
                       "note": "客户经小保申请"}


# ---- the body is not a JSON object ----------------------------------------------------------

JSON_ROUTES = [
    ("POST", "/quotes"), ("POST", "/applications"),
    ("POST", "/applications/{application_no}/payments"),
    ("POST", "/policies/{policy_no}/payments"), ("POST", "/policies/{policy_no}/transitions"),
    ("POST", "/policies/{policy_no}/endorsements"), ("PATCH", "/parties/{id_number}"),
    ("POST", "/group-policies"), ("POST", "/endorsement-requests"),
    ("POST", "/endorsement-requests/{request_no}/transitions"),
]
NOT_AN_OBJECT = [b"{not json", b'{"a": 1,}', b"[1, 2]", b"[]", b'"text"', b"42", b"null",
                 b"true", b"", b"\xff\xfe{}", "{\"name\": \"张三\"}".encode("gbk")]


async def test_a_body_that_is_not_a_json_object_is_refused(api: Api, world: World) -> None:
    for method, template in JSON_ROUTES:
        for raw in NOT_AN_OBJECT:
            err = await api.error(method, world.fill(template), 400, "invalid", "body",
                                  data=raw, headers=JSON)
            assert err["message"], (method, template, raw)


async def test_a_json_body_with_an_unknown_charset_is_refused(api: Api) -> None:
    await api.error("POST", "/quotes", 400, "invalid", "body", data=b"{}",
                    headers={"Content-Type": "application/json; charset=no-such-charset"})


async def test_numbers_and_nesting_beyond_the_parser_are_refused(api: Api) -> None:
    await api.error("POST", "/quotes", 400, "invalid", "body",
                    data=b'{"occupation_class": ' + b"9" * 5000 + b"}", headers=JSON)
    await api.error("POST", "/quotes", 400, "invalid", "body",
                    data=b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", headers=JSON)


async def test_a_body_too_large_is_a_json_413(api: Api) -> None:
    body = json.dumps({"x": "a" * 3_000_000}).encode()
    answer = await api.call("POST", "/quotes", data=body, headers=JSON, expect=413,
                            check_doc=False)
    assert answer["error"]["code"] == "http_error"


# ---- named fields ---------------------------------------------------------------------------

Case = tuple[str, str, Any, int, str, str | None]


def field_cases(w: World) -> list[Case]:
    good = application()
    bad_id = bad_check_digit(w.insured_id)
    pay = f"/policies/{w.policy_no}/payments"
    endorse = f"/policies/{w.policy_no}/endorsements"
    move = f"/policies/{w.policy_no}/transitions"
    asked = {**ENDORSEMENT_REQUEST, "policy_no": w.policy_no}
    request = f"/endorsement-requests/{w.request_no}/transitions"
    ben = {"name": "李四", "relation": "spouse", "id_number": id_number(date(1982, 3, 4), 2),
           "share_pct": 100}

    def app(**changes: Any) -> dict[str, Any]:
        return {**good, **changes}

    def insured(**changes: Any) -> dict[str, Any]:
        return app(insured={**good["insured"], **changes})

    cases: list[Case] = [
        # missing fields
        ("POST", "/applications", {}, 400, "invalid", "insured.name"),
        ("POST", "/applications", {k: v for k, v in good.items() if k != "product_code"},
         400, "invalid", "product_code"),
        ("POST", "/applications", insured(occupation_class=None), 400, "invalid",
         "insured.occupation_class"),
        ("POST", "/applications", {**good, "insured": {
            k: v for k, v in good["insured"].items() if k != "phone"}}, 400, "invalid",
         "insured.phone"),
        ("POST", "/applications", app(health_declarations={}), 400, "invalid",
         "health_declarations.hospitalised_now"),
        ("POST", "/quotes", {}, 400, "invalid", "birth_date"),
        ("POST", "/quotes", {"birth_date": "1980-01-01"}, 400, "invalid", "occupation_class"),
        ("POST", "/quotes", {"birth_date": "1980-01-01", "occupation_class": 1}, 400,
         "invalid", "product_code"),
        ("POST", pay, {}, 400, "invalid", "amount"),
        ("POST", move, {}, 400, "invalid", "action"),
        ("POST", endorse, {}, 400, "invalid", "kind"),
        ("POST", endorse, {"kind": "change_sum_insured",
                           "coverage_code": "accidental_death_disability"},
         400, "invalid", "sum_insured"),
        ("POST", endorse, {"kind": "change_beneficiary"}, 400, "invalid", "beneficiaries"),
        ("POST", endorse, {"kind": "change_contact"}, 400, "invalid", "body"),
        ("POST", "/group-policies", {}, 400, "invalid", "applicant_name"),
        ("POST", "/group-policies", {"applicant_name": "某单位"}, 400, "invalid",
         "start_date"),
        ("POST", "/group-policies", {"applicant_name": "某单位", "start_date": "2026-01-01"},
         400, "invalid", "product_code"),
        ("GET", "/policies", None, 400, "invalid", "id_number"),
        ("GET", "/policies?id_number=", None, 400, "invalid", "id_number"),
        ("PATCH", f"/parties/{w.insured_id}", {}, 400, "invalid", "body"),
        # invalid ID numbers
        ("GET", f"/policies?id_number={bad_id}", None, 400, "invalid", "id_number"),
        ("GET", f"/policies?id_number={w.insured_id[:17]}", None, 400, "invalid",
         "id_number"),
        ("GET", "/policies?id_number=990101198001011234", None, 400, "invalid", "id_number"),
        ("GET", "/policies?id_number=110101198002301234", None, 400, "invalid", "id_number"),
        ("GET", f"/parties/{bad_id}", None, 400, "invalid", "id_number"),
        ("PATCH", f"/parties/{bad_id}", {"phone": "13900000000"}, 400, "invalid",
         "id_number"),
        ("POST", "/applications", insured(id_number=bad_id), 400, "invalid",
         "insured.id_number"),
        ("POST", "/applications", app(applicant_relation="spouse", applicant={
            "name": "配偶", "id_number": bad_check_digit(id_number(date(1981, 1, 1), 4)),
            "phone": "13700000000"}), 400, "invalid", "applicant.id_number"),
        ("POST", "/applications", app(beneficiaries=[{**ben, "id_number": bad_id}]), 400,
         "invalid", "beneficiaries[0].id_number"),
        ("POST", endorse, {"kind": "change_beneficiary",
                           "beneficiaries": [{**ben, "id_number": bad_id}]},
         400, "invalid", "beneficiaries[0].id_number"),
        ("POST", "/applications", insured(birth_date="1980-05-07"), 400, "invalid",
         "insured.birth_date"),
        ("POST", "/applications", insured(gender="female"), 400, "invalid", "insured.gender"),
        # unknown or wrong product
        ("POST", "/quotes", {"product_code": "NO-SUCH", "birth_date": "1980-01-01",
                             "occupation_class": 1}, 404, "not_found", "product_code"),
        ("POST", "/applications", app(product_code="NO-SUCH"), 404, "not_found",
         "product_code"),
        ("POST", "/applications", app(product_code="CN-ELDER-ACC"), 400, "invalid",
         "product_code"),
        ("POST", "/group-policies", {"product_code": "NO-SUCH", "applicant_name": "某单位",
                                     "start_date": "2026-01-01"}, 404, "not_found",
         "product_code"),
        ("GET", "/products/NO-SUCH", None, 404, "not_found", "product_code"),
        ("POST", "/applications", app(coverages=[{"code": "no_such_cover"}]), 400, "invalid",
         "coverages[0].code"),
        # amounts
        *[("POST", pay, {"amount": amount}, 400, "invalid", "amount")
          for amount in ("-10.00", -10, 10.5, "10.5e0x", "abc", "10.001", True, None, "NaN",
                         "Infinity", "-Infinity", {}, [], "0", 0, "", "1e12")],
        ("POST", "/quotes", {"product_code": "PA-GUARD", "birth_date": "1980-01-01",
                             "occupation_class": 1,
                             "coverages": [{"code": "accidental_death_disability",
                                            "sum_insured": "-100000"}]},
         400, "invalid", "coverages[0].sum_insured"),
        ("POST", "/applications", app(coverages=[{"code": "accidental_death_disability",
                                                  "sum_insured": 100000.0}]),
         400, "invalid", "coverages[0].sum_insured"),
        ("POST", "/applications", app(coverages=[{"code": "accidental_death_disability",
                                                  "sum_insured": "一万"}]),
         400, "invalid", "coverages[0].sum_insured"),
        *[("POST", endorse, {"kind": "change_sum_insured",
                             "coverage_code": "accidental_death_disability",
                             "sum_insured": amount}, 400, "invalid", "sum_insured")
          for amount in ("-200000.00", 200000.5, "lots", "200000.001")],
        # other values
        ("POST", pay, {"amount": "34.45", "method": "bitcoin"}, 400, "invalid", "method"),
        ("POST", pay, {"amount": "34.45", "reference": "x" * 61}, 400, "invalid",
         "reference"),
        ("POST", "/applications", app(start_date="2026-02-30"), 400, "invalid", "start_date"),
        ("POST", "/applications", app(applicant_relation="boss"), 400, "invalid",
         "applicant_relation"),
        ("POST", "/applications", app(payment_mode="weekly"), 400, "invalid", "payment_mode"),
        ("POST", "/applications", app(payment_mode="auto_debit", frequency="monthly",
                                      debit_account="6222020200112345678"), 400, "invalid",
         "debit_account"),
        ("POST", "/applications", insured(occupation_class="1"), 400, "invalid",
         "insured.occupation_class"),
        ("POST", "/applications", insured(name="张3"), 400, "invalid", "insured.name"),
        ("POST", "/applications", insured(phone="12345"), 400, "invalid", "insured.phone"),
        ("POST", "/applications", app(health_declarations={**HEALTH_NO, "smoker": True}),
         400, "invalid", "health_declarations.smoker"),
        ("POST", "/applications", insured(name="别人"), 409, "conflict", "insured.name"),
        ("POST", endorse, {"kind": "explode"}, 400, "invalid", "kind"),
        ("POST", endorse, {"kind": "surrender", "effective_date": "2000-01-01"}, 400,
         "invalid", "effective_date"),
        ("POST", move, {"action": "explode"}, 400, "invalid", "action"),
        ("POST", move, {"action": "lapse", "today": "yesterday"}, 400, "invalid", "today"),
        # the path names the party: a body's id_number is no field to update
        ("PATCH", f"/parties/{w.insured_id}", {"id_number": "x"}, 400, "invalid", "body"),
        ("PATCH", f"/parties/{w.insured_id}", {"address": ""}, 400, "invalid", "address"),
        # illegal transitions
        *[("POST", move, {"action": action}, 409, "illegal_transition", "action")
          for action in ("start_grace", "lapse", "reinstate")],
        ("POST", f"/applications/{w.application_no}/issue", None, 409, "illegal_transition",
         "action"),
        # unknown numbers
        ("GET", "/policies/P20269999999999", None, 404, "not_found", "policy_no"),
        ("GET", "/policies/P20269999999999/document", None, 404, "not_found", "policy_no"),
        ("POST", "/policies/P20269999999999/transitions", {"action": "lapse"}, 404,
         "not_found", "policy_no"),
        ("POST", "/policies/P20269999999999/endorsements", {"kind": "surrender"}, 404,
         "not_found", "policy_no"),
        ("POST", "/policies/P20269999999999/payments", {"amount": "1.00"}, 404, "not_found",
         "policy_no"),
        ("GET", f"/policies/{w.application_no}", None, 404, "not_found", "policy_no"),
        ("GET", "/applications/A202699999999", None, 404, "not_found", "application_no"),
        ("GET", f"/applications/{w.policy_no}", None, 404, "not_found", "application_no"),
        ("POST", "/applications/A202699999999/underwriting", None, 404, "not_found",
         "application_no"),
        ("POST", "/applications/A202699999999/issue", None, 404, "not_found",
         "application_no"),
        ("POST", "/applications/A202699999999/payments", {"amount": "1.00"}, 404,
         "not_found", "application_no"),
        ("POST", "/group-policies/G20269999999/roster", None, 400, "invalid", "file"),
        # rosters
        ("POST", f"/group-policies/{w.group_no}/roster", None, 400, "invalid", "file"),
        # endorsement requests
        ("POST", "/endorsement-requests", {}, 400, "invalid", "channel"),
        ("POST", "/endorsement-requests", {**asked, "policy_no": None}, 400, "invalid",
         "policy_no"),
        ("POST", "/endorsement-requests", {**asked, "kind": "explode"}, 400, "invalid",
         "kind"),
        ("POST", "/endorsement-requests", {**asked, "details": [1]}, 400, "invalid",
         "details"),
        ("POST", "/endorsement-requests", {**asked, "details": {"beneficiaries": [
            {"name": "甲", "relation": "child", "id_number": bad_id}]}}, 400, "invalid",
         "details.beneficiaries[0].id_number"),
        ("POST", "/endorsement-requests", {**asked, "details": {"beneficiaries": [
            {"name": "甲", "relation": "child", "share_pct": 101}]}}, 400, "invalid",
         "details.beneficiaries[0].share_pct"),
        ("POST", "/endorsement-requests", {**asked, "kind": "surrender", "details": {
            "beneficiaries": [ben]}}, 400, "invalid", "details.beneficiaries"),
        ("POST", "/endorsement-requests", {**asked, "policy_no": w.application_no}, 404,
         "not_found", "policy_no"),
        ("POST", "/endorsement-requests", {**asked, "policy_no": w.group_no}, 422,
         "domain_error", "policy_no"),
        ("POST", "/endorsement-requests", {**asked, "user": "x" * 81}, 400, "invalid",
         "user"),
        ("POST", request, {"actor": "u"}, 400, "invalid", "action"),
        ("POST", request, {"action": "approve", "actor": "u"}, 400, "invalid",
         "details.beneficiaries[0].id_number"),
        ("POST", request, {"action": "approve", "actor": "u", "details": {"beneficiaries": [
            {**ben, "id_number": bad_id}]}}, 400, "invalid",
         "details.beneficiaries[0].id_number"),
        ("POST", request, {"action": "approve", "actor": "u", "details": {
            "effective_date": "2000-01-01", "beneficiaries": [ben]}}, 400, "invalid",
         "details.effective_date"),
        ("POST", request, {"action": "reject", "actor": "u", "reason": "x" * 1001}, 400,
         "invalid", "reason"),
        ("POST", "/endorsement-requests/BQ2026999999/transitions",
         {"action": "withdraw", "actor": "u"}, 404, "not_found", "request_no"),
        ("POST", f"/applications/{w.application_no}/underwriting",
         {"outcome": "decline"}, 400, "invalid", "reasons"),
        ("POST", f"/applications/{w.application_no}/underwriting",
         {"outcome": "accept", "loading_pct": "10", "reasons": ["x"]}, 400, "invalid",
         "loading_pct"),
        ("POST", f"/applications/{w.application_no}/underwriting",
         {"outcome": "accept_with_loading", "loading_pct": "NaN", "reasons": ["x"]}, 400,
         "invalid", "loading_pct"),
    ]
    return cases


def linkless(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy without its document link, which is new (its expiry later) at each read."""
    return {k: v for k, v in policy.items() if k != "document_url"}


async def snapshot(api: Api, w: World) -> list[Any]:
    """What the tests' bad requests could have touched."""
    return [
        linkless(await api.get(f"/policies/{w.policy_no}", expect=200)),
        linkless(await api.get(f"/policies/{w.lapsed_no}", expect=200)),
        await api.get(f"/applications/{w.application_no}", expect=200),
        await api.get(f"/parties/{w.insured_id}", expect=200),
        await api.get(f"/policies?id_number={w.insured_id}", expect=200),
        await api.get(f"/audit?entity_type=policy&entity_id={w.policy_no}", expect=200),
        linkless(await api.get(f"/policies/{w.group_no}", expect=200)),
        await api.get(f"/endorsement-requests/{w.request_no}", expect=200),
        await api.get("/endorsement-requests", expect=200),
    ]


async def test_bad_fields_are_named_and_change_nothing(api: Api, world: World) -> None:
    before = await snapshot(api, world)
    failures = []
    for method, path, body, status, code, field in field_cases(world):
        try:
            await api.error(method, path, status, code, field, body)
        except AssertionError as exc:
            failures.append(f"{method} {path} {str(body)[:120]}: {exc}")
    assert not failures, "\n".join(failures)
    assert await snapshot(api, world) == before


async def test_reinstatement_with_bad_payment_changes_nothing(api: Api, world: World) -> None:
    move = f"/policies/{world.lapsed_no}/transitions"
    before = linkless(await api.get(f"/policies/{world.lapsed_no}", expect=200))
    base = {"action": "reinstate", "today": before["grace_ends_on"],
            "health_declarations": HEALTH_NO}
    # a day within the grace period is before the lapse; use the day after the lapse
    base["today"] = (date.fromisoformat(before["lapsed_on"]) + timedelta(days=1)).isoformat()
    for amount in ("-1.00", 1.5, "x", "0.01"):
        await api.error("POST", move, 400, "invalid", "amount",
                        {**base, "payment": {"amount": amount}})
    await api.error("POST", move, 400, "invalid", "payment", {**base, "payment": "cash"})
    await api.error("POST", move, 400, "invalid", "method",
                    {**base, "payment": {"amount": world.arrears, "method": "IOU"}})
    await api.error("POST", move, 400, "invalid", "health_declarations.hospitalised_now",
                    {**base, "health_declarations": {}, "payment": {"amount": world.arrears}})
    assert linkless(await api.get(f"/policies/{world.lapsed_no}", expect=200)) == before
    back = await api.post(move, {**base, "payment": {"amount": world.arrears}}, expect=200)
    assert back["status"] == "in_force"


async def test_extreme_dates_are_refused_not_crashed(api: Api, world: World) -> None:
    far, early = "9999-12-31", "0001-01-01"
    for start in (far, early, "9999-06-01"):
        await api.error("POST", "/group-policies", 400, "invalid", "start_date",
                        {"product_code": "CN-ELDER-ACC", "applicant_name": "某单位",
                         "start_date": start})
    for as_of in (early, far):
        await api.error("POST", f"/group-policies/{world.group_no}/auto-enrollment", 400,
                        "invalid", "as_of", {"as_of": as_of})
    for changes in ({"application_date": far}, {"application_date": early},
                    {"start_date": far}, {"application_date": "9999-12-30",
                                          "start_date": far}):
        answer = await api.call("POST", "/applications", json_body=application(**changes))
        assert answer["error"]["code"] == "invalid", answer
    for today in (far, early):
        await api.error("POST", f"/policies/{world.lapsed_no}/transitions", 400, "invalid",
                        "today", {"action": "reinstate", "today": today,
                                  "health_declarations": HEALTH_NO,
                                  "payment": {"amount": world.arrears}})
        await api.error("POST", f"/policies/{world.policy_no}/transitions", 400, "invalid",
                        "today", {"action": "expire", "today": today})
    for on in (far, early):
        answer = await api.call("POST", "/quotes", json_body={
            "product_code": "PA-GUARD", "birth_date": "1980-01-01", "occupation_class": 1,
            "on": on})
        assert answer["error"]["code"] == "invalid", answer


async def test_roster_bodies_that_cannot_be_read(api: Api, world: World) -> None:
    path = f"/group-policies/{world.group_no}/roster"
    csv = {"Content-Type": "text/csv"}
    await api.error("POST", path, 400, "invalid", "file", data=b"", headers=csv)
    await api.error("POST", path, 400, "invalid", "file", data=b"\xff\xfe\x00n\x00a",
                    headers=csv)
    await api.error("POST", path, 400, "invalid", "header", data=b"a,b,c\n1,2,3\n",
                    headers=csv)
    unterminated = await api.call(
        "POST", path, data=roster_csv([("张三", "男", "1950-01-01", '"unterminated')]),
        headers=csv, expect=200)
    assert [(e["line"], e["field"]) for e in unterminated["errors"]] == [(2, "row")]
    nul = roster_csv([("张\x00三", "男", "1950-01-01", id_number(date(1950, 1, 1), 1),
                       "13800000000", "地址")])
    answer = await api.call("POST", path, data=nul, headers=csv, expect=200)
    assert answer["imported"] == 0
    assert [(e["line"], e["field"]) for e in answer["errors"]] == [(2, "name")]
    detail = await api.get(f"/policies/{world.group_no}", expect=200)
    assert detail["premium"]["annual"] == "0.00"


# ---- every POST and PATCH route against hostile input ----------------------------------------

HOSTILE_VALUES: list[Any] = [
    None, True, -1, 1.5, 2**64, "", "x", "x" * 61, "张" * 101, "x" * 5000, "\u0000",
    "\u202e\ud7ff\U0001f600", "９９", "NaN", "-0.01", "9999-12-31", "0001-01-01", "2026-02-30",
    [], {}, [[[[["deep"]]]]], {"a": {"b": {"c": [1, {"d": None}]}}},
]
# nested places get the shapes that differ most, to keep the loop quick
NESTED_HOSTILE_VALUES: list[Any] = [None, True, -1, 1.5, "", "x" * 5000, "\u0000", [], {}]
HOSTILE_BODIES: list[bytes] = [
    b"", b"null", b"[]", b'"x"', b"1", b'{"a": 1}', b"{", b"\xff\xfe\xfd",
    json.dumps({"a": [[{"b": [None, {"c": ["x" * 1000]}]}]]}).encode(),
    json.dumps({"x": "y" * 500_000}).encode(),
    json.dumps({str(i): i for i in range(10_000)}).encode(),
    b"[" * 50_000 + b"]" * 50_000,
    b'{"amount": ' + b"1" * 10_000 + b"}",
    "姓名,性别\n张三,男\n".encode("gbk"),
]


def bases(w: World) -> dict[tuple[str, str], list[tuple[str | None, dict[str, Any]]]]:
    """Per route, valid-looking bodies to spoil one place at a time (path override or None).

    Bodies that could succeed repeatedly are harmless; ones that end a policy come last."""
    ben = {"name": "李四", "relation": "spouse", "id_number": id_number(date(1982, 3, 4), 2),
           "share_pct": 100}
    lapsed = f"/policies/{w.lapsed_no}/transitions"
    return {
        ("POST", "/quotes"): [(None, {
            "product_code": "PA-GUARD", "birth_date": "1980-05-06", "occupation_class": 1,
            "coverages": [{"code": "accidental_death_disability", "sum_insured": "100000.00"}],
            "payment_mode": "instalments", "frequency": "monthly", "on": "2026-03-01"})],
        ("POST", "/applications"): [(None, application(
            applicant_relation="spouse",
            applicant={"name": "配偶", "id_number": id_number(date(1981, 1, 1), 4),
                       "phone": "13700000000"},
            beneficiaries=[ben], start_date="2027-01-01", application_date="2026-12-01"))],
        ("POST", "/applications/{application_no}/underwriting"): [
            (None, {"actor": "uw"}),
            (None, {"actor": "uw", "outcome": "accept_with_loading", "loading_pct": "25",
                    "reasons": ["血压偏高"]})],
        ("POST", "/applications/{application_no}/payments"): [
            (None, {"amount": "34.45", "method": "cash", "reference": "R1"})],
        ("POST", "/applications/{application_no}/issue"): [(None, {"actor": "uw"})],
        ("POST", "/policies/{policy_no}/payments"): [
            (None, {"amount": "34.45", "method": "cash", "reference": "R2"})],
        ("POST", "/policies/{policy_no}/transitions"): [
            (lapsed, {"action": "reinstate", "today": "2027-06-01",
                      "health_declarations": HEALTH_NO,
                      "payment": {"amount": "0.01", "method": "cash"}}),
            (None, {"action": "start_grace", "today": "2027-06-01"}),
        ],
        ("POST", "/policies/{policy_no}/document-links/revocation"): [(None, {"actor": "uw"})],
        ("POST", "/policies/{policy_no}/endorsements"): [
            (None, {"kind": "change_beneficiary", "beneficiaries": [ben]}),
            (None, {"kind": "change_contact", "phone": "13912345678", "address": "某地"}),
            (None, {"kind": "change_sum_insured", "coverage_code": "accidental_death_disability",
                    "sum_insured": "100000.00"}),
            (None, {"kind": "add_coverage", "coverage_code": "hospital_allowance",
                    "sum_insured": "100.00"}),
            (None, {"kind": "remove_coverage", "coverage_code": "accidental_medical"}),
            (None, {"kind": "surrender", "effective_date": "2027-01-01"}),
        ],
        ("PATCH", "/parties/{id_number}"): [(None, {
            "phone": "13912345678", "address": "某地", "occupation": "教师",
            "occupation_class": 2})],
        ("POST", "/group-policies"): [(None, {
            "product_code": "CN-ELDER-ACC", "applicant_name": "某单位",
            "start_date": "2026-01-01"})],
        ("POST", "/group-policies/{policy_no}/roster"): [],  # a CSV body: raw bodies only
        ("POST", "/group-policies/{policy_no}/roster/removals"): [(None, {
            "id_number": w.insured_id, "reason": "death", "date": "2026-05-10",
            "note": "民政局名单"})],
        ("POST", "/group-policies/{policy_no}/auto-enrollment"): [(None, {"as_of": "2026-07-01"})],
        ("POST", "/group-policies/{policy_no}/renewal"): [(None, {"premium_per_insured": "12.00"})],
        ("POST", "/complaints"): [(None, COMPLAINT)],
        ("POST", "/complaints/{complaint_no}/transitions"): [
            (None, {"action": "note", "actor": "h1", "note": "已核实"}),
            (None, {"action": "classify", "actor": "h1", "track": "complex"}),
            (None, {"action": "extend", "actor": "h1", "approved_by": "sup"}),
            (None, {"action": "decide", "actor": "h1", "decision": "致歉",
                    "outcome": "upheld"})],
        ("POST", "/home-visits"): [(None, HOME_VISIT)],
        ("POST", "/home-visits/{visit_no}/transitions"): [
            (None, {"action": "schedule", "actor": "a1", "time": "2030-01-01T10:00+08:00",
                    "note": "约好"})],
        ("POST", "/endorsement-requests"): [
            (None, {**ENDORSEMENT_REQUEST, "policy_no": w.policy_no}),
            (None, {**ENDORSEMENT_REQUEST, "policy_no": w.policy_no, "details": {
                "beneficiaries": [ben, {**ben, "name": "王五", "share_pct": 50}]}}),
            (None, {"channel": "api", "policy_no": w.policy_no, "kind": "change_sum_insured",
                    "details": {"coverage_code": "accidental_death_disability",
                                "sum_insured": "100000.00", "effective_date": "2027-01-01"}})],
        ("POST", "/endorsement-requests/{request_no}/transitions"): [
            (None, {"action": "reject", "actor": "u1", "reason": "未签字", "note": "电话核实"}),
            (None, {"action": "approve", "actor": "u1", "details": {"beneficiaries": [ben]}}),
        ],
        # the service token decides no appeal (403); a supervisor's bodies: test_api_appeals.py
        ("POST", "/appeals/{appeal_no}/decision"): [(None, {"action": "uphold", "note": "维持"})],
        ("POST", "/privacy-requests"): [(None, {
            "id_number": w.insured_id, "name": "申请人", "kind": "access", "channel": "outlet",
            "verified_by": "id_card_seen", "id_card_checked": True, "details": "查阅"})],
        ("POST", "/privacy-requests/{privacy_request_no}/steps"): [
            (None, {"action": "refuse", "note": "非本人"})],
        ("POST", "/satisfaction"): [(None, {"subject_type": "conversation", "subject_id": "c-1",
                                            "score": 3, "channel": "wechat", "comment": "好"})],
        ("POST", "/coverage-checks"): [(None, {
            "channel": "wechat", "user": "o-hostile-1", "id_number": w.insured_id,
            "product_code": "CN-ELDER-ACC", "source": "o-hostile-1"})],
        ("POST", "/tasks/{task_id}/close"): [
            ("/tasks/999999999/close", {"result": "已处理"})],
        ("POST", "/tasks/{task_id}/take"): [(None, {}), ("/tasks/999999999/take", {})],
        ("POST", "/tasks/{task_id}/assignment"): [
            (None, {"assigned_to": "agent.li"}),
            ("/tasks/999999999/assignment", {"assigned_to": "handler.wang"})],
        ("POST", "/follow-ups/{task_id}/result"): [
            (None, {"outcome": "complaint_raised", "result": "电话里说要投诉", "score": 1}),
            ("/follow-ups/999999999/result", {"outcome": "not_reached"})],
        ("POST", "/notifications/dead/requeue"): [(None, {"ids": [1, 2], "actor": "ops-1"})],
        ("POST", "/bindings"): [(None, {"channel": "wechat", "user": "o-hostile",
                                        "id_number": w.insured_id, "phone": "13912345678"})],
        ("DELETE", "/bindings/{channel}/{user}"): [(None, {})],
        ("POST", "/auth/token"): [(None, {"username": "hostile.user",
                                          "password": "not-the-password"})],
        ("DELETE", "/auth/token"): [(None, {})],  # the service token: nothing to revoke
    }


def places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value: containers and leaves, and a new key in each object."""
    found = [path] if path else []
    if isinstance(value, dict):
        found.append((*path, "unexpected_key"))
        for key, item in value.items():
            found += places(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += places(item, (*path, i))
    return found


def spoiled(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def write_routes(tmp_path: Path) -> set[tuple[str, str]]:
    api = create_api(Database(f"sqlite:///{tmp_path / 'unused.db'}"), "token")
    return {(r.method, r.resource.canonical) for r in api.router.routes()
            if r.method in ("POST", "PATCH", "PUT", "DELETE") and r.resource is not None}


async def test_hostile_input_to_every_write_route_never_yields_5xx(
        api: Api, world: World, tmp_path: Path) -> None:
    # the claims routes get their hostile bodies in test_api_claims_bad_input.py, the
    # conversations routes in tests/channels/test_web_and_agents.py (the transfer's also in
    # test_api_conversation_queues.py), the channels' port in tests/channels/
    # test_backoffice_port.py, and every route in test_api_every_operation.py
    routes = {r for r in write_routes(tmp_path) if not r[1].startswith(
        ("/claims", "/adjudication", "/conversations", "/channel/"))}
    table = bases(world)
    assert routes == set(table), "give every write route its hostile bodies here"
    failures: list[str] = []

    async def send(method: str, path: str, what: str, **kw: Any) -> None:
        try:
            await api.call(method, path, check_doc=False, **kw)
        except AssertionError as exc:
            failures.append(f"{what[:200]}: {str(exc)[:200]}")

    for method, template in sorted(routes):
        path = world.fill(template)
        for raw in HOSTILE_BODIES:
            ctype = "text/csv" if template.endswith("/roster") else "application/json"
            await send(method, path, f"{ctype} {raw[:60]!r}", data=raw,
                       headers={"Content-Type": ctype})
        for override, base in table[(method, template)]:
            for place in places(base):
                for value in HOSTILE_VALUES if len(place) == 1 else NESTED_HOSTILE_VALUES:
                    await send(method, override or path, f"{place}={value!r:.60}",
                               json_body=spoiled(base, place, value))
    assert not failures, f"{len(failures)} answers ≥ 500:\n" + "\n".join(failures[:30])


HOSTILE_SEGMENTS = ["%00", "x" * 3000, "..%2F..%2Fetc", "%E4%B8%AD", "'%3B%20drop%20table",
                    "%FF%FE", "A%00", "P2026%0A", "%20", "-1", "1e999"]


def read_routes(tmp_path: Path) -> set[str]:
    api = create_api(Database(f"sqlite:///{tmp_path / 'unused.db'}"), "token")
    return {r.resource.canonical for r in api.router.routes()
            if r.method == "GET" and r.resource is not None}


async def test_hostile_paths_and_queries_never_yield_5xx(
        api: Api, world: World, tmp_path: Path) -> None:
    failures: list[str] = []
    for template in sorted(read_routes(tmp_path)):
        names = [p.split("}")[0] for p in template.split("{")[1:]]
        for segment in HOSTILE_SEGMENTS:
            path = template.format(**dict.fromkeys(names, segment))
            queries = ["", *(f"?{k}={segment}" for k in (
                "id_number", "entity_type", "town", "service", "q", "format", "phone")),
                f"?entity_type=policy&entity_id={segment}", f"?{segment}={segment}"]
            for query in queries:
                try:
                    await api.call("GET", path + query, check_doc=False)
                except AssertionError as exc:
                    failures.append(str(exc)[:200])
    assert not failures, f"{len(failures)} answers ≥ 500:\n" + "\n".join(failures[:30])


async def test_nul_in_a_query_or_body_is_named(api: Api, world: World) -> None:
    await api.error("GET", "/audit?entity_type=policy&entity_id=P%00", 400, "invalid",
                    "entity_id")
    await api.error("GET", "/service-outlets?town=%00", 400, "invalid", "town")
    await api.error("GET", "/products/PA%00", 400, "invalid", "path")
    await api.error("POST", "/applications", 400, "invalid", "insured.address",
                    application(person(address="潮南\u0000区")))
    await api.error("POST", f"/policies/{world.policy_no}/endorsements", 400, "invalid",
                    "beneficiaries[0].name",
                    {"kind": "change_beneficiary", "beneficiaries": [
                        {"name": "李\u0000四", "relation": "spouse", "share_pct": 100,
                         "id_number": id_number(date(1982, 3, 4), 2)}]})
    await api.error("PATCH", f"/parties/{world.insured_id}", 400, "invalid", "occupation",
                    {"occupation": "\u0000"})


async def test_astronomical_amounts_are_refused(api: Api, world: World) -> None:
    for amount in ("1e30", 10**30):
        await api.error("POST", f"/policies/{world.policy_no}/payments", 400, "invalid",
                        "amount", {"amount": amount})
        await api.error("POST", "/quotes", 400, "invalid", "coverages[0].sum_insured", {
            "product_code": "PA-GUARD", "birth_date": "1980-01-01", "occupation_class": 1,
            "coverages": [{"code": "accidental_death_disability", "sum_insured": amount}]})
