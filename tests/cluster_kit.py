"""The deployed topology as real processes on this machine, for tests/bot/test_rasa_instances.py
and bench/cluster.py: nginx (deploy/nginx/xiaobao.conf.template rendered) in front of several
`xiaobao serve --no-scheduler` processes, `xiaobao scheduler` processes (one active, the others
standing by; each runs a `tick` job every 2 s besides the project's jobs), Rasa servers each with
its own action server (XIAOBAO_RASA_URLS / XIAOBAO_ACTIONS_URLS; tracker on PostgreSQL in a
schema of the run's, lock store on Redis), one PostgreSQL database made for the run and dropped
after, one Redis database index, and the WeChat API stand-in for the customer-service API.

Senders reach it only through nginx: signed WeChat pushes (by `openid`), signed phone events
(`/ivr/events?call_id=…`) and web chat turns."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import redis
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from backoffice.store.db import Database
from backoffice.store.models import Conversation, ConversationMessage, JobRun
from bench.kill_restart import wechat_text
from tests.bot_stack import RASA_TOKEN, TOKEN, XIAOBAO, ThreadedStandIn, free_port
from tests.channels.channel_kit import APPID, IVR_SECRET, WECHAT_TOKEN
from tests.test_nginx_sticky import NGINX, _nginx_conf
from xiaobao import bot

ROOT = Path(__file__).resolve().parents[1]
SCHEDULER = ROOT / "tests" / "backoffice" / "scheduler" / "scheduler_role_process.py"
SCHEDULER_POLL = "0.3"


@dataclass
class Bot:
    """One Rasa server and its action server."""

    url: str
    actions_url: str
    procs: list[subprocess.Popen[bytes]]  # [action server, Rasa]

    @property
    def rasa(self) -> subprocess.Popen[bytes]:
        return self.procs[1]


@dataclass
class Scheduler:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def owner(self) -> str:
        """How its firings name it in `job_runs` (the scheduler's lease owner)."""
        return f"{socket.gethostname()}:{self.process.pid}"[:80]

    def leadership(self) -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz",
                                        timeout=5) as r:
                return str(json.loads(r.read())["parts"]["leadership"]["state"])
        except (OSError, ValueError, KeyError):
            return None


