"""Who looked, through the real doors: a staff member shown a claim, a party or a document
unmasked on the desk or through the API leaves exactly one entry; a masked role leaves none;
only a claims supervisor reads the log and the unusual-access report (desk pages and API), and
the report flags a record opened without work on it, not an adjuster's own claim."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from desk_testkit import PASSWORDS, World, login
from sqlalchemy import select, update

from backoffice.demo.staff import USER_OF_ROLE
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import AccessLogEntry, ClaimRow, Party

Desk = Callable[[str | None], Awaitable[TestClient]]


def _entries(world: World) -> list[tuple[str, str, str, str, str, str, bool]]:
    with world.db.read() as s:
        return [(e.staff, e.role, e.record_kind, e.record_id, e.door, e.purpose, e.with_work)
                for e in s.execute(select(AccessLogEntry).where(
                    AccessLogEntry.record_kind != "access_log").order_by(AccessLogEntry.id))
                .scalars()]


async def _token(client: TestClient, role: str) -> dict[str, str]:
    user = USER_OF_ROLE[role]
    resp = await client.post("/api/v1/auth/token",
                             json={"username": user, "password": PASSWORDS[user]})
    assert resp.status == 201, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['access_token']}"}


async def test_an_unmasked_page_or_answer_leaves_exactly_one_entry(
        desk: Desk, world: World) -> None:
    client = await desk("claims_adjuster")
    who, role = USER_OF_ROLE["claims_adjuster"], "claims_adjuster"
    assert (await client.get(f"/desk/claims/{world.claim_no}")).status == 200
    doc = f"/desk/claims/{world.claim_no}/documents/{world.document_id}"
    assert (await client.get(doc)).status == 200
    headers = await _token(client, "claims_adjuster")
    party = world.members[0]
    assert (await client.get(f"/api/v1/parties/{party}", headers=headers)).status == 200
    with world.db.read() as s:
        party_id = str(s.execute(select(Party.id).where(
                Party.id_number_hash == keyed_hash("id_number", party))).scalar_one())
    assert (await client.get(f"/api/v1/claims/{world.claim_no}", headers=headers)).status == 200
    # a record that is not there writes nothing; a list is one entry, not one per row
    assert (await client.get("/desk/claims/R-NONE")).status == 404
    assert (await client.get("/api/v1/parties/110101198005060123",
                             headers=headers)).status in (400, 404)
    assert (await client.get("/desk/claims")).status == 200
    assert _entries(world) == [
        (who, role, "claim", world.claim_no, "desk", "/desk/claims/{claim_no}", True),
        (who, role, "document", str(world.document_id), "desk",
         "/desk/claims/{claim_no}/documents/{document_id}", True),
        (who, role, "party", party_id, "api", "getParty", True),  # never the ID number
        (who, role, "claim", world.claim_no, "api", "getClaim", True),
        (who, role, "list", "/desk/claims", "desk", "/desk/claims · 1 条", True)]


async def test_a_masked_role_leaves_no_entry(desk: Desk, world: World) -> None:
    client = await desk("cs_agent")
    assert (await client.get(f"/desk/complaints/{world.complaint_no}")).status == 200
    assert (await client.get(f"/desk/conversations/{world.conversation_id}")).status == 200
    headers = await _token(client, "cs_agent")
    resp = await client.get(f"/api/v1/parties/{world.members[0]}", headers=headers)
    assert resp.status == 200
    assert world.members[0] not in await resp.text()  # masked: nothing to log
    assert _entries(world) == []


async def test_only_a_supervisor_reads_the_log_and_the_report(desk: Desk, world: World) -> None:
    for role in ("claims_adjuster", "cs_agent", "complaint_handler", "underwriter",
                 "administrator"):
        client = await desk(role)
        for path in ("/desk/supervisor/access-log", "/desk/supervisor/unusual-access"):
            assert (await client.get(path)).status == 403, (role, path)
        headers = await _token(client, role)
        for path in ("/api/v1/access-log", "/api/v1/access-log/unusual"):
            resp = await client.get(path, headers=headers)
            assert resp.status == 403, (role, path)
            assert (await resp.json())["error"]["field"] == "Authorization"
    assert (await (await desk(None)).get("/api/v1/access-log")).status == 401
    with world.db.read() as s:
        assert s.query(AccessLogEntry).count() == 0  # refusals read nothing, log nothing


async def _report(client: TestClient, headers: dict[str, str], **query: str) -> dict[str, Any]:
    resp = await client.get("/api/v1/access-log/unusual", params=query, headers=headers)
    assert resp.status == 200, await resp.text()
    return {i["staff"]: i for i in (await resp.json())["items"]}


async def test_the_report_flags_opening_another_s_claim_not_one_s_own(
        desk: Desk, world: World) -> None:
    with world.db.transaction() as s:  # the claim is adjuster.zhou's to work on
        s.execute(update(ClaimRow).where(ClaimRow.claim_no == world.claim_no)
                  .values(handler="adjuster.zhou"))
    chen = await desk("claims_adjuster")
    assert (await chen.get(f"/desk/claims/{world.claim_no}")).status == 200
    zhou = await desk(None)
    await login(zhou, "adjuster.zhou", PASSWORDS["adjuster.zhou"])
    assert (await zhou.get(f"/desk/claims/{world.claim_no}")).status == 200

    supervisor = await desk("claims_supervisor")
    headers = await _token(supervisor, "claims_supervisor")
    days = await _report(supervisor, headers)
    assert days["adjuster.chen"]["flags"] == ["no_work"]
    assert days["adjuster.chen"]["without_work_records"] == [f"claim:{world.claim_no}"]
    assert days["adjuster.zhou"]["flags"] == []
    page = await supervisor.get("/desk/supervisor/unusual-access")
    html = await page.text()
    assert page.status == 200 and 'class="flagged"' in html and "未分配给本人" in html
    log = await supervisor.get("/api/v1/access-log", params={"staff": "adjuster.chen"},
                               headers=headers)
    (item,) = (await log.json())["items"]
    assert (item["record_id"], item["with_work"]) == (world.claim_no, False)
    bad = await supervisor.get("/api/v1/access-log", params={"record_kind": "x"},
                               headers=headers)
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "record_kind"
    # every reading of the log, by page or by API, is in the log itself
    with world.db.read() as s:
        readings = [e.purpose for e in s.execute(select(AccessLogEntry).where(
            AccessLogEntry.record_kind == "access_log").order_by(AccessLogEntry.id)).scalars()]
    assert readings == ["getUnusualAccess", "/desk/supervisor/unusual-access", "getAccessLog"]
