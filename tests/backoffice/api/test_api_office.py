"""The API's search, history and exports: masking per role in the answers and in the files,
wrong roles, hostile queries, the export's audit, and the indexes the phone and ID look-ups
use (EXPLAIN on SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from typing import Any

from api_testkit import PREFIX, Api
from openpyxl import load_workbook
from sqlalchemy import select, text
from test_api_staff_access import (  # the fixtures too
    PASSWORDS,
    USER_OF_ROLE,
    World,
    clock,
    world,
)

from backoffice.domain.staff import Actor
from backoffice.services import agent_desk, conversations
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import AuditEntry, Party

__all__ = ["clock", "world"]
PHONE = "13811112222"


async def token_of(api: Api, role: str) -> dict[str, str]:
    username = USER_OF_ROLE[role]
    answer = await api.post("/auth/token", {"username": username,
                                            "password": PASSWORDS[username]},
                            auth=False, expect=201)
    return {"Authorization": f"Bearer {answer['access_token']}"}


async def as_role(api: Api, headers: dict[str, str], path: str, expect: int = 200) -> Any:
    return await api.call("GET", path, auth=False, headers=headers, expect=expect)


async def download(api: Api, headers: dict[str, str], path: str) -> tuple[int, bytes, str]:
    async with api.client.get(PREFIX + path, headers=headers) as resp:
        return resp.status, await resp.read(), resp.content_type


async def test_search_answers_masked_for_roles_that_need_not_see_numbers(
        api: Api, world: World) -> None:
    supervisor = await token_of(api, "claims_supervisor")
    agent = await token_of(api, "cs_agent")
    full = await as_role(api, supervisor, f"/search?q={world.members[0]}")
    assert full["taken_as"] == "id_number"
    person = next(h for h in full["items"] if h["kind"] == "person")
    assert person["id_number"] == world.members[0]
    masked = await as_role(api, agent, f"/search?q={world.members[0]}")
    shown = next(h for h in masked["items"] if h["kind"] == "person")
    assert shown["id_number"] == world.members[0][:6] + "********" + world.members[0][-4:]
    assert world.members[0] not in str(masked) and masked["query"] != world.members[0]
    by_phone = await as_role(api, agent, f"/search?q={PHONE}")
    assert {h["ref"] for h in by_phone["items"]} >= {world.claim_no, world.complaint_no}
    assert PHONE not in str(by_phone)
    # the kinds a role may not see are left out; the service token sees all
    underwriter = await token_of(api, "underwriter")
    seen = await as_role(api, underwriter, f"/search?q={world.members[0]}")
    assert {h["kind"] for h in seen["items"]} <= {"person", "policy"}
    every = await api.get(f"/search?q={PHONE}", expect=200)
    assert PHONE in str(every)
    with world.db.read() as s:  # each look-up by ID or phone is in the audit log
        actors = s.execute(select(AuditEntry.actor).where(
            AuditEntry.action == "searched")).scalars().all()
    assert set(actors) == {USER_OF_ROLE["claims_supervisor"], USER_OF_ROLE["cs_agent"],
                           USER_OF_ROLE["underwriter"], "api"}


async def test_hostile_search_queries_are_named_refusals_or_bounded_answers(
        api: Api, world: World) -> None:
    await api.error("GET", "/search", 400, "invalid", "q")
    await api.error("GET", "/search?q=a", 400, "invalid", "q")
    await api.error("GET", "/search?q=" + "x" * 101, 400, "invalid", "q")
    await api.error("GET", "/search?q=ab%01cd", 400, "invalid", "q")
    await api.error("GET", "/search?q=ab%00", 400, "invalid", "q")
    await api.error("GET", "/search?q=ab&limit=51", 400, "invalid", "limit")
    await api.error("GET", "/search?party=-1", 400, "invalid", "party")
    for q in ("%25%25", "__", "'%20OR%201=1%20--", "%25'%3B%20DROP%20TABLE%20claims%3B--",
              "%E2%80%AE%E2%80%AE", "%5C%5C", "林%25"):
        answer = await api.get(f"/search?q={q}", expect=200)
        assert answer["items"] == [], q
    assert len((await api.get(f"/search?q={world.claim_no}"))["items"]) >= 1  # still there


async def test_list_exports_as_files_same_masking_audited(api: Api, world: World) -> None:
    agent = await token_of(api, "cs_agent")
    status, body, ctype = await download(api, agent, "/complaints?format=csv")
    assert status == 200 and ctype == "text/csv"
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "投诉编号" and rows[1][0] == world.complaint_no
    assert PHONE not in body.decode("utf-8-sig") and "138****2222" in rows[1]
    handler = await token_of(api, "complaint_handler")
    status, body, _ = await download(api, handler, "/complaints?format=xlsx")
    sheet = load_workbook(io.BytesIO(body)).active
    assert PHONE in [c.value for row in sheet.iter_rows() for c in row]
    supervisor = await token_of(api, "claims_supervisor")
    status, body, _ = await download(api, supervisor, "/claims?format=xlsx&limit=5")
    claims_rows = list(load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))
    assert [r[0] for r in claims_rows[1:]] == [world.claim_no]
    status, body, _ = await download(api, supervisor, f"/search?q={PHONE}&format=csv")
    assert status == 200 and world.complaint_no in body.decode("utf-8-sig")
    for path in ("/conversations?state=queued&format=csv", "/appeals?format=xlsx",
                 "/home-visits?format=csv", "/tasks?format=xlsx&status=all"):
        who = supervisor if not path.startswith("/home") else handler
        status, _, _ = await download(api, who, path)
        assert status == 200, path
    with world.db.read() as s:
        done = s.execute(select(AuditEntry).where(AuditEntry.entity_type == "export")
                         .order_by(AuditEntry.id)).scalars().all()
    assert [(e.actor, e.entity_id, e.after["format"]) for e in done[:3]] == [
        ("agent.li", "complaints", "csv"), ("handler.wang", "complaints", "xlsx"),
        ("supervisor.zhao", "claims", "xlsx")]
    assert done[0].after["rows"] == 1 and done[0].after["masked"] is True
    assert done[2].after["filters"] == {"limit": "5"}
    # a bad format is named; a role that may not read the list gets no file
    await api.error("GET", "/claims?format=pdf", 400, "invalid", "format")
    adjuster = await token_of(api, "claims_adjuster")
    status, _, _ = await download(api, adjuster, "/complaints?format=csv")
    assert status == 403


async def test_history_and_handler_figures_by_role(api: Api, world: World) -> None:
    cid = world.conversation_id
    conversations.take(world.db, {"conversation_id": cid}, Actor("agent.li", "cs_agent"))
    agent_desk.close(world.db, {"conversation_id": cid, "disposition": "已解决"},
                     Actor("agent.li", "cs_agent"))
    conversations.user_message(world.db, "ivr", PHONE, "来电")
    closed = await api.get("/conversations?state=closed&order=newest", expect=200)
    assert [c["id"] for c in closed["items"]] == [cid]
    detail = await api.get(f"/conversations/{cid}", expect=200)
    assert detail["state"] == "closed" and detail["messages"]
    by_phone = await api.get(f"/conversations?phone={PHONE}", expect=200)
    assert [c["channel"] for c in by_phone["items"]] == ["ivr"]
    agent = await token_of(api, "cs_agent")
    masked = await as_role(api, agent, f"/conversations?phone={PHONE}")
    assert masked["items"] and PHONE not in str(masked)
    await api.error("GET", "/conversations?order=sideways", 400, "invalid", "order")
    await api.error("GET", "/conversations?limit=501", 400, "invalid", "limit")
    supervisor = await token_of(api, "claims_supervisor")
    figures = await as_role(api, supervisor, "/stats/handlers?from=2026-01-01&to=2026-12-31")
    assert any(r["username"] == "agent.li" and r["conversations_closed"] == 1
               for r in figures["items"])
    await as_role(api, agent, "/stats/handlers", expect=403)
    await api.error("GET", "/stats/handlers?from=2026-12-31&to=2026-01-01", 400, "invalid",
                    "from")


def _plan(db: Database, sql: str, **params: Any) -> str:
    with db.engine.connect() as conn:
        if db.is_sqlite:
            rows = conn.execute(text("EXPLAIN QUERY PLAN " + sql), params).all()
            return " | ".join(str(r[-1]) for r in rows)
        conn.execute(text("SET enable_seqscan = off"))  # a tiny table: ask if it CAN
        rows = conn.execute(text("EXPLAIN " + sql), params).all()
        return " | ".join(str(r[0]) for r in rows)


def test_the_phone_id_and_name_look_ups_use_their_indexes(world: World) -> None:
    db = world.db
    with db.read() as s:
        party = s.execute(select(Party).limit(1)).scalar_one()
    checks = {
        # sealed numbers are found by their keyed hash (fieldseal)
        "SELECT * FROM parties WHERE id_number_hash = :v": keyed_hash("id_number",
                                                                      party.id_number),
        "SELECT * FROM parties WHERE phone_hash = :v": keyed_hash("phone", PHONE),
        "SELECT * FROM claims WHERE reporter_phone_hash = :v": keyed_hash("phone", PHONE),
        "SELECT * FROM complaints WHERE complainant_phone_hash = :v": keyed_hash("phone", PHONE),
        "SELECT * FROM conversations WHERE phone = :v": PHONE,
        "SELECT * FROM conversations WHERE user_id = :v": PHONE,
        "SELECT * FROM parties WHERE name >= :v AND name < :v || 'z'": party.name[:1],
    }
    for sql, value in checks.items():
        plan = _plan(db, sql, v=value)
        if db.is_sqlite:
            assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, (sql, plan)
            assert not plan.startswith("SCAN"), (sql, plan)
        else:
            assert "Index" in plan and "Seq Scan" not in plan, (sql, plan)
