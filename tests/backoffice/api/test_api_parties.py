"""Parties (信息更新 with history), service outlets and the audit log over HTTP."""

from __future__ import annotations

from datetime import date
from typing import Any

from api_testkit import Api, application, id_number, issue_policy, person

from backoffice.services.outlets import install_outlets
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash

OUTLETS: list[dict[str, Any]] = [
    {"code": "T-XS-01", "name": "峡山街道服务点", "town": "峡山街道",
     "address": "潮南区峡山街道测试路1号", "phone": "0754-80000001",
     "opening_hours": {"mon-fri": "08:30-17:30"}, "opening_hours_text": "周一至周五 8:30–17:30",
     "services": ["claims", "enrollment"], "latitude": 23.25, "longitude": 116.42},
    {"code": "T-LY-01", "name": "两英镇服务点", "town": "两英镇",
     "address": "潮南区两英镇测试路2号", "phone": "0754-80000002",
     "opening_hours": {"mon-sat": "09:00-17:00"}, "opening_hours_text": "周一至周六 9:00–17:00",
     "services": ["claims"], "latitude": None, "longitude": None},
    {"code": "T-XS-02", "name": "峡山街道第二服务点", "town": "峡山街道",
     "address": "潮南区峡山街道测试路3号", "phone": "0754-80000003",
     "opening_hours": {}, "opening_hours_text": "预约上门", "services": ["home_visit"],
     "latitude": 23.26, "longitude": 116.43},
]


async def test_party_update_keeps_masked_history(api: Api) -> None:
    birth = date(1985, 9, 9)
    idn = id_number(birth, 246)
    await issue_policy(api, application(person("周六", birth, 246, phone="13811112222")))
    path = f"/parties/{idn}"

    before = await api.get(path, expect=200)
    assert before["party"]["name"] == "周六"
    assert before["party"]["phone"] == "138****2222"
    assert before["party"]["id_number"] == idn[:6] + "********" + idn[-4:]
    assert before["updates"] == []

    changed = await api.patch(path, {"phone": "139 3333 4444", "address": "潮南区新地址8号",
                                     "actor": "desk-li"}, expect=200)
    assert changed["changed"] == ["address", "phone"]
    assert changed["party"]["phone"] == "139****4444"
    same = await api.patch(path, {"phone": "13933334444"}, expect=200)
    assert same["changed"] == []
    await api.patch(path, {"occupation": "教师", "occupation_class": 2},
                    headers={"X-Actor": "wechat"}, expect=200)

    after = await api.get(path, expect=200)
    updates = {u["field"]: u for u in after["updates"]}
    assert set(updates) == {"phone", "address", "occupation", "occupation_class"}
    assert (updates["phone"]["before"], updates["phone"]["after"]) == ("138****2222",
                                                                       "139****4444")
    assert (updates["address"]["before"], updates["address"]["after"]) == (None,
                                                                           "潮南区新地址8号")
    assert updates["phone"]["actor"] == "api"  # the token acts, not the body's "desk-li"
    assert updates["occupation"]["actor"] == "api"  # nor the X-Actor header
    assert updates["occupation_class"]["after"] == "2"
    assert after["party"]["occupation_class"] == 2
    assert "13811112222" not in str(after) and "13933334444" not in str(after)

    found = await api.get(f"/policies?id_number={idn}", expect=200)
    assert found["items"][0]["insured"]["phone"] == "139****4444"

    await api.error("PATCH", path, 400, "invalid", "name", {"name": "改名"})
    await api.error("PATCH", path, 400, "invalid", "phone", {"phone": "12345"})
    await api.error("PATCH", path, 400, "invalid", "occupation_class",
                    {"occupation_class": 9})
    await api.error("PATCH", path, 400, "invalid", "body", {})
    await api.error("PATCH", path, 400, "invalid", "body", {"actor": "only-actor"})
    unknown = id_number(date(1970, 1, 1), 2)
    await api.error("PATCH", f"/parties/{unknown}", 404, "not_found", "id_number",
                    {"phone": "13900000000"})
    await api.error("GET", f"/parties/{unknown}", 404, "not_found", "id_number")
    await api.error("GET", "/parties/123", 400, "invalid", "id_number")
    unchanged = await api.get(path, expect=200)
    assert unchanged == after


async def test_party_changes_are_in_the_audit_log(api: Api, db: Database) -> None:
    from sqlalchemy import select

    from backoffice.store.models import Party

    birth = date(1979, 4, 4)
    idn = id_number(birth, 468)
    await issue_policy(api, application(person("吴七", birth, 468)))
    await api.patch(f"/parties/{idn}", {"phone": "13700001111"},
                    headers={"X-Actor": "agent-007"}, expect=200)
    with db.read() as s:
        party_id = s.execute(select(Party.id).where(
                Party.id_number_hash == keyed_hash("id_number", idn))).scalar_one()
    log = await api.get(f"/audit?entity_type=party&entity_id={party_id}", expect=200)
    actions = [(x["action"], x["actor"]) for x in log["items"]]
    assert actions == [("register", "api"), ("party_update", "api")]  # X-Actor decides nothing
    update = log["items"][1]
    assert update["before"] == {"phone": "138****8000"}
    assert update["after"] == {"phone": "137****1111"}
    assert idn not in str(log)


async def test_audit_needs_type_and_id(api: Api) -> None:
    await api.error("GET", "/audit", 400, "invalid", "entity_type")
    await api.error("GET", "/audit?entity_type=policy", 400, "invalid", "entity_id")
    await api.error("GET", "/audit?entity_id=P1", 400, "invalid", "entity_type")
    assert await api.get("/audit?entity_type=policy&entity_id=P0", expect=200) == {
        "items": []}
    products = await api.get("/audit?entity_type=product&entity_id=PA-GUARD", expect=200)
    assert products["items"][0]["action"] == "install"


async def test_service_outlets(api: Api, db: Database) -> None:
    assert await api.get("/service-outlets", expect=200) == {"items": []}
    assert install_outlets(db, OUTLETS) == 3
    assert install_outlets(db, OUTLETS) == 0
    everything = await api.get("/service-outlets", expect=200)
    assert [o["code"] for o in everything["items"]] == ["T-LY-01", "T-XS-01", "T-XS-02"]
    first = everything["items"][1]
    assert first == OUTLETS[0]
    in_town = await api.get("/service-outlets?town=峡山", expect=200)
    assert [o["code"] for o in in_town["items"]] == ["T-XS-01", "T-XS-02"]
    claims = await api.get("/service-outlets?service=claims", expect=200)
    assert [o["code"] for o in claims["items"]] == ["T-LY-01", "T-XS-01"]
    both = await api.get("/service-outlets?town=峡山&service=home_visit", expect=200)
    assert [o["code"] for o in both["items"]] == ["T-XS-02"]
    assert await api.get("/service-outlets?town=火星", expect=200) == {"items": []}
    assert await api.get("/service-outlets?town=%25", expect=200) == {"items": []}
    assert await api.get("/service-outlets?town=_", expect=200) == {"items": []}
