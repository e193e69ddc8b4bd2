"""Requests of the data subject filed by the bot (POST /channel/privacy-requests): the channel
user's binding is the person, the proof the bot's identification took is checked again by the
channels' rule, the request is recorded with the channel and channel user; a second open one
of the same kind is the first's number; only the service token files them."""

from __future__ import annotations

import asyncio
from typing import Any

from api_testkit import Api
from sqlalchemy import func, select
from test_api_claims_kit import Scheme, clock, scheme, staff_headers
from test_api_privacy_requests import SUPERVISOR, as_staff, person

from backoffice.store.db import Database
from backoffice.store.models import Party, PrivacyRequestRow

__all__ = ["clock", "scheme"]  # fixtures

PATH = "/channel/privacy-requests"


async def bind(api: Api, p: Party, user: str, channel: str = "wechat") -> None:
    await api.post("/bindings", {"channel": channel, "user": user, "id_number": p.id_number,
                                 "phone": p.phone}, expect=200)


def filed(user: str, p: Party, kind: str = "access", **extra: Any) -> dict[str, Any]:
    return {"channel": "wechat", "user": user, "kind": kind, "phone": p.phone, **extra}


def count(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(PrivacyRequestRow)).scalar_one())


async def test_the_bound_customer_files_access_and_a_second_is_the_same(
        api: Api, scheme: Scheme, db: Database) -> None:
    me = person(db, scheme.members[0])
    await bind(api, me, "o-chat-me")
    made = await api.post(PATH, filed("o-chat-me", me), expect=201)
    assert made["privacy_request_no"].startswith("GR")
    assert (made["kind"], made["channel"], made["status"], made["verified_by"]) == (
        "access", "chat", "received", "phone")
    assert (made["user_channel"], made["channel_user"], made["replay"]) == (
        "wechat", "o-chat-me", False)
    assert made["party"]["id_number"] == me.id_number
    assert made["steps"][0]["actor"] == "customer"
    seen = await as_staff(api, "GET", f"/privacy-requests/{made['privacy_request_no']}")
    assert (seen["channel_user"], seen["received_by"]) == ("o-chat-me", "customer")
    assert seen["due_by"] == made["due_by"]

    again = await api.post(PATH, filed("o-chat-me", me, details="再问一次"), expect=201)
    assert (again["privacy_request_no"], again["replay"]) == (made["privacy_request_no"], True)
    assert count(db) == 1
    # another kind is another request; a refused one no longer stands in the way
    deletion = await api.post(PATH, filed("o-chat-me", me, "deletion"), expect=201)
    assert deletion["privacy_request_no"] != made["privacy_request_no"]
    no = made["privacy_request_no"]
    await as_staff(api, "POST", f"/privacy-requests/{no}/steps",
                   {"action": "refuse", "note": "已当面答复"})
    anew = await api.post(PATH, filed("o-chat-me", me), expect=201)
    assert anew["privacy_request_no"] not in (no, deletion["privacy_request_no"])
    assert count(db) == 3


async def test_by_policy_number_and_on_the_phone(api: Api, scheme: Scheme,
                                                db: Database) -> None:
    me = person(db, scheme.members[1])
    await bind(api, me, "call-privacy-9", channel="ivr")
    made = await api.post(PATH, {"channel": "ivr", "user": "call-privacy-9", "kind": "copy",
                                 "phone": me.phone}, expect=201)
    assert (made["channel"], made["user_channel"]) == ("phone", "ivr")


async def test_a_correction_needs_what_is_wrong(api: Api, scheme: Scheme, db: Database) -> None:
    me = person(db, scheme.members[0])
    await bind(api, me, "o-chat-fix")
    await api.error("POST", PATH, 400, "invalid", "details",
                    filed("o-chat-fix", me, "correction"))
    made = await api.post(PATH, filed("o-chat-fix", me, "correction",
                                      details="地址登记错了，应为东莞市虎门镇"), expect=201)
    assert made["details"] == "地址登记错了，应为东莞市虎门镇"


async def test_refusals_token_bad_input_someone_else(api: Api, scheme: Scheme,
                                                    db: Database) -> None:
    me, other = person(db, scheme.members[0]), person(db, scheme.members[1])
    await bind(api, me, "o-chat-r")
    good = filed("o-chat-r", me)
    # only the service token: a staff token (even one that takes requests) 403, none 401
    await api.call("POST", PATH, json_body=good, auth=False,
                   headers=await staff_headers(api, SUPERVISOR), expect=403)
    await api.call("POST", PATH, json_body=good, auth=False, expect=401)
    for spoiled, field in (({**good, "kind": "erase"}, "kind"),
                           ({**good, "channel": "fax"}, "channel"),
                           ({**good, "user": ""}, "user"),
                           ({**good, "phone": None}, "phone"),
                           ({**good, "phone": "12345"}, "phone"),
                           ({**good, "policy_no": "P2026000001"}, "policy_no"),
                           ({**good, "details": "x" * 2001}, "details")):
        refused = await api.post(PATH, spoiled, expect=400)
        assert refused["error"]["field"] == field, (spoiled, refused)
    # a channel user who never identified, and someone else's phone as the proof
    await api.error("POST", PATH, 404, "not_found", "user", filed("o-chat-nobody", me))
    mismatch = await api.post(PATH, {**good, "phone": other.phone}, expect=403)
    assert mismatch["error"]["code"] == "identity_mismatch"
    assert count(db) == 0  # no refusal recorded anything


async def test_two_at_once_are_one_request(api: Api, scheme: Scheme, db: Database) -> None:
    me = person(db, scheme.members[0])
    await bind(api, me, "o-chat-twice")
    both = await asyncio.gather(*(api.post(PATH, filed("o-chat-twice", me, "deletion"),
                                           expect=201) for _ in range(2)))
    assert both[0]["privacy_request_no"] == both[1]["privacy_request_no"]
    assert sorted(b["replay"] for b in both) == [False, True]
    assert count(db) == 1
