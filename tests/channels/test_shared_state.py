"""Two platform processes behind one load balancer share the channels' state through a real
Redis (XIAOBAO_REDIS_URL): a call goes on wherever its next event lands, and a web user's page
fetches an agent's message from either process."""

from __future__ import annotations

import asyncio
import json
import random
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import aiohttp
import pytest
from channel_kit import (
    IVR_SECRET,
    TOKEN,
    Platform,
    ivr_event,
    platform_env,
    start_platform,
    web_chat,
    web_later,
    web_user,
)
from sqlalchemy import func, select

from backoffice.store.db import Database
from backoffice.store.models import ChannelState, Conversation
from channels.ivr import MENU, StartSigner
from channels.state import EVENT_TTL, CallStore, PendingStore, RedisState

REDIS = "redis://localhost:6379/0"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _redis_or_skip() -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS, socket_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis answers on localhost:6379")


@pytest.fixture
async def two(tmp_path: Path, channel_db: Database, rasa_url: str,
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Platform, Platform]]:
    _redis_or_skip()
    env = platform_env(None, redis_url=REDIS)
    first = await start_platform(tmp_path / "a", channel_db, rasa_url, env, monkeypatch)
    second = await start_platform(tmp_path / "b", channel_db, rasa_url, env, monkeypatch)
    yield first, second
    await first.server.close()
    await second.server.close()


async def _event(platform: Platform, call_id: str, caller: str, event: str, **fields: Any
                 ) -> list[dict[str, Any]]:
    body, headers = ivr_event(call_id, event, caller, **fields)
    async with aiohttp.ClientSession() as http, http.post(
            platform.url("/ivr/events"), data=body, headers=headers) as r:
        assert r.status == 200
        return list((await r.json())["actions"])


def _said(actions: list[dict[str, Any]]) -> str:
    return " ".join(a["text"] for a in actions if a["type"] == "say")


async def test_a_call_goes_on_in_another_process(two: tuple[Platform, Platform]) -> None:
    a, b = two
    call, caller = uuid.uuid4().hex, f"139{random.randint(10**7, 10**8 - 1)}"
    assert MENU in _said(await _event(a, call, caller, "start"))
    # at the menu on process a; the key pressed reaches process b, which knows the call
    assert "出险日期" in _said(await _event(b, call, caller, "dtmf", digits="1"))
    assert "哪里" in _said(await _event(a, call, caller, "speech", text="昨天"))
    assert await _event(b, call, caller, "hangup") == []
    # hung up for both: a new event starts afresh with the menu
    assert MENU in _said(await _event(a, call, caller, "dtmf", digits="1"))

    # VoiceXML: the document of process a submits to process b
    vxml_call, other = uuid.uuid4().hex, f"139{random.randint(10**7, 10**8 - 1)}"
    async with aiohttp.ClientSession() as http:
        start = StartSigner(IVR_SECRET.encode()).sign(vxml_call, other)
        async with http.post(a.url("/ivr/vxml?" + urllib.parse.urlencode(start)),
                             data={"event": "start"}) as r:
            submit = ElementTree.fromstring(await r.text()).find(
                ".//{http://www.w3.org/2001/vxml}submit")
        assert submit is not None
        async with http.post(b.url(str(submit.get("next"))),
                             data={"event": "dtmf", "answer": "1"}) as r:
            assert r.status == 200 and "出险日期" in await r.text()


