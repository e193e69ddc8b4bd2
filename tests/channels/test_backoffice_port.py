"""The channels' port to the back office (channels.port), through both adapters.

A gateway process whose channels reach the back office over HTTP (XIAOBAO_BACKOFFICE_URL) runs
the conversations of the other channel tests against a back office process; its own database
stays empty. The internal operations under /api/v1/channel/… refuse every staff role and
strangers, and hostile bodies with a 400 naming the field. A back office that is down leaves
the channels answering as the router always did: the message is spooled and queued for an
agent once the back office is back. The port's contract holds for both adapters alike.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from channel_kit import (
    TOKEN,
    Platform,
    WebUser,
    WeChatApiStandIn,
    free_port,
    ivr_event,
    openid,
    platform_env,
    start_platform,
    web_chat,
    web_later,
    web_user,
)
from sqlalchemy import func, select
from wechat_client import WeChatPusher, message_xml, reply_text, text_xml

from backoffice.api.channel_ops import CHANNEL_OPERATIONS
from backoffice.demo.staff import DEMO_STAFF, seed_staff
from backoffice.notifications.config import NotifyConfig
from backoffice.store.db import Database
from backoffice.store.models import (
    ChannelDedupe,
    ChannelState,
    Conversation,
    ConversationMessage,
    Notification,
)
from channels.app import ROUTER
from channels.backoffice import PATHS, HttpBackoffice
from channels.ivr import MENU
from channels.port import (
    Backoffice,
    BackofficeRefused,
    BackofficeUnavailable,
    StateClaim,
    StatePut,
    Upload,
)
from channels.router import STORE_DOWN
from tests.conftest import fresh_database
from xiaobao.channel_port import InProcessBackoffice
from xiaobao.config import Settings
from xiaobao.platform import create_app

AUTH = {"Authorization": f"Bearer {TOKEN}"}
NO_RASA = "http://127.0.0.1:9"  # the port's own calls never reach the bot


def counts(db: Database) -> dict[str, int]:
    """What the channels may write: conversations, their lines, push keys, the outbox, the
    shared state (calls in progress, events seen)."""
    with db.read() as s:
        return {model.__name__: int(s.execute(select(func.count()).select_from(model))
                                    .scalar_one())
                for model in (Conversation, ConversationMessage, ChannelDedupe, Notification,
                              ChannelState)}


def own_database(tmp_path: Path) -> Database:
    """A process's own database, apart from the back office's."""
    (tmp_path / "own").mkdir()
    return fresh_database("sqlite", tmp_path / "own")


def queued(db: Database, user: str) -> list[Conversation]:
    """The user's conversations waiting for an agent (read from the store itself)."""
    with db.read() as s:
        return list(s.execute(select(Conversation).where(
            Conversation.user_id == user, Conversation.state == "queued")).scalars())


def lines(db: Database, conversation_id: int) -> list[ConversationMessage]:
    with db.read() as s:
        return list(s.execute(select(ConversationMessage).where(
            ConversationMessage.conversation_id == conversation_id)
            .order_by(ConversationMessage.id)).scalars())


def lines_of(db: Database, channel: str, user: str) -> list[ConversationMessage]:
    """The lines of the user's latest conversation."""
    with db.read() as s:
        cid = s.execute(select(Conversation.id).where(
            Conversation.channel == channel, Conversation.user_id == user)
            .order_by(Conversation.id.desc())).scalars().first()
    assert cid is not None, f"no conversation of {channel}:{user}"
    return lines(db, cid)


# ---- a gateway and a back office, two processes ------------------------------------------------

class Split:
    def __init__(self, backoffice: Platform, gateway: Platform) -> None:
        self.backoffice = backoffice
        self.gateway = gateway


