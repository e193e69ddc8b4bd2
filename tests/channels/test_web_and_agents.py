"""Web chat through the router, the agents' conversations API (bad input included), the
conversation store on both databases, and the Redis dedupe against a real Redis."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest
from channel_kit import TOKEN, Platform, WebUser, web_chat, web_later, web_user

from backoffice.domain.errors import Conflict, ValidationError
from backoffice.services import conversations as conv
from backoffice.store.db import Database
from channels.wechat import Deduper
from xiaobao.channel_port import InProcessBackoffice

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def chat(http: aiohttp.ClientSession, platform: Platform, who: WebUser, text: str
               ) -> dict[str, Any]:
    return await web_chat(http, platform, who, text)


async def test_web_chat_report_handoff_and_agent_messages(platform: Platform) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(platform.url("/chat")) as r:
            assert r.status == 200 and "小保" in await r.text()
            cookie = r.cookies["xb_chat"]  # a new visitor gets a session of the server's
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
        who = await web_user(http, platform)
        user = who.user
        assert "出险日期" in (await chat(http, platform, who, "我要报案"))["messages"][0]["text"]
        await chat(http, platform, who, "昨天")
        done = await chat(http, platform, who, "在家里")
        assert done["messages"][0]["text"].startswith("已为您登记")
        handoff = await chat(http, platform, who, "转人工")
        assert handoff["state"] == "queued"
        assert (await chat(http, platform, who, "还在吗"))["messages"] == []
        items = await (await http.get(platform.url("/api/v1/conversations?state=queued"),
                                      headers=AUTH)).json()
        cid = next(c["id"] for c in items["items"] if c["user"] == user)
        await http.post(platform.url(f"/api/v1/conversations/{cid}/messages"), headers=AUTH,
                        json={"agent": "a1", "text": "您好，请讲。"})

        async def polled() -> list[dict[str, Any]]:
            return list((await web_later(http, platform, who))["messages"])

        got: list[dict[str, Any]] = []

        async def check() -> None:
            got[:] = await polled()

        await check()
        assert got == [{"text": "您好，请讲。", "role": "agent"}]
        async with http.post(platform.url(f"/api/v1/conversations/{cid}/handback"),
                             headers=AUTH, json={}) as r:
            assert (await r.json())["delivered"] is True
        await check()
        assert "回来" in got[-1]["text"]
        async with http.post(platform.url(f"/api/v1/conversations/{cid}/close"), headers=AUTH,
                             json={"disposition": "resolved"}) as r:
            assert (await r.json())["state"] == "closed"
        # the next message opens a new conversation, owned by the bot
        assert (await chat(http, platform, who, "你好"))["state"] == "bot"
        for bad in ({"user": user, "text": ""}, {"text": "a\x00"}, {"text": 12}, [1]):
            async with http.post(platform.url("/chat/messages"), json=bad,
                                 headers=who.auth) as r:
                assert r.status == 400 and (await r.json())["error"]["field"]
        for bad in ({"user": "", "text": "x"}, {"user": "a b", "text": "x"}):
            async with http.post(platform.url("/chat/messages"), json=bad,
                                 headers=who.auth) as r:
                assert r.status == 403 and (await r.json())["error"]["field"] == "user"


HOSTILE = [None, "", "x" * 5000, 12, [], {}, "\x00", True]


async def test_agents_api_bad_input_is_4xx_naming_the_field(platform: Platform) -> None:
    base = platform.url("/api/v1/conversations")
    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.get(base, params={"state": "lost"}) as r:
            assert r.status == 400 and (await r.json())["error"]["field"] == "state"
        for segment in ("abc", "-1", "9" * 40, "%00"):
            async with http.get(f"{base}/{segment}") as r:
                assert 400 <= r.status < 500
        async with http.get(f"{base}/424242") as r:
            assert r.status == 404
        hostile = await web_user(http, platform)
        await chat(http, platform, hostile, "转人工")
        items = (await (await http.get(base, params={"state": "queued"})).json())["items"]
        cid = next(c["id"] for c in items if c["user"] == hostile.user)
        for action, field in (("take", "agent"), ("messages", "agent"), ("transfer", "target"),
                              ("close", "disposition")):
            for value in HOSTILE:
                async with http.post(f"{base}/{cid}/{action}", json={field: value,
                                                                      "text": "hi"}) as r:
                    assert 400 <= r.status < 500, (action, value, r.status)
            async with http.post(f"{base}/{cid}/{action}", data=b"{bad") as r:
                assert r.status == 400
        for value in HOSTILE:
            async with http.post(f"{base}/{cid}/messages", json={"agent": "a", "text": value}) as r:
                assert r.status == 400 and (await r.json())["error"]["field"] == "text"
        async with http.get(f"{base}/{cid}") as r:
            assert (await r.json())["state"] == "queued"  # nothing changed
        async with http.get(base, headers={"Authorization": "Bearer wrong"}) as r:
            assert r.status == 401


# ---- the store, on SQLite and PostgreSQL ------------------------------------------------------

def test_conversation_lifecycle(db: Database) -> None:
    turn = conv.user_message(db, "wechat", "o-user", "你好")
    assert turn.state == "bot"
    assert conv.user_message(db, "wechat", "o-user", "在吗").conversation_id == turn.conversation_id
    queued = conv.bot_messages(db, turn.conversation_id, [
        {"text": "正在转接"},
        {"custom": {"handoff": {"reason": "anger", "summary": {"text": "客户不满", "intent": "x",
                                                               "slots": {}}}}}])
    assert queued.state == "queued"
    ref = {"conversation_id": turn.conversation_id}
    with pytest.raises(ValidationError):
        conv.take(db, {**ref, "agent": ""}, "api")
    conv.take(db, {**ref, "agent": "a1"}, "api")
    with pytest.raises(Conflict):
        conv.take(db, {**ref, "agent": "a2"}, "api")
    delivery = conv.agent_message(db, {**ref, "agent": "a1", "text": "您好"}, "api")
    assert (delivery.channel, delivery.user) == ("wechat", "o-user")
    conv.handback(db, ref, "api")
    conv.close(db, turn.conversation_id, "resolved")
    assert conv.user_message(db, "wechat", "o-user", "又来了").conversation_id \
        != turn.conversation_id
    body = conv.get_conversation(db, {"conversation_id": turn.conversation_id})
    assert [m["role"] for m in body["messages"]] == [
        "user", "user", "bot", "bot", "system", "agent", "system", "system"]
    assert body["handoff_reason"] == "anger"
    assert conv.first_seen(db, "k1") and not conv.first_seen(db, "k1")


async def test_redis_dedupe_against_a_real_redis(sqlite_db: Database) -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://localhost:6379/0", socket_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis answers on localhost:6379")
    key = f"wechat:msg:{uuid.uuid4().hex}"
    first, second = (Deduper(InProcessBackoffice(sqlite_db), "redis://localhost:6379/0")
                     for _ in range(2))
    try:
        # two processes' dedupers agree: only one takes the push
        assert await first.first(key) is True
        assert await second.first(key) is False
    finally:
        await first.close()
        await second.close()


def test_old_dedupe_keys_are_forgotten(db: Database) -> None:
    from datetime import UTC, datetime, timedelta

    assert conv.first_seen(db, "wechat:msg:1")
    assert conv.forget_seen_before(db, datetime.now(UTC) - timedelta(minutes=10)) == 0
    assert conv.forget_seen_before(db, datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert conv.first_seen(db, "wechat:msg:1")  # a new push may reuse nothing after that
