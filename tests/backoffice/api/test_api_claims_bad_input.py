"""Bad input to the claims routes gets a 4xx naming the field and changes nothing; nothing a
stranger sends — bodies, multipart uploads, paths, queries, headers — yields a 5xx."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from api_testkit import PREFIX, TOKEN, Api, bad_check_digit, id_number
from test_api_bad_input import (
    HOSTILE_BODIES,
    HOSTILE_SEGMENTS,
    HOSTILE_VALUES,
    NESTED_HOSTILE_VALUES,
    places,
    read_routes,
    spoiled,
    write_routes,
)
from test_api_claims_kit import (
    CARD,
    OTHER_CARD,
    Scheme,
    act,
    clock,
    multipart,
    report,
    report_body,
    scan,
    scheme,
    supply_all,
    upload,
)

from backoffice.services import claims

__all__ = ["clock", "scheme"]  # fixtures
# hostile multipart headers make aiohttp warn as it reads them
pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.multipart.BadContentDispositionHeader",
                                        "ignore::aiohttp.multipart.BadContentDispositionParam")

CLAIM_WRITE_ROUTES = {("POST", "/claims"), ("POST", "/claims/{claim_no}/documents"),
                      ("POST", "/claims/{claim_no}/transitions"),
                      ("POST", "/claims/{claim_no}/appeals"),
                      ("POST", "/adjudication/preview")}
CLAIM_READ_ROUTES = {"/claims", "/claims/{claim_no}", "/claims/{claim_no}/progress",
                     "/claims/{claim_no}/letters/{letter_no}", "/stats/claims",
                     "/stats/claims/charts", "/claims/{claim_no}/documents/{document_id}"}
NO_CLAIM = "R202699999999"


@dataclass
class Claims:
    pending: str  # documents_pending, a hospital allowance
    review: str  # under_review, a death claim
    approved: str  # approved on the fast track, 300.00


@pytest.fixture
async def world(api: Api, scheme: Scheme) -> Claims:
    pending = await report(api, report_body(scheme))
    review = await supply_all(api, await report(api, report_body(
        scheme, "death", insured=scheme.members[1])))
    approved = await supply_all(api, await report(api, report_body(
        scheme, insured=scheme.members[2])))
    assert (review["status"], approved["status"]) == ("under_review", "approved")
    return Claims(pending["claim_no"], review["claim_no"], approved["claim_no"])


async def snapshot(api: Api, w: Claims, scheme: Scheme) -> list[Any]:
    out = [await api.get(f"/claims/{no}", expect=200)
           for no in (w.pending, w.review, w.approved)]
    out += [await api.get(f"/claims?insured_id_number={m}", expect=200)
            for m in scheme.members]
    return out


def test_every_claims_route_is_covered_here(tmp_path: Path) -> None:
    claims_writes = {r for r in write_routes(tmp_path)
                     if r[1].startswith(("/claims", "/adjudication"))}
    assert claims_writes == CLAIM_WRITE_ROUTES
    assert {t for t in read_routes(tmp_path)
            if t.startswith(("/claims", "/stats/claims"))} == CLAIM_READ_ROUTES


# ---- named fields ---------------------------------------------------------------------------

Case = tuple[str, str, Any, int, str, str | None]


def field_cases(w: Claims, s: Scheme) -> list[Case]:
    good = report_body(s)
    stranger = id_number(date(1950, 3, 3), 41, "440514")  # a valid number nobody holds
    move = f"/claims/{w.pending}/transitions"
    review = f"/claims/{w.review}/transitions"
    approved = f"/claims/{w.approved}/transitions"

    def body(**changes: Any) -> dict[str, Any]:
        return {**good, **changes}

    without_id = {k: v for k, v in good.items() if k != "insured_id_number"}

    def reporter(**changes: Any) -> dict[str, Any]:
        return body(reporter={**good["reporter"], **changes})

    preview = {"product_code": "CN-ELDER-ACC", "claim_type": "hospital_allowance",
               "incident_date": "2026-03-01",
               "facts": {"admission_date": "2026-03-01", "discharge_date": "2026-03-05"}}

    def pv(**changes: Any) -> dict[str, Any]:
        return {**preview, **changes}

    def facts(**changes: Any) -> dict[str, Any]:
        return pv(facts={**preview["facts"], **changes})

    return [
        # report
        ("POST", "/claims", {}, 400, "invalid", "policy_no"),
        ("POST", "/claims", body(policy_no=" "), 400, "invalid", "policy_no"),
        ("POST", "/claims", body(policy_no=7), 400, "invalid", "policy_no"),
        ("POST", "/claims", {k: v for k, v in good.items() if k != "insured_id_number"},
         400, "invalid", "insured_id_number"),
        ("POST", "/claims", body(insured_id_number=bad_check_digit(s.members[0])), 400,
         "invalid", "insured_id_number"),
        # the insured as a bound channel user instead of the ID number
        ("POST", "/claims", {**without_id, "insured": "wechat:o-1"}, 400, "invalid",
         "insured"),
        ("POST", "/claims", {**without_id, "insured": {"channel": "fax", "user": "1"}}, 400,
         "invalid", "insured.channel"),
        ("POST", "/claims", {**without_id, "insured": {"channel": "ivr", "user": " "}}, 400,
         "invalid", "insured.user"),
        ("POST", "/claims", {**without_id, "insured": {"channel": "wechat", "user": "o-nobody"}},
         404, "not_found", "insured"),
        ("POST", "/claims", body(claim_type="theft"), 400, "invalid", "claim_type"),
        ("POST", "/claims", body(claim_type=None), 400, "invalid", "claim_type"),
        ("POST", "/claims", body(incident_date="2026-02-30"), 400, "invalid", "incident_date"),
        ("POST", "/claims", body(incident_date="2026-06-02"), 400, "invalid", "incident_date"),
        ("POST", "/claims", body(incident_date="0001-01-01"), 400, "invalid", "incident_date"),
        ("POST", "/claims", body(incident_date=20260520), 400, "invalid", "incident_date"),
        ("POST", "/claims", body(reporter=None), 400, "invalid", "reporter"),
        ("POST", "/claims", body(reporter="陈小明"), 400, "invalid", "reporter"),
        ("POST", "/claims", reporter(relation="boss"), 400, "invalid", "reporter.relation"),
        ("POST", "/claims", reporter(phone="12345"), 400, "invalid", "reporter.phone"),
        ("POST", "/claims", reporter(name="陈3"), 400, "invalid", "reporter.name"),
        ("POST", "/claims", body(channel="fax"), 400, "invalid", "channel"),
        ("POST", "/claims", body(incident_place="地" * 201), 400, "invalid", "incident_place"),
        ("POST", "/claims", body(description=["x"]), 400, "invalid", "description"),
        ("POST", "/claims", body(cause="c" * 41), 400, "invalid", "cause"),
        ("POST", "/claims", body(facts="骨折"), 400, "invalid", "facts"),
        ("POST", "/claims", body(policy_no="G202699999999"), 404, "not_found", "policy_no"),
        ("POST", "/claims", body(insured_id_number=stranger), 404, "not_found",
         "insured_id_number"),
        # find
        ("GET", "/claims?status=lost", None, 400, "invalid", "status"),
        ("GET", f"/claims?insured_id_number={bad_check_digit(s.members[0])}", None, 400,
         "invalid", "insured_id_number"),
        ("GET", "/claims?insured_id_number=12345", None, 400, "invalid", "insured_id_number"),
        ("GET", "/claims?due_before=2026-13-01", None, 400, "invalid", "due_before"),
        ("GET", "/claims?due_before=soon", None, 400, "invalid", "due_before"),
        ("GET", "/claims?breached=maybe", None, 400, "invalid", "breached"),
        ("GET", "/claims?breached=", None, 400, "invalid", "breached"),
        ("GET", "/claims?limit=0", None, 400, "invalid", "limit"),
        ("GET", "/claims?limit=501", None, 400, "invalid", "limit"),
        ("GET", "/claims?limit=-1", None, 400, "invalid", "limit"),
        ("GET", "/claims?limit=%C2%B2", None, 400, "invalid", "limit"),
        ("GET", f"/claims?handler={'h' * 61}", None, 400, "invalid", "handler"),
        # one claim
        ("GET", f"/claims/{NO_CLAIM}", None, 404, "not_found", "claim_no"),
        ("GET", f"/claims/{NO_CLAIM}/progress", None, 404, "not_found", "claim_no"),
        ("GET", f"/claims/{NO_CLAIM}/documents/1", None, 404, "not_found", "document_id"),
        ("GET", f"/claims/{w.pending}/documents/0", None, 400, "invalid", "document_id"),
        ("GET", f"/claims/{NO_CLAIM}/letters/L202600000001", None, 404, "not_found",
         "claim_no"),
        ("GET", f"/claims/{w.pending}/letters/L202600000001", None, 404, "not_found",
         "letter_no"),
        # transitions
        ("POST", move, {}, 400, "invalid", "action"),
        ("POST", move, {"action": "explode", "actor": "x"}, 400, "invalid", "action"),
        ("POST", move, {"action": ["pay"], "actor": "x"}, 400, "invalid", "action"),
        ("POST", move, {"action": "withdraw", "actor": "x", "note": 5}, 400, "invalid",
         "note"),
        ("POST", move, {"action": "withdraw", "actor": "x", "note": "n" * 2001}, 400,
         "invalid", "note"),
        ("POST", f"/claims/{NO_CLAIM}/transitions", {"action": "withdraw", "actor": "x"},
         404, "not_found", "claim_no"),
        *[("POST", move, {"action": a, "actor": "x", "amount": "1.00", "account": CARD,
                          "role": "supervisor", "reasons": ["r"]}, 409,
           "illegal_transition", "action")
          for a in ("register", "investigate", "adjudicate", "pay", "close",
                    "reopen", "advance_payment", "finish_investigation")],
        # an approval is a staff member's, at their role's authority: not the service token's
        ("POST", move, {"action": "approve", "role": "supervisor"}, 403, "forbidden",
         "action"),
        ("POST", move, {"action": "documents_complete", "actor": "x"}, 422, "domain_error",
         "missing_documents"),
        ("POST", move, {"action": "send_rejection_letter", "actor": "x"}, 422,
         "domain_error", "action"),
        ("POST", review, {"action": "request_documents", "actor": "x"}, 400, "invalid",
         "documents"),
        ("POST", review, {"action": "request_documents", "actor": "x", "documents": []}, 400,
         "invalid", "documents"),
        ("POST", review, {"action": "request_documents", "actor": "x",
                          "documents": [{"type": 1}]}, 400, "invalid", "documents[0].type"),
        ("POST", review, {"action": "request_documents", "actor": "x",
                          "documents": ["police_report"]}, 400, "invalid",
         "documents[0]"),
        ("POST", review, {"action": "request_documents", "actor": "x",
                          "documents": [{"type": "not a code"}]}, 400, "invalid",
         "documents[0].type"),
        ("POST", review, {"action": "reject", "actor": "x"}, 400, "invalid", "reasons"),
        ("POST", review, {"action": "reject", "actor": "x", "reasons": []}, 400, "invalid",
         "reasons"),
        ("POST", review, {"action": "reject", "actor": "x", "reasons": [" "]}, 400,
         "invalid", "reasons[0]"),
        ("POST", review, {"action": "reject", "actor": "x", "reasons": "不赔"}, 400,
         "invalid", "reasons"),
        ("POST", review, {"action": "assign", "actor": "x", "handler": ""}, 400, "invalid",
         "handler"),
        ("POST", review, {"action": "assign", "actor": "x", "handler": "h" * 61}, 400,
         "invalid", "handler"),
        ("POST", review, {"action": "set_bank_account", "actor": "x",
                          "account": "6222020200112233447"}, 400, "invalid", "account"),
        ("POST", review, {"action": "adjudicate", "actor": "x", "facts": "died"}, 400,
         "invalid", "facts"),
        ("POST", review, {"action": "adjudicate", "actor": "x",
                          "facts": {"death_date": "2026-04-01"}}, 400, "invalid",
         "facts.death_date"),
        *[("POST", review, {"action": "advance_payment", "actor": "x", "amount": amount,
                            "determinable": "3000.00", "account": CARD}, 400, "invalid",
           "amount")
          for amount in ("-1.00", 1.5, "abc", "0", None, "3000.01", "1e13")],
        # money goes only to the customer's verified account, never to one the caller names
        ("POST", review, {"action": "advance_payment", "actor": "x", "amount": "100.00",
                          "determinable": "3000.00", "account": OTHER_CARD}, 409, "conflict",
         "account"),
        *[("POST", approved, {"action": "pay", "actor": "x", "amount": amount,
                              "account": CARD}, 400, "invalid", "amount")
          for amount in ("299.99", "300.01", -300, "三百", True, {}, "NaN")],
        ("POST", approved, {"action": "pay", "actor": "x", "amount": "300.00",
                            "account": OTHER_CARD}, 409, "conflict", "account"),
        ("POST", approved, {"action": "pay", "actor": "x", "amount": "300.00",
                            "account": CARD, "reference": "r" * 61}, 400, "invalid",
         "reference"),
        # preview
        ("POST", "/adjudication/preview", {}, 400, "invalid", "product_code"),
        ("POST", "/adjudication/preview", pv(product_code="NO-SUCH"), 404, "not_found",
         "product_code"),
        ("POST", "/adjudication/preview", pv(claim_type="theft"), 400, "invalid",
         "claim_type"),
        ("POST", "/adjudication/preview", pv(claim_type="medical"), 400, "invalid",
         "claim_type"),
        ("POST", "/adjudication/preview", pv(incident_date="2026-02-30"), 400, "invalid",
         "incident_date"),
        ("POST", "/adjudication/preview", pv(facts="x"), 400, "invalid", "facts"),
        ("POST", "/adjudication/preview", facts(admission_date="yesterday"), 400, "invalid",
         "facts.admission_date"),
        ("POST", "/adjudication/preview", facts(discharge_date="2026-02-01"), 400, "invalid",
         "facts.discharge_date"),
        ("POST", "/adjudication/preview", facts(hospital_days=7), 400, "invalid",
         "facts.hospital_days"),
        ("POST", "/adjudication/preview", facts(hospital_days=-1), 400, "invalid",
         "facts.hospital_days"),
        ("POST", "/adjudication/preview", pv(claim_type="disability",
                                             facts={"disability_levels": [11]}),
         400, "invalid", "facts.disability_levels"),
        ("POST", "/adjudication/preview", pv(claim_type="transport_death",
                                             facts={"transport": "bicycle",
                                                    "death_date": "2026-03-01"}),
         400, "invalid", "facts.transport"),
        # statistics
        *[("GET", f"{path}?{query}", None, 400, "invalid", name)
          for path in ("/stats/claims", "/stats/claims/charts")
          for query, name in (("from=2026-13-01", "from"), ("to=soon", "to"),
                              ("from=2026-06-02&to=2026-06-01", "from"),
                              ("from=0001-01-01", "from"), ("to=9999-12-31", "to"),
                              ("from=1990-01-01&to=2026-06-01", "from"))],
    ]


async def test_bad_fields_are_named_and_change_nothing(api: Api, world: Claims,
                                                       scheme: Scheme) -> None:
    before = await snapshot(api, world, scheme)
    failures = []
    for method, path, body, status, code, field in field_cases(world, scheme):
        try:
            await api.error(method, path, status, code, field, body)
        except AssertionError as exc:
            failures.append(f"{method} {path} {str(body)[:120]}: {exc}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
    assert await snapshot(api, world, scheme) == before


# ---- uploads -----------------------------------------------------------------------------------

async def test_uploads_that_cannot_be_taken(api: Api, world: Claims, scheme: Scheme,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = f"/claims/{world.pending}/documents"
    before = await snapshot(api, world, scheme)

    async def refused(data: bytes, headers: dict[str, str], status: int, code: str,
                      field: str, where: str = path) -> None:
        await api.error("POST", where, status, code, field, data=data, headers=headers)

    await refused(json.dumps({"file": "x"}).encode(), {"Content-Type": "application/json"},
                  400, "invalid", "file")
    await refused(b"", {"Content-Type": "image/jpeg"}, 400, "invalid", "file")
    await refused(*multipart([("doc_type", b"discharge_summary", None)]), 400, "invalid",
                  "file")
    await refused(*multipart([("document", scan("x"), "a.jpg")]), 400, "invalid", "file")
    await refused(*multipart([("file", b"", "empty.jpg")]), 400, "invalid", "file")
    await refused(*multipart([("file", scan("x"), "a.jpg"), ("doc_type", b"bad type!", None)]),
                  400, "invalid", "doc_type")
    await refused(*multipart([("file", scan("x"), "a.jpg"), ("doc_type", b"d" * 41, None)]),
                  400, "invalid", "doc_type")
    await refused(*multipart([("file", scan("x"), "a.jpg"), ("doc_type", b"\xff\xfe", None)]),
                  400, "invalid", "doc_type")
    await refused(*multipart([("file", scan("x"), "a.jpg"), ("doc_type", b"a\x00b", None)]),
                  400, "invalid", "doc_type")
    await refused(*multipart([("file", scan("x"), "a.jpg"), ("doc_type", b"d" * 300, None)]),
                  400, "invalid", "doc_type")
    await refused(*multipart([("file", scan("x"), "a.jpg")]), 404, "not_found", "claim_no",
                  f"/claims/{NO_CLAIM}/documents")
    # not multipart at all, or broken multipart
    data, headers = multipart([("file", scan("x"), "a.jpg")])
    await refused(data, {"Content-Type": "multipart/form-data"}, 400, "invalid", "file")
    await refused(data, {"Content-Type": "multipart/form-data; boundary=other"}, 400,
                  "invalid", "file")
    await refused(data[: len(data) // 2], headers, 400, "invalid", "file")
    await refused(b"garbage", headers, 400, "invalid", "file")
    # too large: before reading (Content-Length) and while reading
    monkeypatch.setattr(claims, "MAX_UPLOAD", 1000)
    await refused(*multipart([("file", b"x" * 1001, "big.jpg")]), 413, "too_large", "file")
    answer = await upload(api, world.pending, "discharge_summary", content=b"x" * 1000)
    assert answer["claim_status"] == "documents_pending"
    monkeypatch.undo()
    after = await snapshot(api, world, scheme)
    assert after[0]["documents"] != before[0]["documents"]  # the one good upload
    assert [m for m in after[0]["missing_documents"]] == before[0]["missing_documents"][1:]
    assert after[1:] == before[1:]


async def test_a_file_over_the_limit_is_413_with_the_real_limit(api: Api,
                                                               world: Claims) -> None:
    big = b"\x00" * (claims.MAX_UPLOAD + 1)
    data, headers = multipart([("file", big, "huge.bin")])
    err = await api.error("POST", f"/claims/{world.pending}/documents", 413, "too_large",
                          "file", data=data, headers=headers)
    assert "20 MB" in err["message"]
    claim = await api.get(f"/claims/{world.pending}", expect=200)
    assert claim["documents"] == []


async def test_hostile_file_names_are_kept_harmless(api: Api, world: Claims,
                                                    tmp_path: Path) -> None:
    for name in ("../../../etc/passwd", "a\u202egnp.exe", "..", "\u4e2d\u6587.pdf",
                 "x" * 500, "semi;colon.jpg", ""):
        data, headers = multipart([("file", scan(name), name), ("doc_type", b"other", None)])
        receipt = await api.call("POST", f"/claims/{world.review}/documents", data=data,
                                 headers=headers, expect=201)
        assert receipt["doc_type"] == "other"
    claim = await api.get(f"/claims/{world.review}", expect=200)
    names = [d["filename"] for d in claim["documents"] if d["doc_type"] == "other"]
    assert len(names) == 7 and all(len(n) <= 200 for n in names)
    stored = [p for p in (tmp_path / "files").rglob("*") if p.is_file()]
    assert stored and all(tmp_path / "files" in p.parents for p in stored)
    assert not (tmp_path / "etc").exists()


# ---- hostile bodies to every write route --------------------------------------------------------

def bases(w: Claims, s: Scheme) -> dict[tuple[str, str], list[tuple[str | None, dict[str, Any]]]]:
    """Per route, valid-looking bodies to spoil one place at a time (path override or None)."""
    review = f"/claims/{w.review}/transitions"
    approved = f"/claims/{w.approved}/transitions"
    pending = f"/claims/{w.pending}/transitions"
    return {
        ("POST", "/claims"): [(None, report_body(s, cause="accident"))],
        ("POST", "/claims/{claim_no}/transitions"): [
            (review, {"action": "assign", "actor": "理赔员", "handler": "adjuster.li"}),
            (review, {"action": "set_bank_account", "actor": "理赔员", "account": CARD}),
            (review, {"action": "request_documents", "actor": "理赔员", "note": "补充",
                      "documents": [{"type": "police_report", "name": "事故证明"}]}),
            (pending, {"action": "documents_complete", "actor": "理赔员",
                       "waive_missing": False}),
            (approved, {"action": "pay", "actor": "财务", "amount": "299.00",
                        "account": CARD, "reference": "R-1"}),
            (review, {"action": "advance_payment", "actor": "主管", "amount": "5000.00",
                      "determinable": "3000.00", "account": CARD}),
            (review, {"action": "adjudicate", "actor": "理赔员",
                      "facts": {"death_date": "2026-04-01", "cause": "accident"}}),
            (review, {"action": "reject", "actor": "主管", "reasons": ["r"], "note": "n"}),
            (review, {"action": "change_type", "actor": "理赔员", "claim_type": "disability",
                      "note": "家属更正"}),
        ],
        ("POST", "/claims/{claim_no}/appeals"): [(None, {"reasons": "我不同意拒赔的理由"})],
        ("POST", "/adjudication/preview"): [(None, {
            "product_code": "CN-ELDER-ACC", "claim_type": "hospital_allowance",
            "incident_date": "2026-03-01",
            "facts": {"admission_date": "2026-03-01", "discharge_date": "2026-03-05",
                      "hospital_days": 4, "allowance_days_used_this_year": 10,
                      "hospital_level": 2}})],
    }


async def test_hostile_input_to_every_claims_write_route_never_yields_5xx(
        api: Api, world: Claims, scheme: Scheme) -> None:
    table = bases(world, scheme)
    failures: list[str] = []

    async def send(method: str, path: str, what: str, **kw: Any) -> None:
        try:
            await api.call(method, path, check_doc=False, **kw)
        except AssertionError as exc:
            failures.append(f"{what[:200]}: {str(exc)[:200]}")

    for (method, template), cases in sorted(table.items()):
        path = template.format(claim_no=world.review)
        for raw in HOSTILE_BODIES:
            await send(method, path, f"{template} {raw[:60]!r}", data=raw,
                       headers={"Content-Type": "application/json"})
        for override, base in cases:
            for place in places(base):
                for value in HOSTILE_VALUES if len(place) == 1 else NESTED_HOSTILE_VALUES:
                    await send(method, override or path, f"{template} {place}={value!r:.60}",
                               json_body=spoiled(base, place, value),
                               headers={"Idempotency-Key": f"h-{place}-{value!r:.100}"}
                               if template == "/claims" else None)
    assert not failures, f"{len(failures)} answers ≥ 500:\n" + "\n".join(failures[:30])


async def test_hostile_preview_facts_never_yield_5xx(api: Api) -> None:
    failures = []
    huge = [10**9, 10**12, 2**63, 999_999_999, 3_000_000]
    cases: list[dict[str, Any]] = [
        *[{"discharge_date": "2026-03-10", "hospital_days": n} for n in huge],
        *[{"admission_date": "2026-03-01", "hospital_days": n} for n in huge],
        *[{"hospital_days": n} for n in huge],
        {"admission_date": "0001-01-01", "discharge_date": "9999-12-31"},
        {"admission_date": "2026-03-01", "discharge_date": "9999-12-31"},
        {"allowance_days_used_this_year": 10**20, "hospital_days": 3},
        {"discharge_date": "0001-01-02", "hospital_days": 1},
    ]
    for incident in ("2026-03-01", "0001-01-01", "9999-12-31"):
        for facts in cases:
            for claim_type in ("hospital_allowance", "death", "disability", "transport_death"):
                body = {"product_code": "CN-ELDER-ACC", "claim_type": claim_type,
                        "incident_date": incident,
                        "facts": {**facts, "death_date": "9999-12-31",
                                  "assessment_date": "0001-01-01",
                                  "disability_levels": [1] * 1000, "transport": "aircraft"}}
                try:
                    await api.call("POST", "/adjudication/preview", json_body=body)
                except AssertionError as exc:
                    failures.append(f"{json.dumps(body)[:200]}: {str(exc)[:200]}")
    assert not failures, f"{len(failures)} answers ≥ 500:\n" + "\n".join(failures[:20])


async def test_facts_beyond_the_calendar_send_a_claim_to_people(api: Api,
                                                                  scheme: Scheme) -> None:
    body = report_body(scheme, facts={"admission_date": "2026-05-20", "hospital_days": 10**9})
    claim = await supply_all(api, await report(api, body))
    assert claim["status"] == "under_review" and claim["track_rule"].startswith("M7")
    err = await act(api, claim["claim_no"], "adjudicate", expect=400)
    assert err["error"]["field"] == "facts"
    claim = await act(api, claim["claim_no"], "adjudicate", facts={"hospital_days": 10})
    assert claim["payable"] == "300.00"


HOSTILE_PARTS: list[bytes] = [
    b"--b\r\n\r\n--b--\r\n",
    b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n",
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nx',
    b'--b\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8\'\'%FF%FE\r\n'
    b"\r\nx\r\n--b--\r\n",
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="\xff\xfe"\r\n\r\nx\r\n'
    b"--b--\r\n",
    b'--b\r\nContent-Disposition: form-data; name="file"\r\nContent-Type: multipart/mixed; '
    b'boundary=c\r\n\r\n--c\r\nContent-Disposition: file; filename="x"\r\n\r\ny\r\n--c--\r\n'
    b"--b--\r\n",
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n!!!notbase64\r\n--b--\r\n",
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n'
    b"Content-Encoding: gzip\r\n\r\nnot gzip\r\n--b--\r\n",
    b'--b\r\nContent-Disposition: form-data; name="doc_type"\r\n\r\n' + b"x" * 100_000
    + b'\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nx\r\n'
    b"--b--\r\n",
    b"--b\r\n" + b"X-Header: y\r\n" * 10_000 + b"\r\nx\r\n--b--\r\n",
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
    + b"\x00" * 5000 + b"\r\n--b--\r\n",
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nx\r\n--b'
    + b'\r\nContent-Disposition: form-data; name="file"; filename="b"\r\n\r\ny\r\n--b--\r\n',
]
HOSTILE_CONTENT_TYPES = ["multipart/form-data; boundary=b", "multipart/mixed; boundary=b",
                         "multipart/form-data; boundary=", "multipart/form-data; boundary=" +
                         "b" * 1000, "multipart/form-data; boundary=b; charset=no-such",
                         "multipart/", "text/plain", "application/octet-stream"]


async def test_hostile_multipart_never_yields_5xx(api: Api, world: Claims) -> None:
    failures = []
    for ctype in HOSTILE_CONTENT_TYPES:
        for raw in [*HOSTILE_PARTS, *HOSTILE_BODIES]:
            try:
                await api.call("POST", f"/claims/{world.pending}/documents", data=raw,
                               headers={"Content-Type": ctype}, check_doc=False)
            except AssertionError as exc:
                failures.append(f"{ctype} {raw[:80]!r}: {str(exc)[:200]}")
    assert not failures, f"{len(failures)} answers ≥ 500:\n" + "\n".join(failures[:20])


# ---- paths, queries and headers ------------------------------------------------------------------

async def test_hostile_paths_and_queries_never_yield_5xx(api: Api, world: Claims) -> None:
    failures: list[str] = []
    for template in sorted(CLAIM_READ_ROUTES):
        names = [p.split("}")[0] for p in template.split("{")[1:]]
        for segment in [*HOSTILE_SEGMENTS, world.review]:
            path = template.format(**dict.fromkeys(names, segment))
            queries = ["", *(f"?{k}={segment}" for k in (
                "insured_id_number", "status", "handler", "due_before", "breached", "limit",
                "from", "to")), f"?due_before=2026-06-30&breached={segment}",
                f"?{segment}={segment}"]
            for query in queries:
                try:
                    await api.call("GET", path + query, check_doc=False)
                except AssertionError as exc:
                    failures.append(str(exc)[:200])
    assert not failures, f"{len(failures)} answers ≥ 500:\n" + "\n".join(failures[:30])


async def raw_request(api: Api, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send bytes the client library would refuse (bad header bytes); (status, body)."""
    server = api.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(head + b"Content-Length: " + str(len(body)).encode() +
                 b"\r\nConnection: close\r\n\r\n" + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, answer.split(b"\r\n\r\n", 1)[-1]


async def test_hostile_headers_never_yield_5xx(api: Api, scheme: Scheme, world: Claims) -> None:
    body = json.dumps(report_body(scheme), ensure_ascii=False).encode()
    auth = f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n".encode()
    for header in (b"Idempotency-Key", b"X-Actor"):
        for value in (b"\xff\xfe", b"\xed\xa0\x80", b"a\x01b", b"k" * 300, "键".encode()):
            head = f"POST {PREFIX}/claims HTTP/1.1\r\nHost: x\r\n".encode() + auth
            status, answer = await raw_request(api, head + header + b": " + value + b"\r\n",
                                               body)
            assert status < 500, (header, value, answer[:300])
            if status == 400 and answer.startswith(b"{"):
                assert json.loads(answer)["error"]["field"] in (
                    "Idempotency-Key", "actor"), answer
    claims_made = await api.get(f"/claims?insured_id_number={scheme.members[0]}", expect=200)
    assert claims_made["items"]  # the readable ones (键, a long actor) were taken or refused
    # a transition names its actor in the body; the header is not needed there
    await act(api, world.review, "assign", handler="adjuster.li")
