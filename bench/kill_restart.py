"""Kill and restart: nothing acknowledged is lost.

A real platform process (`xiaobao serve`) with a stand-in Rasa that answers slowly (its REST
webhook, 0.5–3 s a turn; some turns fail with Rasa's empty answer) and a stand-in of WeChat's
customer-service API. Several senders talk at once: WeChat users push signed messages without
waiting for the answers, callers send signed phone events turn by turn, web users post with
their session credential. The platform is killed with SIGKILL at a random moment, then
started again on the same database and port. Every message the platform acknowledged (WeChat:
200 with `success` or a passive reply; phone and web: 200) must then be in the transcript
exactly once and be answered by the bot or queued for an agent.

    python -m bench.kill_restart [--runs 10] [--database-url URL] [--seed S]

prints per run and in total: acknowledged, stored, answered, queued, lost, duplicates.
tests/channels/test_kill_restart.py runs one round of the same scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import hmac
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import select, text

from backoffice.store.db import Database
from backoffice.store.migrate import upgrade
from backoffice.store.models import Conversation, ConversationMessage
from bench.common import field_keys_for_run

ROOT = Path(__file__).resolve().parents[1]
WECHAT_TOKEN = "kill-test-token"
APPID, SECRET = "wxkilltest", "kill-test-secret"
IVR_SECRET = "kill-test-ivr-secret"
API_TOKEN = "kill-test-api-token-0123456789"
FAILING = "请转人工"  # the stand-in Rasa fails these turns (an empty answer): queued for an agent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- stand-ins ---------------------------------------------------------------------------------

@dataclass
class StandIns:
    """Rasa's REST webhook (slow) and WeChat's token + customer-service API."""

    rng: random.Random
    slow: tuple[float, float] = (0.5, 3.0)
    turns: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.rasa)
        app.router.add_get("/cgi-bin/token", self.token)
        app.router.add_post("/cgi-bin/message/custom/send", self.custom_send)
        return app

    async def rasa(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.turns += 1
        await asyncio.sleep(self.rng.uniform(*self.slow))
        if FAILING in str(body.get("message")):
            return web.json_response([])  # Rasa's REST channel's way of saying it failed
        return web.json_response([{"recipient_id": body["sender"],
                                   "text": f"小保收到：{body['message']}"}])

    async def token(self, request: web.Request) -> web.Response:
        if request.query.get("appid") != APPID or request.query.get("secret") != SECRET:
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        return web.json_response({"access_token": "TOKEN-kill", "expires_in": 7200})

    async def custom_send(self, request: web.Request) -> web.Response:
        self.sent.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok"})


# ---- the platform process ----------------------------------------------------------------------

@dataclass
class Serve:
    """`xiaobao serve` on a fixed port, as a process that can be killed and started again."""

    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "xiaobao.cli", "serve", "--port", str(self.port),
             "--no-scheduler"], env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        async with aiohttp.ClientSession() as http:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the platform exited: see {self.log}")
                try:
                    async with http.get(f"{self.base}/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


# ---- the senders -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sent:
    channel: str
    user: str
    text: str


@dataclass
class Traffic:
    acknowledged: list[Sent] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    over: bool = False  # the platform was killed: the senders stop


def _sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def wechat_text(openid: str, content: str) -> str:
    """A text message as WeChat's servers push it (its retries push the same XML)."""
    return (f"<xml><ToUserName><![CDATA[gh_kill]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content>"
            f"<MsgId>{random.getrandbits(62)}</MsgId></xml>")