async def test_an_event_runs_once_whichever_process_it_reaches(
        two: tuple[Platform, Platform]) -> None:
    a, b = two
    call, caller = uuid.uuid4().hex, f"139{random.randint(10**7, 10**8 - 1)}"
    await _event(a, call, caller, "start")
    report = ivr_event(call, "dtmf", caller, digits="1")

    async def send(platform: Platform, sent: tuple[bytes, dict[str, str]]
                   ) -> tuple[int, dict[str, Any]]:
        async with aiohttp.ClientSession() as http, http.post(
                platform.url("/ivr/events"), data=sent[0], headers=sent[1]) as r:
            return r.status, await r.json()

    # copies at once on both processes, then again later: one turn, one answer
    answers = await asyncio.gather(*(send(p, report) for p in (a, b, a, b)))
    answers.append(await send(b, report))
    assert all(status == 200 for status, _ in answers)
    assert "出险日期" in _said(answers[0][1]["actions"])
    assert all(answer == answers[0][1] for _, answer in answers)
    event_id = json.loads(report[0])["event_id"]
    status, refused = await send(a, ivr_event(call, "dtmf", caller, digits="2",
                                              event_id=event_id))
    assert status == 409 and refused["error"]["field"] == "event_id"
    with a.db.read() as s:  # the call is its own user; the number is its phone
        cid = s.execute(select(Conversation.id).where(Conversation.phone == caller)
                        ).scalar_one()
    async with aiohttp.ClientSession() as http, http.get(
            a.url(f"/api/v1/conversations/{cid}"), headers=AUTH) as r:
        said = [m["text"] for m in (await r.json())["messages"] if m["role"] == "user"]
    assert said == ["/report_incident"]
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS)
    try:  # in Redis with its expiry, not in the database
        assert 0 < await client.ttl(f"xiaobao:ivr:event:{event_id}") <= EVENT_TTL
    finally:
        await client.aclose()
    with a.db.read() as s:
        assert s.execute(select(func.count()).select_from(ChannelState)).scalar_one() == 0


async def test_a_web_users_later_messages_reach_either_process(
        two: tuple[Platform, Platform]) -> None:
    a, b = two
    async with aiohttp.ClientSession() as http:
        who = await web_user(http, a)  # a session one process opened holds on the other
        user = who.user
        assert (await web_chat(http, a, who, "转人工"))["state"] == "queued"
        async with http.get(b.url("/api/v1/conversations"), params={"state": "queued"},
                            headers=AUTH) as r:
            cid = next(c["id"] for c in (await r.json())["items"] if c["user"] == user)
        async with http.post(a.url(f"/api/v1/conversations/{cid}/messages"), headers=AUTH,
                             json={"agent": "a1", "text": "您好，我是客服。"}) as r:
            assert (await r.json())["delivered"] is True

        async def poll(platform: Platform, after: int) -> dict[str, Any]:
            return await web_later(http, platform, who, after)

        seen = await poll(b, 0)  # delivered by a, fetched from b
        assert seen["messages"] == [{"text": "您好，我是客服。", "role": "agent"}]
        async with http.post(b.url(f"/api/v1/conversations/{cid}/messages"), headers=AUTH,
                             json={"agent": "a1", "text": "请问有什么可以帮您？"}) as r:
            assert r.status == 201
        newer = await poll(a, seen["next"])  # numbered across processes
        assert [m["text"] for m in newer["messages"]] == ["请问有什么可以帮您？"]
        assert newer["next"] > seen["next"]
        assert (await poll(a, newer["next"]))["messages"] == []


async def test_redis_state_has_ttls() -> None:
    _redis_or_skip()
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS)
    try:
        calls, later = CallStore(RedisState(client), ttl=120), PendingStore(client, ttl=300, keep=3)
        call_id, user = uuid.uuid4().hex, "web-" + uuid.uuid4().hex[:8]
        await calls.put(call_id, {"caller": "13900000000", "stage": "bot"})
        assert (await calls.get(call_id) or {})["stage"] == "bot"
        assert 0 < await client.ttl(f"xiaobao:ivr:call:{call_id}") <= 120
        await later.add(user, [{"text": str(n)} for n in range(5)])
        assert [m["text"] for _, m in await later.after(user, 0)] == ["2", "3", "4"]  # last 3
        assert 0 < await client.ttl(f"xiaobao:web:later:{user}") <= 300
        await calls.drop(call_id)
        assert await calls.get(call_id) is None
    finally:
        await client.aclose()


async def test_in_memory_web_messages_without_redis() -> None:
    later = PendingStore(keep=2)
    await later.add("u1", [{"text": "a"}, {"text": "b"}, {"text": "c"}])
    await later.add("u2", [{"text": "d"}])
    assert [(n, m["text"]) for n, m in await later.after("u1", 1)] == [(2, "b"), (3, "c")]
    assert [n for n, _ in await later.after("u2", 0)] == [4]
