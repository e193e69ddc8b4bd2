"""Identification on the phone, attacked through the running app (SQLite and PostgreSQL): the
caller's number plus the last six characters of the ID number or a policy number, never the
number alone; every try counted per call, per number tried and per party with that number."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from api_testkit import TOKEN, Api, application, id_number, issue_policy, person
from sqlalchemy import select

from backoffice.clock import ManualClock, manual_clock
from backoffice.services import bindings, limits
from backoffice.services.base import SHANGHAI
from backoffice.store.db import Database
from backoffice.store.models import ChannelBinding, Party

FAMILY_PHONE = "13822224444"
MOTHER = date(1960, 2, 3)
FATHER = date(1958, 7, 9)


@pytest.fixture
def clock() -> Any:
    with manual_clock(datetime(2026, 6, 1, 9, 30, tzinfo=SHANGHAI)) as c:
        yield c


async def _family(api: Api) -> tuple[str, str, str]:
    """Mother and father share one phone on file: (mother's ID, her policy, father's ID)."""
    mother, father = id_number(MOTHER, 82), id_number(FATHER, 91)
    policy = await issue_policy(api, application(person("林秀英", MOTHER, 82,
                                                        phone=FAMILY_PHONE)))
    await issue_policy(api, application(person("林国强", FATHER, 91, phone=FAMILY_PHONE)))
    return mother, str(policy["policy_no"]), father


def _try(call: str, **proof: str) -> dict[str, Any]:
    return {"channel": "ivr", "user": call, "phone": FAMILY_PHONE, **proof}


async def test_the_number_and_the_last_six_identify_that_call_only(
        api: Api, clock: ManualClock, db: Database) -> None:
    mother, policy_no, father = await _family(api)
    # the number alone: nobody, whichever channel user names it
    await api.error("GET", f"/bindings/ivr/{FAMILY_PHONE}", 404, "not_found", "user")
    bound = await api.post("/bindings", _try("call-a", id_last6=mother[-6:].lower()),
                           expect=200)
    assert bound["party"]["name_masked"] == "林**" and bound["policies"] == [policy_no]
    assert mother not in str(bound) and FAMILY_PHONE not in str(bound)
    assert (await api.get("/bindings/ivr/call-a", expect=200))["policies"] == [policy_no]
    # the same family's other member by the policy number instead
    by_policy = await api.post("/bindings", _try("call-b", policy_no=policy_no), expect=200)
    assert by_policy["policies"] == [policy_no]
    father_bound = await api.post("/bindings", _try("call-c", id_last6=father[-6:]),
                                  expect=200)
    assert father_bound["party"]["id_number_masked"].endswith(father[-4:])
    # another call from the same number is nobody until it proves itself
    await api.error("GET", "/bindings/ivr/call-d", 404, "not_found", "user")
    await api.error("GET", f"/bindings/ivr/{FAMILY_PHONE}", 404, "not_found", "user")
    # a binding made on a call does not outlive any call
    clock.advance(hours=5)
    await api.error("GET", "/bindings/ivr/call-a", 404, "not_found", "user")
    with db.read() as s:
        users = set(s.execute(select(ChannelBinding.user)).scalars())
    assert users == {"call-a", "call-b", "call-c"}


async def test_the_short_path_is_the_phones_alone_and_names_its_fields(api: Api) -> None:
    mother, policy_no, _ = await _family(api)
    last6 = mother[-6:]
    for body, field in [
            ({"channel": "wechat", "user": "o-1", "phone": FAMILY_PHONE, "id_last6": last6},
             "id_number"),
            ({"channel": "web", "user": "w-1", "phone": FAMILY_PHONE, "policy_no": policy_no},
             "id_number"),
            ({"channel": "ivr", "user": "call-x", "id_last6": last6}, "phone"),
            ({"channel": "ivr", "user": "call-x", "phone": FAMILY_PHONE}, "id_number"),
            (_try("call-x", id_last6=last6, policy_no=policy_no), "id_last6"),
            (_try("call-x", id_last6="12345"), "id_last6"),
            (_try("call-x", id_last6="12345Y"), "id_last6"),
            (_try("call-x", id_last6="１２３４５６"), "id_last6"),
            (_try("call-x", id_last6=123456), "id_last6"),  # type: ignore[arg-type]
            (_try("call-x", id_last6="' OR 1=1 --"), "id_last6"),
            ({**_try("call-x", id_last6=last6), "id_number": mother}, "id_last6"),
            ({**_try("call-x", id_last6=last6), "phone": "139"}, "phone"),
    ]:
        await api.error("POST", "/bindings", 400, "invalid", field, body)
    await api.error("GET", "/bindings/ivr/call-x", 404, "not_found", "user")


async def test_wrong_last_six_are_counted_per_call_per_number_and_per_party(
        api: Api, clock: ManualClock, db: Database) -> None:
    mother, _, father = await _family(api)
    wrong = [f"{n:05d}{'X' if n % 2 else '7'}" for n in range(1, 40)]
    wrong = [w for w in wrong if w not in (mother[-6:], father[-6:])]
    # one call: CALL_LIMIT.free tries, then it waits (the bot hands the caller to an agent)
    for guess in wrong[:bindings.CALL_LIMIT.free]:
        err = await api.error("POST", "/bindings", 403, "identity_mismatch", "id_last6",
                              _try("call-1", id_last6=guess))
        assert "不一致" in err["message"]
    err = await api.error("POST", "/bindings", 429, "too_many_attempts", "id_last6",
                          _try("call-1", id_last6=mother[-6:]))
    assert "分钟后再试" in err["message"] and "网点" in err["message"]
    # fresh calls from the same number: the number itself runs out of tries
    left = bindings.PHONE_LIMIT.free - bindings.CALL_LIMIT.free
    for n, guess in enumerate(wrong[3:3 + left]):
        await api.error("POST", "/bindings", 403, "identity_mismatch", "id_last6",
                        _try(f"call-2{n}", id_last6=guess))
    err = await api.error("POST", "/bindings", 429, "too_many_attempts", "id_last6",
                          _try("call-3", id_last6=mother[-6:]))
    assert "客服热线" in err["message"]
    # the tries counted against each party with that number: the full ID path of the
    # mother has only the rest of her allowance left (per ID number, across channels)
    for n in range(bindings.ID_LIMIT.free - bindings.PHONE_LIMIT.free):
        await api.error("POST", "/bindings", 403, "identity_mismatch", "id_number",
                        {"channel": "web", "user": f"w-{n}", "id_number": mother,
                         "phone": "13900000000"})
    await api.error("POST", "/bindings", 429, "too_many_attempts", "id_number",
                    {"channel": "web", "user": "w-last", "id_number": mother,
                     "phone": FAMILY_PHONE})
    # the number's tries are remembered for days, through the usual purge of quiet keys:
    # once its delay is over, one more wrong try makes it wait longer than the first time
    clock.advance(hours=2)
    with db.transaction() as s:
        limits.purge(s, clock() - timedelta(hours=1))
    await api.error("POST", "/bindings", 403, "identity_mismatch", "id_last6",
                    _try("call-4", id_last6=wrong[-1]))
    clock.advance(minutes=bindings.PHONE_LIMIT.first_delay.total_seconds() / 60 + 1)
    await api.error("POST", "/bindings", 429, "too_many_attempts", "id_last6",
                    _try("call-5", id_last6=mother[-6:]))
    with db.read() as s:
        assert s.execute(select(ChannelBinding)).first() is None


async def test_concurrent_guesses_on_one_number_are_all_counted(
        api: Api, clock: ManualClock) -> None:
    mother, _, _ = await _family(api)
    guesses = [f"{n:06d}" for n in range(100, 112) if f"{n:06d}" != mother[-6:]]

    async def guess(n: int, value: str) -> int:
        status, _ = await _post(api, _try(f"call-c{n}", id_last6=value))
        return status

    statuses = await asyncio.gather(*(guess(n, g) for n, g in enumerate(guesses)))
    # no more than the number's allowance was ever evaluated, whatever the interleaving
    assert statuses.count(403) == bindings.PHONE_LIMIT.free
    assert statuses.count(429) == len(guesses) - bindings.PHONE_LIMIT.free


async def _post(api: Api, body: dict[str, Any]) -> tuple[int, Any]:
    async with api.client.post("/api/v1/bindings", json=body,
                               headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        return r.status, await r.json()


async def test_a_right_try_clears_the_counts_of_that_call_and_number(
        api: Api, clock: ManualClock) -> None:
    mother, _, _ = await _family(api)
    await api.error("POST", "/bindings", 403, "identity_mismatch", "id_last6",
                    _try("call-r", id_last6="000001"))
    await api.post("/bindings", _try("call-r", id_last6=mother[-6:]), expect=200)
    # the customer's own later calls start afresh
    for n in range(bindings.PHONE_LIMIT.free - 1):
        await api.error("POST", "/bindings", 403, "identity_mismatch", "id_last6",
                        _try(f"call-s{n}", id_last6="000002"))
    await api.post("/bindings", _try("call-t", id_last6=mother[-6:]), expect=200)


async def test_a_number_shared_by_a_whole_roster_still_finds_each_one(
        api: Api, clock: ManualClock, db: Database) -> None:
    """A village head's phone on file for many elderly members: each is found by the last six,
    beyond the parties a try is counted under."""
    shared = "13822225555"
    ids = [id_number(date(1950 + n, 1, 2), 100 + n, "440514")
           for n in range(bindings.MAX_SHARING + 2)]
    with db.transaction() as s:
        for n, idn in enumerate(ids):
            s.add(Party(name=f"陈{'一二三四五六七八九十壹贰'[n]}", gender="male",
                        birth_date=date(1950 + n, 1, 2), id_number=idn, phone=shared))
    last = await api.post("/bindings", {"channel": "ivr", "user": "call-v", "phone": shared,
                                        "id_last6": ids[-1][-6:]}, expect=200)
    assert last["party"]["id_number_masked"].endswith(ids[-1][-4:])
