"""Nothing acknowledged is lost: a message is stored before anything acknowledges it, whatever
its sender's earlier turns are doing; a push that cannot be stored is not acknowledged; at
start-up the messages a killed process stored but did not answer are answered (or queued for
an agent), in order, once even when two processes start together."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from channel_kit import (
    WeChatApiStandIn,
    eventually,
    openid,
    platform_env,
    start_platform,
    web_chat,
    web_user,
)
from sqlalchemy import select, update
from wechat_client import WeChatPusher, text_xml

from backoffice import clock
from backoffice.store.db import Database
from backoffice.store.models import Conversation, ConversationMessage
from channels.app import ROUTER
from channels.rasa import RasaClient
from channels.router import BOT_DOWN, Router
from channels.wechat import picture_line
from xiaobao.channel_port import InProcessBackoffice

NO_RASA = "http://127.0.0.1:9"  # nothing listens: every turn fails


def user_lines(db: Database, channel: str, user: str) -> list[ConversationMessage]:
    with db.read() as s:
        return list(s.execute(select(ConversationMessage).join(
            Conversation, Conversation.id == ConversationMessage.conversation_id).where(
            Conversation.channel == channel, Conversation.user_id == user,
            ConversationMessage.role == "user").order_by(ConversationMessage.id)).scalars())


class Delivered:
    """What the router's deliverers were handed, per channel and user, in order."""

    def __init__(self, router: Router) -> None:
        self.got: dict[tuple[str, str], list[list[dict[str, Any]]]] = {}
        for channel in ("web", "wechat", "ivr"):
            router.register(channel, self._deliverer(channel))

    def _deliverer(self, channel: str) -> Any:
        async def deliver(user: str, messages: list[dict[str, Any]], phone: str | None) -> None:
            self.got.setdefault((channel, user), []).append(messages)
        return deliver


async def stored(db: Database, who: str, texts: list[str], channel: str = "web") -> list[int]:
    """Messages a process named `who` stored and was killed before answering."""
    port = InProcessBackoffice(db)
    ids = []
    for text in texts:
        turn = await port.user_message(channel, text.split()[0], text, answerer=who)
        assert turn is not None and turn.message_id is not None
        ids.append(turn.message_id)
    return ids


async def finished(router: Router) -> None:
    while router.recovering:
        await asyncio.wait(list(router.recovering))
    await router.lines.close()


async def test_a_restarted_process_answers_what_it_left_in_order(
        channel_db: Database, rasa_url: str, tmp_path: Path) -> None:
    who = f"host:{uuid.uuid4().hex[:6]}"
    user, other = f"web-{uuid.uuid4().hex[:8]}", f"web-{uuid.uuid4().hex[:8]}"
    mine = await stored(channel_db, who, [f"{user} 你好", f"{user} 我要报案", f"{other} 你好"])
    theirs = await stored(channel_db, "another-host:1", [f"{other} 谢谢"])  # lease still runs
    rasa = RasaClient(rasa_url)
    router = Router(InProcessBackoffice(channel_db), rasa, tmp_path / "spool.jsonl", who)
    delivered = Delivered(router)
    try:
        assert await router.recover() == 3
        await finished(router)
        assert await router.recover() == 0  # once
    finally:
        await rasa.close()
    assert len(delivered.got[("web", user)]) == 2 and len(delivered.got[("web", other)]) == 1
    states = {m.id: m.answer_state for u in (user, other) for m in user_lines(channel_db, "web", u)}
    assert [states[i] for i in mine] == ["answered"] * 3 and states[theirs[0]] == "pending"
    with channel_db.read() as s:  # the bot's answers follow the questions, in order
        roles = [r for r, in s.execute(select(ConversationMessage.role).join(Conversation).where(
            Conversation.user_id == user).order_by(ConversationMessage.id))]
    assert roles[:2] == ["user", "user"] and roles.count("bot") >= 2


