"""Approval on the desk uses the logged-in role's authority limit, never a role the form
names: above the adjuster's limit the claim escalates to the supervisor, who approves it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest
from aiohttp.test_utils import TestClient
from desk_testkit import CSRF, World

from backoffice.domain import claim as cl
from backoffice.services import claims

Desk = Callable[[str | None], Awaitable[TestClient]]


async def approve(client: TestClient, claim_no: str, **extra: str) -> None:
    page = await client.get(f"/desk/claims/{claim_no}")
    token = CSRF.search(await page.text())
    assert token
    resp = await client.post(f"/desk/claims/{claim_no}/act", data={
        "csrf_token": token.group(1), "action": "approve", **extra}, allow_redirects=False)
    assert resp.status == 302 and "msg=" in resp.headers["Location"], resp.headers["Location"]


async def test_escalation_above_the_adjusters_limit(desk: Desk, world: World,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # the demo scheme's death benefit is 3,000 元: lower the adjuster's limit below it
    monkeypatch.setitem(cl.DEFAULT_LIMITS, "adjuster", Decimal("1000"))
    _, claim = claims.report(world.db, {
        "policy_no": world.group_policy_no, "insured_id_number": world.members[1],
        "claim_type": "death", "incident_date": "2026-05-20", "incident_place": "峡山",
        "description": "交通事故", "channel": "wechat",
        "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"},
        "facts": {"death_date": "2026-05-20", "cause": "accident"}})
    no = claim["claim_no"]
    # four eyes: another adjuster waives and adjudicates, the desk's adjuster approves
    claims.transition(world.db, {"claim_no": no, "action": "documents_complete",
                                 "waive_missing": True}, "adjuster.li")
    claims.transition(world.db, {"claim_no": no, "action": "adjudicate"}, "adjuster.li")
    adjuster = await desk("claims_adjuster")
    await approve(adjuster, no, role="branch_head")  # the form's role is ignored
    after = claims.get_claim(world.db, no)
    assert (after["status"], after["approval_role"]) == ("pending_approval", "supervisor")
    assert after["timeline"][-1]["action"] == "escalate"
    supervisor = await desk("claims_supervisor")
    await approve(supervisor, no)
    done = claims.get_claim(world.db, no)
    assert done["status"] == "approved" and done["approved"] == "3000.00"
    assert done["timeline"][-1]["actor"] == "supervisor.zhao"


async def test_the_desk_refuses_an_approval_by_the_adjudicator(desk: Desk, world: World) -> None:
    _, claim = claims.report(world.db, {
        "policy_no": world.group_policy_no, "insured_id_number": world.members[1],
        "claim_type": "death", "incident_date": "2026-05-20", "incident_place": "峡山",
        "description": "交通事故", "channel": "wechat",
        "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"},
        "facts": {"death_date": "2026-05-20", "cause": "accident"}})
    no = claim["claim_no"]
    claims.transition(world.db, {"claim_no": no, "action": "documents_complete",
                                 "waive_missing": True}, "adjuster.chen")
    claims.transition(world.db, {"claim_no": no, "action": "adjudicate"}, "adjuster.chen")
    adjuster = await desk("claims_adjuster")  # adjuster.chen himself
    page = await adjuster.get(f"/desk/claims/{no}")
    token = CSRF.search(await page.text())
    assert token
    resp = await adjuster.post(f"/desk/claims/{no}/act", data={
        "csrf_token": token.group(1), "action": "approve"})
    text = await resp.text()
    assert resp.status == 200 and "双人复核" in text and "不能审批本案" in text
    assert claims.get_claim(world.db, no)["status"] == "adjudicated"


async def test_the_desk_changes_a_claims_type_from_the_claim_page(desk: Desk,
                                                                 world: World) -> None:
    """The type offered in plain words on the action form; the change is the logged-in
    adjuster's, and a reason is required."""
    _, claim = claims.report(world.db, {
        "policy_no": world.group_policy_no, "insured_id_number": world.members[1],
        "claim_type": "death", "incident_date": "2026-05-20", "incident_place": "峡山",
        "description": "摔倒", "channel": "wechat",
        "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"}})
    no = claim["claim_no"]
    adjuster = await desk("claims_adjuster")
    page = await (await adjuster.get(f"/desk/claims/{no}")).text()
    assert '<option value="disability">意外伤残</option>' in page
    token = CSRF.search(page)
    assert token
    refused = await adjuster.post(f"/desk/claims/{no}/act", data={
        "csrf_token": token.group(1), "action": "change_type", "claim_type": "disability"},
        allow_redirects=False)
    assert "err=" in refused.headers["Location"]
    assert claims.get_claim(world.db, no)["claim_type"] == "death"
    done = await adjuster.post(f"/desk/claims/{no}/act", data={
        "csrf_token": token.group(1), "action": "change_type", "claim_type": "disability",
        "note": "家属更正：人还在，骨折致残"}, allow_redirects=False)
    assert "msg=" in done.headers["Location"], done.headers["Location"]
    after = claims.get_claim(world.db, no)
    assert after["claim_type"] == "disability"
    assert (after["timeline"][-1]["action"], after["timeline"][-1]["actor"]) == (
        "change_type", "adjuster.chen")
