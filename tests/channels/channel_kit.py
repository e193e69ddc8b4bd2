"""A real Rasa server for the channel tests, a running platform, and stand-ins for what the
tests cannot reach (WeChat's API servers), speaking their real protocols.

Rasa: `XIAOBAO_TEST_RASA_URL` points the tests at a running bot (the project's own); without
it the fixture bot under tests/channels/fixture_bot/ is trained once (cached under
var/test-models/ by a hash of its files) and served by `rasa run --enable-api` with its action
server, on free ports, for the whole session.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from backoffice.notifications.config import NotifyConfig
from backoffice.store.db import Database
from channels.ivr import StartSigner
from tests.conftest import BACKENDS, fresh_database
from xiaobao.config import Settings
from xiaobao.platform import create_app

ROOT = Path(__file__).resolve().parents[2]
BOT = Path(__file__).resolve().parent / "fixture_bot"
# the bot environment's rasa (XIAOBAO_TEST_RASA_BIN names another Rasa 3.6 environment's)
RASA = Path(os.environ.get("XIAOBAO_TEST_RASA_BIN") or ROOT / ".venv-bot" / "bin" / "rasa")
TOKEN = "test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bot_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(BOT.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(BOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _train() -> Path:
    models = ROOT / "var" / "test-models"
    model = models / f"fixture-{_bot_hash()}.tar.gz"
    if model.exists():
        return model
    models.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(RASA), "train", "--config", "config.yml", "--domain", "domain.yml",
                    "--data", "data", "--out", str(models), "--fixed-model-name", model.stem
                    .removesuffix(".tar")], cwd=BOT, check=True, capture_output=True,
                   env={**os.environ, "SQLALCHEMY_SILENCE_UBER_WARNING": "1"})
    return model


def wait_until_up(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    """Until `url` answers (a platform whose bot is not up answers /healthz with 503: it
    serves); a process that stops first is an error."""
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError as exc:
            if exc.code == 503:
                return
            time.sleep(0.5)
        except OSError:
            time.sleep(0.5)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def rasa_url() -> Iterator[str]:
    given = os.environ.get("XIAOBAO_TEST_RASA_URL")
    if given:
        yield given.rstrip("/")
        return
    if not RASA.exists():
        pytest.fail(".venv-bot is missing: run `make install-bot`")
    with fixture_rasa() as url:
        yield url


@contextmanager
def fixture_rasa() -> Iterator[str]:
    """The fixture bot trained (or taken from the cache) and served with its action server."""
    model = _train()
    env = {**os.environ, "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "PYTHONPATH": str(BOT)}
    actions_port, rasa_port = free_port(), free_port()
    env["FIXTURE_ACTION_URL"] = f"http://127.0.0.1:{actions_port}/webhook"
    logs = ROOT / "var" / "test-models"
    endpoints = logs / f"endpoints-{actions_port}.yml"
    endpoints.write_text(f"action_endpoint:\n  url: {env['FIXTURE_ACTION_URL']}\n")
    actions = subprocess.Popen(
        [str(RASA), "run", "actions", "--actions", "actions", "--port", str(actions_port)],
        cwd=BOT, env=env, start_new_session=True,
        stdout=(logs / "actions.log").open("wb"), stderr=subprocess.STDOUT)
    server = subprocess.Popen(
        [str(RASA), "run", "--enable-api", "-m", str(model), "--port", str(rasa_port),
         "--endpoints", str(endpoints), "--credentials", "credentials.yml"],
        cwd=BOT, env=env, start_new_session=True,
        stdout=(logs / "rasa.log").open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{actions_port}/health", actions, "rasa action server")
        wait_until_up(f"http://127.0.0.1:{rasa_port}/status", server, "rasa server")
        yield f"http://127.0.0.1:{rasa_port}"
    finally:
        _stop(server)
        _stop(actions)
        endpoints.unlink(missing_ok=True)


# ---- the WeChat API stand-in -------------------------------------------------------------------

@dataclass
class WeChatApiStandIn:
    """api.weixin.qq.com as far as Xiaobao uses it: token, media/get, custom/send (45015 for
    users outside the 48-hour window), template/send, menu/create."""

    server: TestServer | None = None
    token_fetches: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    menus: list[dict[str, Any]] = field(default_factory=list)
    outside_window: set[str] = field(default_factory=set)
    media: dict[str, bytes] = field(default_factory=dict)

    @property
    def base(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def texts_to(self, openid: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent if m.get("touser") == openid]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self.token)
        app.router.add_get("/cgi-bin/media/get", self.get_media)
        app.router.add_post("/cgi-bin/message/custom/send", self.custom_send)
        app.router.add_post("/cgi-bin/message/template/send", self.template_send)
        app.router.add_post("/cgi-bin/menu/create", self.menu_create)
        return app

    async def token(self, request: web.Request) -> web.Response:
        if request.query.get("appid") != "wxtestappid" or \
                request.query.get("secret") != "test-secret":
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        self.token_fetches += 1
        return web.json_response({"access_token": f"TOKEN{self.token_fetches}",
                                  "expires_in": 7200})

    def _token_ok(self, request: web.Request) -> bool:
        return request.query.get("access_token", "").startswith("TOKEN")

    async def get_media(self, request: web.Request) -> web.Response:
        data = self.media.get(request.query.get("media_id", ""))
        if not self._token_ok(request) or data is None:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        return web.Response(body=data, content_type="image/jpeg")

    async def custom_send(self, request: web.Request) -> web.Response:
        if not self._token_ok(request):
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        body = await request.json()
        if body.get("touser") in self.outside_window:
            return web.json_response({"errcode": 45015, "errmsg": "response out of time limit"})
        self.sent.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def template_send(self, request: web.Request) -> web.Response:
        self.templates.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 1})

    async def menu_create(self, request: web.Request) -> web.Response:
        self.menus.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok"})


@pytest.fixture
async def wechat_api() -> AsyncIterator[WeChatApiStandIn]:
    stand_in = WeChatApiStandIn()
    stand_in.server = TestServer(stand_in.app())
    await stand_in.server.start_server()
    yield stand_in
    await stand_in.server.close()


# ---- the platform --------------------------------------------------------------------------------

WECHAT_TOKEN = "xiaobao-test"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wxtestappid"
IVR_SECRET = "ivr-test-secret"
SMS_SECRET = "sms-test-secret"


def ivr_event(call_id: str, event: str, caller: str, secret: str = IVR_SECRET, **fields: Any
              ) -> tuple[bytes, dict[str, str]]:
    """A telephony platform's event as it sends it: the JSON body, with a fresh `event_id`
    and the current `timestamp` unless `fields` say otherwise, and its signed headers."""
    data = {"call_id": call_id, "event": event, "from": caller, "to": "95500",
            "event_id": uuid.uuid4().hex, "timestamp": int(time.time()), **fields}
    try:
        body = json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate: JSON's \ud800 escape, as an attacker sends
        body = json.dumps(data).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Xiaobao-Signature": signature}


def signed_start(call_id: str, number: str, now: float | None = None) -> str:
    """A VoiceXML start URL as the telephony platform makes it (README, "Phone")."""
    return "/ivr/vxml?" + urllib.parse.urlencode(
        StartSigner(IVR_SECRET.encode()).sign(call_id, number, now))


@dataclass
class Platform:
    server: TestServer
    db: Database
    app: web.Application

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


async def start_platform(tmp_path: Path, db: Database, rasa: str, env: dict[str, str],
                         monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Platform:
    """`settings`: more fields of Settings (the bot's action server, its start-up wait…)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = Settings(database_url=db.url, api_token=TOKEN, rasa_url=rasa, log_level="INFO",
                      var_dir=tmp_path / "var", notify=NotifyConfig.from_env(), **settings)
    app = create_app(config, db)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return Platform(server, db, app)