@pytest.fixture
async def split(tmp_path: Path, channel_db: Database, rasa_url: str,
                wechat_api: WeChatApiStandIn, monkeypatch: pytest.MonkeyPatch
                ) -> AsyncIterator[Split]:
    """The back office (channel_db) and a gateway whose channels speak HTTP to it; the
    gateway's own database is another, which nothing of the conversations may reach."""
    env = platform_env(wechat_api)
    backoffice = await start_platform(tmp_path / "backoffice", channel_db, rasa_url,
                                      {**env, "XIAOBAO_BACKOFFICE_URL": ""}, monkeypatch)
    own = own_database(tmp_path)
    gateway = await start_platform(tmp_path / "gateway", own, rasa_url, {
        **env, "XIAOBAO_BACKOFFICE_URL": backoffice.url("")}, monkeypatch)
    assert isinstance(backoffice.app[ROUTER].backoffice, InProcessBackoffice)
    assert isinstance(gateway.app[ROUTER].backoffice, HttpBackoffice)
    yield Split(backoffice, gateway)
    await gateway.server.close()
    await backoffice.server.close()
    assert counts(own) == dict.fromkeys(counts(own), 0)  # all of it went to the back office
    own.dispose()


async def chat(http: aiohttp.ClientSession, platform: Platform, who: WebUser, text: str
               ) -> dict[str, Any]:
    return await web_chat(http, platform, who, text)


async def test_web_chat_report_handoff_and_agents_over_http(split: Split) -> None:
    gateway, db = split.gateway, split.backoffice.db
    async with aiohttp.ClientSession() as http:
        who = await web_user(http, gateway)
        user = who.user
        assert "出险日期" in (await chat(http, gateway, who, "我要报案"))["messages"][0]["text"]
        await chat(http, gateway, who, "昨天")
        done = await chat(http, gateway, who, "在家里")
        assert done["messages"][0]["text"].startswith("已为您登记")
        assert (await chat(http, gateway, who, "转人工"))["state"] == "queued"
        assert (await chat(http, gateway, who, "还在吗"))["messages"] == []
        cid = queued(db, user)[0].id
        # the agents' API of the process hosting the channels: its hooks are the router
        api = gateway.url(f"/api/v1/conversations/{cid}")
        async with http.post(f"{api}/messages", headers=AUTH,
                             json={"agent": "a1", "text": "x" * 5000}) as r:
            # refused by the back office, through the port, as the agents' API's own 400
            assert r.status == 400 and (await r.json())["error"]["field"] == "text"
        async with http.post(f"{api}/messages", headers=AUTH,
                             json={"agent": "a1", "text": "您好，请讲。"}) as r:
            assert r.status == 201 and (await r.json())["delivered"] is True
        assert await later(http, gateway, who) == [{"text": "您好，请讲。", "role": "agent"}]
        async with http.post(f"{api}/handback", headers=AUTH, json={"agent": "a1"}) as r:
            answer = await r.json()
            assert r.status == 200 and answer["delivered"] is True and answer["id"] == cid
        assert "回来" in (await later(http, gateway, who))[-1]["text"]  # the bot resumed
        async with http.post(f"{api}/handback", headers=AUTH, json={"agent": "a1"}) as r:
            assert r.status == 409 and (await r.json())["error"]["field"] == "conversation_id"
    await gateway.app[ROUTER].close()  # the last bot lines are written
    kept = lines_of(db, "web", user)
    assert [m.text for m in kept if m.role == "user"] == ["我要报案", "昨天", "在家里", "转人工",
                                                          "还在吗"]
    assert [m.text for m in kept if m.role == "agent"] == ["您好，请讲。"]
    assert any(m.role == "system" and "交回小保" in m.text for m in kept)
    assert any(m.role == "bot" and "回来" in m.text for m in kept)  # the resumed bot's answer


async def later(http: aiohttp.ClientSession, platform: Platform, who: WebUser
                ) -> list[dict[str, Any]]:
    """The web user's messages delivered outside their requests (agents, hand-backs)."""
    return list((await web_later(http, platform, who))["messages"])


