"""POST /claims with an Idempotency-Key: a retry answers with the claim it made, a different
body under a used key is a conflict, and concurrent retries never make two claims."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from api_testkit import PREFIX, TOKEN, Api
from test_api_claims_kit import Scheme, clock, report, report_body, scheme

__all__ = ["clock", "scheme"]  # fixtures


async def claims_of(api: Api, id_number: str) -> list[str]:
    answer = await api.get(f"/claims?insured_id_number={id_number}", expect=200)
    return [c["claim_no"] for c in answer["items"]]


async def test_the_same_key_again_answers_200_with_the_same_claim(api: Api,
                                                                  scheme: Scheme) -> None:
    body = report_body(scheme)
    first = await report(api, body, key="wx-msg-4711")
    again = await report(api, body, key="wx-msg-4711", expect=200)
    assert again["claim_no"] == first["claim_no"]
    assert again["status"] == first["status"]
    assert again["missing_documents"] == first["missing_documents"]
    assert await claims_of(api, scheme.members[0]) == [first["claim_no"]]
    # the same body under another key (or none) is another report
    other = await report(api, body, key="wx-msg-4712")
    unkeyed = await report(api, body)
    assert len({first["claim_no"], other["claim_no"], unkeyed["claim_no"]}) == 3
    # a retry after the claim moved on still answers with it, as it is now
    moved = await api.post(f"/claims/{first['claim_no']}/transitions",
                           {"action": "withdraw", "actor": "supervisor.zhao"}, expect=200)
    later = await report(api, body, key="wx-msg-4711", expect=200)
    assert later["claim_no"] == first["claim_no"] and later["status"] == moved["status"]


async def test_the_same_key_with_another_body_is_a_conflict(api: Api, scheme: Scheme) -> None:
    body = report_body(scheme)
    first = await report(api, body, key="ivr-call-99")
    for changed in ({**body, "incident_date": "2026-05-21"},
                    {**body, "reporter": {**body["reporter"], "phone": "13900000000"}},
                    {**body, "insured_id_number": scheme.members[1]},
                    {**body, "facts": {}}):
        err = await api.error("POST", "/claims", 409, "conflict", "Idempotency-Key", changed,
                              headers={"Idempotency-Key": "ivr-call-99"})
        assert "Idempotency-Key" in err["message"]
    assert await claims_of(api, scheme.members[0]) == [first["claim_no"]]
    assert await claims_of(api, scheme.members[1]) == []
    # bad input under a used key is still bad input, not a replay
    await api.error("POST", "/claims", 400, "invalid", "claim_type",
                    {**body, "claim_type": "theft"}, headers={"Idempotency-Key": "ivr-call-99"})


async def test_key_order_in_the_body_does_not_matter(api: Api, scheme: Scheme) -> None:
    body = report_body(scheme)
    first = await report(api, body, key="k-order")
    reordered = dict(reversed(list(body.items())))
    again = await report(api, reordered, key="k-order", expect=200)
    assert again["claim_no"] == first["claim_no"]


async def test_concurrent_retries_with_one_key_make_one_claim(api: Api, scheme: Scheme) -> None:
    body = report_body(scheme, "death", insured=scheme.members[2])
    raw = json.dumps(body, ensure_ascii=False).encode()

    async def send(key: str) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json",
                   "Idempotency-Key": key}
        async with api.client.post(PREFIX + "/claims", data=raw, headers=headers) as resp:
            return resp.status, await resp.json()

    for round_no in range(3):
        key = f"burst-{round_no}"
        answers = await asyncio.gather(*(send(key) for _ in range(8)))
        codes = sorted(status for status, _ in answers)
        assert codes == [200] * 7 + [201], answers
        numbers = {answer["claim_no"] for _, answer in answers}
        assert len(numbers) == 1, answers
    claims = await claims_of(api, scheme.members[2])
    assert len(claims) == 3 and len(set(claims)) == 3
    for no in claims:
        claim = await api.get(f"/claims/{no}", expect=200)
        reports = [e for e in claim["timeline"] if e["action"] == "report"]
        assert len(reports) == 1


async def test_concurrent_different_bodies_under_one_key(api: Api, scheme: Scheme) -> None:
    """One wins; each other answer is its claim (same body) or a conflict (another body)."""
    bodies = [report_body(scheme, incident=f"2026-05-{10 + i:02d}",
                          facts={"admission_date": f"2026-05-{10 + i:02d}",
                                 "discharge_date": "2026-05-30"}) for i in range(4)]

    async def send(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        answer = await api.call("POST", "/claims", json_body=body,
                                headers={"Idempotency-Key": "shared"})
        return answer, body

    results = await asyncio.gather(*(send(b) for b in bodies))
    made = [answer for answer, _ in results if "claim_no" in answer]
    refused = [answer for answer, _ in results if "error" in answer]
    assert len(made) == 1 and len(refused) == 3
    assert all(e["error"]["code"] == "conflict" for e in refused)
    assert len(await claims_of(api, scheme.members[0])) == 1


async def test_bad_keys_are_refused_and_make_nothing(api: Api, scheme: Scheme) -> None:
    body = report_body(scheme)
    for key in ("k" * 201, ""):  # control characters: see test_api_claims_bad_input
        await api.error("POST", "/claims", 400, "invalid", "Idempotency-Key", body,
                        headers={"Idempotency-Key": key})
    assert await claims_of(api, scheme.members[0]) == []
    longest = await report(api, body, key="k" * 200)
    assert (await report(api, body, key="k" * 200, expect=200))["claim_no"] == \
        longest["claim_no"]
