"""The risk review queue through the API: flags by severity with their evidence side by side,
a supervisor's confirmation taking off what another claim pays (and only once), a confirmed
illness or reuse refusing approval, and the monthly figures."""

from __future__ import annotations

import asyncio
from typing import Any

from api_testkit import Api
from test_api_claims_integrity import allowance, codes
from test_api_claims_kit import Scheme, act, clock, report, report_body, scheme, staff_headers

__all__ = ["clock", "scheme"]  # fixtures

ILL = "肺部感染"  # an illness in the diagnosis keeps a claim off the fast track


async def queue(api: Api, who: str = "supervisor.zhou", **query: str) -> dict[str, Any]:
    path = "/risk/flags" + ("?" + "&".join(f"{k}={v}" for k, v in query.items())
                            if query else "")
    return await api.get(path, headers=await staff_headers(api, who), auth=False)


def item(found: dict[str, Any], claim_no: str, code: str) -> dict[str, Any]:
    return next(i for i in found["items"] if i["claim_no"] == claim_no and i["code"] == code)


async def two_claims_for_one_stay(api: Api, scheme: Scheme) -> tuple[str, str]:
    """The first reported and still undecided; the second adjudicated for the whole stay."""
    first = await report(api, report_body(scheme, incident="2026-05-20", facts={
        "admission_date": "2026-05-20", "discharge_date": "2026-05-30", "hospital_level": 2}))
    second = await allowance(api, scheme, "2026-05-20", "2026-05-30", diagnosis=ILL)
    assert "duplicate_stay" in codes(second)
    assert (await act(api, second["claim_no"], "adjudicate"))["payable"] == "300.00"
    return first["claim_no"], second["claim_no"]


async def test_the_queue_shows_both_claims_side_by_side_highest_severity_first(
        api: Api, scheme: Scheme) -> None:
    first, second = await two_claims_for_one_stay(api, scheme)
    found = await queue(api, "adjuster.li")  # adjusters see the queue too
    assert found["counts"]["open"] >= 2
    severities = [i["severity"] for i in found["items"]]
    assert severities == sorted(severities, reverse=True)
    dup = item(found, second, "duplicate_stay")
    assert (dup["severity"], dup["outcome"], dup["related"]) == (3, "open", [first])
    assert [c["claim_no"] for c in dup["claims"]] == [second, first]
    assert {(c["admission_date"], c["discharge_date"]) for c in dup["claims"]} == {
        ("2026-05-20", "2026-05-30")}
    assert dup["claims"][0]["payable"] == "300.00" and dup["claims"][1]["payable"] is None
    illness = item(found, second, "not_accident")
    assert illness["claims"][0]["diagnosis_verdict"] == "illness"
    assert illness["claims"][0]["illnesses"] == ["肺部感染（J18.9）"]


async def test_confirming_a_duplicate_stay_drops_the_payable_to_what_is_not_paid_elsewhere(
        api: Api, scheme: Scheme) -> None:
    first, second = await two_claims_for_one_stay(api, scheme)
    confirmed = await act(api, second, "confirm_flag", "supervisor.zhou",
                          flag="duplicate_stay", note="同一次住院由家属重复报案")
    assert confirmed["payable"] == "0.00" and confirmed["status"] == "adjudicated"
    assert [f["outcome"] for f in confirmed["flags"] if f["code"] == "duplicate_stay"] == [
        "confirmed"]
    actions = [e["action"] for e in confirmed["timeline"]]
    assert actions[-2:] == ["confirm_flag", "adjudicate"]
    # the first claim keeps the stay: its days are paid there, once
    owner = await act(api, first, "documents_complete", "supervisor.zhao", waive_missing=True)
    if owner["status"] == "under_review":
        owner = await act(api, first, "adjudicate")
    assert owner["payable"] == "300.00"
    assert "duplicate_stay" not in codes(owner)  # settled by the confirmation
    # an open flag holds the approval until a supervisor decides it
    held = await act(api, second, "approve", "adjuster.wang", expect=409)
    assert held["error"]["field"] == "action" and "not_accident" in held["error"]["message"]
    await act(api, second, "clear_flag", "supervisor.zhao", flag="not_accident",
              note="外伤后继发肺部感染")
    # the confirmer adjudicated the revised amount: someone else approves it
    refused = await act(api, second, "approve", "supervisor.zhou", expect=403)
    assert refused["error"]["field"] == "action"
    assert (await act(api, second, "approve", "adjuster.wang"))["approved"] == "0.00"
    done = await queue(api, outcome="confirmed")
    assert item(done, second, "duplicate_stay")["held_back"] == "300.00"
    assert item(done, second, "duplicate_stay")["decided_by"] == "supervisor.zhou"


