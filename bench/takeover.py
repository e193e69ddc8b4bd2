"""Takeover: what a dead platform process stored and acknowledged but did not answer is
answered by the processes still running, without restarting it.

Three real `xiaobao serve` processes on one database, each under its own name
(XIAOBAO_INSTANCE: host and port), a stand-in Rasa whose turns of messages marked `慢`
hang while the victim holds them (the process has acknowledged the pushes with `success` and
not answered them), while the others' turns are answered at once, and a stand-in of WeChat's
customer-service API that records what is sent. WeChat users push to the first process (the
victim); once every message is stored, pending on it and acknowledged:

- `kill`: the victim is killed with SIGKILL and not started again. The two others, checking
  leases at the same pace, race for its messages: each must be answered once, in its
  sender's order. Then the victim is started again under the same name: it must answer none
  of them again.
- `stop`: the victim is stopped (SIGSTOP) for longer than its lease, so the others take its
  messages over and answer them; then it continues and its hung turns are released: it must
  drop its own answers (the messages are no longer its), and go on answering new messages.
- `slow`: the victim's turns take longer than its lease, but it is alive and renews it:
  nobody takes its messages; it answers each once itself.

    python -m bench.takeover [--mode kill] [--runs 3] [--lease 20] [--interval 5]
                             [--database-url URL]

prints per run: messages, answered once, duplicates, lost, out of order, who answered, and
(kill) the wait from the kill to each answer: first, median, last.
tests/channels/test_takeover.py runs each mode once with a short lease.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import select

from backoffice.store.db import Database
from backoffice.store.models import Conversation, ConversationMessage
from bench.kill_restart import (
    API_TOKEN,
    APPID,
    IVR_SECRET,
    ROOT,
    SECRET,
    WECHAT_TOKEN,
    Serve,
    _sign,
    free_port,
    fresh,
    wechat_text,
)

SLOW = "慢"  # the stand-in Rasa's turns of such messages hang while the victim holds them
MODES = ("kill", "stop", "slow")


@dataclass
class StandIn:
    """Rasa's REST webhook and WeChat's token + customer-service API."""

    hang: float  # how long a turn of a slow message hangs while `hanging`, unless released
    hanging: bool = True  # the victim's turns hang; the others' (after the kill/stop) do not
    release: asyncio.Event = field(default_factory=asyncio.Event)
    attempts: Counter[str] = field(default_factory=Counter)
    sent: list[tuple[float, str, str]] = field(default_factory=list)  # (when, openid, text)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.rasa)
        app.router.add_get("/cgi-bin/token", self.token)
        app.router.add_post("/cgi-bin/message/custom/send", self.custom_send)
        return app

    async def rasa(self, request: web.Request) -> web.Response:
        body = await request.json()
        text = str(body.get("message"))
        self.attempts[text] += 1
        if SLOW in text and self.hanging:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), self.hang)
        return web.json_response([{"recipient_id": body["sender"],
                                   "text": f"小保收到：{text}"}])

    async def token(self, request: web.Request) -> web.Response:
        return web.json_response({"access_token": "TOKEN-takeover", "expires_in": 7200})

    async def custom_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.sent.append((time.monotonic(), str(body.get("touser")),
                          str((body.get("text") or {}).get("content"))))
        return web.json_response({"errcode": 0, "errmsg": "ok"})


async def push(http: aiohttp.ClientSession, base: str, openid: str, text: str) -> str | None:
    """A signed push (plain mode); the platform's answer body when it acknowledged it."""
    ts, nonce = str(int(time.time())), str(uuid.uuid4().int % 10**9)
    query = {"signature": _sign(WECHAT_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce,
             "openid": openid}
    async with http.post(f"{base}/wechat", params=query, data=wechat_text(openid, text).encode(),
                         headers={"Content-Type": "text/xml"}) as r:
        body = await r.text()
    return body if r.status == 200 and (body == "success" or body.startswith("<xml>")) else None


@dataclass(frozen=True)
class Figures:
    mode: str
    messages: int  # acknowledged
    once: int  # answered exactly once (customer-service API or passive reply)
    duplicates: int  # answers beyond the first
    lost: int  # never answered
    out_of_order: int  # senders whose answers came in another order than their messages
    answered_by: dict[str, int]  # in the transcript: which process answered how many
    waits: tuple[float, ...] = ()  # kill: seconds from the kill to each answer
    after_restart: int = 0  # kill: answers sent after the victim started again

    def line(self) -> str:
        wait = ""
        if self.waits:
            wait = (f"  wait after the kill: first {self.waits[0]:.1f} s, median "
                    f"{statistics.median(self.waits):.1f} s, last {self.waits[-1]:.1f} s")
        return (f"{self.mode:4s}  messages {self.messages:3d}  once {self.once:3d}  "
                f"duplicates {self.duplicates}  lost {self.lost}  out of order "
                f"{self.out_of_order}  answered by {dict(sorted(self.answered_by.items()))}"
                f"{wait}" + (f"  after the restart {self.after_restart}"
                             if self.mode == "kill" else ""))


def answerers(db: Database, openids: list[str]) -> dict[str, int]:
    with db.read() as s:
        rows = s.execute(select(ConversationMessage.answerer, ConversationMessage.answer_state)
                         .join(Conversation)
                         .where(Conversation.user_id.in_(openids),
                                ConversationMessage.role == "user"))
        return dict(Counter(f"{who}:{state}" for who, state in rows))


def pending_on(db: Database, name: str | None, openids: list[str]) -> int:
    """The senders' messages still pending (on the process `name`, or on any)."""
    query = select(ConversationMessage.id).join(Conversation).where(
        Conversation.user_id.in_(openids), ConversationMessage.answer_state == "pending")
    if name is not None:
        query = query.where(ConversationMessage.answerer == name)
    with db.read() as s:
        return len(s.execute(query).all())


async def until(check: Any, seconds: float, step: float = 0.1) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        await asyncio.sleep(step)
    return bool(check())


def _env(database_url: str, workdir: Path, stand_in: str, lease: int, interval: float
         ) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOBAO_")}
    env.update({
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
        "XIAOBAO_DATABASE_URL": database_url, "XIAOBAO_VAR_DIR": str(workdir / "var"),
        "XIAOBAO_FILES_DEMO_KEY": "1", "XIAOBAO_API_TOKEN": API_TOKEN,
        "XIAOBAO_RASA_URL": stand_in, "XIAOBAO_ACTIONS_URL": "",
        "XIAOBAO_WECHAT_TOKEN": WECHAT_TOKEN, "XIAOBAO_WECHAT_APPID": APPID,
        "XIAOBAO_WECHAT_SECRET": SECRET, "XIAOBAO_WECHAT_API_BASE": stand_in,
        "XIAOBAO_WECHAT_PASSIVE_WAIT": "1", "XIAOBAO_IVR_SECRET": IVR_SECRET,
        "XIAOBAO_LOG_LEVEL": "WARNING", "XIAOBAO_CHEAP_PASSWORD_HASHES": "1",
        "XIAOBAO_INSTANCE_LEASE_SECONDS": str(lease),
        "XIAOBAO_TAKEOVER_INTERVAL_SECONDS": str(interval)})
    return env


async def run_once(mode: str, database_url: str, workdir: Path, *, users: int = 6,
                   per_user: int = 3, lease: int = 3, interval: float = 0.5) -> Figures:
    assert mode in MODES
    db = fresh(database_url)
    # kill and stop: the victim's first attempts hang for good (released after a stop);
    # slow: they take one and a half leases, and the victim renews meanwhile
    stand = StandIn(hang=lease * 1.5 if mode == "slow" else 600)
    runner = web.AppRunner(stand.app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    env = _env(database_url, workdir, f"http://127.0.0.1:{port}", lease, interval)
    victim, *others = [Serve(env, free_port(), workdir / f"serve-{i}.log") for i in range(3)]
    names = {f"{socket.gethostname()}:{s.port}": label
             for s, label in ((victim, "victim"), (others[0], "second"), (others[1], "third"))}
    openids = [f"otake{uuid.uuid4().hex[:20]}" for _ in range(users)]
    texts = {o: [f"{o[-6:]}-{n} {SLOW}" for n in range(per_user)] for o in openids}
    acknowledged: list[str] = []
    passive: list[str] = []  # answers in passive replies
    victim_name = next(n for n, label in names.items() if label == "victim")
    timeout = aiohttp.ClientTimeout(total=30)
    try:
        await asyncio.gather(*(s.start() for s in (victim, *others)))
        async with aiohttp.ClientSession(timeout=timeout) as http:

            async def one_user(openid: str) -> None:
                for text in texts[openid]:  # one after the other, as a person types
                    body = await push(http, victim.base, openid, text)
                    if body is not None:
                        acknowledged.append(text)
                        if body.startswith("<xml>"):
                            passive.append(body)

            await asyncio.gather(*(one_user(o) for o in openids))
        everything = users * per_user
        assert await until(lambda: pending_on(db, victim_name, openids) == everything
                           or mode == "slow", 30), "the messages were not stored pending"
        killed_at = 0.0
        restarted_at = None
        if mode == "kill":
            victim.kill()
            killed_at = time.monotonic()
            stand.hanging = False
            await until(lambda: len(stand.sent) >= everything, lease + 10 * interval + 30)
            await victim.start()  # the same port: the same name
            restarted_at = time.monotonic()
            await asyncio.sleep(lease + 3 * interval)  # its lease renewed, takeovers run
        elif mode == "stop":
            assert victim.process is not None
            victim.process.send_signal(signal.SIGSTOP)
            stand.hanging = False
            await until(lambda: len(stand.sent) >= everything, lease + 10 * interval + 30)
            await asyncio.sleep(interval)
            victim.process.send_signal(signal.SIGCONT)
            stand.release.set()  # its hung turns come back now: their answers must be dropped
            await asyncio.sleep(2 * interval + 1)
            async with aiohttp.ClientSession(timeout=timeout) as http:  # and it goes on
                for openid in openids:
                    text = f"{openid[-6:]}-after 你好"
                    texts[openid].append(text)
                    body = await push(http, victim.base, openid, text)
                    if body is not None:
                        acknowledged.append(text)
                        if body.startswith("<xml>"):
                            passive.append(body)
            everything += users
            await until(lambda: len(stand.sent) + len(passive) >= everything, 15)
        else:
            await until(lambda: len(stand.sent) >= everything, lease * 2 + 30)
            await asyncio.sleep(lease + 2 * interval)  # would another take it over now?
        # the answers' lines are written just after they are sent
        await until(lambda: pending_on(db, None, openids) == 0, 10)
        answers = Counter(t for _, _, t in stand.sent)
        for body in passive:
            for text in (t for o in openids for t in texts[o]):
                if f"小保收到：{text}" in body:
                    answers[f"小保收到：{text}"] += 1
        counts = [answers[f"小保收到：{t}"] for t in acknowledged]
        order = 0
        for openid in openids:
            said = [t for _, o, t in stand.sent if o == openid and SLOW in t]
            expected = [f"小保收到：{t}" for t in texts[openid] if SLOW in t]
            if [t for t in dict.fromkeys(said)] != expected:
                order += 1
        waits = tuple(sorted(at - killed_at for at, _, _ in stand.sent)) if killed_at else ()
        after = (sum(1 for at, _, _ in stand.sent if at >= restarted_at)
                 if restarted_at is not None else 0)
        by = {f"{names.get(k.rpartition(':')[0], k)}:{k.rpartition(':')[2]}": v
              for k, v in answerers(db, openids).items()}
        return Figures(mode, len(acknowledged), counts.count(1),
                       sum(c - 1 for c in counts if c > 1), counts.count(0), order, by,
                       waits, after)
    finally:
        stand.release.set()
        for s in (victim, *others):
            if s.process is not None and s.process.poll() is None:
                s.process.send_signal(signal.SIGCONT)
            s.stop()
        await runner.cleanup()
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=MODES, default="kill")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--per-user", type=int, default=3)
    parser.add_argument("--lease", type=int, default=20, help="XIAOBAO_INSTANCE_LEASE_SECONDS")
    parser.add_argument("--interval", type=float, default=5.0,
                        help="XIAOBAO_TAKEOVER_INTERVAL_SECONDS")
    parser.add_argument("--database-url", default="",
                        help="default: a fresh SQLite file per run")
    parser.add_argument("--keep", default="",
                        help="a folder for each run's processes' logs (default: deleted)")
    args = parser.parse_args()
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="xiaobao-takeover-") as tmp:
            work = Path(args.keep) / f"run-{run + 1}" if args.keep else Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            url = args.database_url or f"sqlite:///{work / 'takeover.db'}"
            result = asyncio.run(run_once(args.mode, url, work, users=args.users,
                                          per_user=args.per_user, lease=args.lease,
                                          interval=args.interval))
        print(f"run {run + 1}: {result.line()}", flush=True)


if __name__ == "__main__":
    main()
