"""Who looked, for lists, searches and exports: one entry per display shown unmasked, its
filters masked and its count kept; a search by ID number names the person it found; a masked
role leaves nothing; and every route or operation that may show personal data unmasked is
declared as showing it (a record or a list) or as showing nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp.test_utils import TestClient
from desk_testkit import PASSWORDS, World
from sqlalchemy import select

from backoffice.api.declare import PUBLIC
from backoffice.api.operations import OPERATIONS
from backoffice.demo.staff import USER_OF_ROLE
from backoffice.desk.app import ROUTES, SHOWS, SHOWS_NOTHING
from backoffice.domain import access_log as al
from backoffice.domain import staff as roles
from backoffice.domain.identity import mask_id_number
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import AccessLogEntry, Party

Desk = Callable[[str | None], Awaitable[TestClient]]
COLUMNS = ("staff", "role", "record_kind", "record_id", "door", "purpose")


def _rows(world: World) -> list[AccessLogEntry]:
    with world.db.read() as s:
        return list(s.execute(select(AccessLogEntry).where(
            AccessLogEntry.record_kind != "access_log").order_by(AccessLogEntry.id)).scalars())


async def _token(client: TestClient, role: str) -> dict[str, str]:
    user = USER_OF_ROLE[role]
    resp = await client.post("/api/v1/auth/token",
                             json={"username": user, "password": PASSWORDS[user]})
    assert resp.status == 201, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['access_token']}"}


def _party_id(world: World, id_number: str) -> int:
    with world.db.read() as s:
        return s.execute(select(Party.id).where(
                Party.id_number_hash == keyed_hash("id_number", id_number))).scalar_one()


async def test_a_search_by_id_number_names_the_person_never_the_number(
        desk: Desk, world: World) -> None:
    wanted = world.members[1]  # a member with no claim, task or request: nobody's work
    supervisor = await desk("claims_supervisor")
    headers = await _token(supervisor, "claims_supervisor")
    assert (await supervisor.get("/desk/search", params={"q": wanted})).status == 200
    resp = await supervisor.get("/api/v1/search", params={"q": f" {wanted} "}, headers=headers)
    assert resp.status == 200 and wanted in await resp.text()  # shown unmasked
    rows = _rows(world)
    party = str(_party_id(world, wanted))
    assert [(e.record_kind, e.record_id, e.door, e.with_work) for e in rows] == [
        ("list", f"/desk/search?q={mask_id_number(wanted)}", "desk", True),
        ("party", party, "desk", False),
        ("list", f"search?q={mask_id_number(wanted)}", "api", True),
        ("party", party, "api", False)]
    for entry in rows:  # the number searched for is nowhere in the row, in any form
        for column in COLUMNS:
            value = str(getattr(entry, column))
            assert wanted not in value and wanted[-10:] not in value, (column, value)
    assert rows[0].purpose.startswith("/desk/search · ") and rows[0].purpose.endswith(" 条")
    # the report: the person looked up is a record opened without work; a list is no record
    report = await supervisor.get("/api/v1/access-log/unusual", headers=headers)
    (day,) = [i for i in (await report.json())["items"] if i["staff"] == rows[0].staff]
    assert (day["records"], day["lists"], day["without_work"]) == (1, 2, 1)
    assert day["flags"] == ["no_work"] and day["without_work_records"] == [f"party:{party}"]


async def test_an_export_leaves_one_entry_with_its_count(desk: Desk, world: World) -> None:
    supervisor = await desk("claims_supervisor")
    headers = await _token(supervisor, "claims_supervisor")
    resp = await supervisor.get("/api/v1/claims", params={"format": "csv", "limit": "50"},
                                headers=headers)
    assert resp.status == 200, await resp.text()
    count = int(resp.headers["X-Export-Rows"])
    assert count >= 1
    page = await supervisor.get("/desk/claims", params={"format": "xlsx"})
    assert page.status == 200
    rows = _rows(world)
    assert [(e.record_kind, e.record_id, e.purpose) for e in rows] == [
        ("list", "findClaims", f"findClaims · {count} 条"),
        ("list", "/desk/claims", f"/desk/claims · {count} 条")]


async def test_a_masked_role_s_lists_and_searches_leave_nothing(
        desk: Desk, world: World) -> None:
    agent = await desk("cs_agent")
    headers = await _token(agent, "cs_agent")
    assert (await agent.get("/desk/search", params={"q": world.members[1]})).status == 200
    assert (await agent.get("/desk/complaints")).status == 200
    assert (await agent.get("/desk/conversations", params={"format": "csv"})).status == 200
    resp = await agent.get("/api/v1/search", params={"q": world.members[1]}, headers=headers)
    assert resp.status == 200 and world.members[1] not in await resp.text()
    assert (await agent.get("/api/v1/complaints", headers=headers)).status == 200
    assert _rows(world) == []


async def test_an_empty_search_or_a_refused_one_leaves_nothing(
        desk: Desk, world: World) -> None:
    supervisor = await desk("claims_supervisor")
    assert (await supervisor.get("/desk/search")).status == 200  # the empty box
    assert (await supervisor.get("/desk/claims", params={"format": "pdf"})).status == 400
    assert _rows(world) == []


def test_list_descriptions_keep_no_personal_value_in_clear() -> None:
    described = al.list_record_id("findX", {
        "phone": "138 0013 8000", "q": "１１０１０１１９８００５０６０１２３", "name": "张三丰"}
    ) + al.list_record_id("findX", {
        "party": "42", "status": "open", "format": "csv", "limit": "9",
        "110101198005060123": "x", "category": "王五"})
    for clear in ("13800138000", "0013 8000", "张三丰", "三丰", "０５０６０１２３",
                  "110101198005060123", "王五"):
        assert clear not in described, clear
    assert "status=open" in described and "?=x" in described and "party=42" in described
    assert "format" not in described and "limit" not in described
    assert len(al.list_record_id("findX", {f"k{i}": "v" * 30 for i in range(9)})) == 80
    assert al.list_record_id("search", {"q": "C2026060100001"}) == "search?q=C2026060100001"
    assert al.list_record_id("findX", {"q": "a" * 500}) == "findX?q=a＊"
    assert al.looked_up({"q": "110101198005060123", "name": "张三", "party": "42",
                         "status": "open"}) == [("party", "42"), ("number", "110101198005060123")]


# ---- every display of personal data is declared -----------------------------------------------

_PERSONAL = ("id_number", "phone", "card_number", "account", "bank_account")


def _fields(schema: Any, defs: dict[str, Any], seen: set[str]) -> Iterator[str]:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.split("/")[-1] not in seen:
            seen.add(ref.split("/")[-1])
            yield from _fields(defs.get(ref.split("/")[-1], {}), defs, seen)
        if isinstance(schema.get("properties"), dict):
            yield from schema["properties"]
        for value in schema.values():
            yield from _fields(value, defs, seen)
    elif isinstance(schema, list):
        for value in schema:
            yield from _fields(value, defs, seen)


def _answers_personal(answer: Any) -> bool:
    if not isinstance(answer, type) or not hasattr(answer, "model_json_schema"):
        return False
    schema = answer.model_json_schema()
    return any(f.endswith(_PERSONAL) for f in _fields(schema, schema.get("$defs", {}), set()))


def test_every_operation_that_may_show_personal_data_unmasked_is_declared() -> None:
    """An operation some staff role may call and see unmasked, whose answer holds a field the
    masking hides (an ID, phone or account number) or that exports a list, declares what it
    shows: a record's field, `al.LIST`, or `al.NOTHING`."""
    undeclared = []
    for op in OPERATIONS:
        unmasked = op.permission != PUBLIC and any(
            roles.allowed(r, op.permission) and roles.sees_pii(r, op.pii_area)
            for r in roles.ROLES)
        if unmasked and (_answers_personal(op.answer) or op.export) and not op.shows:
            undeclared.append(op.operation_id)
        if op.export:
            assert op.shows == al.LIST, op.operation_id
        if op.shows not in ("", al.LIST, al.NOTHING):
            assert op.shows in al.RECORD_FIELDS, op.operation_id
    assert undeclared == []