async def test_the_bot_down_at_start_up_queues_for_an_agent_once(
        channel_db: Database, tmp_path: Path) -> None:
    who = f"host:{uuid.uuid4().hex[:6]}"
    user = f"web-{uuid.uuid4().hex[:8]}"
    first, second = await stored(channel_db, who, [f"{user} 我家老人住院了", f"{user} 在吗"])
    rasa = RasaClient(NO_RASA, connect_timeout=1)
    router = Router(InProcessBackoffice(channel_db), rasa, tmp_path / "spool.jsonl", who)
    delivered = Delivered(router)
    try:
        await router.recover()
        await finished(router)
    finally:
        await rasa.close()
    states = [m.answer_state for m in user_lines(channel_db, "web", user)]
    assert states == ["queued", "agents"]  # the first queued the conversation: the rest is theirs
    assert delivered.got[("web", user)] == [[{"text": BOT_DOWN}]]  # the user is told, once
    with channel_db.read() as s:
        conversation = s.execute(select(Conversation).where(Conversation.user_id == user)
                                 ).scalar_one()
    assert conversation.state == "queued" and conversation.handoff_reason == "bot_unavailable"


async def test_messages_of_conversations_with_the_agents_are_left_to_them(
        channel_db: Database, tmp_path: Path) -> None:
    who = f"host:{uuid.uuid4().hex[:6]}"
    user = f"web-{uuid.uuid4().hex[:8]}"
    await stored(channel_db, who, [f"{user} 转人工"])
    with channel_db.transaction() as s:
        s.execute(update(Conversation).where(Conversation.user_id == user).values(
            state="agent", agent="a1"))
    rasa = RasaClient(NO_RASA, connect_timeout=1)
    router = Router(InProcessBackoffice(channel_db), rasa, tmp_path / "spool.jsonl", who)
    delivered = Delivered(router)
    try:
        assert await router.recover() == 0
    finally:
        await rasa.close()
    assert [m.answer_state for m in user_lines(channel_db, "web", user)] == ["agents"]
    assert delivered.got == {}


async def test_two_processes_starting_together_answer_each_message_once(
        channel_db: Database, rasa_url: str, tmp_path: Path) -> None:
    users = [f"web-{uuid.uuid4().hex[:8]}" for _ in range(8)]
    await stored(channel_db, "gone:1", [f"{u} 你好" for u in users])
    with channel_db.transaction() as s:  # the process that stored them never came back
        s.execute(update(ConversationMessage).where(ConversationMessage.answerer == "gone:1")
                  .values(lease_until=clock.utcnow()))
    rasa = RasaClient(rasa_url)
    routers = [Router(InProcessBackoffice(channel_db), rasa, tmp_path / f"spool{i}.jsonl",
                      f"new:{i}") for i in range(2)]
    delivered = [Delivered(r) for r in routers]
    try:
        claimed = await asyncio.gather(*(r.recover() for r in routers))
        await asyncio.gather(*(finished(r) for r in routers))
    finally:
        await rasa.close()
    assert sum(claimed) == len(users)
    for user in users:  # one delivery per message, by one of the two
        assert sum(len(d.got.get(("web", user), [])) for d in delivered) == 1
        assert [m.answer_state for m in user_lines(channel_db, "web", user)] == ["answered"]


# ---- on the platform, over HTTP ----------------------------------------------------------------

async def test_a_push_waiting_behind_a_slow_turn_is_stored_before_its_success(
        tmp_path: Path, channel_db: Database, rasa_url: str, wechat_api: WeChatApiStandIn,
        monkeypatch: pytest.MonkeyPatch) -> None:
    platform = await start_platform(tmp_path, channel_db, rasa_url,
                                    platform_env(wechat_api, passive_wait=0.3), monkeypatch)
    try:
        pusher, user = WeChatPusher(platform.url("/wechat")), openid()
        # the fixture bot's slow look-up (6 s) holds the sender's turns
        assert await pusher.push(text_xml(user, "慢慢查一下")) == (200, "success")
        pushed = ["我要报案", "昨天", "在家里"]
        answers = await asyncio.gather(*(pusher.push(text_xml(user, t)) for t in pushed))
        assert answers == [(200, "success")] * 3
        # acknowledged: in the transcript already, though their turns have not run
        lines = user_lines(channel_db, "wechat", user)
        assert sorted(m.text for m in lines[1:]) == sorted(pushed)
        assert all(m.answer_state == "pending" for m in lines[1:])
        await eventually(lambda: all(m.answer_state == "answered"
                                     for m in user_lines(channel_db, "wechat", user)),
                         "every turn answered")
    finally:
        await platform.server.close()