async def test_wechat_pushes_over_http(split: Split, wechat_api: WeChatApiStandIn) -> None:
    db = split.backoffice.db
    pusher, user = WeChatPusher(split.gateway.url("/wechat")), openid()
    xml = text_xml(user, "我要报案", msg_id=random.getrandbits(62))
    status, reply = await pusher.push(xml)
    assert status == 200 and "出险日期" in reply_text(reply)
    assert await pusher.push(xml) == (200, "success")  # WeChat's retry: answered once
    event = message_xml(user, "event", {"Event": "subscribe", "EventKey": ""})
    assert "欢迎关注" in reply_text((await pusher.push(event))[1])
    assert await pusher.push(event) == (200, "success")  # its key went to the back office
    wechat_api.media["m-port"] = b"\xff\xd8\xff\xe0fake-jpeg"
    image = message_xml(user, "image", {"PicUrl": "http://x/p.jpg", "MediaId": "m-port"})
    await pusher.push(image)
    await split.gateway.app[ROUTER].close()
    users = [m.text for m in lines_of(db, "wechat", user) if m.role == "user"]
    assert users == ["我要报案", "（图片 m-port）"]  # the picture as stored before its turn
    with db.read() as s:
        keys = s.execute(select(func.count()).select_from(ChannelDedupe)).scalar_one()
    assert keys >= 3  # the text push, the event and the image


class Call:
    """One phone call's signed events, as the telephony platform sends them."""

    def __init__(self, platform: Platform) -> None:
        self.url = platform.url("/ivr/events")
        self.call_id = uuid.uuid4().hex
        self.caller = f"139{random.randint(10**7, 10**8 - 1)}"

    async def said(self, event: str, **fields: Any) -> tuple[str, list[dict[str, Any]]]:
        body, headers = ivr_event(self.call_id, event, self.caller, **fields)
        async with aiohttp.ClientSession() as http, http.post(
                self.url, data=body, headers=headers) as r:
            assert r.status == 200
            actions = list((await r.json())["actions"])
        return " ".join(a["text"] for a in actions if a["type"] == "say"), actions


async def test_a_call_over_http(split: Split) -> None:
    call = Call(split.gateway)
    assert MENU in (await call.said("start"))[0]
    assert "出险日期" in (await call.said("dtmf", digits="1"))[0]
    for _ in range(3):
        _, actions = await call.said("noinput")
    assert actions[-1]["type"] == "transfer"
    with split.backoffice.db.read() as s:  # the call's own user; the number is its phone
        waiting = list(s.execute(select(Conversation).where(
            Conversation.phone == call.caller, Conversation.state == "queued")).scalars())
    assert waiting and waiting[0].handoff_reason == "no_input"
    assert waiting[0].user_id != call.caller


# ---- the internal operations refuse strangers, staff and hostile bodies ------------------------

@pytest.fixture
async def backoffice(tmp_path: Path, channel_db: Database, monkeypatch: pytest.MonkeyPatch
                     ) -> AsyncIterator[Platform]:
    platform = await start_platform(tmp_path, channel_db, NO_RASA,
                                    {**platform_env(None), "XIAOBAO_BACKOFFICE_URL": ""},
                                    monkeypatch)
    yield platform
    await platform.server.close()


def test_the_http_adapter_calls_the_declared_operations() -> None:
    declared = {(op.method, op.path) for op in CHANNEL_OPERATIONS}
    assert {("POST", path) for path in PATHS.values()} == declared
    assert all(op.permission == "channel.port" for op in CHANNEL_OPERATIONS)
    from backoffice.domain.staff import PERMISSIONS

    assert PERMISSIONS["channel.port"] == frozenset()  # declared, and no staff role holds it


async def test_strangers_and_every_staff_role_are_refused(backoffice: Platform) -> None:
    seed_staff(backoffice.db)
    before = counts(backoffice.db)
    body = {"channel": "web", "user": "web-x", "text": "你好"}
    async with aiohttp.ClientSession() as http:
        tokens = {}
        for username, _, role, _, password in DEMO_STAFF:
            async with http.post(backoffice.url("/api/v1/auth/token"),
                                 json={"username": username, "password": password}) as r:
                assert r.status == 201, await r.text()
                tokens[role] = (await r.json())["access_token"]
        for op in CHANNEL_OPERATIONS:
            url = backoffice.url("/api/v1" + op.path)
            for headers in ({}, {"Authorization": "Bearer wrong"},
                            {"Authorization": f"Basic {TOKEN}"}):
                async with http.post(url, json=body, headers=headers) as r:
                    assert r.status == 401, (op.path, headers, r.status)
            for role, token in tokens.items():
                async with http.post(url, json=body,
                                     headers={"Authorization": f"Bearer {token}"}) as r:
                    assert r.status == 403, (op.path, role, r.status)
                    assert (await r.json())["error"]["code"] == "forbidden"
    assert counts(backoffice.db) == before


