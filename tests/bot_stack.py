"""The project's own bot on a real stack, started once per test session (a pytest plugin,
registered in tests/conftest.py) for the conversation tests (tests/bot) and the channel tests
with the real bot (tests/channels/test_real_bot.py).

One platform process (`xiaobao serve`: back office API, desk and channels) on a temporary
SQLite database with the demo data; the Rasa action server calling that back office; the Rasa
server with the project's trained model (trained here only when the training data changed).
The platform's channels point at that Rasa (XIAOBAO_RASA_URL): WeChat pushes to /wechat and
telephony events to /ivr/events go through the router to the real bot. WeChat's API servers
are the stand-in of tests/channels/channel_kit.py, served from a thread for the whole session.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from backoffice.domain import consent
from backoffice.store.db import Database
from backoffice.store.models import Party, PolicyRow, RosterMember
from tests.channels.channel_kit import APPID, IVR_SECRET, WECHAT_TOKEN, WeChatApiStandIn
from xiaobao import bot

TOKEN = "test-bot-token"
RASA_TOKEN = "test-rasa-token"
XIAOBAO = Path(sys.executable).parent / "xiaobao"


# The consent notice (actions/consent.py) is answered here, once for every test: a person
# agrees when asked. Its question is the end of the packaged texts, written and spoken.
_NOTICE = consent.packaged()
CONSENT_ASKED = (_NOTICE.chat.strip().splitlines()[-1][-12:], _NOTICE.voice.strip()[-12:])
AGREE = "同意"


def asks_consent(said: str) -> bool:
    """The bot's turn ends with the consent notice's question."""
    return any(marker in said for marker in CONSENT_ASKED)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_sender(channel: str = "web") -> str:
    return f"{channel}:{uuid.uuid4().hex[:10]}"


class ThreadedStandIn:
    """The WeChat API stand-in on its own event loop in a daemon thread: the platform runs in
    another process for the whole session, the tests' own loops come and go."""

    def __init__(self) -> None:
        self.api = WeChatApiStandIn()
        self.loop = asyncio.new_event_loop()
        self.port = free_port()
        self.runner = web.AppRunner(self.api.app())
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()

        async def serve() -> None:
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

        asyncio.run_coroutine_threadsafe(serve(), self.loop).result(timeout=30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@dataclass
class BotStack:
    rasa_url: str
    platform_url: str
    database_url: str
    seed: dict[str, Any]
    wechat: WeChatApiStandIn
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    rasa_token: str = RASA_TOKEN

    @property
    def api_url(self) -> str:
        return self.platform_url

    def url(self, path: str) -> str:
        return f"{self.platform_url}{path}"

    def say(self, sender: str, text: str, consent: bool = True,
            **meta: str) -> list[dict[str, Any]]:
        """One turn straight over Rasa's REST channel, with the metadata the router sends.
        When the bot asks for consent to sensitive data, the user agrees (`consent`), and the
        turn's replies are those before the notice and those after the agreement."""
        channel, _, user = sender.partition(":")
        url = f"{self.rasa_url}/webhooks/rest/webhook"
        metadata = {"channel": channel, "user": user, **meta}
        replies = bot.say(url, sender, text, metadata)
        asked = next((i for i, r in enumerate(replies) if asks_consent(str(r.get("text") or ""))),
                     None)
        if not consent or asked is None:
            return replies
        return replies[:asked] + bot.say(url, sender, AGREE, metadata)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        req = urllib.request.Request(
            f"{self.platform_url}/api/v1{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())

    def upload(self, claim_no: str, data: bytes, filename: str = "photo.jpg") -> Any:
        """A file attached to a claim as the channels do it (multipart `file`)."""
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{filename}\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() \
            + data + f"\r\n--{boundary}--\r\n".encode()
        req = urllib.request.Request(
            f"{self.platform_url}/api/v1/claims/{claim_no}/documents", data=body,
            headers={"Authorization": f"Bearer {TOKEN}",
                     "Content-Type": f"multipart/form-data; boundary={boundary}"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.loads(resp.read())

    def member(self, k: int) -> tuple[str, str, str]:
        """(ID number, name, phone) of the scheme's k-th insured from the end: tests take
        their own insured (the demo seed's sample ID numbers are the first ones)."""
        db = self.db()
        try:
            with db.read() as s:
                rows = s.execute(
                    select(Party.id_number, Party.name, Party.phone)
                    .join(RosterMember, RosterMember.party_id == Party.id)
                    .join(PolicyRow, PolicyRow.id == RosterMember.policy_id)
                    .where(PolicyRow.policy_no == self.seed["group_policy_no"],
                           RosterMember.status == "active", Party.phone.is_not(None))
                    .order_by(Party.id.desc()).offset(k).limit(1)).one()
        finally:
            db.dispose()
        return str(rows[0]), str(rows[1]), str(rows[2])

    def db(self) -> Database:
        """The platform's database, for reading what the API does not show; dispose after."""
        return Database(self.database_url)


def stack_env(tmp: Path, api_port: int, rasa_port: int, wechat_api: str,
              action_port: int) -> dict[str, str]:
    return {**os.environ, "XIAOBAO_DATABASE_URL": f"sqlite:///{tmp / 'xiaobao.db'}",
            "XIAOBAO_VAR_DIR": str(tmp), "XIAOBAO_API_TOKEN": TOKEN,
            "XIAOBAO_LOG_LEVEL": "WARNING",
            "XIAOBAO_RASA_URL": f"http://127.0.0.1:{rasa_port}",
            # /healthz probes this Rasa (its HTTP API behind RASA_TOKEN) and action server
            "XIAOBAO_RASA_TOKEN": RASA_TOKEN,
            "XIAOBAO_ACTIONS_URL": f"http://127.0.0.1:{action_port}",
            "XIAOBAO_WECHAT_TOKEN": WECHAT_TOKEN, "XIAOBAO_WECHAT_APPID": APPID,
            "XIAOBAO_WECHAT_SECRET": "test-secret", "XIAOBAO_WECHAT_API_BASE": wechat_api,
            "XIAOBAO_WECHAT_AES_KEY": "", "XIAOBAO_IVR_SECRET": IVR_SECRET,
            "XIAOBAO_REDIS_URL": "",
            # every turn answered passively, however slow the shared machine: these tests are
            # about what the bot answers (test_wechat.py covers the customer-service API path)
            "XIAOBAO_WECHAT_PASSIVE_WAIT": "300",
            # the channels' own calls (bindings, document uploads) to this platform
            "XIAOBAO_BACKOFFICE_URL": f"http://127.0.0.1:{api_port}"}


@pytest.fixture(scope="session")
def bot_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotStack]:
    model, _ = bot.train()
    tmp = tmp_path_factory.mktemp("bot-stack")
    wechat = ThreadedStandIn()
    wechat.start()
    api_port, rasa_port, action_port = free_port(), free_port(), free_port()
    env = stack_env(tmp, api_port, rasa_port, wechat.base, action_port)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        seeded = subprocess.run([str(XIAOBAO), "demo", "seed", "--members", "60", "--seed", "4"],
                                env=env, capture_output=True, text=True, check=True)
        seed = json.loads(seeded.stdout.strip().splitlines()[-1])
        procs.append(subprocess.Popen([str(XIAOBAO), "serve", "--port", str(api_port),
                                       "--no-scheduler"], env=env))
        platform_url = f"http://127.0.0.1:{api_port}"
        procs += bot.start_bot(model, rasa_port, action_port, platform_url, TOKEN, tmp,
                               rasa_token=RASA_TOKEN)
        stack = BotStack(f"http://127.0.0.1:{rasa_port}", platform_url,
                         env["XIAOBAO_DATABASE_URL"], seed, wechat.api, procs)
        assert bot.wait_ready(f"http://127.0.0.1:{action_port}/health", 240, procs), \
            "action server did not start"
        assert bot.wait_ready(bot.with_token(f"{stack.rasa_url}/status", RASA_TOKEN), 400,
                              procs), "Rasa did not start"
        # 200 only once the platform sees its database, Rasa's model and the action server
        assert bot.wait_ready(f"{platform_url}/healthz", 120, procs), "platform did not start"
        yield stack
    finally:
        bot.stop(procs)
        wechat.stop()
