"""A WeChat user who unfollows the account (`unsubscribe` event): their binding to a party ends,
the time is kept on their conversations (the retention clock), and nothing is said back. A
forged push changes nothing; the same event again is harmless. No bot is needed: the event
never reaches it (the platform's Rasa URL answers nothing)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from channel_kit import (
    TOKEN,
    Platform,
    WeChatApiStandIn,
    free_port,
    openid,
    platform_env,
    start_platform,
)
from sqlalchemy import select
from wechat_client import WeChatPusher, message_xml

from backoffice.notifications.config import NotifyConfig
from backoffice.services import conversations
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, ChannelBinding, Conversation, Party
from channels.app import ROUTER
from tests.conftest import fresh_database
from xiaobao.config import Settings
from xiaobao.platform import create_app

NO_BOT = "http://127.0.0.1:9"


@pytest.fixture
async def platform(tmp_path: Path, channel_db: Database, wechat_api: WeChatApiStandIn,
                   monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Platform]:
    started = await start_platform(tmp_path, channel_db, NO_BOT, platform_env(wechat_api),
                                   monkeypatch)
    yield started
    await started.server.close()


def _bind(db: Database, user: str) -> int:
    with db.transaction() as s:
        party = Party(name="林阿婆", gender="female", birth_date=date(1950, 1, 2),
                      id_number="440514195001021242", phone="13812340000")
        s.add(party)
        s.flush()
        s.add(ChannelBinding(channel="wechat", user=user, party_id=party.id))
        return party.id


def _state(db: Database, user: str) -> tuple[bool, list[object]]:
    with db.read() as s:
        bound = s.execute(select(ChannelBinding).where(ChannelBinding.user == user)).first()
        stamps = list(s.execute(select(Conversation.unsubscribed_at)
                                .where(Conversation.user_id == user)).scalars())
    return bound is not None, stamps


async def _identified(platform: Platform, user: str) -> int:
    """What the bot's actions ask before a personal answer: is this openid identified?"""
    async with aiohttp.ClientSession() as http, http.get(
            platform.url(f"/api/v1/bindings/wechat/{user}"),
            headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        return r.status


async def test_a_signed_unsubscribe_ends_the_binding_once(platform: Platform) -> None:
    db, user = platform.db, openid()
    party_id = _bind(db, user)
    conversations.user_message(db, "wechat", user, "我想查理赔进度")
    assert await _identified(platform, user) == 200
    pusher = WeChatPusher(platform.url("/wechat"))
    event = message_xml(user, "event", {"Event": "unsubscribe", "EventKey": ""},
                        created=1700000500)

    forged = await pusher.push(event, signature="0" * 40)
    assert forged[0] == 403
    assert _state(db, user) == (True, [None])  # a forged push changes nothing

    assert await pusher.push(event) == (200, "success")  # nothing said back
    bound, stamps = _state(db, user)
    assert not bound and stamps[0] is not None  # the retention clock started
    assert await _identified(platform, user) == 404  # the next message is not identified
    with db.read() as s:
        audited = s.execute(select(AuditEntry).where(
            AuditEntry.action == "channel.unsubscribe")).scalars().all()
    assert [(a.entity_id, a.actor) for a in audited] == [(str(party_id), "channel")]

    # WeChat's retry of the same event, and a replay: harmless, the time kept as it was
    assert await pusher.push(event) == (200, "success")
    assert _state(db, user) == (False, stamps)
    with db.read() as s:
        assert len(s.execute(select(AuditEntry).where(
            AuditEntry.action == "channel.unsubscribe")).all()) == 1


async def test_a_re_subscribe_must_identify_again(platform: Platform) -> None:
    db, user = platform.db, openid()
    _bind(db, user)
    pusher = WeChatPusher(platform.url("/wechat"))
    await pusher.push(message_xml(user, "event", {"Event": "unsubscribe", "EventKey": ""},
                                  created=1700000600))
    status, body = await pusher.push(message_xml(user, "event", {"Event": "subscribe",
                                                                 "EventKey": ""},
                                                 created=1700000700))
    assert status == 200 and "欢迎关注" in body
    assert await _identified(platform, user) == 404
    # an openid never bound unsubscribes: nothing to end, no error
    stranger = openid()
    assert await pusher.push(message_xml(stranger, "event", {"Event": "unsubscribe",
                                                             "EventKey": ""})) == (200, "success")


async def test_an_unsubscribe_the_back_office_missed_is_not_acknowledged(
        tmp_path: Path, channel_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway in its own process, the back office down: no `success`, so WeChat retries,
    and the retry after it is back ends the binding."""
    port = free_port()  # nothing listens there yet
    env = {**platform_env(None), "XIAOBAO_BACKOFFICE_URL": f"http://127.0.0.1:{port}"}
    own = fresh_database("sqlite", tmp_path / "own")
    gateway = await start_platform(tmp_path / "gateway", own, NO_BOT, env, monkeypatch)
    user = openid()
    _bind(channel_db, user)
    event = message_xml(user, "event", {"Event": "unsubscribe", "EventKey": ""},
                        created=1700000800)
    try:
        pusher = WeChatPusher(gateway.url("/wechat"))
        status, _ = await pusher.push(event)
        assert status == 503 and _state(channel_db, user)[0]  # not acknowledged, still bound
        settings = Settings(database_url=channel_db.url, api_token=TOKEN, rasa_url=NO_BOT,
                            log_level="INFO", var_dir=tmp_path / "backoffice",
                            notify=NotifyConfig())
        monkeypatch.setenv("XIAOBAO_BACKOFFICE_URL", "")
        server = TestServer(create_app(settings, channel_db), host="127.0.0.1", port=port)
        await server.start_server()
        try:
            assert await pusher.push(event) == (200, "success")  # WeChat's retry
        finally:
            await gateway.app[ROUTER].close()
            await server.close()
    finally:
        await gateway.server.close()
        own.dispose()
    assert not _state(channel_db, user)[0]