LONG = "字" * 10_000
STATE = {"key": "ivr:call:h", "value": {"stage": "menu"}, "ttl": 60}
# (operation path, a good body, the field a hostile value goes into, the hostile values)
HOSTILE: list[tuple[str, dict[str, Any], str, list[Any]]] = [
    ("/channel/messages", {"channel": "web", "user": "web-h", "text": "你好"}, "channel",
     ["sms", 1, None, ["web"], "web\x00"]),
    ("/channel/messages", {"channel": "web", "user": "web-h", "text": "你好"}, "user",
     ["", "u" * 81, 42, {"id": 1}, "a\x00b"]),
    ("/channel/messages", {"channel": "web", "user": "web-h", "text": "你好"}, "text",
     [LONG, 12, None, ["你好"], True, "你\x00好"]),
    ("/channel/messages", {"channel": "web", "user": "web-h", "text": "你好"}, "push_key",
     ["", "k" * 161, 7]),
    ("/channel/bot-messages", {"conversation_id": 1, "messages": [{"text": "好"}]},
     "conversation_id", ["1", 0, -5, 10**13, True, 1.5, None]),
    ("/channel/bot-messages", {"conversation_id": 1, "messages": [{"text": "好"}]},
     "messages", [[], "好", [{"text": "好"}] * 101, None]),
    ("/channel/bot-messages", {"conversation_id": 1, "messages": [{"text": "好"}]},
     "messages[0].text", [LONG, 3]),
    ("/channel/bot-lines", {"answers": [{"conversation_id": 1, "messages": [{"text": "好"}]}]},
     "answers[0].messages[0].text", [LONG, ["好"]]),
    ("/channel/bot-lines", {"answers": [{"conversation_id": 1, "messages": [{"text": "好"}]}]},
     "answers", [[], {"conversation_id": 1}]),
    ("/channel/bot-failures", {"conversation_id": 1, "reason": "bot_unavailable",
                               "note": "无应答"}, "reason", ["angry", 1, ""]),
    ("/channel/bot-failures", {"conversation_id": 1, "reason": "bot_unavailable",
                               "note": "无应答"}, "note", ["", LONG, 1]),
    ("/channel/offline-notices", {"channel": "wechat", "user": "o1", "text": "您好",
                                  "template": False}, "template", ["yes", 1, None]),
    ("/channel/offline-notices", {"channel": "wechat", "user": "o1", "text": "您好",
                                  "template": False}, "text", ["", LONG]),
    ("/channel/push-keys", {"key": "wechat:msg:1"}, "key", ["", "k" * 161, 1, None]),
    ("/channel/push-keys/forget", {"before": "2026-01-01T00:00:00+08:00"}, "before",
     ["yesterday", "2026-01-01T00:00:00", [], None]),
    ("/channel/agent-messages", {"conversation_id": 1, "agent": "a1", "text": "您好"},
     "agent", ["", "a" * 61, 5, None]),
    ("/channel/agent-messages", {"conversation_id": 1, "agent": "a1", "text": "您好"},
     "text", ["", LONG, [], None]),
    ("/channel/handbacks", {"conversation_id": 1}, "conversation_id", ["x", 0, False]),
    ("/channel/unsubscriptions", {"channel": "wechat", "user": "o1"}, "user",
     ["", "u" * 81, 1, None]),
    ("/channel/unsubscriptions", {"channel": "wechat", "user": "o1"}, "channel", ["fax", 1]),
    ("/channel/state/claim", STATE, "key", ["", "k" * 201, 1, None, ["k"], "k\ud800"]),
    ("/channel/state/claim", STATE, "value",
     [[], "x", None, 1, {"a": "字" * 70_000}, {"a": float("nan")}, {"a": "\ud800"}]),
    ("/channel/state/claim", STATE, "ttl", [0, -1, "60", 60.5, True, 7 * 24 * 3600 + 1, None]),
    ("/channel/state/claim", STATE, "read", ["k", {"k": 1}, ["k"] * 21]),
    ("/channel/state/claim", {**STATE, "read": ["k"]}, "read[0]", ["", 1, "k" * 201]),
    ("/channel/state/read", {"keys": ["k"]}, "keys", [[], "k", ["k"] * 21, None]),
    ("/channel/state/read", {"keys": ["k"]}, "keys[0]", ["", 5]),
    ("/channel/state/write", {"puts": [STATE]}, "puts", [None, STATE, [STATE] * 21]),
    ("/channel/state/write", {"puts": [STATE]}, "puts[0].ttl", [0, "x"]),
    ("/channel/state/write", {"puts": [STATE]}, "puts[0].value", [[1], {"a": float("inf")}]),
    ("/channel/state/write", {"puts": [], "drops": ["k"]}, "drops", ["k", ["k"] * 21]),
    ("/channel/state/write", {"puts": [], "drops": ["k"]}, "drops[0]", ["", None]),
    ("/channel/messages", {"channel": "web", "user": "web-h", "text": "你好"}, "answerer",
     ["", "a" * 101, 5, ["h:1"]]),
    ("/channel/bot-lines", {"answers": [{"conversation_id": 1, "messages": [{"text": "好"}]}],
                            "answered": [1]}, "answered", ["1", {"id": 1}, [1] * 1001]),
    ("/channel/bot-lines", {"answers": [{"conversation_id": 1, "messages": [{"text": "好"}]}],
                            "answered": [1]}, "answered[0]", [0, -1, "1", True, 1.5, 10**16]),
    ("/channel/settled-messages", {"message_ids": [1], "state": "answered"}, "state",
     ["pending", "", 1, None, "ANSWERED"]),
    ("/channel/settled-messages", {"message_ids": [1], "state": "answered"}, "message_ids",
     [[], "1", None, [1] * 1001]),
    ("/channel/settled-messages", {"message_ids": [1], "state": "answered"}, "message_ids[0]",
     [0, -1, "1", True, None]),
    ("/channel/sms-messages", {"phone": "13912345678", "text": "5", "push_key": "sms:e1"},
     "phone", ["", "1" * 33, 139, None, "not a phone", "12"]),
    ("/channel/sms-messages", {"phone": "13912345678", "text": "5", "push_key": "sms:e1"},
     "text", ["", LONG, 5, None]),
    ("/channel/sms-messages", {"phone": "13912345678", "text": "5", "push_key": "sms:e1"},
     "push_key", ["", "k" * 161, 1, None]),
    ("/channel/call-ratings", {"user": "call-x", "score": 5}, "score",
     [0, 6, -1, "5", 5.5, True, None, 10**20]),
    ("/channel/call-ratings", {"user": "call-x", "score": 5}, "user", ["", "u" * 81, 1, None]),
    ("/channel/unanswered-messages", {"answerer": "h:1"}, "answerer", ["", "a" * 101, 1, None]),
    ("/channel/unanswered-messages", {"answerer": "h:1"}, "after",
     [-1, "0", 1.5, True, 10**16]),
    ("/channel/unanswered-messages", {"answerer": "h:1"}, "takeover", ["true", 1, None, []]),
    ("/channel/instance-leases", {"answerer": "h:1", "seconds": 20}, "answerer",
     ["", "a" * 101, 1, None]),
    ("/channel/instance-leases", {"answerer": "h:1", "seconds": 20}, "seconds",
     [0, -1, 3601, "20", 2.5, True, None, 10**20]),
    ("/channel/instance-leases", {"answerer": "h:1", "seconds": 20}, "generation",
     [0, -1, "1", 1.5, True, 2**63]),
    ("/channel/instance-leases", {"answerer": "h:1", "seconds": 20, "held": [1]}, "held",
     ["1", {"id": 1}, [1] * 20001]),
    ("/channel/instance-leases", {"answerer": "h:1", "seconds": 20, "held": [1]}, "held[0]",
     [0, -1, "1", True, 10**16]),
]


