"""Roster maintenance over HTTP: a member taken off the 潮南区 scheme (death, moving away,
correction) is covered through the date and not after, keeps their history, cannot be removed
from before a paid claim's incident, and a recorded death flags later claims."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from api_testkit import Api, id_number
from sqlalchemy import select
from test_api_claims_kit import (
    Scheme,
    act,
    clock,
    report,
    report_body,
    scheme,
    staff_headers,
    supply_all,
)

from backoffice.services import group
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import AuditEntry, OutboxEvent, Party

__all__ = ["clock", "scheme"]  # fixtures


def removals(scheme: Scheme) -> str:
    return f"/group-policies/{scheme.policy_no}/roster/removals"


async def remove(api: Api, scheme: Scheme, who: int, reason: str, day: str,
                 expect: int = 200, **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = await api.post(removals(scheme), {
        "id_number": scheme.members[who], "reason": reason, "date": day, **extra},
        expect=expect)
    return answer


async def membership(api: Api, scheme: Scheme, who: int) -> dict[str, Any]:
    items = (await api.get(f"/policies?id_number={scheme.members[who]}", expect=200))["items"]
    found: dict[str, Any] = next(i for i in items if i["policy_no"] == scheme.policy_no)
    return found


async def premium(api: Api, scheme: Scheme) -> str:
    return str((await api.get(f"/policies/{scheme.policy_no}", expect=200))["premium"]["annual"])


def allowance_body(scheme: Scheme, who: int, admission: str, discharge: str) -> dict[str, Any]:
    return report_body(scheme, insured=scheme.members[who], incident=admission,
                       facts={"admission_date": admission, "discharge_date": discharge,
                              "hospital_level": 2, "diagnosis": "右桡骨远端骨折"})


async def test_a_removed_member_is_covered_through_the_date_and_not_after(
        api: Api, scheme: Scheme) -> None:
    before = await premium(api, scheme)
    removed = await remove(api, scheme, 0, "moved_away", "2026-05-15", note="户籍迁往广州")
    assert (removed["outcome"], removed["status"], removed["reason"]) == (
        "removed", "removed", "moved_away")
    assert removed["covered_until"] == "2026-05-15" and removed["claims_to_review"] == []
    assert removed["note"] == "户籍迁往广州"
    assert await premium(api, scheme) == f"{float(before) - 10:.2f}"  # one insured fewer

    on_the_day = await report(api, allowance_body(scheme, 0, "2026-05-15", "2026-05-20"))
    assert on_the_day["status"] == "documents_pending"  # registered: covered that day
    after = await report(api, allowance_body(scheme, 0, "2026-05-16", "2026-05-20"))
    assert after["status"] == "reported"  # held with the reason, as other uncovered claims
    held = await api.get(f"/claims/{after['claim_no']}", expect=200)
    assert "2026-05-15 因迁出退出被保险人清单" in held["track_rule"]
    # a staff member cannot register it by hand either
    refused = await act(api, after["claim_no"], "register", expect=422)
    assert refused["error"]["field"] == "coverage" and "退出被保险人清单" in refused["error"][
        "message"]

    # the look-up the bot uses: no longer covered, and since when
    member = await membership(api, scheme, 0)
    assert (member["status"], member["covered"]) == ("removed", False)
    assert (member["end_reason"], member["covered_until"]) == ("moved_away", "2026-05-15")
    assert "已退出" in member["status_text"] and "2026-05-15" in member["status_text"]
    assert (await membership(api, scheme, 1))["covered"] is True  # nobody else

    # the same removal again changes nothing: no second audit entry, same premium
    again = await remove(api, scheme, 0, "迁出", "2026-05-15")
    assert again["outcome"] == "unchanged" and again["note"] == "户籍迁往广州"
    assert await premium(api, scheme) == f"{float(before) - 10:.2f}"
    party = (await api.get(f"/parties/{scheme.members[0]}", expect=200))
    assert party  # the person and their history stay


async def test_a_removal_before_a_paid_claims_incident_is_refused(api: Api,
                                                                   scheme: Scheme) -> None:
    paid = await supply_all(api, await report(api, allowance_body(scheme, 0, "2026-05-20",
                                                                  "2026-05-30")))
    assert (paid["track"], paid["status"]) == ("fast", "approved")
    err = await api.error("POST", removals(scheme), 409, "conflict", "date", {
        "id_number": scheme.members[0], "reason": "death", "date": "2026-05-19"})
    assert paid["claim_no"] in err["message"]
    member = await membership(api, scheme, 0)
    assert (member["status"], member["covered"]) == ("in_force", True)  # nothing changed

    # the incident's own day is covered: a death that day is accepted
    died = await remove(api, scheme, 0, "death", "2026-05-20")
    assert died["outcome"] == "removed"
    # correcting it to an earlier day is refused the same way; a later day is a correction
    await api.error("POST", removals(scheme), 409, "conflict", "date", {
        "id_number": scheme.members[0], "reason": "death", "date": "2026-05-01"})
    assert (await membership(api, scheme, 0))["covered_until"] == "2026-05-20"
    corrected = await remove(api, scheme, 0, "death", "2026-05-22", note="死亡证明日期为准")
    assert corrected["outcome"] == "corrected"
    log = await api.get("/audit?entity_type=party&entity_id="
                        + str(await _party_id(api, scheme, 0)), expect=200)
    actions = [e["action"] for e in log["items"] if e["action"].startswith("roster.")]
    assert actions == ["roster.remove", "roster.correct_removal"]
    last = next(e for e in log["items"] if e["action"] == "roster.correct_removal")
    assert last["before"]["date"] == "2026-05-20" and last["after"]["date"] == "2026-05-22"
    assert last["actor"] == "api"  # the token's, never a body field


async def _party_id(api: Api, scheme: Scheme, who: int) -> int:
    db: Database = api.client.__dict__["db"]
    with db.read() as s:
        return int(s.execute(select(Party.id).where(
            Party.id_number_hash == keyed_hash("id_number", scheme.members[who]))).scalar_one())


async def test_a_death_on_the_roster_flags_claims_for_a_later_incident(
        api: Api, scheme: Scheme) -> None:
    pending = await report(api, allowance_body(scheme, 1, "2026-05-20", "2026-05-30"))
    same_day = await report(api, allowance_body(scheme, 1, "2026-05-10", "2026-05-10"))
    assert pending["status"] == same_day["status"] == "documents_pending"
    died = await remove(api, scheme, 1, "死亡", "2026-05-10")
    assert died["reason"] == "death" and died["reason_text"] == "死亡"
    assert died["claims_to_review"] == [pending["claim_no"]]  # undecided: reviewed, not refused

    flagged = await api.get(f"/claims/{pending['claim_no']}", expect=200)
    assert [f["code"] for f in flagged["flags"]] == ["after_death"]
    assert "2026-05-10" in flagged["flags"][0]["text"]
    assert any("退出" in (e["note"] or "") for e in flagged["timeline"])
    # documents arriving later keep it flagged and off the fast track
    flagged = await supply_all(api, flagged)
    assert [f["code"] for f in flagged["flags"]] == ["after_death"]
    assert flagged["track"] == "manual" and flagged["approved"] is None
    # the accident on the day of death raised nothing
    clean = await supply_all(api, same_day)
    assert clean["flags"] == []


async def test_bad_removals_are_refused_and_change_nothing(api: Api, scheme: Scheme) -> None:
    path = removals(scheme)
    member = scheme.members[2]
    good = {"id_number": member, "reason": "death", "date": "2026-05-10"}
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({**good, "date": "2026-06-02"}, 400, "invalid", "date"),  # tomorrow (clock 1 Jun)
        ({**good, "date": "2026-02-30"}, 400, "invalid", "date"),
        ({**good, "date": "1900-01-01"}, 400, "invalid", "date"),  # before the birth
        ({**good, "date": 20260510}, 400, "invalid", "date"),
        ({**good, "reason": "dead"}, 400, "invalid", "reason"),
        ({**good, "reason": ["death"]}, 400, "invalid", "reason"),
        ({**good, "id_number": member[:-1] + ("0" if member[-1] != "0" else "1")}, 400,
         "invalid", "id_number"),
        ({**good, "id_number": scheme.outsider}, 404, "not_found", "id_number"),
        ({**good, "note": "名单\x00"}, 400, "invalid", "note"),
        ({**good, "note": "长" * 201}, 400, "invalid", "note"),
        ({k: v for k, v in good.items() if k != "date"}, 400, "invalid", "date"),
    ]
    for body, status, code, field in cases:
        await api.error("POST", path, status, code, field, body)
    await api.error("POST", f"/group-policies/{scheme.individual_policies[0]}/roster/removals",
                    400, "invalid", "policy_no", good)
    await api.error("POST", "/group-policies/G209900009999/roster/removals", 404, "not_found",
                    "policy_no", good)
    await api.error("POST", path, 400, "invalid", "body", data=b"\xff\xfe{", headers={
        "Content-Type": "application/json"})
    assert (await membership(api, scheme, 2))["covered"] is True


async def test_only_the_role_that_imports_rosters_may_remove(api: Api, scheme: Scheme) -> None:
    body = {"id_number": scheme.members[0], "reason": "death", "date": "2026-05-10"}
    for who in ("adjuster.li", "supervisor.zhou"):
        headers = await staff_headers(api, who)
        await api.error("POST", removals(scheme), 403, "forbidden", "Authorization", body,
                        headers=headers)
    assert (await membership(api, scheme, 0))["covered"] is True


async def test_the_same_removal_twice_at_once_is_recorded_once(api: Api, scheme: Scheme) -> None:
    answers = await asyncio.gather(*(remove(api, scheme, 0, "death", "2026-05-10")
                                     for _ in range(3)))
    assert sorted(a["outcome"] for a in answers) == ["removed", "unchanged", "unchanged"]


async def test_a_person_on_no_roster_is_not_found(api: Api, scheme: Scheme) -> None:
    stranger = id_number(date(1950, 1, 1), 8, "440514")
    await api.error("POST", removals(scheme), 404, "not_found", "id_number", {
        "id_number": stranger, "reason": "death", "date": "2026-05-10"})


def _names(db: Database, scheme: Scheme) -> list[str]:
    with db.read() as s:
        found = dict(s.execute(select(Party.id_number, Party.name).where(
            Party.id_number_hash.in_([keyed_hash("id_number", v) for v in scheme.members]))).all())
    return [found[m] for m in scheme.members]


async def test_the_monthly_list_with_a_paid_claim_and_one_in_progress(
        api: Api, scheme: Scheme, db: Database) -> None:
    paid = await supply_all(api, await report(api, allowance_body(scheme, 0, "2026-05-20",
                                                                  "2026-05-30")))
    pending = await report(api, allowance_body(scheme, 1, "2026-05-20", "2026-05-30"))
    names = _names(db, scheme)
    lines = ["id_number,name,reason,date,note\n",
             f"{scheme.members[0]},{names[0]},死亡,2026-05-01,\n",    # 2: before the paid claim
             f"{scheme.members[1]},{names[1]},死亡,2026-05-01,\n",    # 3: in progress: flagged
             f"{scheme.members[2]},{names[2]},迁出,2026-05-31,\n"]    # 4
    first = group.import_removals(db, scheme.policy_no, lines, "importer-1")
    assert (first.removed, first.corrected, first.skipped) == (2, 0, 0)
    assert [(e.line, e.field) for e in first.errors] == [(2, "date")]
    assert paid["claim_no"] in first.errors[0].message
    assert first.claims_to_review == [pending["claim_no"]]
    flagged = await api.get(f"/claims/{pending['claim_no']}", expect=200)
    assert [f["code"] for f in flagged["flags"]] == ["after_death"]
    assert (await membership(api, scheme, 0))["covered"] is True

    second = group.import_removals(db, scheme.policy_no, lines, "importer-1")
    assert (second.removed, second.corrected, second.skipped) == (0, 0, 2)
    assert second.errors == first.errors and second.claims_to_review == []
    with db.read() as s:
        summaries = [a.after for a in s.execute(select(AuditEntry).where(
            AuditEntry.action == "import_removals")).scalars()]
        events = s.execute(select(OutboxEvent.payload).where(
            OutboxEvent.topic == "roster.removals_imported")).scalars().all()
    assert [(a or {}).get("removed") for a in summaries] == [2, 0]
    assert len(events) == 1  # the replay changed nothing and told nobody