async def test_a_push_that_cannot_be_stored_is_not_acknowledged_and_its_retry_is_taken(
        tmp_path: Path, channel_db: Database, rasa_url: str, wechat_api: WeChatApiStandIn,
        monkeypatch: pytest.MonkeyPatch) -> None:
    platform = await start_platform(tmp_path, channel_db, rasa_url, platform_env(wechat_api),
                                    monkeypatch)
    router = platform.app[ROUTER]
    working = router.backoffice
    down = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    try:
        router.backoffice = InProcessBackoffice(down)  # the database is gone…
        router.spool.mkdir(parents=True)  # …and the spool cannot be written either
        pusher, user = WeChatPusher(platform.url("/wechat")), openid()
        push = text_xml(user, "我家老人住院了", msg_id=424242)
        status, body = await pusher.push(push)
        assert status == 503 and body != "success"  # WeChat retries it
        assert user_lines(channel_db, "wechat", user) == []
        router.backoffice = working
        router.spool.rmdir()
        status, body = await pusher.push(push)  # WeChat's retry: the same MsgId
        assert status == 200 and (body == "success" or body.startswith("<xml>"))
        assert [m.text for m in user_lines(channel_db, "wechat", user)] == ["我家老人住院了"]
        assert await pusher.push(push) == (200, "success")  # and now a duplicate
        assert len(user_lines(channel_db, "wechat", user)) == 1
    finally:
        router.backoffice = working
        await platform.server.close()
        down.dispose()


async def test_a_web_message_answered_is_marked_answered(
        tmp_path: Path, channel_db: Database, rasa_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    platform = await start_platform(tmp_path, channel_db, rasa_url, platform_env(None),
                                    monkeypatch)
    try:
        async with aiohttp.ClientSession() as http:
            who = await web_user(http, platform)
            assert (await web_chat(http, platform, who, "你好"))["messages"]
        await platform.app[ROUTER].lines.close()
        assert [m.answer_state for m in user_lines(channel_db, "web", who.user)] == ["answered"]
    finally:
        await platform.server.close()


async def test_a_push_and_its_retry_at_once_are_stored_once(
        tmp_path: Path, channel_db: Database, rasa_url: str, wechat_api: WeChatApiStandIn,
        monkeypatch: pytest.MonkeyPatch) -> None:
    platform = await start_platform(tmp_path, channel_db, rasa_url, platform_env(wechat_api),
                                    monkeypatch)
    try:
        pusher, user = WeChatPusher(platform.url("/wechat")), openid()
        push = text_xml(user, "你好", msg_id=987654321)
        answers = await asyncio.gather(*(pusher.push(push) for _ in range(4)))
        assert all(status == 200 for status, _ in answers)
        assert [m.text for m in user_lines(channel_db, "wechat", user)] == ["你好"]
        await eventually(lambda: [m.answer_state for m in user_lines(
            channel_db, "wechat", user)] == ["answered"], "the one message answered")
    finally:
        await platform.server.close()


async def test_a_picture_acknowledged_before_its_fetch_is_fetched_after_a_restart(
        tmp_path: Path, channel_db: Database, rasa_url: str, wechat_api: WeChatApiStandIn,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A picture's push is stored as its line before `success`; the fetch and the reading
    happen in its turn. Killed before that turn: the restarted process (same instance name)
    fetches the picture, the bot hears it arrived and the answer goes out."""
    user = openid()
    wechat_api.media["m-late"] = b"\xff\xd8\xff\xe0fake-jpeg"
    here = f"{socket.gethostname()}:{os.getpid()}"[:100]  # the in-process platform's name
    turn = await InProcessBackoffice(channel_db).user_message(
        "wechat", user, picture_line("m-late"), answerer=here)
    assert turn is not None
    typed = await InProcessBackoffice(channel_db).user_message(  # the line typed by a user
        "wechat", openid(), picture_line("m-late"), answerer="another-host:1")
    assert typed is not None
    platform = await start_platform(tmp_path, channel_db, rasa_url, platform_env(wechat_api),
                                    monkeypatch)
    try:
        await eventually(lambda: any("资料已收到" in t for t in wechat_api.texts_to(user)),
                         "the recovered picture answered on WeChat")
        [line] = user_lines(channel_db, "wechat", user)
        assert (line.text, line.answer_state) == ("（图片 m-late）", "answered")
    finally:
        await platform.server.close()