async def test_hostile_bodies_are_400_naming_the_field(backoffice: Platform) -> None:
    before = counts(backoffice.db)
    async with aiohttp.ClientSession(headers=AUTH) as http:
        for op in CHANNEL_OPERATIONS:
            url = backoffice.url("/api/v1" + op.path)
            for raw in (b"[1]", b'"text"', b"42", b"null", b"{bad", b"\xff\xfe",
                        b'{"a": ' * 5000):
                async with http.post(url, data=raw,
                                     headers={"Content-Type": "application/json"}) as r:
                    assert r.status == 400, (op.path, raw[:10], r.status)
                    assert (await r.json())["error"]["field"] == "body"
            async with http.post(url, json={}) as r:  # nothing at all: the first field named
                assert r.status == 400 and (await r.json())["error"]["field"]
        for path, good, field, values in HOSTILE:
            for value in values:
                async with http.post(backoffice.url("/api/v1" + path),
                                     json={**good, field.split("[")[0]: _put(good, field,
                                                                             value)}) as r:
                    error = (await r.json())["error"]
                    assert r.status == 400, (path, field, repr(value)[:40], r.status)
                    assert error["field"] == field, (path, field, repr(value)[:40], error)
                    assert error["code"] == "invalid" and error["message"]
    assert counts(backoffice.db) == before  # nothing kept


