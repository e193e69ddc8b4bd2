"""Claims integrity through the API: each leak planted, flagged, kept off the fast track and not
paid twice; a flag cleared only by a claims supervisor with a note."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from api_testkit import Api
from test_api_claims_kit import (
    Scheme,
    act,
    advance_to,
    clock,
    report,
    report_body,
    scheme,
    supply_all,
    upload,
)

__all__ = ["clock", "scheme"]  # fixtures


def codes(claim: dict[str, Any]) -> list[str]:
    return [f["code"] for f in claim["flags"]]


async def allowance(api: Api, scheme: Scheme, admission: str, discharge: str,
                    insured: int = 0, **facts: Any) -> dict[str, Any]:
    body = report_body(scheme, insured=scheme.members[insured], incident=admission,
                       facts={"admission_date": admission, "discharge_date": discharge,
                              "hospital_level": 2, "diagnosis": "右桡骨远端骨折", **facts})
    return await supply_all(api, await report(api, body))


async def decided(api: Api, scheme: Scheme, claim_type: str, incident: str, **facts: Any
                  ) -> dict[str, Any]:
    """A manual claim adjudicated by one adjuster and approved by another."""
    body = report_body(scheme, claim_type, incident=incident)
    body["facts"] = {**body["facts"], **facts}
    claim = await supply_all(api, await report(api, body))
    await act(api, claim["claim_no"], "adjudicate")
    return await act(api, claim["claim_no"], "approve", "supervisor.zhou")


async def test_a_clean_claim_carries_an_empty_flag_list_and_goes_fast(api: Api,
                                                                       scheme: Scheme) -> None:
    claim = await allowance(api, scheme, "2026-05-20", "2026-05-30")
    assert claim["flags"] == []
    assert (claim["track"], claim["status"], claim["approved"]) == ("fast", "approved", "300.00")


async def test_the_same_stay_twice_is_flagged_and_not_paid_twice(api: Api,
                                                                 scheme: Scheme) -> None:
    first = await allowance(api, scheme, "2026-05-20", "2026-05-30")
    assert first["approved"] == "300.00"
    second = await allowance(api, scheme, "2026-05-20", "2026-05-30")
    assert codes(second) == ["duplicate_stay"]
    assert second["flags"][0]["related"] == [first["claim_no"]]
    assert (second["track"], second["status"]) == ("manual", "under_review")
    assert second["track_rule"].startswith("M9 ")  # nothing left to pay: people confirm
    adjudicated = await act(api, second["claim_no"], "adjudicate")
    assert adjudicated["payable"] == "0.00"
    assert any("不重复给付" in line["text"] for line in adjudicated["adjudication_lines"])
    assert "flag" in [e["action"] for e in adjudicated["timeline"]]
    # the first claim, read again, is not flagged by the second one's arrival
    assert (await api.get(f"/claims/{first['claim_no']}", expect=200))["flags"] == []


async def test_an_overlapping_stay_pays_only_the_days_not_already_paid(api: Api,
                                                                       scheme: Scheme) -> None:
    await allowance(api, scheme, "2026-05-20", "2026-05-30")
    # 25 – 31 May: 6 days, 5 of them (25th – 29th) already paid
    second = await allowance(api, scheme, "2026-05-25", "2026-05-31")
    assert codes(second) == ["overlapping_stay"] and second["track"] == "manual"
    assert (await act(api, second["claim_no"], "adjudicate"))["payable"] == "30.00"


async def test_transport_death_after_a_death_benefit_pays_only_the_difference(
        api: Api, scheme: Scheme) -> None:
    death = await decided(api, scheme, "death", "2026-05-20")
    assert death["approved"] == "3000.00"
    body = report_body(scheme, "transport_death", incident="2026-05-20")
    transport = await supply_all(api, await report(api, body))
    assert codes(transport) == ["death_benefit_paid"]
    assert transport["flags"][0]["related"] == [death["claim_no"]]
    adjudicated = await act(api, transport["claim_no"], "adjudicate")
    assert adjudicated["payable"] == "27000.00"
    texts = [line["text"] for line in adjudicated["adjudication_lines"]]
    assert any("扣除同一事故已给付的身故保险金 3,000.00 元" in x for x in texts), texts
    assert not any("伤残" in x and "扣除" in x for x in texts)


async def test_death_after_a_transport_death_pays_nothing(api: Api, scheme: Scheme) -> None:
    await decided(api, scheme, "transport_death", "2026-05-20")
    body = report_body(scheme, "death", incident="2026-05-20")
    death = await supply_all(api, await report(api, body))
    assert codes(death) == ["death_benefit_paid"]
    assert (await act(api, death["claim_no"], "adjudicate"))["payable"] == "0.00"


async def test_an_incident_after_the_recorded_death_is_flagged(api: Api, scheme: Scheme) -> None:
    death = await decided(api, scheme, "death", "2026-05-10")
    later = await allowance(api, scheme, "2026-05-20", "2026-05-30")
    assert codes(later) == ["after_death"]
    assert later["flags"][0]["related"] == [death["claim_no"]]
    assert later["track"] == "manual" and later["approved"] is None


async def test_the_same_photo_for_two_people_is_flagged(api: Api, scheme: Scheme) -> None:
    photo = b"\xff\xd8\xff\xe0JFIF-one-invoice-photo\xff\xd9"
    claims = []
    for who in (0, 1):
        body = report_body(scheme, insured=scheme.members[who])
        claim = await report(api, body)
        await upload(api, claim["claim_no"], "medical_invoice", content=photo)
        claims.append(await supply_all(api, await api.get(f"/claims/{claim['claim_no']}")))
    first, second = claims
    assert first["flags"] == [] and first["track"] == "fast"
    assert codes(second) == ["document_reused"]
    assert second["flags"][0]["related"] == [first["claim_no"]]
    assert second["track"] == "manual" and second["approved"] is None


async def test_an_illness_in_the_diagnosis_keeps_the_allowance_off_the_fast_track(
        api: Api, scheme: Scheme) -> None:
    ill = await allowance(api, scheme, "2026-05-20", "2026-05-30", diagnosis="脑梗死；高血压3级")
    assert codes(ill) == ["not_accident"] and ill["track"] == "manual"
    fall = await allowance(api, scheme, "2026-05-20", "2026-05-30", insured=1,
                           diagnosis="跌倒致右股骨颈骨折；脑梗死")
    assert codes(fall) == ["not_accident"] and "须人工复核" in fall["flags"][0]["text"]
    injury = await allowance(api, scheme, "2026-05-20", "2026-05-30", insured=2,
                             diagnosis="右桡骨远端骨折")
    assert injury["flags"] == [] and injury["track"] == "fast"


async def test_a_township_health_centre_is_below_the_level_the_allowance_needs(
        api: Api, scheme: Scheme) -> None:
    claim = await allowance(api, scheme, "2026-05-20", "2026-05-30",
                            hospital="汕头市潮南区两英镇卫生院")
    assert codes(claim) == ["hospital_level"] and claim["track"] == "manual"


async def test_hostile_diagnosis_and_hospital_values_are_no_error(api: Api,
                                                                  scheme: Scheme) -> None:
    for i, (diagnosis, hospital) in enumerate([
            (["脑梗死"], {"x": 1}), (12, None), ("脑梗死" * 3000, "卫生院" * 3000),
            ("'; DROP TABLE claims;--", "<script>")]):
        claim = await allowance(api, scheme, "2026-05-20", "2026-05-30", insured=i % 3,
                                diagnosis=diagnosis, hospital=hospital)
        assert claim["status"] in ("approved", "under_review")
        assert all(len(f["text"]) < 400 for f in claim["flags"])


async def test_only_a_supervisor_clears_a_flag_and_only_with_a_note(api: Api,
                                                                     scheme: Scheme) -> None:
    await allowance(api, scheme, "2026-05-20", "2026-05-30")
    no = (await allowance(api, scheme, "2026-05-20", "2026-05-30"))["claim_no"]
    refused = await act(api, no, "clear_flag", "adjuster.li", expect=403,
                        flag="duplicate_stay", note="核实无误")
    assert refused["error"]["field"] == "action"
    missing = await act(api, no, "clear_flag", "supervisor.zhou", expect=400,
                        flag="duplicate_stay")
    assert missing["error"]["field"] == "note"
    bogus = await act(api, no, "clear_flag", "supervisor.zhou", expect=400,
                      flag="no_such_flag", note="x")
    assert bogus["error"]["field"] == "flag"
    absent = await act(api, no, "clear_flag", "supervisor.zhou", expect=404,
                       flag="frequent", note="x")
    assert absent["error"]["field"] == "flag"
    assert codes(await api.get(f"/claims/{no}")) == ["duplicate_stay"]  # nothing changed
    cleared = await act(api, no, "clear_flag", "supervisor.zhou", flag="duplicate_stay",
                        note="经核实为同一住院的补充材料，按差额处理")
    assert cleared["flags"] == []
    event = cleared["timeline"][-1]
    assert (event["action"], event["actor"]) == ("clear_flag", "supervisor.zhou")
    assert "按差额处理" in event["note"]
    # a check before adjudication does not raise the cleared flag again, nor pay twice
    adjudicated = await act(api, no, "adjudicate")
    assert adjudicated["flags"] == [] and adjudicated["payable"] == "0.00"
    again = await act(api, no, "clear_flag", "supervisor.zhou", expect=404,
                      flag="duplicate_stay", note="x")
    assert again["error"]["field"] == "flag"


async def test_two_claims_for_one_stay_adjudicated_at_once_pay_its_days_once(
        api: Api, scheme: Scheme) -> None:
    # an illness in the diagnosis keeps both off the fast track: people adjudicate both
    nos = [(await allowance(api, scheme, "2026-05-20", "2026-05-30", diagnosis="肺部感染"))
           ["claim_no"] for _ in range(2)]
    results = await asyncio.gather(act(api, nos[0], "adjudicate", "adjuster.li"),
                                   act(api, nos[1], "adjudicate", "adjuster.wang"))
    assert sorted(r["payable"] for r in results) == ["0.00", "300.00"]


async def test_an_integration_token_or_no_token_cannot_clear_a_flag(api: Api,
                                                                  scheme: Scheme) -> None:
    await allowance(api, scheme, "2026-05-20", "2026-05-30")
    no = (await allowance(api, scheme, "2026-05-20", "2026-05-30"))["claim_no"]
    body = {"action": "clear_flag", "flag": "duplicate_stay", "note": "核实无误"}
    refused = await api.post(f"/claims/{no}/transitions", body, expect=403)
    assert refused["error"]["field"] == "action"
    await api.post(f"/claims/{no}/transitions", body, auth=False, expect=401)
    forged = {"Authorization": "Bearer not-a-real-token"}
    await api.call("POST", f"/claims/{no}/transitions", json_body=body, headers=forged,
                   auth=False, expect=401)
    assert codes(await api.get(f"/claims/{no}")) == ["duplicate_stay"]


async def test_two_supervisors_clearing_one_flag_at_once_clear_it_once(api: Api,
                                                                       scheme: Scheme) -> None:
    await allowance(api, scheme, "2026-05-20", "2026-05-30")
    no = (await allowance(api, scheme, "2026-05-20", "2026-05-30"))["claim_no"]
    answers = await asyncio.gather(*(
        act(api, no, "clear_flag", who, expect=None, flag="duplicate_stay", note=f"{who} 核实")
        for who in ("supervisor.zhou", "supervisor.zhao")))
    assert sorted("error" in a for a in answers) == [False, True]
    claim = await api.get(f"/claims/{no}", expect=200)
    assert [e["action"] for e in claim["timeline"]].count("clear_flag") == 1


async def test_the_yearly_cap_counts_claims_adjudicated_but_not_yet_paid(
        api: Api, scheme: Scheme) -> None:
    advance_to(scheme.clock, date(2026, 7, 21))
    for admission, discharge in (("2026-01-05", "2026-04-05"), ("2026-04-06", "2026-07-05")):
        claim = await allowance(api, scheme, admission, discharge)  # late: people decide
        assert (await act(api, claim["claim_no"], "adjudicate"))["payable"] == "2700.00"
    last = await allowance(api, scheme, "2026-07-10", "2026-07-20")
    assert "allowance_cap" in codes(last) and last["track"] == "manual"
    assert (await act(api, last["claim_no"], "adjudicate"))["payable"] == "0.00"


async def test_the_fast_track_pays_an_allowance_only_for_an_injury_in_a_known_hospital(
        api: Api, scheme: Scheme) -> None:
    cases = [  # (facts, the rule that keeps the claim from the fast track)
        ({"hospital_level": 2}, "M13"),  # no diagnosis: the cause is not shown
        ({"hospital_level": 2, "diagnosis": "跌倒"}, "M13"),  # no listed term in it
        ({"diagnosis": "右桡骨远端骨折", "hospital": "街口诊所"}, "M14"),  # level unknown
        ({"diagnosis": "右桡骨远端骨折"}, "M14"),
    ]
    for i, (facts, rule) in enumerate(cases):  # a stay of its own for each insured
        admission, discharge = ("2026-05-20", "2026-05-25") if i < 3 else ("2026-05-14",
                                                                           "2026-05-19")
        body = report_body(scheme, insured=scheme.members[i % 3], incident=admission,
                           facts={"admission_date": admission, "discharge_date": discharge,
                                  **facts})
        claim = await supply_all(api, await report(api, body))
        assert (claim["track"], claim["track_rule"][:3], claim["approved"]) == (
            "manual", rule, None), facts
    listed = {"admission_date": "2026-05-26", "discharge_date": "2026-05-30",
              "diagnosis": "右桡骨远端骨折", "hospital": "汕头市中心医院"}
    body = report_body(scheme, insured=scheme.members[2], incident="2026-05-26", facts=listed)
    claim = await supply_all(api, await report(api, body))
    assert (claim["track"], claim["approved"]) == ("fast", "120.00")


async def test_a_second_claim_for_the_same_incident_is_flagged_and_not_approved(
        api: Api, scheme: Scheme) -> None:
    first = await decided(api, scheme, "disability", "2026-05-20")
    assert first["approved"] is not None and first["flags"] == []
    body = report_body(scheme, "disability", incident="2026-05-20")
    again = await supply_all(api, await report(api, body))
    assert codes(again) == ["duplicate_incident"]
    assert again["flags"][0]["related"] == [first["claim_no"]]
    await act(api, again["claim_no"], "adjudicate")
    await act(api, again["claim_no"], "confirm_flag", "supervisor.zhou",
              flag="duplicate_incident", note="同一次伤残鉴定重复申请")
    refused = await act(api, again["claim_no"], "approve", "adjuster.wang", expect=409)
    assert refused["error"]["field"] == "action"


async def test_a_third_accident_within_a_year_is_flagged_for_people(api: Api,
                                                                    scheme: Scheme) -> None:
    stays = (("2026-01-10", "2026-01-15"), ("2026-03-10", "2026-03-15"),
             ("2026-05-20", "2026-05-25"))
    claims = [await allowance(api, scheme, a, d) for a, d in stays]
    assert [codes(c) for c in claims[:2]] == [[], []]
    third = claims[2]
    assert codes(third) == ["frequent"] and third["track"] == "manual"
    assert third["approved"] is None
    assert sorted(third["flags"][0]["related"]) == sorted(c["claim_no"] for c in claims[:2])


async def test_one_invoice_photographed_again_for_another_claim_is_flagged(
        api: Api, scheme: Scheme) -> None:
    from bench.ocr_synth import invoice_photo

    read = []
    for who, shot in ((0, 1), (1, 2)):  # two files, one invoice, two insureds
        claim = await report(api, report_body(scheme, insured=scheme.members[who]))
        receipt = await upload(api, claim["claim_no"], "medical_invoice",
                               content=invoice_photo(7, shot))
        read.append((claim["claim_no"], receipt))
    (first, one), (second, two) = read
    assert one["fields"]["invoice_number"]["value"] == two["fields"]["invoice_number"]["value"]
    claim = await api.get(f"/claims/{second}")
    reused = [f for f in claim["flags"] if f["code"] == "document_reused"]
    assert reused and reused[0]["related"] == [first] and "发票" in reused[0]["text"]
    # the payer named on the invoice is neither the insured nor the reporter
    assert "name_mismatch" in codes(claim)


async def test_clean_claims_of_every_type_raise_no_flag(api: Api, scheme: Scheme) -> None:
    for who, claim_type in enumerate(("death", "transport_death", "disability")):
        body = report_body(scheme, claim_type, insured=scheme.members[who],
                           incident="2026-05-20")
        claim = await supply_all(api, await report(api, body))
        assert claim["flags"] == [], (claim_type, claim["flags"])
    claim = await allowance(api, scheme, "2026-05-21", "2026-05-28", insured=2)
    assert claim["flags"] == [] and claim["track"] == "fast"


async def test_one_death_claimed_under_two_accident_dates_is_paid_once(
        api: Api, scheme: Scheme) -> None:
    first = await decided(api, scheme, "death", "2026-05-10", death_date="2026-05-20")
    assert first["approved"] == "3000.00"
    body = report_body(scheme, "death", incident="2026-05-01",
                       facts={"death_date": "2026-05-20"})
    again = await supply_all(api, await report(api, body))
    assert {"duplicate_incident", "death_benefit_paid"} <= set(codes(again))
    assert (await act(api, again["claim_no"], "adjudicate"))["payable"] == "0.00"
    transport = report_body(scheme, "transport_death", incident="2026-04-28",
                            facts={"death_date": "2026-05-20", "transport": "motor_vehicle"})
    claim = await supply_all(api, await report(api, transport))
    assert "death_benefit_paid" in codes(claim)
    assert (await act(api, claim["claim_no"], "adjudicate"))["payable"] == "27000.00"


async def test_a_stay_running_past_the_recorded_death_is_flagged(api: Api,
                                                                 scheme: Scheme) -> None:
    await decided(api, scheme, "death", "2026-05-10", death_date="2026-05-12")
    stay = await allowance(api, scheme, "2026-05-08", "2026-05-25")
    assert "after_death" in codes(stay) and stay["track"] == "manual"
    assert stay["approved"] is None


async def test_a_reopening_does_not_wash_out_who_typed_the_facts(api: Api,
                                                                 scheme: Scheme) -> None:
    body = report_body(scheme, "disability", incident="2026-05-20")
    no = (await supply_all(api, await report(api, body)))["claim_no"]
    await act(api, no, "adjudicate", "supervisor.zhou",
              facts={"disability_levels": [3], "assessment_date": "2026-05-28"})
    await act(api, no, "reject", "supervisor.zhou", reasons=["材料不实"])
    await act(api, no, "reopen", "supervisor.zhou")
    await act(api, no, "adjudicate", "adjuster.li")  # on the facts zhou typed
    refused = await act(api, no, "approve", "supervisor.zhou", expect=403)
    assert refused["error"]["field"] == "action" and "录入" in refused["error"]["message"]
