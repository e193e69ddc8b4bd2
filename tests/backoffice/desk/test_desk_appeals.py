"""The desk's appeals queue (复核申请): open appeals oldest first, the rejection's reasons beside
the customer's, the decision form for a supervisor who did not take the rejection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient
from desk_testkit import CSRF, World

from backoffice.services import appeals, claims

Desk = Callable[[str | None], Awaitable[TestClient]]


def rejected_and_appealed(world: World, member: int, rejected_by: str, reasons: str) -> str:
    _, claim = claims.report(world.db, {
        "policy_no": world.group_policy_no, "insured_id_number": world.members[member],
        "claim_type": "death", "incident_date": "2026-05-20", "incident_place": "峡山",
        "description": "在家摔倒", "channel": "wechat",
        "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"}})
    claims.transition(world.db, {"claim_no": claim["claim_no"], "action": "reject",
                                 "reasons": [f"拒赔理由{member}"]}, rejected_by)
    return str(appeals.file(world.db, {"claim_no": claim["claim_no"], "reasons": reasons},
                            "agent.li")["appeal_no"])


async def post(client: TestClient, no: str, **form: str) -> str:
    page = await client.get("/desk/appeals")
    token = CSRF.search(await page.text())
    assert token
    resp = await client.post(f"/desk/appeals/{no}/act", data={"csrf_token": token.group(1),
                                                              **form}, allow_redirects=False)
    assert resp.status == 302
    return str(resp.headers["Location"])


async def test_the_queue_and_a_decision_by_another_supervisor(desk: Desk, world: World) -> None:
    first = rejected_and_appealed(world, 1, "supervisor.qian", "第一份<script>x</script>理由")
    own = rejected_and_appealed(world, 2, "supervisor.zhao", "第二份理由")
    supervisor = await desk("claims_supervisor")  # supervisor.zhao
    text = await (await supervisor.get("/desk/appeals")).text()
    assert text.index(first) < text.index(own)  # oldest first
    assert "拒赔理由1" in text and "第一份&lt;script&gt;" in text and "<script>x" not in text
    assert f'action="/desk/appeals/{first}/act"' in text
    assert f'action="/desk/appeals/{own}/act"' not in text and "四眼原则" in text

    assert "err=" in await post(supervisor, own, action="reopen")  # their own rejection
    assert "err=" in await post(supervisor, first, action="uphold", note="  ")
    assert "msg=" in await post(supervisor, first, action="uphold", note="病历不改变结论")
    assert appeals.get(world.db, {"appeal_no": first})["status"] == "upheld"
    assert appeals.get(world.db, {"appeal_no": own})["status"] == "open"
    text = await (await supervisor.get("/desk/appeals")).text()
    assert first not in text and own in text

    agent = await desk("cs_agent")  # sees the queue, decides nothing
    text = await (await agent.get("/desk/appeals")).text()
    assert own in text and "/act" not in text


async def file(client: TestClient, **form: str) -> str:
    page = await client.get("/desk/appeals")
    token = CSRF.search(await page.text())
    assert token
    resp = await client.post("/desk/appeals", data={"csrf_token": token.group(1), **form},
                             allow_redirects=False)
    assert resp.status == 302
    return str(resp.headers["Location"])


async def test_an_agent_files_an_appeal_for_the_customer(desk: Desk, world: World) -> None:
    _, claim = claims.report(world.db, {
        "policy_no": world.group_policy_no, "insured_id_number": world.members[1],
        "claim_type": "death", "incident_date": "2026-05-20", "incident_place": "峡山",
        "description": "在家摔倒", "channel": "wechat",
        "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"}})
    no = claim["claim_no"]
    agent = await desk("cs_agent")
    assert "err=" in await file(agent, claim_no=no, reasons="不服")  # not rejected yet
    claims.transition(world.db, {"claim_no": no, "action": "reject", "reasons": ["猝死"]},
                      "supervisor.qian")
    assert "err=" in await file(agent, claim_no=no, reasons="   ")
    assert "msg=" in await file(agent, claim_no=no, reasons="老人是摔倒的", channel="phone")
    assert "err=" in await file(agent, claim_no=no, reasons="再交一次")  # one open per claim
    [item] = appeals.search(world.db, {"claim_no": no})
    assert item["filed_by"] == "agent.li" and item["channel"] == "phone"
    assert item["reasons"] == "老人是摔倒的"
