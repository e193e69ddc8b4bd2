"""Attacks on `/wechat` beyond forged signatures, against the running platform over real HTTP:
a plain push to an account in safe mode, and one signature triple reused for other messages
(by one process, by two sharing the database, and through Redis)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from channel_kit import Platform, WeChatApiStandIn, openid, platform_env, start_platform
from sqlalchemy import func, select
from wechat_client import WeChatPusher, reply_text, text_xml

from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import Conversation

REDIS = "redis://localhost:6379/0"
Start = Callable[..., Any]


@pytest.fixture
async def start(tmp_path: Path, channel_db: Database, rasa_url: str,
                wechat_api: WeChatApiStandIn, monkeypatch: pytest.MonkeyPatch
                ) -> AsyncIterator[Start]:
    platforms: list[Platform] = []

    async def go(**options: Any) -> Platform:
        platform = await start_platform(tmp_path, channel_db, rasa_url,
                                        platform_env(wechat_api, **options), monkeypatch)
        platforms.append(platform)
        return platform

    yield go
    for platform in platforms:
        await platform.server.close()


def conversations_of(db: Database, user: str) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(Conversation)
                             .where(Conversation.user_id == user)).scalar_one())


# ---- safe mode ---------------------------------------------------------------------------------

async def test_safe_mode_refuses_a_plain_push_and_still_verifies_the_url(start: Start) -> None:
    platform = await start(aes=True)
    plain, safe, user = (WeChatPusher(platform.url("/wechat")),
                         WeChatPusher(platform.url("/wechat"), aes=True), openid())
    status, text = await plain.push(text_xml(user, "我要报案"))
    assert status == 400 and "encrypt_type=aes" in text
    # `encrypt_type=raw` said out loud is the same plain push
    status, _ = await plain.push(text_xml(user, "我要报案"), encrypt_type="raw")
    assert status == 400
    assert conversations_of(platform.db, user) == 0  # nothing reached the bot
    # a correct signature does not help: the refusal is about the mode, not the signature
    status, _ = await plain.push(text_xml(user, "你好"), signature="0" * 40)
    assert status == 403
    status, reply = await safe.push(text_xml(user, "你好"))
    assert status == 200 and "小保" in reply_text(reply)
    async with aiohttp.ClientSession() as http:
        query = {**plain.query(), "echostr": "5150"}
        async with http.get(platform.url("/wechat"), params=query) as r:
            assert (r.status, await r.text()) == (200, "5150")


# ---- one signature, one message ----------------------------------------------------------------

def _signed(pusher: WeChatPusher) -> dict[str, str]:
    return pusher.query(nonce=str(random.randint(10**8, 10**9)))


@pytest.mark.parametrize("shared", ["database", "redis"])
async def test_a_signature_triple_signs_one_message_only(start: Start, shared: str) -> None:
    platform = await start(redis_url=REDIS if shared == "redis" else None)
    pusher, victim, other = WeChatPusher(platform.url("/wechat")), openid(), openid()
    query = _signed(pusher)
    first = text_xml(victim, "你好", msg_id=random.getrandbits(62))
    status, reply = await pusher.push(first, **query)
    assert status == 200 and "小保" in reply_text(reply)
    # WeChat's own retry: the same triple and the same message reach the dedupe, answered
    # `success` (WeChat shows no error) and not a second turn
    assert await pusher.push(first, **query) == (200, "success")
    # the captured triple with another body, another openid, another MsgId: refused
    for forged in (text_xml(victim, "我要退保", msg_id=random.getrandbits(62)),
                   text_xml(other, "你好", msg_id=random.getrandbits(62)),
                   first.replace("你好", "转人工")):
        status, _ = await pusher.push(forged, **query)
        assert status == 403
    assert conversations_of(platform.db, other) == 0
    # a fresh triple from the same account is fine
    status, reply = await pusher.push(text_xml(other, "你好"), **_signed(pusher))
    assert status == 200 and "小保" in reply_text(reply)


async def test_a_reused_triple_is_refused_by_another_process(start: Start) -> None:
    """No Redis: the pair is kept in the database both processes share."""
    one, two = await start(), await start()
    query = _signed(WeChatPusher(one.url("/wechat")))
    user, stranger = openid(), openid()
    xml = text_xml(user, "你好", msg_id=random.getrandbits(62))
    status, _ = await WeChatPusher(one.url("/wechat")).push(xml, **query)
    assert status == 200
    status, _ = await WeChatPusher(two.url("/wechat")).push(text_xml(stranger, "你好"), **query)
    assert status == 403
    # WeChat's retry of the real message, after the forgery reached the same process
    assert await WeChatPusher(two.url("/wechat")).push(xml, **query) == (200, "success")
    assert conversations_of(one.db, stranger) == 0


@pytest.mark.parametrize("shared", ["database", "redis"])
async def test_two_messages_at_once_under_one_triple_one_gets_through(start: Start,
                                                                      shared: str) -> None:
    platform = await start(redis_url=REDIS if shared == "redis" else None)
    pusher = WeChatPusher(platform.url("/wechat"))
    query = _signed(pusher)
    users = [openid() for _ in range(6)]
    answers = await asyncio.gather(*(pusher.push(text_xml(u, "你好"), **query) for u in users))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [403] * 5, statuses
    assert sum(conversations_of(platform.db, u) for u in users) == 1


# ---- a picture too large to decode -------------------------------------------------------------

def _bound_with_a_claim(db: Database, user: str) -> str:
    """A customer of the demo scheme, bound to `user` on WeChat, with a claim open."""
    from backoffice.services import bindings, claims
    from backoffice.services.demo import seed
    from backoffice.store.models import Party

    result = seed(db, members=5, seed_value=11)
    insured = result.sample_id_numbers[0]
    with db.read() as s:
        phone = s.execute(select(Party.phone).where(
                Party.id_number_hash == keyed_hash("id_number", insured))).scalar_one()
    bindings.bind(db, {"channel": "wechat", "user": user, "id_number": insured, "phone": phone})
    _, claim = claims.report(db, {
        "policy_no": result.group_policy_no, "insured_id_number": insured,
        "claim_type": "hospital_allowance", "incident_date": "2026-05-20",
        "incident_place": "峡山街道", "description": "摔倒住院", "channel": "wechat",
        "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"}})
    return str(claim["claim_no"])


async def test_a_picture_bomb_sent_on_wechat_is_not_attached(
        start: Start, wechat_api: WeChatApiStandIn, caplog: pytest.LogCaptureFixture) -> None:
    import io

    from PIL import Image

    from backoffice.services import claims

    platform = await start()
    user = openid()
    claim_no = _bound_with_a_claim(platform.db, user)
    bomb = io.BytesIO()
    Image.new("RGB", (7700, 7700), "white").save(bomb, "PNG")  # 230 KB, 59 megapixels
    wechat_api.media["bomb"] = bomb.getvalue()
    image = (f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[{user}]]>"
             f"</FromUserName><CreateTime>{random.randint(10**9, 2 * 10**9)}</CreateTime>"
             "<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://x/p.png]]></PicUrl>"
             f"<MediaId><![CDATA[bomb]]></MediaId><MsgId>{random.getrandbits(62)}</MsgId></xml>")
    status, _ = await WeChatPusher(platform.url("/wechat")).push(image)
    assert status == 200
    assert claims.get_claim(platform.db, claim_no)["documents"] == []
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]
    assert any("refused: too_large" in r.getMessage() for r in caplog.records)


async def test_a_url_verifications_signature_signs_no_push(start: Start) -> None:
    """The GET that verifies the server URL is signed like a push: its (timestamp, nonce)
    is spent on it, so a captured verification cannot sign a forged push; the same
    verification again (WeChat asking twice) still gets its echo."""
    platform = await start()
    pusher, user = WeChatPusher(platform.url("/wechat")), openid()
    query = _signed(pusher)
    async with aiohttp.ClientSession() as http:
        for _ in range(2):
            async with http.get(platform.url("/wechat"), params={**query, "echostr": "77"}
                                ) as r:
                assert (r.status, await r.text()) == (200, "77")
        async with http.get(platform.url("/wechat"), params={**query, "echostr": "78"}) as r:
            assert r.status == 403  # another echo under the spent pair
    status, _ = await pusher.push(text_xml(user, "你好"), **query)
    assert status == 403
    assert conversations_of(platform.db, user) == 0