def platform_env(wechat_api: WeChatApiStandIn | None, *, aes: bool = False,
                 redis_url: str | None = None, passive_wait: float | None = None
                 ) -> dict[str, str]:
    env = {"XIAOBAO_WECHAT_TOKEN": WECHAT_TOKEN, "XIAOBAO_WECHAT_APPID": APPID,
           "XIAOBAO_IVR_SECRET": IVR_SECRET, "XIAOBAO_WECHAT_AES_KEY": AES_KEY if aes else "",
           "XIAOBAO_REDIS_URL": redis_url or "", "XIAOBAO_SMS_SECRET": SMS_SECRET}
    if wechat_api is not None:
        env.update({"XIAOBAO_WECHAT_SECRET": "test-secret",
                    "XIAOBAO_WECHAT_API_BASE": wechat_api.base})
    if passive_wait is not None:
        env["XIAOBAO_WECHAT_PASSIVE_WAIT"] = str(passive_wait)
    return env


@pytest.fixture
async def platform(tmp_path: Path, channel_db: Database, rasa_url: str,
                   monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Platform]:
    """A platform without WeChat's API (IVR, web chat, terminal chat, agents' API)."""
    started = await start_platform(tmp_path, channel_db, rasa_url, platform_env(None),
                                   monkeypatch)
    yield started
    await started.server.close()


@pytest.fixture(params=BACKENDS)
def channel_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The platform's database: SQLite, and PostgreSQL when XIAOBAO_TEST_POSTGRES_URL is set."""
    database = fresh_database(request.param, tmp_path)
    yield database
    database.dispose()


def openid() -> str:
    return "o" + uuid.uuid4().hex[:27]


async def eventually(check: Any, what: str, rounds: int = 600) -> Any:
    """Wait for something delivered in the background (a slow turn, a hand-back)."""
    for _ in range(rounds):
        result = check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


# ---- the web chat, as its clients use it -----------------------------------------------------

@dataclass(frozen=True)
class WebUser:
    """A web chat session the platform opened: its web id and credential (a bearer token)."""
    user: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def web_user(http: Any, platform: Platform) -> WebUser:
    async with http.post(platform.url("/chat/session")) as r:
        assert r.status == 201
        body = await r.json()
    return WebUser(body["user"], body["token"])


async def web_chat(http: Any, platform: Platform, who: WebUser, text: str) -> dict[str, Any]:
    async with http.post(platform.url("/chat/messages"), json={"text": text},
                         headers=who.auth) as r:
        assert r.status == 200
        return dict(await r.json())


async def web_later(http: Any, platform: Platform, who: WebUser, after: int = 0
                    ) -> dict[str, Any]:
    """The messages delivered to `who` outside their requests (agents, hand-backs)."""
    async with http.get(platform.url("/chat/messages"), params={"after": str(after)},
                        headers=who.auth) as r:
        assert r.status == 200
        return dict(await r.json())