def _put(good: dict[str, Any], field: str, value: Any) -> Any:
    """The good body's top-level value with `value` placed at `field` ("a[0].b[0].c")."""
    top, _, rest = field.partition("[")
    if not rest:
        return value
    tree = json.loads(json.dumps(good[top]))
    node: Any = tree
    steps = [p for p in ("[" + rest).replace("]", "").replace("[", ".").split(".") if p]
    for step in steps[:-1]:
        node = node[int(step)] if step.isdigit() else node[step]
    last = steps[-1]
    node[int(last) if last.isdigit() else last] = value
    return tree


async def test_an_unknown_conversation_is_404(backoffice: Platform) -> None:
    async with aiohttp.ClientSession(headers=AUTH) as http:
        for path, body in (("/channel/agent-messages",
                            {"conversation_id": 999999, "agent": "a1", "text": "您好"}),
                           ("/channel/handbacks", {"conversation_id": 999999}),
                           ("/channel/bot-failures", {"conversation_id": 999999,
                                                      "reason": "fallback", "note": "x"})):
            async with http.post(backoffice.url("/api/v1" + path), json=body) as r:
                assert r.status == 404, (path, r.status)
                assert (await r.json())["error"]["field"] == "conversation_id"


# ---- a back office that is down --------------------------------------------------------------