@dataclass
class Cluster:
    workdir: Path
    proxy: str
    database_url: str
    redis_url: str
    env: dict[str, str]
    seed: dict[str, Any]
    bots: list[Bot]
    nginx: subprocess.Popen[bytes]
    ports: list[int]
    platforms: list[subprocess.Popen[bytes]] = field(default_factory=list)
    schedulers: list[Scheduler] = field(default_factory=list)
    platform_env: dict[str, str] = field(default_factory=dict)
    wechat: ThreadedStandIn | None = None

    # ---- processes ------------------------------------------------------------------------

    def start_platforms(self, bots: list[Bot]) -> None:
        """`xiaobao serve` on each port, routing turns to `bots` (started again to change)."""
        env = {**self.env, "XIAOBAO_RASA_URLS": ",".join(b.url for b in bots),
               # /healthz probes this one besides each instance's own
               "XIAOBAO_ACTIONS_URL": bots[0].actions_url,
               "XIAOBAO_ACTIONS_URLS": ",".join(b.actions_url for b in bots)}
        self.stop_platforms()
        self.platform_env = env
        self.platforms = [self._serve(n) for n in range(len(self.ports))]
        for port, p in zip(self.ports, self.platforms, strict=True):
            if not bot.wait_ready(f"http://127.0.0.1:{port}/healthz", 120, [p]):
                raise RuntimeError(f"a platform process did not start: {self.workdir}")

    def _serve(self, n: int) -> subprocess.Popen[bytes]:
        port = self.ports[n]
        env = {**self.platform_env, "XIAOBAO_INSTANCE": f"platform-{n + 1}"}
        with (self.workdir / f"serve-{port}.log").open("ab") as log:
            return subprocess.Popen(
                [str(XIAOBAO), "serve", "--port", str(port), "--no-scheduler"], env=env,
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def stop_platforms(self) -> None:
        bot.stop(self.platforms)
        self.platforms = []

    def start_scheduler(self) -> Scheduler:
        port = free_port()
        with (self.workdir / f"scheduler-{port}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, str(SCHEDULER), "--port", str(port), "--standby-poll",
                 SCHEDULER_POLL], env=self.env, cwd=SCHEDULER.parent, stdout=log,
                stderr=subprocess.STDOUT)
        self.schedulers.append(Scheduler(process, port))
        return self.schedulers[-1]

    def active_scheduler(self) -> Scheduler | None:
        alive = [s for s in self.schedulers if s.process.poll() is None]
        return next((s for s in alive if s.leadership() == "active"), None)

    def processes(self) -> list[subprocess.Popen[bytes]]:
        return [self.nginx, *self.platforms, *(s.process for s in self.schedulers),
                *(p for b in self.bots for p in b.procs)]

    def cpu_seconds(self) -> dict[int, float]:
        """User + system CPU time so far of each living process of the cluster (/proc), by
        pid: sampled often, as a killed process's time goes with it."""
        return {p.pid: proc_cpu(p.pid) for p in self.processes() if p.poll() is None}

    # ---- what the database holds ----------------------------------------------------------

    def db(self) -> Database:
        return Database(self.database_url)

    def user_lines(self) -> dict[tuple[str, str], list[tuple[str, str | None]]]:
        """Each sender's lines in the order stored: (channel, user or caller's number) →
        [(text, answer state)]."""
        found: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
        db = self.db()
        try:
            with db.read() as s:
                for channel, user, phone, line, state in s.execute(
                        select(Conversation.channel, Conversation.user_id, Conversation.phone,
                               ConversationMessage.text, ConversationMessage.answer_state)
                        .join(Conversation,
                              Conversation.id == ConversationMessage.conversation_id)
                        .where(ConversationMessage.role == "user")
                        .order_by(ConversationMessage.id)):
                    who = phone if channel == "ivr" else user
                    found.setdefault((channel, who or ""), []).append((line, state))
        finally:
            db.dispose()
        return found

    def tick_slots(self) -> list[tuple[str, str, bool]]:
        """(slot, owner, finished) of each firing of the `tick` job."""
        db = self.db()
        try:
            with db.read() as s:
                return [(r.slot, r.owner, r.finished_at is not None) for r in s.execute(
                    select(JobRun).where(JobRun.job == "tick").order_by(JobRun.slot)
                ).scalars()]
        finally:
            db.dispose()


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime, stime, cutime, cstime: fields 14–17 of stat(5), counted after the ")"
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


# ---- start and stop --------------------------------------------------------------------------