def test_every_desk_page_is_declared_showing_or_not() -> None:
    pages = {(m, p) for m, p, _, _ in ROUTES if m == "GET"}
    assert set(SHOWS) | SHOWS_NOTHING <= pages
    assert not set(SHOWS) & SHOWS_NOTHING
    assert sorted(pages - set(SHOWS) - SHOWS_NOTHING) == []
    for field, _ in SHOWS.values():
        assert field == al.LIST or field in al.RECORD_FIELDS


async def test_a_write_whose_answer_echoes_the_record_is_an_entry(
        desk: Desk, world: World) -> None:
    handler = await desk("complaint_handler")
    headers = await _token(handler, "complaint_handler")
    made = await handler.post("/api/v1/complaints", headers=headers, json={
        "channel": "wechat", "user": "wechat:o-openid-9", "category": "claims",
        "complainant": {"name": "陈美玲", "phone": "13912345678"}, "description": "理赔太慢"})
    assert made.status == 201, await made.text()
    no = (await made.json())["complaint_no"]
    taken = await handler.post(f"/api/v1/complaints/{no}/transitions", headers=headers,
                               json={"action": "take"})
    assert taken.status == 200, await taken.text()
    refused = await handler.post(f"/api/v1/complaints/{no}/transitions", headers=headers,
                                 json={"action": "explode"})
    assert refused.status == 400  # a refused write shows nothing
    assert [(e.record_kind, e.record_id, e.purpose) for e in _rows(world)] == [
        ("complaint", no, "intakeComplaint"), ("complaint", no, "transitionComplaint")]


async def test_a_list_filtered_by_a_person_s_number_names_them(
        desk: Desk, world: World) -> None:
    wanted = world.members[2]
    underwriter = await desk("underwriter")
    headers = await _token(underwriter, "underwriter")
    resp = await underwriter.get("/api/v1/policies", params={"id_number": wanted},
                                 headers=headers)
    assert resp.status == 200 and len((await resp.json())["items"]) == 1
    party = str(_party_id(world, wanted))
    assert [(e.record_kind, e.record_id, e.purpose.split(" · ")[0]) for e in _rows(world)] == [
        ("list", f"findPolicies?id_number={mask_id_number(wanted)}", "findPolicies"),
        ("party", party, "findPolicies")]


async def test_a_person_opened_by_id_number_is_logged_by_party_id(desk: Desk,
                                                                    world: World) -> None:
    """The log outlives an erasure and cannot be changed: it names people by party id, and
    a supervisor looking a person up in it by ID number finds them without writing it."""
    wanted = world.members[2]
    supervisor = await desk("claims_supervisor")
    headers = await _token(supervisor, "claims_supervisor")
    assert (await supervisor.get(f"/api/v1/parties/{wanted}", headers=headers)).status == 200
    party = str(_party_id(world, wanted))
    assert [(e.record_kind, e.record_id) for e in _rows(world)] == [("party", party)]
    found = await supervisor.get("/api/v1/access-log", headers=headers,
                                 params={"record_kind": "party", "record_id": wanted})
    assert found.status == 200
    assert [i["record_id"] for i in (await found.json())["items"]] == [party]
    with world.db.read() as s:
        for entry in s.execute(select(AccessLogEntry)).scalars():
            for column in COLUMNS:
                assert wanted not in str(getattr(entry, column)), (column, entry.record_id)
