"""The deployed topology proven with real processes (tests/cluster_kit.py): nginx in front of 2
platform processes, 2 schedulers (one active), 2 Rasa each with its own action server, on one
PostgreSQL database of the run's (Rasa's tracker in its own schema) and Redis (Rasa's lock
store, the platform's WeChat de-duplication). Through nginx, 20 WeChat users and 5 phone calls
talk with the mix of turns while web chat users fill the incident report form; one Rasa is
killed with SIGKILL while its turns run, then one platform process (not started again: the
other takes over what it had stored and not answered), then the active scheduler.
Every acknowledged message is answered or queued exactly once, each sender's lines are stored in
the order sent, the forms go on from where they were on the other Rasa, the `tick` job (every
2 s) fires once per slot across the failover, and a document uploaded through one platform
process is read through the other. PostgreSQL (XIAOBAO_TEST_POSTGRES_URL) and Redis
(XIAOBAO_TEST_CLUSTER_REDIS_URL, default redis://localhost:6379/12, flushed) are required:
without them the test fails saying so."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

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
from tests.bot_stack import AGREE, TOKEN, asks_consent
from tests.cluster_kit import (
    Cluster,
    claim_for_documents,
    cluster,
    drive,
    outcome,
    postgres_required,
    stop_one,
)

REDIS_URL = os.environ.get("XIAOBAO_TEST_CLUSTER_REDIS_URL", "redis://localhost:6379/12")
PG_URL = os.environ.get("XIAOBAO_TEST_POSTGRES_URL", "")
PER_INSTANCE = 2  # web chat senders homed on each Rasa
FIRST = "我妈今天早上在菜市场摔倒了，现在在潮南区人民医院"
MOST_TURNS = 14
LOAD = (20, 5, 6)  # WeChat users, phone calls, turns of each
SCAN_SHA256 = hashlib.sha256(b"scan of an id card").hexdigest()


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
    """What the form fillers need of the cluster: nginx's address, the Rasa URLs, the data."""

    platform: str
    urls: list[str]
    database_url: str
    seed: dict[str, Any]


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
        if asks_consent(question):
            return AGREE  # the notice before the first ID number: a person agrees
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
def topology(tmp_path: Path) -> Iterator[Cluster]:
    why = postgres_required(PG_URL, REDIS_URL)
    if why:
        pytest.fail(why)
    with cluster(tmp_path, PG_URL, REDIS_URL, rasas=2, platforms=2, schedulers=2,
                 members=40) as c:
        yield c


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


def test_killed_rasa_platform_and_scheduler_lose_nothing(topology: Cluster) -> None:
    c = topology
    stack = Rasas(c.proxy, [b.url for b in c.bots], c.database_url, c.seed)
    people = customers(stack)
    first = c.active_scheduler()
    assert first is not None
    with ThreadPoolExecutor(len(people) + 1) as pool:
        load = pool.submit(asyncio.run, drive(c, *LOAD[:2], LOAD[2]))
        round_of_turns(stack, people, pool)
        round_of_turns(stack, people, pool)
        asked_before = {p.user: set(p.asked) for p in people}
        turns = [pool.submit(p.turn, stack.platform) for p in people]
        stop_one(c.bots[0].rasa)  # while its turns run: they are answered by the other
        for t in turns:
            t.result()
        document = upload_and_read(c)
        stop_one(c.platforms[0])  # between the form's turns; WeChat and calls go on
        round_of_turns(stack, people, pool)
        stop_one(first.process)
        killed_at = datetime.now().astimezone()
        for _ in range(MOST_TURNS):
            if all(p.next_text() is None for p in people):
                break
            round_of_turns(stack, people, pool)
        sent = load.result()

    for p in people:  # the forms went on from where they were
        summary = "\n".join(line for r in p.replies for line in r)
        assert "报案成功" in summary and "报案号" in summary, (p.sender, p.replies)
        assert not asked_before[p.user] & set(p.asked[3:]), p.asked
    assert_transcripts(stack, people)
    # a turn in flight on the killed Rasa can wait on the survivor for its sender's lock up to
    # XIAOBAO_RASA_TIMEOUT (90 s) before it is queued for an agent: the settling waits that long
    result = outcome(c, sent, settle=150)
    assert result.acknowledged >= sum(LOAD[:2]) * 2, (result, sent.refused)
    assert (result.unanswered, result.duplicates, result.out_of_order) == (0, 0, 0), result
    uploaded, read = document
    assert read["document_id"] == uploaded["document_id"], (uploaded, read)
    assert read.get("sha256", SCAN_SHA256) == SCAN_SHA256, read
    assert_ticks_once(c, first.owner, killed_at)
    status, health = http("GET", f"{c.proxy}/healthz")
    assert status == 200 and health["parts"]["bot"]["detail"] == "1_of_2_up", health


def upload_and_read(c: Cluster) -> tuple[dict[str, Any], dict[str, Any]]:
    """A document uploaded through the first platform process, and what the second reads of
    it (the API answers the document's record; the desk serves its bytes, behind a login)."""
    claim_no = claim_for_documents(c, c.ports[0], insured(
        Rasas("", [], c.database_url, c.seed), 2 * PER_INSTANCE + 1)[-1])
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"doc_type\"\r\n\r\n"
            f"id_card\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"id.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() \
        + b"scan of an id card" + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{c.ports[0]}/api/v1/claims/{claim_no}/documents", data=body,
        headers={"Authorization": f"Bearer {TOKEN}",
                 "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=60) as r:
        uploaded = json.loads(r.read())
    doc_id = uploaded["document_id"]
    req = urllib.request.Request(
        f"http://127.0.0.1:{c.ports[1]}/api/v1/claims/{claim_no}/documents/{doc_id}",
        headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return uploaded, dict(json.loads(r.read()))


def assert_ticks_once(c: Cluster, first_owner: str, killed_at: datetime) -> None:
    """The `tick` job fired once every 2 s across the scheduler's kill: no slot lost or run
    twice, the standby running the slots after."""
    for _ in range(300):
        runs = c.tick_slots()
        if sum(1 for _, owner, _ in runs if owner != first_owner) >= 2:
            break
        time.sleep(0.1)
    slots = [datetime.fromisoformat(slot) for slot, _, _ in runs]
    assert [b - a for a, b in itertools.pairwise(slots)] == \
        [timedelta(seconds=2)] * (len(slots) - 1), runs
    assert all(done for *_, done in runs[:-1])
    owners = [owner for _, owner, _ in runs]
    switch = next(i for i, o in enumerate(owners) if o != first_owner)
    assert set(owners[:switch]) == {first_owner} and first_owner not in owners[switch:]
    assert slots[switch] > killed_at - timedelta(seconds=4)


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