async def wechat_push(http: aiohttp.ClientSession, base: str, openid: str, xml: str) -> bool:
    """Push signed as WeChat's servers sign it (plain mode); True when the platform
    acknowledged it (`success` or a passive reply)."""
    ts, nonce = str(int(time.time())), str(random.randint(10**8, 10**9))
    query = {"signature": _sign(WECHAT_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce,
             "openid": openid}
    async with http.post(f"{base}/wechat", params=query, data=xml.encode(),
                         headers={"Content-Type": "text/xml"}) as r:
        body = await r.text()
    return r.status == 200 and (body == "success" or body.startswith("<xml>"))


async def ivr_event(http: aiohttp.ClientSession, base: str, event: dict[str, Any]
                    ) -> list[str] | None:
    """A phone event signed as the telephony platform signs it; the types of the actions
    answered with 200, else None."""
    raw = json.dumps({**event, "event_id": uuid.uuid4().hex,
                      "timestamp": int(time.time())}, ensure_ascii=False).encode()
    signature = hmac.new(IVR_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    async with http.post(f"{base}/ivr/events", data=raw, headers={
            "Content-Type": "application/json", "X-Xiaobao-Signature": signature}) as r:
        body = await r.read()
    if r.status != 200:
        return None
    return [str(a.get("type")) for a in json.loads(body).get("actions", [])]


def _text(channel: str, who: int, n: int, rng: random.Random) -> str:
    ask = FAILING if rng.random() < 0.1 else "理赔进度怎么查"
    return f"{channel}-{who}-{n} {ask}"


class Sender:
    """One sender of a channel; `talk` sends until the run says stop (or `limit` messages),
    with the same identity before and after the restart."""

    channel = ""

    def __init__(self, who: int, rng: random.Random, traffic: Traffic) -> None:
        self.who, self.rng, self.traffic = who, rng, traffic
        self.n = 0

    def next_text(self) -> str:
        self.n += 1
        return _text(self.channel, self.who, self.n, self.rng)

    def more(self, sent: int, limit: int | None) -> bool:
        return not self.traffic.over and (limit is None or sent < limit)

    async def talk(self, http: aiohttp.ClientSession, base: str, limit: int | None) -> None:
        raise NotImplementedError


class WeChatUser(Sender):
    """Pushes without waiting for the answers (WeChat pushes each message on its own)."""

    channel = "wechat"

    def __init__(self, who: int, rng: random.Random, traffic: Traffic) -> None:
        super().__init__(who, rng, traffic)
        self.openid = f"okill{uuid.uuid4().hex[:20]}"
        self.unacknowledged: list[tuple[Sent, str]] = []  # WeChat pushes these again

    async def one(self, http: aiohttp.ClientSession, base: str,
                  again: tuple[Sent, str] | None = None) -> None:
        if again is None:
            sent = Sent("wechat", self.openid, self.next_text())
            xml = wechat_text(self.openid, sent.text)
        else:
            sent, xml = again
        try:
            if await wechat_push(http, base, self.openid, xml):
                self.traffic.acknowledged.append(sent)
                return
        except (aiohttp.ClientError, TimeoutError):
            self.traffic.refused["wechat"] += 1
        self.unacknowledged.append((sent, xml))

    async def talk(self, http: aiohttp.ClientSession, base: str, limit: int | None) -> None:
        # WeChat's retry of each push that got no answer: the same XML, the same MsgId
        retries, self.unacknowledged = self.unacknowledged, []
        await asyncio.gather(*(self.one(http, base, again) for again in retries))
        pushes = []
        while self.more(len(pushes), limit):
            pushes.append(asyncio.create_task(self.one(http, base)))
            await asyncio.sleep(self.rng.uniform(0.1, 0.8))
        await asyncio.gather(*pushes)


class Caller(Sender):
    """A call: started once, then one utterance after the other (after a restart too)."""

    channel = "ivr"

    def __init__(self, who: int, rng: random.Random, traffic: Traffic) -> None:
        super().__init__(who, rng, traffic)
        self.number = f"139{rng.randrange(10**8):08d}"
        self.call = {"call_id": f"call-{uuid.uuid4().hex[:16]}", "from": self.number,
                     "to": "95500"}
        self.started = False
        self.transferred = False  # the caller speaks to an agent now, not to the bot

    async def talk(self, http: aiohttp.ClientSession, base: str, limit: int | None) -> None:
        sent_here = 0
        try:
            if not self.started:
                self.started = await ivr_event(http, base, {**self.call, "event": "start"}) \
                    is not None
            while self.started and not self.transferred and self.more(sent_here, limit):
                sent = Sent("ivr", self.number, self.next_text())
                sent_here += 1
                actions = await ivr_event(http, base, {**self.call, "event": "speech",
                                                       "text": sent.text, "confidence": 0.9})
                if actions is not None:
                    self.traffic.acknowledged.append(sent)
                    self.transferred = "transfer" in actions
                await asyncio.sleep(self.rng.uniform(0.1, 0.5))
        except (aiohttp.ClientError, TimeoutError):
            self.traffic.refused["ivr"] += 1


class WebUser(Sender):
    """The chat page: one message after the other, with the session credential."""

    channel = "web"
    auth: dict[str, str] | None = None
    user = ""

    async def talk(self, http: aiohttp.ClientSession, base: str, limit: int | None) -> None:
        sent_here = 0
        try:
            if self.auth is None:
                async with http.post(f"{base}/chat/session") as r:
                    session = await r.json()
                self.auth = {"Authorization": f"Bearer {session['token']}"}
                self.user = session["user"]
            while self.more(sent_here, limit):
                sent = Sent("web", self.user, self.next_text())
                sent_here += 1
                async with http.post(f"{base}/chat/messages", json={"text": sent.text},
                                     headers=self.auth) as r:
                    await r.read()
                if r.status == 200:
                    self.traffic.acknowledged.append(sent)
                await asyncio.sleep(self.rng.uniform(0.1, 0.5))
        except (aiohttp.ClientError, TimeoutError):
            self.traffic.refused["web"] += 1


# ---- one run -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figures:
    acknowledged: int
    stored: int
    answered: int
    queued: int
    lost: int
    duplicates: int
    pending: int  # stored and acknowledged, not yet answered when the run gave up waiting
    # acknowledged before the kill and not answered then: the restart had to answer them
    unanswered_at_kill: int = 0
    lost_on: str = ""  # the channels of the messages lost, one letter each (w, i, b)

    def line(self) -> str:
        return (f"acknowledged {self.acknowledged:4d}  stored {self.stored:4d}  "
                f"answered {self.answered:4d}  queued {self.queued:3d}  lost {self.lost}  "
                f"duplicates {self.duplicates}  (unanswered at the kill "
                f"{self.unanswered_at_kill})" + (f"  lost on {self.lost_on}" if self.lost_on
                                                 else ""))


def transcript(db: Database) -> dict[tuple[str, str, str], list[str | None]]:
    """Each user's line as (channel, user, text) → the answer states of its copies."""
    found: dict[tuple[str, str, str], list[str | None]] = {}
    with db.read() as s:
        rows = s.execute(select(Conversation.channel, Conversation.user_id, Conversation.phone,
                                ConversationMessage.text, ConversationMessage.answer_state)
                         .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
                         .where(ConversationMessage.role == "user"))
        for channel, user, phone, line, state in rows:
            # a call is its own channel user: a caller is known by the number, its phone
            who = phone if channel == "ivr" else user
            found.setdefault((channel, who or "", line), []).append(state)
    return found


def figures(db: Database, acknowledged: list[Sent]) -> Figures:
    lines = transcript(db)
    copies = [lines.get((a.channel, a.user, a.text), []) for a in acknowledged]
    states = [c[0] for c in copies if c]
    return Figures(acknowledged=len(acknowledged), stored=sum(1 for c in copies if c),
                   answered=states.count("answered"),
                   queued=states.count("queued") + states.count("agents"),
                   lost=sum(1 for c in copies if not c or c[0] in (None, "pending")),
                   duplicates=sum(len(c) - 1 for c in copies if len(c) > 1),
                   pending=states.count("pending"),
                   lost_on="".join(
                       {"wechat": "w", "ivr": "i", "web": "b"}[a.channel]
                       for a, c in zip(acknowledged, copies, strict=True)
                       if not c or c[0] in (None, "pending")))


def fresh(url: str) -> Database:
    db = Database(url)
    if not db.is_sqlite:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(db)
    return db


async def run_once(database_url: str, workdir: Path, seed: int, *, wechat_users: int = 4,
                   callers: int = 3, web_users: int = 3, kill_after: tuple[float, float] = (2, 6),
                   settle_rounds: int = 1200, redis_url: str = "", after_restart: int = 2
                   ) -> Figures:
    """One kill and restart, then `after_restart` more messages of each sender; the figures
    once every acknowledged message is settled (or `settle_rounds` of 0.25 s have passed)."""
    rng = random.Random(seed)
    db = fresh(database_url)
    stand_ins = StandIns(rng)
    runner = web.AppRunner(stand_ins.app())
    await runner.setup()
    site_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", site_port).start()
    stand_in = f"http://127.0.0.1:{site_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOBAO_")}
    env.update({
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
        "XIAOBAO_DATABASE_URL": database_url, "XIAOBAO_VAR_DIR": str(workdir / "var"),
        "XIAOBAO_FILES_DEMO_KEY": "1",
        "XIAOBAO_API_TOKEN": API_TOKEN, "XIAOBAO_RASA_URL": stand_in,
        "XIAOBAO_WECHAT_TOKEN": WECHAT_TOKEN, "XIAOBAO_WECHAT_APPID": APPID,
        "XIAOBAO_WECHAT_SECRET": SECRET, "XIAOBAO_WECHAT_API_BASE": stand_in,
        # a shorter passive wait: more answers go out by the customer-service API
        "XIAOBAO_WECHAT_PASSIVE_WAIT": "1.5", "XIAOBAO_IVR_SECRET": IVR_SECRET,
        "XIAOBAO_REDIS_URL": redis_url, "XIAOBAO_LOG_LEVEL": "WARNING",
        "XIAOBAO_CHEAP_PASSWORD_HASHES": "1",
        # the stand-in is Rasa alone (no /status: up, unverified), without an action server
        "XIAOBAO_ACTIONS_URL": ""})
    serve = Serve(env, free_port(), workdir / "serve.log")
    traffic = Traffic()
    try:
        await serve.start()
        senders: list[Sender] = [
            kind(i, random.Random(rng.random()), traffic)
            for kind, n in ((WeChatUser, wechat_users), (Caller, callers), (WebUser, web_users))
            for i in range(n)]
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            talking = [asyncio.create_task(s.talk(http, serve.base, None)) for s in senders]
            await asyncio.sleep(rng.uniform(*kill_after))
            serve.kill()
            traffic.over = True
            await asyncio.gather(*talking)  # they see the kill
        at_kill = figures(db, traffic.acknowledged).pending
        await serve.start()  # the same database, the same port: the same instance
        traffic.over = False
        async with aiohttp.ClientSession(timeout=timeout) as http:  # and go on talking
            await asyncio.gather(*(s.talk(http, serve.base, after_restart) for s in senders))
        for _ in range(settle_rounds):
            result = figures(db, traffic.acknowledged)
            if result.pending == 0:
                break
            await asyncio.sleep(0.25)
        return dataclasses.replace(figures(db, traffic.acknowledged),
                                   unanswered_at_kill=at_kill)
    finally:
        serve.stop()
        await runner.cleanup()
        db.dispose()


def main() -> None:
    field_keys_for_run()  # the processes started share this run's column keys
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--database-url", default="",
                        help="default: a fresh SQLite file per run")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    total: list[Figures] = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="xiaobao-kill-") as tmp:
            url = args.database_url or f"sqlite:///{Path(tmp) / 'kill.db'}"
            result = asyncio.run(run_once(url, Path(tmp), args.seed + run,
                                          redis_url=args.redis_url))
        total.append(result)
        print(f"run {run + 1:2d}: {result.line()}", flush=True)
    summed = Figures(*(sum(getattr(f, name) for f in total)
                       for name in Figures.__dataclass_fields__ if name != "lost_on"),
                     lost_on="".join(f.lost_on for f in total))
    print(f"total : {summed.line()}")


if __name__ == "__main__":
    main()
