"""Guessing limits attacked through the running app: sign-in from several real addresses
(the loopback net: each client binds its own 127.0.0.x) and the bot's identity check.

A stranger's wrong passwords slow down the stranger's address, never the account elsewhere;
one address cycling usernames is slowed down; concurrent guesses are all counted; the delays
grow and age out; fresh web ids gain nothing against one ID number."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from api_testkit import PREFIX, TOKEN, Api, id_number
from sqlalchemy import func, select
from test_api_staff_access import (  # the fixtures too
    PASSWORDS,
    World,
    clock,
    world,
)

from backoffice.clock import ManualClock
from backoffice.services import bindings, staff
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import AttemptLimit, AuditEntry, ChannelBinding, Party

__all__ = ["clock", "world"]  # fixtures, shared with test_api_staff_access
ADMIN = "admin"


async def sign_in_from(client: TestClient, address: str, username: str,
                       password: str) -> tuple[int, dict[str, Any]]:
    """POST /auth/token from a client bound to `address` (a different TCP peer)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as session, session.post(
            client.make_url(PREFIX + "/auth/token"),
            json={"username": username, "password": password}) as resp:
        return resp.status, await resp.json()


def _admin(world: World) -> str:
    assert ADMIN in PASSWORDS
    return PASSWORDS[ADMIN]


async def test_a_strangers_wrong_passwords_do_not_keep_the_admin_out(
        api: Api, world: World, clock: ManualClock) -> None:
    stranger, office = "127.0.0.2", "127.0.0.3"
    for n in range(8):
        status, body = await sign_in_from(api.client, stranger, ADMIN, f"guess-{n}-guess")
        if n < staff.ACCOUNT_LIMIT.free:
            assert status == 401 and body["error"]["code"] == "invalid_credentials"
        else:  # the stranger waits, told how long, with the field named
            assert status == 429, body
            assert body["error"]["code"] == "too_many_attempts"
            assert body["error"]["field"] == "username" and "分钟后再试" in body["error"]["message"]
    # the stranger's address is throttled even with the right password …
    status, _ = await sign_in_from(api.client, stranger, ADMIN, _admin(world))
    assert status == 429
    # … the administrator at the office is not
    status, body = await sign_in_from(api.client, office, ADMIN, _admin(world))
    assert status == 201, body


async def test_unknown_usernames_are_throttled_the_same(api: Api, world: World,
                                                        clock: ManualClock) -> None:
    answers = []
    for username in (ADMIN, "no.such.person"):
        address = "127.0.0.4" if username == ADMIN else "127.0.0.5"
        for n in range(staff.ACCOUNT_LIMIT.free + 1):
            answers.append(await sign_in_from(api.client, address, username, f"wrong-{n}-x"))
    known, unknown = answers[:6], answers[6:]
    assert [s for s, _ in known] == [s for s, _ in unknown] == [401] * 5 + [429]
    assert [b for _, b in known] == [b for _, b in unknown]  # not a word about who exists


async def test_one_address_cycling_usernames_is_throttled(api: Api, world: World,
                                                          clock: ManualClock) -> None:
    statuses = [(await sign_in_from(api.client, "127.0.0.6", f"user.{n}", "guess-guess"))[0]
                for n in range(40)]
    free = staff.SOURCE_LIMIT.free
    assert statuses[:free] == [401] * free
    assert statuses[free:].count(401) <= 1 and 429 in statuses  # 40 tries: ~10 evaluated
    status, _ = await sign_in_from(api.client, "127.0.0.7", ADMIN, _admin(world))
    assert status == 201  # another address is not affected


async def test_concurrent_wrong_guesses_are_all_counted(api: Api, world: World,
                                                        clock: ManualClock) -> None:
    results = await asyncio.gather(*[
        sign_in_from(api.client, "127.0.0.8", ADMIN, f"parallel-{n}") for n in range(20)])
    statuses = sorted(s for s, _ in results)
    # no more than the free allowance is evaluated, however the requests interleave
    assert statuses.count(401) == staff.ACCOUNT_LIMIT.free, statuses
    assert statuses.count(429) == 20 - staff.ACCOUNT_LIMIT.free
    with world.db.read() as s:
        evaluated = s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "api_login_failed")).scalar_one()
        counted = s.execute(select(func.max(AttemptLimit.failures)).where(
            AttemptLimit.scope == "login.account")).scalar_one()
    assert evaluated == counted == staff.ACCOUNT_LIMIT.free


async def test_delays_grow_per_failure_and_age_out(api: Api, world: World,
                                                   clock: ManualClock) -> None:
    address = "127.0.0.9"

    async def attempt(password: str = "wrong-wrong") -> int:
        return (await sign_in_from(api.client, address, ADMIN, password))[0]

    for _ in range(staff.ACCOUNT_LIMIT.free):
        assert await attempt() == 401
    for minutes in (1, 2, 4, 8, 15, 15):  # doubling, capped at 15 minutes
        assert await attempt() == 429
        clock.advance(minutes=minutes, seconds=-1)
        assert await attempt() == 429
        clock.advance(seconds=1)
        assert await attempt() == 401
    clock.advance(hours=1)  # quiet for an hour: forgotten
    for _ in range(staff.ACCOUNT_LIMIT.free):
        assert await attempt() == 401
    clock.advance(minutes=1)
    assert await attempt(_admin(world)) == 201
    assert await attempt() == 401  # a right password clears the account's count here


