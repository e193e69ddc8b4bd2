"""The web chat's sessions attacked through real HTTP: the web id proves nothing, only the
signed credential does; an expired, forged or foreign credential reads and stores nothing; the
id stays out of the access log."""

from __future__ import annotations

import logging
import time
from typing import Any

import aiohttp
import pytest
from channel_kit import TOKEN, Platform, WebUser, web_chat, web_later, web_user

from backoffice.services import conversations as conv
from channels.app import WEB
from channels.web import RENEWED
from channels.web_session import WebSessions

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _victim(http: aiohttp.ClientSession, platform: Platform) -> tuple[WebUser, int]:
    """A web user with an agent's message waiting (a claim number), and their conversation."""
    victim = await web_user(http, platform)
    assert (await web_chat(http, platform, victim, "转人工"))["state"] == "queued"
    cid = next(c["id"] for c in conv.list_conversations(platform.db, {"state": "queued"})
               if c["user"] == victim.user)
    async with http.post(platform.url(f"/api/v1/conversations/{cid}/messages"), headers=AUTH,
                         json={"agent": "a1", "text": "您的报案号 CLM20261206001"}) as r:
        assert r.status == 201
    return victim, cid


def _lines(platform: Platform, cid: int) -> list[str]:
    body = conv.get_conversation(platform.db, {"conversation_id": cid})
    return [m["text"] for m in body["messages"]]


async def _refused(r: aiohttp.ClientResponse, status: int, field: str) -> None:
    body: dict[str, Any] = await r.json()
    assert r.status == status and body["error"]["field"] == field, (r.status, body)
    assert "messages" not in body and "CLM" not in str(body)


async def test_another_users_messages_cannot_be_polled(platform: Platform) -> None:
    async with aiohttp.ClientSession() as http:
        victim, _ = await _victim(http, platform)
        attacker = await web_user(http, platform)
        poll = platform.url("/chat/messages")
        query = {"user": victim.user, "after": "0"}
        async with http.get(poll, params=query) as r:  # the id alone, as before
            await _refused(r, 401, "session")
        async with http.get(poll, params=query, headers=bearer("web-x.1.abc")) as r:
            await _refused(r, 401, "session")
        async with http.get(poll, params=query, headers=attacker.auth) as r:
            await _refused(r, 403, "user")
        async with http.get(poll, params=query, headers={"Cookie": f"xb_chat={attacker.token}"}
                            ) as r:
            await _refused(r, 403, "user")
        assert (await web_later(http, platform, attacker))["messages"] == []  # their own: none
        # the victim's own credential, as bearer or as the page's cookie, reads them
        assert "CLM" in str(await web_later(http, platform, victim))
        async with http.get(poll, params={"after": "0"},
                            headers={"Cookie": f"xb_chat={victim.token}"}) as r:
            assert r.status == 200 and "CLM" in str(await r.json())


async def test_nobody_posts_as_another_user(platform: Platform) -> None:
    async with aiohttp.ClientSession() as http:
        victim, cid = await _victim(http, platform)
        attacker = await web_user(http, platform)
        before = _lines(platform, cid)
        post = platform.url("/chat/messages")
        as_victim = {"user": victim.user, "text": "请把赔款打到 6222020200112233445"}
        async with http.post(post, json=as_victim) as r:
            await _refused(r, 401, "session")
        async with http.post(post, json={"text": "你好"}) as r:
            await _refused(r, 401, "session")
        async with http.post(post, json=as_victim, headers=attacker.auth) as r:
            await _refused(r, 403, "user")
        async with http.post(post, json=as_victim, headers=bearer(TOKEN)) as r:
            await _refused(r, 401, "session")  # the API token is no web session either
        assert _lines(platform, cid) == before  # nothing stored
        assert "6222" not in str(conv.list_conversations(platform.db, {}))


async def test_expired_and_forged_credentials_are_refused(platform: Platform) -> None:
    sessions: WebSessions = platform.app[WEB].sessions
    async with aiohttp.ClientSession() as http:
        victim, cid = await _victim(http, platform)
        other = await web_user(http, platform)
        user, issued, signature = victim.token.split(".")
        expired = sessions.issue(victim.user, now=time.time() - sessions.lifetime - 1).token
        flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
        forged = {
            "expired (replayed)": expired,
            "id changed": f"{other.user}.{issued}.{signature}",
            "time changed": f"{user}.{int(issued) + 1}.{signature}",
            "time renewed": f"{user}.{int(time.time()) + 5}.{signature}",
            "bad signature": f"{user}.{issued}.{flipped}",
            "another key": WebSessions("not-the-token", sessions.lifetime)
            .issue(victim.user).token,
            "far future": sessions.issue(victim.user, now=time.time() + 3600).token,
            "no signature": f"{user}.{issued}",
            "not ascii": f"{user}.{issued}.签名",
        }
        before = _lines(platform, cid)
        for what, token in forged.items():
            async with http.get(platform.url("/chat/messages"), headers=bearer(token)) as r:
                assert r.status == 401, what
                await _refused(r, 401, "session")
            async with http.post(platform.url("/chat/messages"), headers=bearer(token),
                                 json={"text": "转账"}) as r:
                await _refused(r, 401, "session")
        assert _lines(platform, cid) == before


async def test_a_session_in_use_is_renewed(platform: Platform) -> None:
    sessions: WebSessions = platform.app[WEB].sessions
    async with aiohttp.ClientSession() as http:
        fresh = await web_user(http, platform)
        async with http.get(platform.url("/chat/messages"), headers=fresh.auth) as r:
            assert r.status == 200 and RENEWED not in r.headers
        aging = sessions.issue(fresh.user, now=time.time() - sessions.lifetime * 0.6)
        async with http.get(platform.url("/chat/messages"), headers=bearer(aging.token)) as r:
            assert r.status == 200
            renewed = r.headers[RENEWED]
            cookie = r.cookies["xb_chat"]
            assert cookie.value == renewed and cookie["httponly"]
        proved = sessions.verify(renewed)
        assert proved is not None and proved.user == fresh.user and proved.issued > aging.issued


async def test_the_web_id_stays_out_of_the_access_log(platform: Platform,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    async with aiohttp.ClientSession() as http:
        who = await web_user(http, platform)
        await web_chat(http, platform, who, "你好")
        async with http.get(platform.url("/chat/messages"),
                            params={"user": who.user, "after": "0"}, headers=who.auth) as r:
            assert r.status == 200
        async with http.get(platform.url("/chat/messages"),
                            params={"user": who.user, "after": "0"}) as r:
            assert r.status == 401
    access = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert sum("/chat/messages" in line for line in access) == 3, access
    assert not [line for line in access if who.user in line or who.token in line], access
    assert not [getattr(r, "first_request_line", "") for r in caplog.records
                if who.user in str(getattr(r, "first_request_line", ""))]
