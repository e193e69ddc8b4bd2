"""Two Rasa processes (each with its own action server) behind one platform, on a shared
PostgreSQL tracker store (its own schema) and Rasa's lock store on Redis: every sender's turns
go to its instance on the gateway's hash ring; one Rasa killed with SIGKILL mid-conversation,
its senders continue on the other with their half-filled forms, and no acknowledged message is
lost. Real processes, the project's model; PostgreSQL (XIAOBAO_TEST_POSTGRES_URL) and Redis
(XIAOBAO_TEST_RASA_REDIS_URL, default redis://localhost:6379/6) are required: without them the
test fails saying so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from backoffice.store.db import Database
from backoffice.store.models import (
    Conversation,
    ConversationMessage,
    Party,
    PolicyRow,
    RosterMember,
)
from channels.ring import HashRing
from channels.router import BOT_DOWN
from tests.bot_stack import RASA_TOKEN, TOKEN, XIAOBAO, free_port
from xiaobao import bot

REDIS_URL = os.environ.get("XIAOBAO_TEST_RASA_REDIS_URL", "redis://localhost:6379/6")
PG_URL = os.environ.get("XIAOBAO_TEST_POSTGRES_URL", "")
PER_INSTANCE = 3  # senders homed on each instance
FIRST = "我妈今天早上在菜市场摔倒了，现在在潮南区人民医院"
TURNS_BEFORE_KILL = 3
MOST_TURNS = 14


def required() -> None:
    if not PG_URL:
        pytest.fail("several Rasa instances share a PostgreSQL tracker store: set "
                    "XIAOBAO_TEST_POSTGRES_URL (postgresql+psycopg://…)")
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except SQLAlchemyError as exc:
        pytest.fail(f"no PostgreSQL answers at XIAOBAO_TEST_POSTGRES_URL: {exc}")
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Rasa's lock store needs Redis: none answers at {REDIS_URL} "
                    f"(XIAOBAO_TEST_RASA_REDIS_URL): {exc}")


def http(method: str, url: str, body: Any = None, token: str = "", timeout: float = 120
         ) -> tuple[int, Any]:
    req = urllib.request.Request(url, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"}
                                             if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@dataclass
class Rasas:
    platform: str
    urls: list[str]
    procs: dict[str, list[subprocess.Popen[bytes]]]  # url → [action server, Rasa]
    database_url: str
    seed: dict[str, Any]

    def metric(self, name: str, **labels: str) -> float:
        with urllib.request.urlopen(f"{self.platform}/metrics", timeout=30) as resp:
            families = text_string_to_metric_families(resp.read().decode())
        return sum(s.value for f in families for s in f.samples
                   if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))

    def answered(self, instance: str) -> float:
        return self.metric("xiaobao_rasa_turns_total", instance=instance, outcome="answered")


@dataclass
class Customer:
    """A web chat user filling the incident report form."""

    user: str
    token: str
    insured: str
    said: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)  # the bot's question after each turn
    replies: list[list[str]] = field(default_factory=list)

    @property
    def sender(self) -> str:
        return f"web:{self.user}"

    def answers(self) -> dict[str, str]:
        return {"身份证": self.insured, "伤得怎么样": "右手腕骨折了", "联系": "13922334455",
                "经过": "买菜的时候踩到菜叶滑倒的", "什么地方": "菜市场", "哪天": "今天",
                "本人，还是您的家人": "我妈", "怎么称呼": "我是她女儿，叫李丽", "信息对吗": "对"}

    def next_text(self) -> str | None:
        if not self.said:
            return FIRST
        if "报案成功" in "\n".join(self.replies[-1]):
            return None
        question = self.asked[-1]
        return next((a for key, a in self.answers().items() if key in question), None)

    def turn(self, platform: str) -> None:
        said = self.next_text()
        if said is None:
            return
        status, body = http("POST", f"{platform}/chat/messages", {"text": said}, self.token)
        assert status == 200, (status, body)  # acknowledged: it must be answered
        texts = [str(m["text"]) for m in body["messages"] if m.get("text")]
        assert texts and BOT_DOWN not in texts and body["state"] == "bot", (said, body)
        self.said.append(said)
        self.replies.append(texts)
        self.asked.append(texts[-1].splitlines()[-1] if texts[-1] else "")


@pytest.fixture
def rasas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rasas]:
    required()
    model, _ = bot.train()  # only when no model matches the training data
    schema = f"rasa_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("XIAOBAO_RASA_TRACKER_URL", PG_URL)
    monkeypatch.setenv("XIAOBAO_RASA_TRACKER_SCHEMA", schema)
    monkeypatch.setenv("XIAOBAO_RASA_LOCK_URL", REDIS_URL)
    api_port = free_port()
    platform = f"http://127.0.0.1:{api_port}"
    pairs = [(free_port(), free_port()) for _ in range(2)]
    urls = [f"http://127.0.0.1:{r}" for r, _ in pairs]
    env = {**os.environ, "XIAOBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'xiaobao.db'}",
           "XIAOBAO_VAR_DIR": str(tmp_path), "XIAOBAO_API_TOKEN": TOKEN,
           "XIAOBAO_LOG_LEVEL": "WARNING", "XIAOBAO_RASA_TOKEN": RASA_TOKEN,
           "XIAOBAO_RASA_URLS": ",".join(urls),
           "XIAOBAO_ACTIONS_URLS": ",".join(f"http://127.0.0.1:{a}" for _, a in pairs),
           "XIAOBAO_REDIS_URL": "", "XIAOBAO_BACKOFFICE_URL": platform,
           # two Rasa on a shared 2-core machine: a slow turn is not a dead instance here
           "XIAOBAO_RASA_TIMEOUT": "90"}
    procs: dict[str, list[subprocess.Popen[bytes]]] = {}
    everything: list[subprocess.Popen[bytes]] = []
    try:
        seeded = subprocess.run([str(XIAOBAO), "demo", "seed", "--members", "30", "--seed",
                                 "5"], env=env, capture_output=True, text=True, check=True)
        seed = json.loads(seeded.stdout.strip().splitlines()[-1])
        everything.append(subprocess.Popen([str(XIAOBAO), "serve", "--port", str(api_port),
                                            "--no-scheduler"], env=env))
        for url, (rasa_port, action_port) in zip(urls, pairs, strict=True):
            procs[url] = bot.start_bot(model, rasa_port, action_port, platform, TOKEN,
                                       tmp_path / f"rasa-{rasa_port}", rasa_token=RASA_TOKEN)
            everything += procs[url]
        for url, (_, action_port) in zip(urls, pairs, strict=True):
            assert bot.wait_ready(f"http://127.0.0.1:{action_port}/health", 300, everything), \
                "an action server did not start"
            assert bot.wait_ready(bot.with_token(f"{url}/status", RASA_TOKEN), 600,
                                  everything), "a Rasa server did not start"
        assert bot.wait_ready(f"{platform}/healthz", 120, everything), "platform not ready"
        yield Rasas(platform, urls, procs, env["XIAOBAO_DATABASE_URL"], seed)
    finally:
        bot.stop(everything)
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def customers(stack: Rasas) -> list[Customer]:
    """Web chat users, PER_INSTANCE homed on each instance (the gateway's ring, computed here
    the same way), each reporting for another insured."""
    ring = HashRing(stack.urls)
    homed: dict[str, list[Customer]] = {url: [] for url in stack.urls}
    ids = iter(insured(stack, 2 * PER_INSTANCE))
    for _ in range(60):
        status, body = http("POST", f"{stack.platform}/chat/session", {})
        assert status == 201
        url = ring.home(f"web:{body['user']}")
        if len(homed[url]) < PER_INSTANCE:
            homed[url].append(Customer(body["user"], body["token"], next(ids)))
        if all(len(c) == PER_INSTANCE for c in homed.values()):
            return [c for url in stack.urls for c in homed[url]]
    raise AssertionError("the ring put 60 senders on one instance")


def insured(stack: Rasas, n: int) -> list[str]:
    """ID numbers of n active insured of the demo scheme with a phone (one per customer)."""
    db = Database(stack.database_url)
    try:
        with db.read() as s:
            return list(s.execute(
                select(Party.id_number)
                .join(RosterMember, RosterMember.party_id == Party.id)
                .join(PolicyRow, PolicyRow.id == RosterMember.policy_id)
                .where(PolicyRow.policy_no == stack.seed["group_policy_no"],
                       RosterMember.status == "active", Party.phone.is_not(None))
                .order_by(Party.id.desc()).limit(n)).scalars())
    finally:
        db.dispose()


def round_of_turns(stack: Rasas, people: list[Customer], pool: ThreadPoolExecutor) -> None:
    for done in [pool.submit(c.turn, stack.platform) for c in people]:
        done.result()


def test_a_killed_rasas_senders_continue_on_the_other_with_their_forms(rasas: Rasas) -> None:
    stack = rasas
    people = customers(stack)
    names = {url: f"rasa-{i + 1}" for i, url in enumerate(stack.urls)}
    ring = HashRing(stack.urls)
    home = {c.user: names[ring.home(c.sender)] for c in people}
    victim_url = stack.urls[0]
    victim, survivor = names[victim_url], names[stack.urls[1]]
    moved_people = [c for c in people if home[c.user] == victim]

    with ThreadPoolExecutor(len(people)) as pool:
        # turns of all senders at once; after each round, each instance answered its own
        for n in range(1, TURNS_BEFORE_KILL + 1):
            round_of_turns(stack, people, pool)
            for url in stack.urls:
                assert stack.answered(names[url]) == n * PER_INSTANCE
        assert stack.metric("xiaobao_rasa_moved_turns_total") == 0
        asked_before = {c.user: set(c.asked) for c in people}

        # the next round starts, and one Rasa is killed while its turns run
        turns = [pool.submit(c.turn, stack.platform) for c in people]
        stack.procs[victim_url][1].send_signal(signal.SIGKILL)
        for t in turns:
            t.result()  # every one answered: on the victim before it died, or the survivor
        answered_by_victim = stack.answered(victim)
        assert answered_by_victim <= (TURNS_BEFORE_KILL + 1) * PER_INSTANCE
        for _ in range(MOST_TURNS):
            if all(c.next_text() is None for c in people):
                break
            round_of_turns(stack, people, pool)

    for c in people:
        summary = "\n".join(line for r in c.replies for line in r)
        assert "报案成功" in summary and "报案号" in summary, (c.sender, c.replies)
        assert "139****4455" in summary and "李*" in summary
        # the form went on from where it was: nothing answered before is asked again
        assert not asked_before[c.user] & set(c.asked[TURNS_BEFORE_KILL + 1:]), c.asked
    # the survivor's own senders never moved; the victim's senders moved to it
    later = sum(len(c.said) - TURNS_BEFORE_KILL for c in moved_people)
    moved = stack.metric("xiaobao_rasa_moved_turns_total", instance=survivor)
    assert moved + (answered_by_victim - TURNS_BEFORE_KILL * PER_INSTANCE) == later
    assert stack.answered(victim) == answered_by_victim  # nothing more after the kill
    own = sum(len(c.said) for c in people if home[c.user] == survivor)
    assert stack.answered(survivor) == own + moved

    status, health = http("GET", f"{stack.platform}/healthz")
    assert status == 200 and health["parts"]["bot"]["detail"] == "1_of_2_up", health
    assert health["rasa"][victim]["routing"] == "out" and health["rasa"][victim]["state"] == "down"
    survived = health["rasa"][survivor]
    assert (survived["state"], survived["actions"], survived["routing"]) == ("up", "up", "in")
    assert_transcripts(stack, people)


def assert_transcripts(stack: Rasas, people: list[Customer]) -> None:
    """Every acknowledged message is in its transcript, in order, answered."""
    db = Database(stack.database_url)
    try:
        for c in people:
            for _ in range(100):  # the bot's lines are written just after each answer
                rows = user_lines(db, c.user)
                if all(state == "answered" for _, state in rows):
                    break
                time.sleep(0.1)
            assert [said for said, _ in rows] == c.said
            assert {state for _, state in rows} == {"answered"}
    finally:
        db.dispose()


def user_lines(db: Database, user: str) -> list[tuple[str, str | None]]:
    with db.read() as s:
        return [(r[0], r[1]) for r in s.execute(
            select(ConversationMessage.text, ConversationMessage.answer_state)
            .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
            .where(Conversation.channel == "web", Conversation.user_id == user,
                   ConversationMessage.role == "user")
            .order_by(ConversationMessage.id))]