# ---- the bot's identity check -------------------------------------------------------------

def _phone_of(world: World, id_number: str) -> str:
    with world.db.read() as s:
        party = s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", id_number))).scalar_one()
    assert party.phone
    return str(party.phone)


def _strangers(count: int) -> list[str]:
    """Well-formed ID numbers nobody holds."""
    return [id_number(date(1961, 1, 1), seq=100 + n) for n in range(count)]


async def test_fresh_web_ids_gain_nothing_against_one_id_number(api: Api, world: World,
                                                                clock: ManualClock) -> None:
    victim = world.members[1]
    phone = _phone_of(world, victim)
    wrong = "139" + ("00000000" if not phone.endswith("00000000") else "11111111")
    refused = []
    for n in range(30):
        answer = await api.post("/bindings", {"channel": "web", "user": f"visitor-{n}",
                                              "id_number": victim, "phone": wrong})
        refused.append(answer["error"]["code"])
    assert refused[:bindings.ID_LIMIT.free] == ["identity_mismatch"] * bindings.ID_LIMIT.free
    assert set(refused[bindings.ID_LIMIT.free:]) == {"too_many_attempts"}
    err = await api.error("POST", "/bindings", 429, "too_many_attempts", "id_number",
                          {"channel": "web", "user": "visitor-31", "id_number": victim,
                           "phone": phone})
    assert "客服热线" in err["message"] and "网点" in err["message"]
    with world.db.read() as s:
        assert s.execute(select(ChannelBinding)).first() is None
    clock.advance(minutes=31)  # the delay passes: the real customer binds
    answer = await api.post("/bindings", {"channel": "wechat", "user": "o-real",
                                          "id_number": victim, "phone": phone}, expect=200)
    assert answer["party"]["id_number_masked"] != victim


async def test_one_source_cycling_id_numbers_is_throttled(api: Api, world: World,
                                                          clock: ManualClock) -> None:
    codes = []
    for n, victim in enumerate(world.members[:2] * 15):
        answer = await api.post("/bindings", {
            "channel": "web", "user": f"fresh-{n}", "id_number": victim,
            "phone": "13900000000", "source": "203.0.113.7"})
        codes.append(answer["error"]["code"])
    assert codes.count("identity_mismatch") == bindings.ID_LIMIT.free * 2
    # another address, another ID number: not affected by that address
    other = world.members[3]
    await api.post("/bindings", {"channel": "web", "user": "fresh-x", "id_number": other,
                                 "phone": _phone_of(world, other), "source": "198.51.100.1"},
                   expect=200)
    codes = []
    for n, victim in enumerate(_strangers(15)):
        answer = await api.post("/bindings", {
            "channel": "web", "user": f"fresh-y{n}", "id_number": victim,
            "phone": "13900000000", "source": "203.0.113.7"})
        codes.append(answer["error"]["code"])
    assert set(codes) == {"too_many_attempts"}  # the address itself is now waiting


async def test_one_channel_user_is_throttled(api: Api, world: World,
                                             clock: ManualClock) -> None:
    for n in range(bindings.USER_LIMIT.free):
        await api.error("POST", "/bindings", 403, "identity_mismatch", "id_number",
                        {"channel": "wechat", "user": "o-guesser",
                         "id_number": _strangers(5)[n], "phone": "13900000000"})
    mine = world.members[2]
    await api.error("POST", "/bindings", 429, "too_many_attempts", "id_number",
                    {"channel": "wechat", "user": "o-guesser", "id_number": mine,
                     "phone": _phone_of(world, mine)})
    clock.advance(minutes=1)
    await api.post("/bindings", {"channel": "wechat", "user": "o-guesser", "id_number": mine,
                                 "phone": _phone_of(world, mine)}, expect=200)


async def test_every_429_says_when_to_come_back(api: Api, world: World,
                                                clock: ManualClock) -> None:
    """Retry-After (seconds) on the sign-in's and the identity check's 429, counting down."""
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.10", 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        async def sign_in() -> aiohttp.ClientResponse:
            async with session.post(api.client.make_url(PREFIX + "/auth/token"),
                                    json={"username": ADMIN, "password": "nope-nope"}) as r:
                await r.read()
                return r

        for _ in range(staff.ACCOUNT_LIMIT.free):
            assert "Retry-After" not in (await sign_in()).headers
        refused = await sign_in()
        assert refused.status == 429 and refused.headers["Retry-After"] == "60"
        clock.advance(seconds=45)
        assert (await sign_in()).headers["Retry-After"] == "15"
    guesses = _strangers(bindings.USER_LIMIT.free + 1)
    for n, victim in enumerate(guesses):
        resp = await api.client.post(PREFIX + "/bindings", json={
            "channel": "wechat", "user": "o-retry-after", "id_number": victim,
            "phone": "13900000000"}, headers={"Authorization": f"Bearer {TOKEN}"})
        if n < bindings.USER_LIMIT.free:
            assert resp.status == 403 and "Retry-After" not in resp.headers
        else:
            assert resp.status == 429
            assert int(resp.headers["Retry-After"]) == int(
                bindings.USER_LIMIT.first_delay.total_seconds())