async def test_a_back_office_down_degrades_as_the_router_does(
        tmp_path: Path, channel_db: Database, rasa_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()  # nothing listens there yet
    env = {**platform_env(None), "XIAOBAO_BACKOFFICE_URL": f"http://127.0.0.1:{port}"}
    own = own_database(tmp_path)
    gateway = await start_platform(tmp_path / "gateway", own, rasa_url, env, monkeypatch)
    wechat_user = openid()
    spool = tmp_path / "gateway" / "var" / "channels-spool.jsonl"
    try:
        async with aiohttp.ClientSession() as http:
            down = await web_user(http, gateway)
            user = down.user
            reply = await chat(http, gateway, down, "我家老人住院了")
            assert reply == {"messages": [{"text": STORE_DOWN}], "state": "queued"}
            pusher = WeChatPusher(gateway.url("/wechat"))
            _, answer = await pusher.push(text_xml(wechat_user, "我要理赔"))
            assert reply_text(answer) == STORE_DOWN
            # the call's state cannot be kept (nor the event recorded): an agent takes over
            assert (await Call(gateway).said("start"))[1][-1] == {"type": "transfer",
                                                                  "queue": "agents"}
            assert len(spool.read_text(encoding="utf-8").splitlines()) == 2
            # the back office comes back on its address; the next message drains the spool
            settings = Settings(database_url=channel_db.url, api_token=TOKEN, rasa_url=rasa_url,
                                log_level="INFO", var_dir=tmp_path / "backoffice",
                                notify=NotifyConfig())
            monkeypatch.setenv("XIAOBAO_BACKOFFICE_URL", "")
            server = TestServer(create_app(settings, channel_db), host="127.0.0.1", port=port)
            await server.start_server()
            try:
                back = await web_user(http, gateway)
                assert (await chat(http, gateway, back, "你好"))["state"] == "bot"
            finally:
                await gateway.app[ROUTER].close()
                await server.close()
    finally:
        await gateway.server.close()
        own.dispose()
    assert not spool.exists()
    for channel, who, text in (("web", user, "我家老人住院了"),
                               ("wechat", wechat_user, "我要理赔")):
        assert lines_of(channel_db, channel, who)[0].text == text
        waiting = queued(channel_db, who)
        assert waiting and waiting[0].handoff_reason == "backoffice_down"


# ---- the port's contract, for both adapters ---------------------------------------------------

@pytest.fixture(params=["in_process", "http"])
async def port(request: pytest.FixtureRequest, channel_db: Database, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Backoffice]:
    if request.param == "in_process":
        adapter: Backoffice = InProcessBackoffice(channel_db)
        yield adapter
        return
    platform = await start_platform(tmp_path, channel_db, NO_RASA,
                                    {**platform_env(None), "XIAOBAO_BACKOFFICE_URL": ""},
                                    monkeypatch)
    adapter = HttpBackoffice(platform.url(""), TOKEN)
    yield adapter
    await adapter.close()
    await platform.server.close()


async def test_the_ports_contract(port: Backoffice, channel_db: Database) -> None:
    user = "o" + uuid.uuid4().hex[:20]
    turn = await port.user_message("wechat", user, "你好", push_key=f"wechat:msg:{user}")
    assert turn is not None and turn.state == "bot"
    assert await port.user_message("wechat", user, "你好", push_key=f"wechat:msg:{user}") \
        is None  # the same push again: nothing kept
    await port.bot_lines([(turn.conversation_id, [
        {"text": "您好", "buttons": [{"title": "报案", "payload": "/report_incident"}]},
        {"text": "", "custom": ["任何 JSON"]}])])
    queued = await port.bot_messages(turn.conversation_id, [
        {"text": "正在转接"}, {"text": "", "custom": {"handoff": {"reason": "user_request",
                                                                "summary": {"text": "转人工"}}}}])
    assert queued == type(turn)(turn.conversation_id, "queued")
    delivery = await port.agent_message(turn.conversation_id, "a1", "您好，请讲。")
    assert (delivery.channel, delivery.user, delivery.text) == ("wechat", user, "您好，请讲。")
    handed = await port.handback(turn.conversation_id, "a1")
    assert (handed.channel, handed.user, handed.conversation["state"]) == ("wechat", user, "bot")
    failed = await port.bot_failed(turn.conversation_id, "bot_unavailable", "小保无应答")
    assert failed.state == "queued"
    await port.offline_notice("wechat", user, "您的理赔已受理", None, template=True)
    assert await port.first_seen(f"wechat:event:{user}:1") is True
    assert await port.first_seen(f"wechat:event:{user}:1") is False
    assert await port.forget_seen_before(datetime.now(UTC) + timedelta(seconds=5)) >= 2
    assert await port.binding("wechat", user) is None
    call, event = f"ivr:call:{user}", f"ivr:event:{user}"
    await port.state_write([StatePut(call, {"stage": "menu", "last": ["请讲"]}, 60)])
    first = await port.state_claim(StatePut(event, {"digest": "a"}, 60), [call, "ivr:none"])
    assert first == StateClaim(True, {call: {"stage": "menu", "last": ["请讲"]}})
    again = await port.state_claim(StatePut(event, {"digest": "b"}, 60), [call])
    assert again.claimed is False and again.values[event] == {"digest": "a"}
    await port.state_write([StatePut(event, {"digest": "a", "answer": []}, 60)], [call])
    assert await port.state_read([call, event]) == {event: {"digest": "a", "answer": []}}
    assert (await port.attach_document("wechat", user, Upload(b"x", "a.jpg", "image/jpeg"))
            ).claim_no is None
    roles = [m.role for m in lines(channel_db, turn.conversation_id)]
    assert roles == ["user", "bot", "bot", "bot", "bot", "agent", "system", "system", "system"]


async def test_unanswered_messages_through_the_port(port: Backoffice,
                                                   channel_db: Database) -> None:
    """A message stored with its answerer stays pending until settled; a restarted answerer
    (the same name) claims it back, another only once its lease ran out, never twice."""
    user, me = "web-" + uuid.uuid4().hex[:12], "host-a:" + uuid.uuid4().hex[:6]
    first = await port.user_message("web", user, "一", answerer=me)
    second = await port.user_message("web", user, "二", answerer=me)
    assert first is not None and second is not None and first.message_id and second.message_id
    assert await port.unanswered("host-b:1") == []  # another process: the lease holds
    claimed = await port.unanswered(me)
    assert [(u.message_id, u.text, u.channel, u.user) for u in claimed] == [
        (first.message_id, "一", "web", user), (second.message_id, "二", "web", user)]
    assert await port.unanswered(me, second.message_id) == []
    await port.bot_lines([(first.conversation_id, [{"text": "好的"}])], [first.message_id])
    assert await port.settle([first.message_id, second.message_id], "queued") == 1
    assert await port.unanswered(me) == []
    states = {m.id: m.answer_state for m in lines(channel_db, first.conversation_id)}
    assert states[first.message_id] == "answered" and states[second.message_id] == "queued"
    with pytest.raises(BackofficeRefused) as refused:
        await port.settle([first.message_id], "pending")
    assert refused.value.field == "state"


async def test_leases_and_the_takeover_through_the_port(port: Backoffice,
                                                       channel_db: Database) -> None:
    """A process registers its lease and keeps its messages while it renews; once the lease
    ran out another takes them over (once), and the slow one hears which at its renewal."""
    user = "web-" + uuid.uuid4().hex[:12]
    slow, other = "slow:" + uuid.uuid4().hex[:6], "other:" + uuid.uuid4().hex[:6]
    lease = await port.renew_lease(slow, None, 1)
    assert lease.taken == ()
    assert (await port.renew_lease(other, None, 60)).taken == ()
    turn = await port.user_message("web", user, "一", answerer=slow)
    assert turn is not None and turn.message_id
    assert await port.unanswered(other, takeover=True) == []  # the lease holds
    await asyncio.sleep(1.2)
    claimed = await port.unanswered(other, takeover=True)
    assert [u.message_id for u in claimed] == [turn.message_id]
    assert await port.unanswered(other, takeover=True) == []
    late = await port.renew_lease(slow, lease.generation, 20, [turn.message_id])
    assert late.generation != lease.generation and late.taken == (turn.message_id,)
    assert (await port.renew_lease(slow, late.generation, 20)).taken == ()


async def test_an_unsubscribe_through_the_port(port: Backoffice, channel_db: Database) -> None:
    """The user unfollowed: their conversations keep the time; unbound or not, no error."""
    user = "o" + uuid.uuid4().hex[:20]
    turn = await port.user_message("wechat", user, "你好")
    assert turn is not None
    await port.unsubscribed("wechat", user)
    with channel_db.read() as s:
        conversation = s.get(Conversation, turn.conversation_id)
        assert conversation is not None and conversation.unsubscribed_at is not None
    with pytest.raises(BackofficeRefused) as refused:
        await port.unsubscribed("fax", user)
    assert refused.value.field == "channel"


async def test_both_adapters_refuse_alike(port: Backoffice) -> None:
    for call, field in (
            (port.user_message("fax", "u1", "你好"), "channel"),
            (port.user_message("web", "", "你好"), "user"),
            (port.bot_failed(1, "angry", "x"), "reason"),
            (port.agent_message(999999, "a1", "您好"), "conversation_id"),
            (port.handback(999999, None), "conversation_id"),
            (port.agent_message(1, "", "您好"), "agent"),
            (port.state_claim(StatePut("", {}, 60)), "key"),
            (port.state_write([StatePut("k", {}, 0)]), "puts[0].ttl"),
            (port.state_read([]), "keys")):
        with pytest.raises(BackofficeRefused) as refused:
            await call
        assert refused.value.field == field


async def test_an_unreachable_back_office_is_unavailable() -> None:
    adapter = HttpBackoffice(f"http://127.0.0.1:{free_port()}", TOKEN)
    try:
        with pytest.raises(BackofficeUnavailable):
            await adapter.user_message("web", "u1", "你好")
        with pytest.raises(BackofficeUnavailable):
            await adapter.binding("ivr", "13900000000")
    finally:
        await adapter.close()


async def test_a_wrong_service_token_keeps_the_messages(backoffice: Platform) -> None:
    adapter = HttpBackoffice(backoffice.url(""), "not-the-token")
    try:
        with pytest.raises(BackofficeUnavailable):  # spooled by the router, not dropped
            await adapter.user_message("web", "u1", "你好")
    finally:
        await adapter.close()