def postgres_required(pg_url: str, redis_url: str) -> str | None:
    """Why the cluster cannot run here, or None."""
    if not pg_url.startswith("postgresql"):
        return "the cluster runs on PostgreSQL: set XIAOBAO_TEST_POSTGRES_URL (postgresql+psycopg://…)"
    try:
        engine = create_engine(pg_url)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to reach it is the reason
        return f"no PostgreSQL answers at {pg_url}: {exc}"
    try:
        redis.Redis.from_url(redis_url, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Rasa's lock store needs Redis: none answers at {redis_url}: {exc}"
    return None


@contextmanager
def own_database(pg_url: str) -> Iterator[str]:
    """A database of this run's on `pg_url`'s server, dropped after."""
    name = f"xb_cluster_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def tracker_settings(database_url: str, redis_url: str) -> Iterator[None]:
    """bot.start_bot reads the stores from the environment: the run's, for its Rasa only."""
    saved = {k: os.environ.get(k) for k in ("XIAOBAO_RASA_TRACKER_URL",
                                            "XIAOBAO_RASA_TRACKER_SCHEMA",
                                            "XIAOBAO_RASA_LOCK_URL")}
    os.environ.update({"XIAOBAO_RASA_TRACKER_URL": database_url,
                       "XIAOBAO_RASA_TRACKER_SCHEMA": "rasa_tracker",
                       "XIAOBAO_RASA_LOCK_URL": redis_url})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def cluster(workdir: Path, pg_url: str, redis_url: str, *, rasas: int = 2, platforms: int = 2,
            schedulers: int = 2, members: int = 60, passive_wait: float = 4.0
            ) -> Iterator[Cluster]:
    """Everything started and ready; everything stopped and the database dropped after.
    `redis_url` names a database index of the run's (it is flushed at the start)."""
    why = postgres_required(pg_url, redis_url)
    if why:
        raise RuntimeError(why)
    if not Path(NGINX).exists():
        raise RuntimeError("nginx is missing: make nginx (apt-get install nginx-light)")
    redis.Redis.from_url(redis_url).flushdb()
    model, _ = bot.train()  # only when no model matches the training data
    wechat = ThreadedStandIn()
    wechat.start()
    everything: list[subprocess.Popen[bytes]] = []
    started: Cluster | None = None
    with own_database(pg_url) as database_url:
        try:
            ports, listen = [free_port() for _ in range(platforms)], free_port()
            # the action servers call the back office through nginx (round-robin): any
            # platform process that is up
            proxy = f"http://127.0.0.1:{listen}"
            env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOBAO_")}
            # the suite's column keys (conftest): the processes read and write what this one does
            env.update({k: v for k, v in os.environ.items() if k.startswith("XIAOBAO_FIELDS_")})
            env.update({
                "PYTHONPATH": str(ROOT), "XIAOBAO_DATABASE_URL": database_url,
                "XIAOBAO_VAR_DIR": str(workdir / "var"), "XIAOBAO_API_TOKEN": TOKEN,
                "XIAOBAO_FILES_DEMO_KEY": "1", "XIAOBAO_LOG_LEVEL": "WARNING",
                "XIAOBAO_CHEAP_PASSWORD_HASHES": "1", "XIAOBAO_RASA_TOKEN": RASA_TOKEN,
                "XIAOBAO_WECHAT_TOKEN": WECHAT_TOKEN, "XIAOBAO_WECHAT_APPID": APPID,
                "XIAOBAO_WECHAT_SECRET": "test-secret", "XIAOBAO_WECHAT_AES_KEY": "",
                "XIAOBAO_WECHAT_API_BASE": wechat.base, "XIAOBAO_IVR_SECRET": IVR_SECRET,
                "XIAOBAO_WECHAT_PASSIVE_WAIT": str(passive_wait),
                "XIAOBAO_REDIS_URL": redis_url, "XIAOBAO_TRUSTED_PROXIES": "127.0.0.1",
                # several Rasa on a shared 2-core machine: a slow turn is not a dead instance
                "XIAOBAO_RASA_TIMEOUT": "90"})
            subprocess.run([str(XIAOBAO), "db", "upgrade"], env=env, check=True,
                           capture_output=True)
            seeded = subprocess.run([str(XIAOBAO), "demo", "seed", "--members", str(members),
                                     "--seed", "5"], env=env, capture_output=True, text=True,
                                    check=True)
            seed = json.loads(seeded.stdout.strip().splitlines()[-1])
            bots = []
            with tracker_settings(database_url, redis_url):
                for _ in range(rasas):
                    rasa_port, action_port = free_port(), free_port()
                    procs = bot.start_bot(model, rasa_port, action_port, proxy, TOKEN,
                                          workdir / f"rasa-{rasa_port}",
                                          rasa_token=RASA_TOKEN)
                    everything += procs
                    bots.append(Bot(f"http://127.0.0.1:{rasa_port}",
                                    f"http://127.0.0.1:{action_port}", procs))
            with (workdir / "nginx.log").open("wb") as log:
                nginx = subprocess.Popen(
                    [NGINX, "-c", str(_nginx_conf(workdir, listen, ports)), "-p",
                     str(workdir)], stdout=log, stderr=subprocess.STDOUT)
            everything.append(nginx)
            started = Cluster(workdir, proxy, database_url, redis_url,
                              env, seed, bots, nginx, ports, wechat=wechat)
            for _ in range(schedulers):
                started.start_scheduler()
            for b in bots:
                if not (bot.wait_ready(f"{b.actions_url}/health", 300, everything)
                        and bot.wait_ready(bot.with_token(f"{b.url}/status", RASA_TOKEN), 600,
                                           everything)):
                    raise RuntimeError("a Rasa or action server did not start")
            started.start_platforms(bots)
            if not bot.wait_ready(f"{started.proxy}/healthz", 60, [nginx]):
                raise RuntimeError("nginx did not start")
            for _ in range(100):
                if started.active_scheduler():
                    break
                time.sleep(0.2)
            yield started
        finally:
            if started is not None:
                started.stop_platforms()
                bot.stop([s.process for s in started.schedulers])
            bot.stop(everything)
            wechat.stop()
            redis.Redis.from_url(redis_url).flushdb()


# ---- senders through nginx -------------------------------------------------------------------

def _sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


async def ivr_event(http: aiohttp.ClientSession, base: str, call: dict[str, str],
                    **event: Any) -> list[dict[str, Any]] | None:
    """A signed phone event, its URL carrying the call id (nginx hashes on it); the actions
    when answered with 200, else None."""
    raw = json.dumps({**call, **event, "event_id": uuid.uuid4().hex,
                      "timestamp": int(time.time())}, ensure_ascii=False).encode()
    signature = hmac.new(IVR_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    async with http.post(f"{base}/ivr/events", params={"call_id": call["call_id"]}, data=raw,
                         headers={"Content-Type": "application/json",
                                  "X-Xiaobao-Signature": signature}) as r:
        body = await r.read()
    return list(json.loads(body).get("actions", [])) if r.status == 200 else None


def claim_for_documents(c: Cluster, port: int, id_number: str) -> str:
    """A claim reported through one platform process (for the documents' check)."""
    body = {"policy_no": c.seed["group_policy_no"], "insured_id_number": id_number,
            "claim_type": "hospital_allowance",
            "incident_date": (date.today() - timedelta(days=2)).isoformat(),
            "channel": "desk", "incident_place": "峡山街道", "description": "摔倒",
            "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"}}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/claims",
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {TOKEN}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return str(json.loads(r.read())["claim_no"])


def stop_one(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


# ---- the load: senders' turns, kills mid-load, what became of every message -----------------

# the real mix's kinds of turn: questions answered by rules, actions calling the back office,
# a form's start, small talk; a few ask for a person (then queued for an agent)
MIX = ["理赔需要什么材料", "最近的服务网点在哪里", "我的理赔到哪一步了", "保费怎么交", "你好",
       "怎么报案", "谢谢", "我要投诉"]
AGENT = "转人工"


@dataclass(frozen=True)
class Sent:
    channel: str
    who: str
    text: str


@dataclass
class Load:
    acknowledged: list[Sent] = field(default_factory=list)
    refused: int = 0  # pushes or events never acknowledged, even after WeChat's retries
    latencies: list[float] = field(default_factory=list)  # seconds, acknowledged turns
    kills: list[tuple[float, str]] = field(default_factory=list)  # (seconds in, what)
    seconds: float = 0.0
    cpu_at_start: dict[int, float] = field(default_factory=dict)  # by pid (bench/cluster.py)
    cpu_last: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    acknowledged: int
    answered: int
    queued: int
    unanswered: int  # acknowledged, and not answered nor queued (or not stored at all)
    duplicates: int
    out_of_order: int  # senders whose stored lines are not in the order sent
    missing: tuple[tuple[str, str, str | None], ...] = ()  # (channel, text, state) unanswered


def _text(rng: random.Random, tag: str) -> str:
    return f"{AGENT if rng.random() < 0.03 else rng.choice(MIX)} {tag}"


async def wechat_user(http: aiohttp.ClientSession, base: str, n: int, turns: int, load: Load,
                      rng: random.Random) -> None:
    """One WeChat user: a push, its answer, a moment to read, the next (WeChat pushes a message
    again, the same XML, when it got no answer: up to 3 tries)."""
    openid = f"ocluster{n:04d}{uuid.uuid4().hex[:12]}"
    await asyncio.sleep(rng.uniform(0, 2))
    for turn in range(turns):
        sent = Sent("wechat", openid, _text(rng, f"w{n}-{turn}"))
        xml = wechat_text(openid, sent.text)
        for _ in range(3):
            began = time.monotonic()
            try:
                ok = await push_xml(http, base, openid, xml)
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            if ok:
                load.acknowledged.append(sent)
                load.latencies.append(time.monotonic() - began)
                break
            await asyncio.sleep(0.5)
        else:
            load.refused += 1
        await asyncio.sleep(rng.uniform(0.2, 1.0))


async def caller(http: aiohttp.ClientSession, base: str, n: int, turns: int, load: Load,
                 rng: random.Random) -> None:
    """One phone call: started, then one utterance after the other until it ends or is put
    through to an agent."""
    number = f"139{n:04d}{rng.randrange(10**4):04d}"
    call = {"call_id": f"call-{uuid.uuid4().hex[:16]}", "from": number, "to": "95500"}
    await asyncio.sleep(rng.uniform(0, 2))
    try:
        if await ivr_event(http, base, call, event="start") is None:
            load.refused += 1
            return
        for turn in range(turns):
            sent = Sent("ivr", number, _text(rng, f"c{n}-{turn}"))
            began = time.monotonic()
            actions = await ivr_event(http, base, call, event="speech", text=sent.text,
                                      confidence=0.9)
            if actions is None:
                load.refused += 1
                continue
            load.acknowledged.append(sent)
            load.latencies.append(time.monotonic() - began)
            if any(a.get("type") in ("transfer", "hangup") for a in actions):
                return
            await asyncio.sleep(rng.uniform(0.2, 1.0))
    except (aiohttp.ClientError, TimeoutError):
        load.refused += 1


async def push_xml(http: aiohttp.ClientSession, base: str, openid: str, xml: str) -> bool:
    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    query = {"signature": _sign(WECHAT_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce,
             "openid": openid}
    async with http.post(f"{base}/wechat", params=query, data=xml.encode(),
                         headers={"Content-Type": "text/xml"}) as r:
        body = await r.text()
    return r.status == 200 and (body == "success" or body.startswith("<xml>"))


def kill_plan(c: Cluster) -> list[tuple[str, Any]]:
    """One Rasa, one platform process, the active scheduler: in turn, SIGKILL each."""
    def rasa() -> None:
        stop_one(c.bots[0].rasa)

    def platform() -> None:
        stop_one(c.platforms[0])

    def scheduler() -> None:
        active = c.active_scheduler()
        assert active is not None, "no active scheduler to kill"
        stop_one(active.process)

    return [("rasa", rasa), ("platform", platform), ("scheduler", scheduler)]


async def kills(c: Cluster, load: Load, began: float, every: float) -> None:
    """The kill plan's steps, one every `every` seconds (none when 0)."""
    if every <= 0:
        return
    for what, kill in kill_plan(c):
        await asyncio.sleep(every)
        await asyncio.to_thread(kill)
        load.kills.append((time.monotonic() - began, what))


async def drive(c: Cluster, users: int, calls: int, turns: int, *, seed: int = 7,
                kill_every: float = 0.0) -> Load:
    """All senders at once through nginx; with `kill_every` > 0 the kill plan's steps one
    every `kill_every` seconds while they talk."""
    rng = random.Random(seed)
    load = Load()
    began = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        talking = [asyncio.create_task(wechat_user(http, c.proxy, n, turns, load,
                                                   random.Random(rng.random())))
                   for n in range(users)]
        talking += [asyncio.create_task(caller(http, c.proxy, n, turns, load,
                                               random.Random(rng.random())))
                    for n in range(calls)]
        killing = asyncio.create_task(kills(c, load, began, kill_every))
        await asyncio.gather(*talking)
        killing.cancel()
    load.seconds = time.monotonic() - began
    # the killed platform process is not started again: the other takes over what it stored
    # and had not answered once its lease runs out
    return load


def outcome(c: Cluster, load: Load, settle: float = 60.0) -> Outcome:
    """What became of each acknowledged message, once none is pending (or `settle` s)."""
    deadline = time.monotonic() + settle
    while True:
        lines = c.user_lines()
        copies = [[s for t, s in lines.get((a.channel, a.who), []) if t == a.text]
                  for a in load.acknowledged]
        if time.monotonic() > deadline or all(
                cs and cs[0] not in (None, "pending") for cs in copies):
            break
        time.sleep(0.5)
    states = [cs[0] if cs else None for cs in copies]
    out_of_order = 0
    by_sender: dict[tuple[str, str], list[str]] = {}
    for a in load.acknowledged:
        by_sender.setdefault((a.channel, a.who), []).append(a.text)
    for key, said in by_sender.items():
        stored = [t for t, _ in lines.get(key, []) if t in said]
        order = [said.index(t) for t in dict.fromkeys(stored)]
        out_of_order += order != sorted(order)
    return Outcome(
        acknowledged=len(load.acknowledged), answered=states.count("answered"),
        queued=sum(s in ("queued", "agents") for s in states),
        unanswered=sum(s not in ("answered", "queued", "agents") for s in states),
        duplicates=sum(len(cs) - 1 for cs in copies if len(cs) > 1),
        out_of_order=out_of_order,
        missing=tuple((a.channel, a.text, st) for a, st in zip(load.acknowledged, states,
                                                               strict=True)
                      if st not in ("answered", "queued", "agents")))
