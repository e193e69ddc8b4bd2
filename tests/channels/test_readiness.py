"""Start-up readiness: /healthz names each part (database, Rasa with its model, action
server), and a message sent while the bot is still starting is told so and stays with the bot;
a bot that was up and fails is queued for agents as before.

The bot is the real fixture Rasa (channel_kit), reached through a TCP relay on a port of its
own: before the relay listens, nothing answers there (a Rasa still loading its model refuses
connections); once it listens, the real Rasa answers; closing it is the bot going down. A Rasa
whose server runs without a model (409 on /status, `[]` from the REST channel) is a stand-in
speaking Rasa 3.6's protocol.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from channel_kit import (
    TOKEN,
    Platform,
    eventually,
    free_port,
    openid,
    platform_env,
    start_platform,
    web_chat,
    web_user,
)
from sqlalchemy import select
from wechat_client import WeChatPusher, reply_text, text_xml

from backoffice.services import conversations as conv
from backoffice.store.db import Database
from backoffice.store.models import Conversation
from channels.readiness import BotReadiness
from channels.router import BOT_DOWN, STARTING
from xiaobao.health import Health, announce_when_ready

RASA_SECRET = "rasa-api-secret-0042"


class Relay:
    """A TCP relay to the real Rasa on a port of its own, started and stopped at will."""

    def __init__(self, target: str) -> None:
        url = urllib.parse.urlsplit(target)
        self.host, self.target_port = url.hostname or "127.0.0.1", url.port or 80
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        await self.server.wait_closed()
        self.server = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        self.writers |= {writer, up_writer}

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()
                self.writers.discard(dst)

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


class RasaWithoutModel:
    """Rasa 3.6's HTTP answers while its server runs without a loaded model — or, `loaded`,
    with one (then `/status` is counted: what hammering /healthz costs Rasa)."""

    def __init__(self) -> None:
        self.loaded = False
        self.status_calls = 0
        self.tokens: list[str] = []
        self.server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.hello)
        app.router.add_get("/status", self.status)
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        return app

    async def hello(self, _request: web.Request) -> web.Response:
        return web.Response(text="Hello from Rasa: 3.6.21")

    async def webhook(self, _request: web.Request) -> web.Response:
        return web.json_response([])  # "Ignoring message as there is no agent to handle it"

    async def status(self, request: web.Request) -> web.Response:
        self.status_calls += 1
        self.tokens.append(request.query.get("token", ""))
        if self.loaded:
            return web.json_response({"model_file": "/srv/secret/models/fixture-1.tar.gz",
                                      "model_id": "0b3c", "num_active_training_jobs": 0})
        return web.json_response(
            {"version": "3.6.21", "status": "failure", "reason": "Conflict", "code": 409,
             "message": "No agent loaded. To continue processing, a model of a trained "
                        "agent needs to be loaded.", "help": "https://rasa.com/docs"},
            status=409)


@pytest.fixture
async def rasa_without_model() -> AsyncIterator[RasaWithoutModel]:
    stand_in = RasaWithoutModel()
    stand_in.server = TestServer(stand_in.app(), host="127.0.0.1")
    await stand_in.server.start_server()
    yield stand_in
    await stand_in.server.close()


@pytest.fixture
async def relay(rasa_url: str) -> AsyncIterator[Relay]:
    to_rasa = Relay(rasa_url)
    yield to_rasa
    if to_rasa.server is not None:
        await to_rasa.stop()


@pytest.fixture
async def start(tmp_path: Path, channel_db: Database, monkeypatch: pytest.MonkeyPatch
                ) -> AsyncIterator[Any]:
    platforms: list[Platform] = []

    async def go(rasa: str, *, db: Database | None = None, **settings: Any) -> Platform:
        # every WeChat turn answered passively: these tests are about what is answered
        platform = await start_platform(tmp_path, db or channel_db, rasa,
                                        platform_env(None, passive_wait=120), monkeypatch,
                                        **settings)
        platforms.append(platform)
        return platform

    yield go
    for platform in platforms:
        await platform.server.close()


async def healthz(http: aiohttp.ClientSession, platform: Platform, query: str = ""
                  ) -> tuple[int, dict[str, Any], str]:
    async with http.get(platform.url("/healthz") + query) as r:
        text = await r.text()
        return r.status, json.loads(text), text


def conversation(db: Database, channel: str, user: str) -> dict[str, Any]:
    with db.read() as s:
        row = s.execute(select(Conversation).where(Conversation.channel == channel,
                                                   Conversation.user_id == user)
                        .order_by(Conversation.id.desc())).scalars().first()
    assert row is not None
    return conv.get_conversation(db, {"conversation_id": row.id})


def queued_users(db: Database) -> set[str]:
    with db.read() as s:
        return set(s.execute(select(Conversation.user_id)
                             .where(Conversation.state != "bot")).scalars())


# ---- /healthz ----------------------------------------------------------------------------------

async def test_healthz_names_the_parts_not_yet_up_and_leaks_nothing(start: Any) -> None:
    rasa, actions = free_port(), free_port()
    platform = await start(f"http://127.0.0.1:{rasa}", rasa_token=RASA_SECRET,
                           actions_url=f"http://127.0.0.1:{actions}")
    async with aiohttp.ClientSession() as http:
        for query in ("", f"?token={TOKEN}", "?verbose=1&x=%00", "?" + "a" * 4000):
            status, body, text = await healthz(http, platform, query)
            assert status == 503 and body["status"] == "unavailable"
            assert body["not_ready"] == ["bot", "actions"]
            assert body["parts"] == {"database": {"state": "up"},
                                     "bot": {"state": "starting", "detail": "refused"},
                                     "actions": {"state": "starting", "detail": "refused"}}
            assert "Rasa 服务器" in body["message"] and "动作服务器" in body["message"]
            for secret in (RASA_SECRET, TOKEN, str(rasa), str(actions), "Traceback", "Error"):
                assert secret not in text
        async with http.head(platform.url("/healthz")) as r:
            assert r.status == 503
        async with http.post(platform.url("/healthz")) as r:
            assert r.status == 405


async def test_healthz_while_rasa_has_no_model_loaded(start: Any,
                                                      rasa_without_model: RasaWithoutModel
                                                      ) -> None:
    platform = await start(rasa_without_model.url, rasa_token=RASA_SECRET, bot_start_wait=0.3)
    async with aiohttp.ClientSession() as http:
        status, body, text = await healthz(http, platform)
        # its REST channel answers `[]` to every message: starting, not a handoff
        said = await web_chat(http, platform, await web_user(http, platform), "我要报案")
    assert said == {"messages": [{"text": STARTING}], "state": "bot"}
    assert queued_users(platform.db) == set()
    assert status == 503 and body["not_ready"] == ["bot"]
    assert body["parts"]["bot"] == {"state": "starting", "detail": "model_not_loaded"}
    assert body["parts"]["actions"] == {"state": "not_checked"}
    assert set(rasa_without_model.tokens) == {RASA_SECRET}  # Rasa's API wants its token
    assert RASA_SECRET not in text and "No agent loaded" not in text


async def test_healthz_reports_a_database_down(start: Any, rasa_url: str,
                                               tmp_path: Path) -> None:
    """A PostgreSQL where nothing listens: the bot is up, the database named."""
    dead = Database(f"postgresql+psycopg://postgres:pw-0042@127.0.0.1:{free_port()}/none")
    try:
        platform = await start(rasa_url, db=dead)
        async with aiohttp.ClientSession() as http:
            status, body, text = await healthz(http, platform)
    finally:
        dead.dispose()
    assert status == 503 and body["not_ready"] == ["database"]
    assert body["parts"]["database"] == {"state": "down", "detail": "unreachable"}
    assert body["parts"]["bot"]["state"] == "up"
    assert "pw-0042" not in text and "psycopg" not in text and "Traceback" not in text


async def test_healthz_all_up_with_the_real_rasa(start: Any, rasa_url: str) -> None:
    platform = await start(rasa_url)
    async with aiohttp.ClientSession() as http:
        status, body, _ = await healthz(http, platform)
    assert status == 200 and body["status"] == "ok" and "not_ready" not in body
    assert body["parts"]["database"] == {"state": "up"} and body["parts"]["bot"]["state"] == "up"
    assert body["parts"]["bot"]["model"].endswith(".tar.gz")


async def test_healthz_hammered_costs_rasa_one_probe_per_period(
        start: Any, rasa_without_model: RasaWithoutModel) -> None:
    rasa_without_model.loaded = True
    platform = await start(rasa_without_model.url)
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        answers = await asyncio.gather(*(healthz(http, platform) for _ in range(300)))
    periods = (time.monotonic() - started) / 3.0  # the probes' cache (channels.readiness)
    assert {status for status, _, _ in answers} == {200}
    assert all(body["parts"]["bot"]["model"] == "fixture-1.tar.gz" for _, body, _ in answers)
    assert not any("/srv/secret" in text for _, _, text in answers)  # the name, not the path
    assert 1 <= rasa_without_model.status_calls <= 2 + periods


# ---- messages while the bot starts -------------------------------------------------------------

async def test_messages_while_starting_stay_with_the_bot_then_the_bot_answers(
        start: Any, relay: Relay) -> None:
    platform = await start(relay.url, bot_start_wait=0.5)
    pusher, user = WeChatPusher(platform.url("/wechat")), openid()
    async with aiohttp.ClientSession() as http:
        status, reply = await pusher.push(text_xml(user, "我要报案，老人摔伤了"))
        assert status == 200 and reply_text(reply) == STARTING
        web = await web_user(http, platform)
        said = await web_chat(http, platform, web, "我要报案")
        assert said == {"messages": [{"text": STARTING}], "state": "bot"}
        assert (await healthz(http, platform))[0] == 503
        await relay.start()  # the bot is up
        _, reply = await pusher.push(text_xml(user, "我要报案"))
        assert reply_text(reply) == "请问出险日期是哪天？"
        said = await web_chat(http, platform, web, "我要报案")
        assert said["messages"][0]["text"] == "请问出险日期是哪天？" and said["state"] == "bot"
    lines = await eventually(lambda: (c := conversation(platform.db, "wechat", user))
                             ["messages"][3:] and c, "the bot's answer in the transcript")
    assert lines["state"] == "bot" and lines["handoff_reason"] is None
    assert [(m["role"], m["text"]) for m in lines["messages"]] == [
        ("user", "我要报案，老人摔伤了"), ("bot", STARTING),
        ("user", "我要报案"), ("bot", "请问出险日期是哪天？")]
    assert queued_users(platform.db) == set()


async def test_a_message_waits_for_a_bot_that_comes_up_meanwhile(start: Any,
                                                                 relay: Relay) -> None:
    platform = await start(relay.url, bot_start_wait=120)
    async with aiohttp.ClientSession() as http:
        web = await web_user(http, platform)
        turn = asyncio.create_task(web_chat(http, platform, web, "我要报案"))
        await asyncio.sleep(1)  # the turn has been refused at least once
        assert not turn.done()
        await relay.start()
        said = await turn
    assert said["messages"][0]["text"] == "请问出险日期是哪天？" and said["state"] == "bot"


async def test_a_burst_while_starting_queues_nothing(start: Any, relay: Relay) -> None:
    """Many users, several messages each at once, and /healthz hammered meanwhile: each
    message is told the bot is starting (the wait is shared, not each message's own)."""
    platform = await start(relay.url, bot_start_wait=1.0)
    users = [openid() for _ in range(6)]
    async with aiohttp.ClientSession() as http:
        webs = [await web_user(http, platform) for _ in range(4)]
        pushes = [WeChatPusher(platform.url("/wechat")).push(text_xml(u, f"第{i}条"))
                  for u in users for i in range(3)]
        chats = [web_chat(http, platform, w, f"第{i}条") for w in webs for i in range(3)]
        probes = [healthz(http, platform) for _ in range(50)]
        answers = await asyncio.gather(*pushes, *chats, *probes)
        pushed, chatted = answers[:len(pushes)], answers[len(pushes):len(pushes) + len(chats)]
        assert all(s == 200 and reply_text(r) == STARTING for s, r in pushed)
        assert all(c == {"messages": [{"text": STARTING}], "state": "bot"} for c in chatted)
        assert all(a[0] == 503 for a in answers[len(pushes) + len(chats):])
        assert queued_users(platform.db) == set()
        await relay.start()
        for user in users[:2]:
            _, reply = await WeChatPusher(platform.url("/wechat")).push(text_xml(user, "你好"))
            assert reply_text(reply) == "您好，我是小保。可以帮您报案、查询理赔进度。"
    for user in users:
        told = await eventually(lambda u=user: len((c := conversation(
            platform.db, "wechat", u))["messages"]) >= 6 and c, "the notices written")
        assert [m["text"] for m in told["messages"] if m["role"] == "bot"][:3] == [STARTING] * 3


async def test_a_bot_that_was_up_and_goes_down_is_a_handoff(start: Any, relay: Relay) -> None:
    """Today's behaviour for a bot that fails for good: the user is told a person will
    answer, the conversation is queued for agents with the reason `bot_unavailable`."""
    await relay.start()
    platform = await start(relay.url, bot_start_wait=30)
    async with aiohttp.ClientSession() as http:
        web = await web_user(http, platform)
        said = await web_chat(http, platform, web, "你好")
        assert said["messages"][0]["text"].startswith("您好，我是小保")
        await relay.stop()  # Rasa went away
        said = await web_chat(http, platform, web, "我要报案")
        assert said == {"messages": [{"text": BOT_DOWN}], "state": "queued"}

        async def bot_down() -> dict[str, Any] | None:
            status, body, _ = await healthz(http, platform)
            return body if status == 503 and body["parts"]["bot"]["state"] == "down" else None

        for _ in range(600):  # until the probe's cache expires
            if body := await bot_down():
                break
            await asyncio.sleep(0.1)
        assert body and body["parts"]["bot"] == {"state": "down", "detail": "refused"}
    talk = conversation(platform.db, "web", web.user)
    assert talk["state"] == "queued" and talk["handoff_reason"] == "bot_unavailable"


# ---- what `xiaobao up` says while it waits -----------------------------------------------------

async def test_start_up_says_what_it_waits_for_a_bound_passed_and_a_bot_process_gone(
        channel_db: Database, rasa_without_model: RasaWithoutModel) -> None:
    """The bot not up within the bound: said plainly, the platform serving on; a bot process
    that exits is named; the banner still comes once the bot is up."""
    said: list[str] = []
    readiness = BotReadiness(rasa_without_model.url, cache_seconds=0)
    gone = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    gone.wait()
    watch = asyncio.create_task(announce_when_ready(
        Health(channel_db, readiness, cache_seconds=0), "BANNER", 0.2, said.append,
        {"动作服务器": gone}, every=0.05))
    try:
        await eventually(lambda: any("未能在" in s for s in said), "the bound said")
        assert "等待小保就绪：Rasa 服务器（启动中，正在加载模型）…" in said
        assert any("动作服务器进程已退出（退出码 3）" in s for s in said)
        assert "BANNER" not in said and "API 和坐席台照常服务" in said[-1]
        rasa_without_model.loaded = True
        await asyncio.wait_for(watch, 60)
        assert said[-1].startswith("BANNER\n（小保在")
        assert sum("等待小保就绪" in s for s in said) == 1  # said again only when it changes
    finally:
        watch.cancel()
        await readiness.close()