async def approved_then_duplicated(api: Api, scheme: Scheme) -> tuple[str, str]:
    """A claim approved while clean (reported late: people decide), then a second report of
    its stay: the check before payment raises the duplicate on the approved claim."""
    first = await allowance(api, scheme, "2026-04-20", "2026-04-30")
    no = first["claim_no"]
    await act(api, no, "adjudicate")
    assert (await act(api, no, "approve"))["status"] == "approved"
    second = await allowance(api, scheme, "2026-04-20", "2026-04-30")
    assert codes(second) == ["duplicate_stay"]
    held = await act(api, no, "pay", "adjuster.li", expect=409, amount="300.00")
    assert held["error"]["field"] == "action" and "duplicate_stay" in held["error"]["message"]
    flagged = await api.get(f"/claims/{no}")  # kept although the payment was refused
    assert codes(flagged) == ["duplicate_stay"] and flagged["status"] == "approved"
    return no, second["claim_no"]


async def test_a_flag_raised_before_payment_holds_it_until_a_supervisor_decides(
        api: Api, scheme: Scheme) -> None:
    first, second = await approved_then_duplicated(api, scheme)
    await act(api, first, "clear_flag", "supervisor.zhou", flag="duplicate_stay",
              note="本案为原始申请，重复的是后一案")
    assert (await act(api, first, "pay", "adjuster.li", amount="300.00"))["status"] == "paid"
    assert (await act(api, second, "adjudicate"))["payable"] == "0.00"


async def test_a_confirmation_withdraws_an_approval_not_yet_paid(api: Api,
                                                                 scheme: Scheme) -> None:
    first, _ = await approved_then_duplicated(api, scheme)
    confirmed = await act(api, first, "confirm_flag", "supervisor.zhou",
                          flag="duplicate_stay", note="本案为重复申请")
    assert (confirmed["status"], confirmed["approved"], confirmed["payable"]) == (
        "adjudicated", None, "0.00")
    refused = await act(api, first, "pay", expect=409, amount="300.00")
    assert refused["error"]["field"] == "action"


async def test_an_advance_is_held_by_a_flag_and_by_four_eyes(api: Api, scheme: Scheme) -> None:
    claim = await allowance(api, scheme, "2026-05-20", "2026-05-30", diagnosis=ILL)
    no = claim["claim_no"]
    await act(api, no, "adjudicate", "supervisor.zhou")
    held = await act(api, no, "advance_payment", "supervisor.zhao", expect=409,
                     amount="100.00", determinable="300.00")
    assert "not_accident" in held["error"]["message"]
    await act(api, no, "clear_flag", "supervisor.zhao", flag="not_accident", note="骨折后肺部感染")
    alone = await act(api, no, "advance_payment", "supervisor.zhou", expect=403,
                      amount="100.00", determinable="300.00")
    assert alone["error"]["field"] == "action"
    paid = await act(api, no, "advance_payment", "supervisor.zhao", amount="100.00",
                     determinable="300.00")
    assert paid["advance_paid"] == "100.00"


async def test_a_note_of_invisible_characters_explains_nothing(api: Api, scheme: Scheme) -> None:
    _, second = await two_claims_for_one_stay(api, scheme)
    for note in ("\u202e\u200b\ufeff", "\u3000\t", "\u2066\u2069"):
        refused = await act(api, second, "clear_flag", "supervisor.zhou", expect=400,
                            flag="duplicate_stay", note=note)
        assert refused["error"]["field"] == "note"
    assert "duplicate_stay" in codes(await api.get(f"/claims/{second}"))


