"""The WeChat channel over real HTTP, as WeChat's servers push, against the running platform
and a real Rasa server; WeChat's API is a local stand-in speaking its protocol."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from channel_kit import (
    TOKEN,
    Platform,
    WeChatApiStandIn,
    eventually,
    free_port,
    openid,
    platform_env,
    start_platform,
)
from sqlalchemy import select
from wechat_client import WeChatPusher, message_xml, reply_text, sign, text_xml

from backoffice.services import conversations as conv
from backoffice.store.db import Database
from backoffice.store.models import Conversation, Notification
from channels.router import STARTING
from channels.wechat import WeChatConfig, WeChatProtocol

# Tencent's published WXBizMsgCrypt sample (safe mode)
SAMPLE = json.loads((Path(__file__).parent / "wechat_official_sample.json").read_text())

Start = Callable[..., Any]


@pytest.fixture
async def start(tmp_path: Path, channel_db: Database, rasa_url: str,
                wechat_api: WeChatApiStandIn, monkeypatch: pytest.MonkeyPatch
                ) -> AsyncIterator[Start]:
    platforms: list[Platform] = []

    async def go(*, rasa: str | None = None, **options: Any) -> Platform:
        platform = await start_platform(tmp_path, channel_db, rasa or rasa_url,
                                        platform_env(wechat_api, **options), monkeypatch)
        platforms.append(platform)
        return platform

    yield go
    for platform in platforms:
        await platform.server.close()


def transcript(db: Database, user: str) -> dict[str, Any]:
    with db.read() as s:
        row = s.execute(select(Conversation).where(Conversation.user_id == user)
                        .order_by(Conversation.id.desc())).scalars().first()
    assert row is not None
    return conv.get_conversation(db, {"conversation_id": row.id})


# ---- the protocol ------------------------------------------------------------------------------

def test_the_official_sample_verifies_and_decrypts() -> None:
    config = WeChatConfig(token=SAMPLE["token"], aes_key=SAMPLE["encoding_aes_key"],
                          appid=SAMPLE["appid"])
    protocol = WeChatProtocol(config, now=lambda: float(SAMPLE["timestamp"]))
    query = {"signature": sign(SAMPLE["token"], SAMPLE["timestamp"], SAMPLE["nonce"]),
             "timestamp": SAMPLE["timestamp"], "nonce": SAMPLE["nonce"],
             "encrypt_type": "aes", "msg_signature": SAMPLE["msg_signature"]}
    assert query["signature"] == "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"
    body = f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>" \
           f"<Encrypt><![CDATA[{SAMPLE['encrypt']}]]></Encrypt></xml>"
    message, encrypted = protocol.message(query, body)
    expected = {k: str(v) for k, v in SAMPLE["expected_plaintext"].items()}
    assert encrypted and message == expected
    # a forged msg_signature is refused
    from channels.wechat import Forbidden

    with pytest.raises(Forbidden):
        protocol.message({**query, "msg_signature": "0" * 40}, body)
    # the sample is from 2014: outside today's replay window
    with pytest.raises(Forbidden):
        WeChatProtocol(config).message(query, body)


async def test_url_verification(start: Start) -> None:
    platform = await start()
    pusher = WeChatPusher(platform.url("/wechat"))
    async with aiohttp.ClientSession() as session:
        query = {**pusher.query(), "echostr": "7210193845"}
        async with session.get(platform.url("/wechat"), params=query) as r:
            assert (r.status, await r.text()) == (200, "7210193845")
        async with session.get(platform.url("/wechat"),
                               params={**query, "signature": "f" * 40}) as r:
            assert r.status == 403
        stale = {**pusher.query(timestamp=1409735669), "echostr": "1"}
        async with session.get(platform.url("/wechat"), params=stale) as r:
            assert r.status == 403


# ---- conversations -----------------------------------------------------------------------------

@pytest.mark.parametrize("aes", [False, True], ids=["plain", "safe"])
async def test_an_incident_report_answered_passively(start: Start, aes: bool,
                                                     wechat_api: WeChatApiStandIn) -> None:
    platform = await start(aes=aes)
    pusher, user = WeChatPusher(platform.url("/wechat"), aes=aes), openid()
    status, reply = await pusher.push(text_xml(user, "我要报案"))
    assert status == 200 and "出险日期" in reply_text(reply)
    _, reply = await pusher.push(text_xml(user, "昨天"))
    assert "哪里" in reply_text(reply)
    _, reply = await pusher.push(text_xml(user, "在家里"))
    answer = reply_text(reply)
    # both messages of the turn, in order, in the one passive reply
    assert answer.index("报案号") < answer.index("联系您")
    lines = transcript(platform.db, user)["messages"]
    assert [m["role"] for m in lines][:3] == ["user", "bot", "user"]
    assert [m["text"] for m in lines if m["role"] == "user"] == ["我要报案", "昨天", "在家里"]
    assert all(m["at"] for m in lines)
    assert wechat_api.sent == []  # nothing needed the customer-service API
    async with aiohttp.ClientSession() as http, http.get(platform.url("/metrics")) as r:
        assert 'xiaobao_wechat_answers_total{how="passive"} 3.0' in await r.text()


async def test_a_retried_push_is_answered_once(start: Start) -> None:
    platform = await start()
    pusher, user = WeChatPusher(platform.url("/wechat")), openid()
    xml = text_xml(user, "你好", msg_id=880001)
    first = await pusher.push(xml)
    again = await pusher.push(xml)
    assert "小保" in reply_text(first[1]) and again == (200, "success")
    users = [m for m in transcript(platform.db, user)["messages"] if m["role"] == "user"]
    assert len(users) == 1
    # events have no MsgId: FromUserName + CreateTime identify them
    event = message_xml(user, "event", {"Event": "subscribe", "EventKey": ""}, created=1700000000)
    assert "欢迎关注" in reply_text((await pusher.push(event))[1])
    assert await pusher.push(event) == (200, "success")


async def test_a_retry_reaching_another_process_is_answered_once(start: Start) -> None:
    """Without Redis the key is stored with the user's message, in the turn's transaction: a
    process that did not see the first push still knows it from the database."""
    first, second = await start(), await start()
    user = openid()
    xml = text_xml(user, "你好", msg_id=random.getrandbits(62))
    assert "小保" in reply_text((await WeChatPusher(first.url("/wechat")).push(xml))[1])
    assert await WeChatPusher(second.url("/wechat")).push(xml) == (200, "success")
    users = [m for m in transcript(first.db, user)["messages"] if m["role"] == "user"]
    assert [m["text"] for m in users] == ["你好"]
    event = message_xml(user, "event", {"Event": "subscribe", "EventKey": ""},
                        created=1700000123)
    assert "欢迎关注" in reply_text((await WeChatPusher(first.url("/wechat")).push(event))[1])
    assert await WeChatPusher(second.url("/wechat")).push(event) == (200, "success")


async def test_a_slow_turn_switches_to_the_customer_service_api(
        start: Start, wechat_api: WeChatApiStandIn) -> None:
    # the fixture bot's slow look-up takes 6 s, beyond the passive wait; the turns pushed while
    # its answer is on its way go by the CS API too, so nothing overtakes it. (A turn done when
    # the wait ends is answered passively, as it should be: hence the slow turn, not a tiny wait.)
    platform = await start(passive_wait=0.5)
    pusher, user = WeChatPusher(platform.url("/wechat")), openid()
    assert await pusher.push(text_xml(user, "慢慢查一下")) == (200, "success")
    for text in ("我要报案", "昨天", "在家里"):
        assert await pusher.push(text_xml(user, text)) == (200, "success")
    texts = await eventually(lambda: (t := wechat_api.texts_to(user)) and len(t) >= 5 and t,
                             "the five answers by the CS API")
    assert "查询完成" in texts[0] and "出险日期" in texts[1] and "在哪里" in texts[2]
    assert "报案号" in texts[3] and "联系您" in texts[4]  # several messages of a turn, in order
    assert wechat_api.token_fetches == 1  # the token is cached and shared
    async with aiohttp.ClientSession() as http, http.get(platform.url("/metrics")) as r:
        assert 'xiaobao_wechat_answers_total{how="cs_api"} 4.0' in await r.text()


async def test_outside_the_48_hour_window_the_answer_goes_to_the_outbox(
        start: Start, wechat_api: WeChatApiStandIn) -> None:
    # the slow look-up (6 s) outlasts the passive wait, so its answer goes by the CS API, which
    # refuses it with 45015 (a tiny wait on a quick turn may rightly end in a passive answer)
    platform = await start(passive_wait=0.5)
    pusher, user = WeChatPusher(platform.url("/wechat")), openid()
    wechat_api.outside_window.add(user)
    assert await pusher.push(text_xml(user, "慢慢查一下")) == (200, "success")

    def queued() -> list[Notification]:
        with platform.db.read() as s:
            return list(s.execute(select(Notification).where(
                Notification.recipient == user)).scalars())

    notes = await eventually(queued, "the notice in the outbox")
    assert notes[0].channel == "wechat" and "查询完成" in notes[0].text
    assert wechat_api.texts_to(user) == []  # refused, not delivered


async def test_handoff_to_an_agent_and_back(start: Start, wechat_api: WeChatApiStandIn) -> None:
    platform = await start()
    pusher, user = WeChatPusher(platform.url("/wechat")), openid()
    _, reply = await pusher.push(text_xml(user, "转人工"))
    assert "人工" in reply_text(reply)
    api = platform.url("/api/v1/conversations")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(headers=auth) as http:
        async with http.get(api, params={"state": "queued"}) as r:
            items = [c for c in (await r.json())["items"] if c["user"] == user]
        assert items[0]["handoff_reason"] == "user_request"
        assert items[0]["handoff_summary"]["text"]
        cid = items[0]["id"]
        # while the agents own it, the user's messages go to them, not to the bot
        assert await pusher.push(text_xml(user, "我的理赔到哪一步了")) == (200, "success")
        async with http.post(f"{api}/{cid}/take", json={"agent": "agent007"}) as r:
            assert r.status == 200 and (await r.json())["state"] == "agent"
        async with http.post(f"{api}/{cid}/messages",
                             json={"agent": "agent007", "text": "您好，我是客服小李。"}) as r:
            assert r.status == 201 and (await r.json())["delivered"] is True
        assert wechat_api.texts_to(user) == ["您好，我是客服小李。"]
        async with http.post(f"{api}/{cid}/handback", json={"agent": "agent007"}) as r:
            assert r.status == 200 and (await r.json())["state"] == "bot"
        assert "回来" in wechat_api.texts_to(user)[-1]
        _, reply = await pusher.push(text_xml(user, "我要报案"))
        assert "出险日期" in reply_text(reply)  # the bot answers again
        async with http.get(f"{api}/{cid}") as r:
            roles = [(m["role"], m["text"]) for m in (await r.json())["messages"]]
    assert ("user", "我的理赔到哪一步了") in roles and ("agent", "您好，我是客服小李。") in roles
    assert roles.index(("agent", "您好，我是客服小李。")) < roles.index(("user", "我要报案"))


async def test_a_bot_never_up_loses_nothing_and_queues_nothing(start: Start) -> None:
    """Nothing ever listened where Rasa should be: the bot is starting, not failed (a bot
    that was up and fails is queued for agents: tests/channels/test_readiness.py)."""
    platform = await start(rasa=f"http://127.0.0.1:{free_port()}", passive_wait=60)
    pusher, user = WeChatPusher(platform.url("/wechat")), openid()
    status, reply = await pusher.push(text_xml(user, "我要报案，老人摔伤了"))
    assert status == 200 and reply_text(reply) == STARTING
    body = await eventually(lambda: (b := transcript(platform.db, user))["messages"][1:] and b,
                            "the notice in the transcript")
    assert body["state"] == "bot" and body["handoff_reason"] is None
    assert [(m["role"], m["text"]) for m in body["messages"]] == [
        ("user", "我要报案，老人摔伤了"), ("bot", STARTING)]


# ---- message types -----------------------------------------------------------------------------

async def test_voice_location_image_and_events(start: Start,
                                               wechat_api: WeChatApiStandIn) -> None:
    platform = await start()
    pusher, user = WeChatPusher(platform.url("/wechat")), openid()
    voice = message_xml(user, "voice", {"MediaId": "v1", "Format": "amr",
                                        "Recognition": "你好"})
    assert "小保" in reply_text((await pusher.push(voice))[1])
    unheard = message_xml(user, "voice", {"MediaId": "v2", "Format": "amr"})
    assert "转人工" in reply_text((await pusher.push(unheard))[1])
    place = message_xml(user, "location", {"Location_X": 23.25, "Location_Y": 116.53,
                                           "Scale": 15, "Label": "汕头市潮南区峡山街道"})
    await pusher.push(place)
    assert any("潮南区" in m["text"] for m in transcript(platform.db, user)["messages"])
    wechat_api.media["m1"] = b"\xff\xd8\xff\xe0fake-jpeg"
    image = message_xml(user, "image", {"PicUrl": "http://x/p.jpg", "MediaId": "m1"})
    assert "资料已收到" in reply_text((await pusher.push(image))[1])
    users = [m["text"] for m in transcript(platform.db, user)["messages"] if m["role"] == "user"]
    assert users[-1] == "（图片 m1）"  # fetched in its turn; the bot heard it arrived
    click = message_xml(user, "event", {"Event": "CLICK", "EventKey": "greet"})
    assert "小保" in reply_text((await pusher.push(click))[1])
    for event in ("unsubscribe", "VIEW"):
        xml = message_xml(user, "event", {"Event": event, "EventKey": "http://x"})
        assert await pusher.push(xml) == (200, "success")


# ---- hostile pushes ----------------------------------------------------------------------------

async def test_hostile_pushes_get_4xx_never_5xx(start: Start) -> None:
    platform = await start(aes=True)
    pusher, user = WeChatPusher(platform.url("/wechat")), openid()
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><xml><Content>&lol2;</Content></xml>')
    xxe = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           '<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName>'
           '<MsgType>text</MsgType><Content>&e;</Content></xml>')
    cases = {"not xml": "{]", "bomb": bomb, "xxe": xxe, "big": "<xml>" + "x" * 70000 + "</xml>",
             "no user": "<xml><MsgType>text</MsgType></xml>", "wrong root": "<a/>"}
    for what, body in cases.items():
        status, _ = await pusher.push(body)
        assert status == 400, what
    assert (await pusher.push(text_xml(user, "hi"), signature="0" * 40))[0] == 403
    status, _ = await pusher.push(text_xml(user, "hi"), encrypt_type="aes",
                                  msg_signature="bad")
    assert status in (400, 403)
    # control characters in the user's text are removed, the message still answered
    safe = WeChatPusher(platform.url("/wechat"), aes=True)
    status, reply = await safe.push(text_xml(user, "你\x01好\x08"))
    assert status == 200 and "小保" in reply_text(reply)


async def test_an_answer_never_overtakes_a_slower_earlier_one(
        start: Start, wechat_api: WeChatApiStandIn) -> None:
    # the fixture bot's slow look-up takes 6 s, beyond the 4 s passive wait
    platform = await start()
    pusher, user = WeChatPusher(platform.url("/wechat")), openid()
    slow = asyncio.ensure_future(pusher.push(text_xml(user, "慢慢查一下")))
    await asyncio.sleep(0.5)  # the second push arrives while the first turn runs
    status, reply = await pusher.push(text_xml(user, "你好"))
    assert await slow == (200, "success")
    if reply_text(reply):  # answered passively: only after the slow answer went out
        assert any("查询完成" in t for t in wechat_api.texts_to(user))
    texts = await eventually(lambda: (t := wechat_api.texts_to(user)) and
                             len(t) >= (1 if reply_text(reply) else 2) and t, "both answers")
    assert "查询完成" in texts[0]
