"""The rules as rules.md states them, seen through the API: the 5,000 元 payment threshold
includes 5,000 itself, the 180-day rule is about the accident (not the assessment date), a
complaint past its 15 days cannot be reclassified out of its breach, and a resident who moves
into the district is covered from the 1st of the month after registration."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from api_testkit import Api, application, id_number, issue_policy, person
from test_api_claims_kit import (
    CARD,
    Scheme,
    act,
    advance_to,
    clock,
    report,
    report_body,
    scheme,
    supply_all,
)
from test_api_complaints import add_staff, as_staff, step
from test_api_complaints import body as complaint_body
from test_api_group import create_scheme

from backoffice.domain.calendar import CN_CALENDAR
from backoffice.services import complaints
from backoffice.store.db import Database
from backoffice.store.models import Party, Resident

__all__ = ["clock", "scheme"]  # fixtures


# ---- the 5,000 元 threshold ----------------------------------------------------------------

async def _disability_claim_of(api: Api, scheme: Scheme, level: int) -> dict[str, Any]:
    """A PA-GUARD disability claim (sum insured 50,000: level 10 pays exactly 5,000),
    adjudicated and approved by an adjuster."""
    insured = person("林秀英", birth=date(1970, 3, 8), seq=246)
    body = application(insured, coverages=[
        {"code": "accidental_death_disability", "sum_insured": "50000.00"}])
    policy = await issue_policy(api, body)
    start = date.fromisoformat(policy["start_date"])
    advance_to(scheme.clock, start + timedelta(days=8))
    claim = await report(api, {
        **report_body(scheme, "disability", insured=insured["id_number"],
                      incident=(start + timedelta(days=1)).isoformat(),
                      facts={"disability_levels": [level],
                             "assessment_date": (start + timedelta(days=7)).isoformat()}),
        "policy_no": policy["policy_no"]})
    claim = await supply_all(api, claim)
    no = claim["claim_no"]
    await act(api, no, "adjudicate")
    return await act(api, no, "approve")


async def test_a_payout_of_exactly_5000_is_paid_within_3_working_days(
        api: Api, scheme: Scheme) -> None:
    claim = await _disability_claim_of(api, scheme, level=10)
    assert claim["status"] == "approved" and claim["approved"] == "5000.00"
    today = scheme.today()
    payment = claim["deadlines"]["payment"]
    assert payment["due"] == CN_CALENDAR.add_working_days(today, 3).isoformat()
    assert "5,000元及以下" in payment["basis"] and "3个工作日" in payment["basis"]
    paid = await act(api, claim["claim_no"], "pay", actor="supervisor.zhao", amount="5000.00",
                     account=CARD, reference="BANK-5000")
    assert paid["deadlines"]["payment"]["breached"] is False


# ---- the 180-day rule for disability -------------------------------------------------------

async def test_a_disability_assessed_after_day_180_is_paid(api: Api, scheme: Scheme) -> None:
    """rules.md §4: the disability results from the accident within 180 days; its assessment
    follows treatment (the condition at day 180 when treatment lasts longer), so is usually
    dated later — that does not make it late."""
    preview = await api.post("/adjudication/preview", {
        "product_code": "CN-ELDER-ACC", "claim_type": "disability",
        "incident_date": "2025-11-01",
        "facts": {"disability_levels": [8], "assessment_date": "2026-05-20"}}, expect=200)
    assert preview["payable"] == "900.00" and preview["reasons"] == []  # 3,000 × 30 %
    assert "事故后 200 日" in preview["lines"][0]["text"]
    # what still refuses an assessment date: before the accident, after today, not a date
    for bad in ("2025-10-31", (scheme.today() + timedelta(days=1)).isoformat(), "2026-02-30",
                "20260520", 20260520):
        await api.error("POST", "/adjudication/preview", 400, "invalid",
                        "facts.assessment_date", {
                            "product_code": "CN-ELDER-ACC", "claim_type": "disability",
                            "incident_date": "2025-11-01",
                            "facts": {"disability_levels": [8], "assessment_date": bad}})

    incident = date(2026, 1, 10)
    assessed = incident + timedelta(days=200)
    advance_to(scheme.clock, assessed + timedelta(days=5))
    claim = await supply_all(api, await report(api, report_body(
        scheme, "disability", insured=scheme.members[1], incident=incident.isoformat(),
        facts={"disability_levels": [8], "assessment_date": assessed.isoformat()})))
    claim = await act(api, claim["claim_no"], "adjudicate")
    assert claim["status"] == "adjudicated" and claim["payable"] == "900.00"
    assert "按第 180 日的身体状况鉴定" in claim["adjudication_lines"][0]["text"]
    # a death is still dated by itself: the 181st day after the accident pays nothing
    late_death = await api.post("/adjudication/preview", {
        "product_code": "CN-ELDER-ACC", "claim_type": "death", "incident_date": "2025-11-01",
        "facts": {"death_date": "2026-05-01"}}, expect=200)
    assert late_death["payable"] == "0.00"


# ---- a complaint past its 15 days ----------------------------------------------------------

async def test_a_breached_complaint_cannot_be_reclassified_out_of_its_breach(
        api: Api, db: Database, scheme: Scheme) -> None:
    add_staff(db, "sup.zhao", "handler1")
    made = await api.post("/complaints", complaint_body(), expect=201)
    no, received = made["complaint_no"], scheme.today()
    await step(api, no, "take")
    advance_to(scheme.clock, received + timedelta(days=16))  # one day past the 15

    before = await api.get(f"/complaints/{no}", expect=200)
    assert before["clock"]["breached"] is True and before["clock"]["days_left"] == -1
    assert "classify" not in before["allowed_actions"]  # the desk no longer offers it
    assert {"note", "assign", "take"} <= set(before["allowed_actions"])
    refused = await step(api, no, "classify", track="complex", expect=409)
    assert refused["error"]["field"] == "track"
    assert made["due_by"] in refused["error"]["message"]
    # hostile values are refused by name too, and change nothing either
    await step(api, no, "classify", track="extended", expect=400)
    await step(api, no, "classify", track=None, expect=400)
    await step(api, no, "extend", actor="sup.zhao", expect=400)  # not complex

    after = await api.get(f"/complaints/{no}", expect=200)
    assert after["clock"] == before["clock"] and after["due_by"] == made["due_by"]
    assert [e["action"] for e in after["timeline"]] == [
        e["action"] for e in before["timeline"]]
    breached = await api.get("/complaints?breached=true", expect=200)
    assert [c["complaint_no"] for c in breached["items"]] == [no]
    assert complaints.clock_checks(db, scheme.today())["escalated"] == 1


async def test_a_complex_complaint_past_its_30_days_cannot_be_extended(
        api: Api, db: Database, scheme: Scheme) -> None:
    add_staff(db, "sup.zhao", "handler1")
    no = (await api.post("/complaints", complaint_body(), expect=201))["complaint_no"]
    received = scheme.today()
    await step(api, no, "take")
    advance_to(scheme.clock, received + timedelta(days=15))  # the due day: still on time
    assert (await step(api, no, "classify", track="complex"))["clock"]["days_left"] == 15
    advance_to(scheme.clock, received + timedelta(days=31))
    # two supervisors' extensions at once: neither turns the breach back
    headers = await as_staff(api, "sup.zhao")
    answers = await asyncio.gather(*(
        api.call("POST", f"/complaints/{no}/transitions", json_body={"action": "extend"},
                 headers=headers) for _ in range(2)))
    assert [a["error"]["field"] for a in answers] == ["track", "track"]
    shown = await api.get(f"/complaints/{no}", expect=200)
    assert shown["clock"]["track"] == "complex" and shown["clock"]["breached"] is True
    assert shown["extension_approved_by"] is None


# ---- new residents' cover ------------------------------------------------------------------

AREA = "440514"


def _register(db: Database, people: list[tuple[str, date, int, date]]) -> list[str]:
    """Residents of the district: (name, birth, sequence, registered there on); ID numbers."""
    ids = []
    with db.transaction() as s:
        for name, birth, seq, registered_on in people:
            party = Party(name=name, gender="female", birth_date=birth,
                          id_number=id_number(birth, seq, AREA))
            s.add(party)
            s.flush()
            s.add(Resident(party_id=party.id, area_code=AREA, registered_on=registered_on))
            ids.append(party.id_number)
    return ids


async def test_a_resident_who_moves_in_is_covered_from_the_month_after_registration(
        api: Api, db: Database) -> None:
    no = await create_scheme(api, date(2026, 1, 1))
    people = [("郑美华", date(1950, 2, 2), 2, date(2026, 4, 20)),   # moved in at 76
              ("许丽娟", date(1958, 6, 6), 4, date(2026, 6, 2)),    # moved in this month
              ("蔡玉珍", date(1940, 1, 1), 6, date(2001, 5, 5))]    # a resident for years
    moved_in, this_month, old_resident = _register(db, people)
    path = f"/group-policies/{no}/auto-enrollment"
    # two monthly runs at once enroll each resident once
    answers = await asyncio.gather(*(api.post(path, {"as_of": "2026-06-10"}, expect=200)
                                     for _ in range(2)))
    assert sorted(a["enrolled"] for a in answers) == [0, 2]

    async def enrolled_on(idn: str) -> str | None:
        items = (await api.get(f"/policies?id_number={idn}", expect=200))["items"]
        return items[0]["enrolled_on"] if items else None

    assert await enrolled_on(moved_in) == "2026-05-01"  # not the policy's 2026-01-01
    # so an accident in her first days in the district, before 1 May, is not covered
    body = {"policy_no": no, "insured_id_number": moved_in, "claim_type": "hospital_allowance",
            "incident_date": "2026-04-25", "incident_place": "汕头市潮南区陈店镇",
            "description": "搬家时摔倒", "channel": "api",
            "reporter": {"name": "郑小华", "relation": "child", "phone": "13912345679"},
            "facts": {"admission_date": "2026-04-25", "discharge_date": "2026-04-30"}}
    before_cover = await api.post("/claims", body, expect=201)
    assert before_cover["status"] == "reported"  # held for a person, with the reason
    held = await api.get(f"/claims/{before_cover['claim_no']}", expect=200)
    assert "不在保单有效期内（2026-05-01 至" in held["track_rule"]
    covered = await api.post("/claims", {**body, "incident_date": "2026-05-02", "facts": {
        "admission_date": "2026-05-02", "discharge_date": "2026-05-06"}}, expect=201)
    assert covered["status"] == "documents_pending"
    assert await enrolled_on(old_resident) == "2026-01-01"
    assert await enrolled_on(this_month) is None
    assert await api.post(path, {"as_of": "2026-07-01"}, expect=200) == {"enrolled": 1}
    assert await enrolled_on(this_month) == "2026-07-01"
    await api.error("POST", path, 400, "invalid", "as_of", {"as_of": "2026-06-31"})