async def test_a_confirmed_illness_cannot_be_approved_only_rejected(api: Api,
                                                                    scheme: Scheme) -> None:
    claim = await allowance(api, scheme, "2026-05-20", "2026-05-30", diagnosis="脑梗死")
    no = claim["claim_no"]
    await act(api, no, "adjudicate")
    await act(api, no, "confirm_flag", "supervisor.zhou", flag="not_accident",
              note="病历示脑梗死入院，非意外")
    refused = await act(api, no, "approve", "adjuster.wang", expect=409)
    assert refused["error"]["field"] == "action"
    rejected = await act(api, no, "reject", "supervisor.zhao", reasons=["疾病住院，不属意外伤害"])
    assert rejected["status"] == "rejected"
    found = await queue(api, outcome="confirmed", code="not_accident")
    assert item(found, no, "not_accident")["held_back"] == "300.00"


async def test_only_a_supervisor_confirms_with_a_note_once(api: Api, scheme: Scheme) -> None:
    _, second = await two_claims_for_one_stay(api, scheme)
    refused = await act(api, second, "confirm_flag", "adjuster.li", expect=403,
                        flag="duplicate_stay", note="x")
    assert refused["error"]["field"] == "action"
    body = {"action": "confirm_flag", "flag": "duplicate_stay", "note": "x"}
    token = await api.post(f"/claims/{second}/transitions", body, expect=403)  # integration
    assert token["error"]["field"] == "action"
    missing = await act(api, second, "confirm_flag", "supervisor.zhou", expect=400,
                        flag="duplicate_stay", note="   ")
    assert missing["error"]["field"] == "note"
    absent = await act(api, second, "confirm_flag", "supervisor.zhou", expect=404,
                       flag="after_death", note="x")
    assert absent["error"]["field"] == "flag"
    assert (await api.get(f"/claims/{second}"))["payable"] == "300.00"  # nothing changed
    answers = await asyncio.gather(*(
        act(api, second, "confirm_flag", who, expect=None, flag="duplicate_stay",
            note=f"{who} 核实") for who in ("supervisor.zhou", "supervisor.zhao")))
    assert sorted("error" in a for a in answers) == [False, True]
    claim = await api.get(f"/claims/{second}")
    assert [e["action"] for e in claim["timeline"]].count("confirm_flag") == 1
    assert claim["payable"] == "0.00"
    cleared = await act(api, second, "clear_flag", "supervisor.zhao", expect=404,
                        flag="duplicate_stay", note="改判")
    assert cleared["error"]["field"] == "flag"  # a decided flag is not decided again


async def test_the_queue_refuses_bad_filters_and_outsiders(api: Api, scheme: Scheme) -> None:
    bad = await queue(api, outcome="maybe")
    assert bad["error"]["field"] == "outcome"
    bad = await queue(api, code="'; drop table claim_flags; --")
    assert bad["error"]["field"] == "code"
    bad = await queue(api, limit="100000")
    assert bad["error"]["field"] == "limit"
    await api.get("/risk/flags", auth=False, expect=401)


async def test_the_claims_statistics_count_flags_by_month(api: Api, scheme: Scheme) -> None:
    _, second = await two_claims_for_one_stay(api, scheme)
    await act(api, second, "confirm_flag", "supervisor.zhou", flag="duplicate_stay",
              note="重复报案")
    await act(api, second, "clear_flag", "supervisor.zhou", flag="not_accident",
              note="外伤后继发肺部感染")
    stats = await api.get("/stats/claims", headers=await staff_headers(api, "supervisor.zhou"),
                          auth=False)
    months = stats["integrity"]["by_month"]
    assert sum(m["raised"] for m in months) >= 2
    assert sum(m["confirmed"] for m in months) == 1 and sum(m["cleared"] for m in months) == 1
    assert sum(float(m["held_back"]) for m in months) == 300.0
    by_code = {c["code"]: c for c in stats["integrity"]["by_code"]}
    assert by_code["duplicate_stay"]["confirmed"] == 1
    assert by_code["not_accident"]["cleared"] == 1
