"""Phone events that cannot be replayed, and calls that survive a restart: against the running
platform (real HTTP, a real Rasa server, SQLite and PostgreSQL).

A signed event sent again gets the same answer without a second turn; its id with another
body, an old or future timestamp, and missing or ill-typed fields are refused and change
nothing; copies of one event at once run one turn; a VoiceXML link posted again gets its
stored document. A call goes on in a fresh platform process over the same database, and in a
second process beside the first.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import aiohttp
import pytest
from channel_kit import (
    IVR_SECRET,
    TOKEN,
    Platform,
    free_port,
    ivr_event,
    platform_env,
    signed_start,
    start_platform,
    wait_until_up,
)
from sqlalchemy import func, select

from backoffice.services import channel_state as state
from backoffice.store.db import Database
from backoffice.store.models import (
    ChannelState,
    Conversation,
    ConversationMessage,
    Notification,
)
from channels.ivr import BUSY, MAX_SKEW, MENU

ROOT = Path(__file__).resolve().parents[2]
VXML = "{http://www.w3.org/2001/vxml}"


def number() -> str:
    return f"139{random.randint(10**7, 10**8 - 1)}"


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status, await r.json()


def signed(data: dict[str, Any], secret: str = IVR_SECRET) -> tuple[bytes, dict[str, str]]:
    """Any JSON body, signed as the telephony platform signs (fields absent or ill-typed)."""
    body = json.dumps(data).encode()  # \u escapes: lone surrogates too
    return body, {"X-Xiaobao-Signature": hmac.new(secret.encode(), body,
                                                  hashlib.sha256).hexdigest()}


def said(actions: list[dict[str, Any]]) -> str:
    return " ".join(a["text"] for a in actions if a["type"] == "say")


def user_lines(db: Database, caller: str) -> list[str]:
    """What the caller said, as the transcripts keep it (every call from that number: a call
    is its own channel user, the number its phone)."""
    with db.read() as s:
        return list(s.execute(
            select(ConversationMessage.text).join(
                Conversation, Conversation.id == ConversationMessage.conversation_id)
            .where(Conversation.phone == caller, ConversationMessage.role == "user")
            .order_by(ConversationMessage.id)).scalars())


class Phone:
    """One call's events; each kept as sent, so that it can be sent again byte for byte."""

    def __init__(self, base: str) -> None:
        self.url = base.rstrip("/") + "/ivr/events"
        self.call_id = uuid.uuid4().hex
        self.caller = number()

    def event(self, event: str, **fields: Any) -> tuple[bytes, dict[str, str]]:
        return ivr_event(self.call_id, event, self.caller, **fields)

    async def send(self, sent: tuple[bytes, dict[str, str]], url: str | None = None
                   ) -> list[dict[str, Any]]:
        status, answer = await post(url or self.url, *sent)
        assert status == 200, answer
        return list(answer["actions"])


async def test_a_replayed_event_gets_the_same_answer_without_a_second_turn(
        platform: Platform) -> None:
    phone = Phone(platform.url(""))
    assert MENU in said(await phone.send(phone.event("start")))
    report = phone.event("speech", text="我要报案", confidence=0.9)
    first = await phone.send(report)
    assert "出险日期" in said(first)
    for _ in range(3):
        assert await phone.send(report) == first  # the stored answer, word for word
    assert user_lines(platform.db, phone.caller) == ["我要报案"]
    # the call goes on where the one turn left it
    assert "哪里" in said(await phone.send(phone.event("speech", text="昨天")))
    assert user_lines(platform.db, phone.caller) == ["我要报案", "昨天"]


async def test_an_event_id_with_another_body_is_refused(platform: Platform) -> None:
    phone, other = Phone(platform.url("")), Phone(platform.url(""))
    await phone.send(phone.event("start"))
    event_id = uuid.uuid4().hex
    await phone.send(phone.event("speech", text="我要报案", event_id=event_id))
    await other.send(other.event("start"))
    for sent in (phone.event("speech", text="转人工", event_id=event_id),  # other words
                 phone.event("speech", text="我要报案", event_id=event_id,
                             timestamp=int(time.time()) + 1),  # signed again, a second later
                 other.event("speech", text="我要报案", event_id=event_id)):  # another call
        status, answer = await post(phone.url, *sent)
        assert status == 409, answer
        assert answer["error"]["code"] == "event_id_reused"
        assert answer["error"]["field"] == "event_id"
    assert user_lines(platform.db, phone.caller) == ["我要报案"]
    assert user_lines(platform.db, other.caller) == []


async def test_old_and_future_events_are_refused(platform: Platform) -> None:
    phone = Phone(platform.url(""))
    now = int(time.time())
    for stamp in (now - MAX_SKEW - 5, now + MAX_SKEW + 5, 0, -1, 10**30, -10**30):
        status, answer = await post(phone.url, *phone.event("start", timestamp=stamp))
        assert status == 403, (stamp, answer)
        assert answer["error"]["code"] == "stale_event"
        assert answer["error"]["field"] == "timestamp"
    # the signature is checked first: a forged event learns nothing of its fields
    for fields in ({"timestamp": now - 3600}, {"event_id": ""}, {"timestamp": "x"}):
        status, answer = await post(phone.url, *phone.event("start", secret="wrong", **fields))
        assert status == 403 and answer["error"]["field"] == "X-Xiaobao-Signature"
    assert not await _call_state(platform.db, phone.call_id)
    # inside the window, behind or ahead, the call opens
    for stamp in (now - MAX_SKEW + 30, now + MAX_SKEW - 30):
        assert MENU in said(await phone.send(phone.event("start", timestamp=stamp)))


async def _call_state(db: Database, call_id: str) -> bool:
    with db.read() as s:
        return s.get(ChannelState, f"ivr:call:{call_id}") is not None


GOOD = {"event": "start", "to": "95500"}


@pytest.mark.parametrize(("field", "values"), [
    ("event_id", [None, "", "   ", "e" * 65, 7, ["e1"], {"id": "e1"}, "a\x00b", True,
                  "e\ud800"]),
    ("timestamp", [None, "1765000000", 1765000000.0, 1.765e9, True, False, [1], {"t": 1}]),
])
async def test_missing_or_ill_typed_fields_are_400_naming_the_field(
        platform: Platform, field: str, values: list[Any]) -> None:
    phone = Phone(platform.url(""))
    good = {**GOOD, "call_id": phone.call_id, "from": phone.caller,
            "event_id": uuid.uuid4().hex, "timestamp": int(time.time())}
    missing = {k: v for k, v in good.items() if k != field}
    for body in [missing, *({**good, field: v} for v in values)]:
        status, answer = await post(phone.url, *signed(body))
        assert status == 400, (body, answer)
        assert answer["error"]["field"] == field and answer["error"]["code"] == "invalid"
    assert not await _call_state(platform.db, phone.call_id)
    with platform.db.read() as s:  # nothing kept: no event, no call
        assert s.execute(select(func.count()).select_from(ChannelState)).scalar_one() == 0


async def test_copies_of_one_event_at_once_run_one_turn(platform: Platform) -> None:
    phone = Phone(platform.url(""))
    await phone.send(phone.event("start"))
    report = phone.event("speech", text="我要报案")
    answers = await asyncio.gather(*(phone.send(report) for _ in range(6)))
    assert "出险日期" in said(answers[0])
    assert all(a == answers[0] for a in answers)
    assert user_lines(platform.db, phone.caller) == ["我要报案"]
    # and a hang-up sent twice at once ends the call once
    hangup = phone.event("hangup")
    assert await asyncio.gather(phone.send(hangup), phone.send(hangup)) == [[], []]
    assert not await _call_state(platform.db, phone.call_id)


# ---- VoiceXML: a follow-up link posted again -----------------------------------------------

def _next(text: str) -> str:
    submit = ElementTree.fromstring(text).find(f".//{VXML}submit")
    assert submit is not None
    return str(submit.get("next"))


def _prompts(text: str) -> str:
    return "".join(p.text or "" for p in ElementTree.fromstring(text).iter(f"{VXML}prompt"))


async def test_a_voicexml_turn_posted_again_gets_its_stored_document(
        platform: Platform) -> None:
    call, caller = uuid.uuid4().hex, number()
    async with aiohttp.ClientSession() as http:
        async def doc(url: str, **data: str) -> str:
            async with http.post(platform.url(url), data=data) as r:
                assert r.status == 200, await r.text()
                return await r.text()

        link = _next(await doc(signed_start(call, caller), event="start"))
        first = await doc(link, event="dtmf", answer="1")
        assert "出险日期" in _prompts(first) and "turn=2" in _next(first)
        copies = await asyncio.gather(*(doc(link, event="dtmf", answer="1") for _ in range(3)))
        other = await doc(link, event="dtmf", answer="3")  # the same turn, other keys
        for again in (*copies, other):  # byte for byte: the same link, with its expiry
            assert again == first
        assert user_lines(platform.db, caller) == ["/report_incident"]
        # the report: its number goes out by SMS once, however often its turn is posted
        where = await doc(_next(first), event="speech", answer="昨天")
        last = _next(where)
        done = await doc(last, event="speech", answer="在家里")
        assert "R 2" in _prompts(done)
        assert await doc(last, event="speech", answer="在家里") == done
    with platform.db.read() as s:
        sms = s.execute(select(func.count()).select_from(Notification).where(
            Notification.recipient == caller)).scalar_one()
    assert sms == 1
    assert user_lines(platform.db, caller) == ["/report_incident", "昨天", "在家里"]


# ---- calls that survive a restart, and a second process -----------------------------------------

@contextmanager
def serving(db: Database, rasa_url: str, var: Path
            ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`xiaobao serve` on its own port over `db`, without Redis."""
    env = {**os.environ, "XIAOBAO_DATABASE_URL": db.url, "XIAOBAO_API_TOKEN": TOKEN,
           "XIAOBAO_VAR_DIR": str(var), "XIAOBAO_RASA_URL": rasa_url,
           "XIAOBAO_LOG_LEVEL": "WARNING", "XIAOBAO_IVR_SECRET": IVR_SECRET,
           "XIAOBAO_REDIS_URL": "", "XIAOBAO_WECHAT_TOKEN": "", "XIAOBAO_BACKOFFICE_URL": ""}
    port = free_port()
    var.mkdir(parents=True, exist_ok=True)
    log = (var / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "xiaobao.cli", "serve", "--port",
                                str(port), "--no-scheduler"], env=env, cwd=ROOT, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz", process, "the platform")
        yield base, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        log.close()


async def test_a_call_goes_on_in_a_fresh_process_after_a_kill(
        tmp_path: Path, channel_db: Database, rasa_url: str) -> None:
    with serving(channel_db, rasa_url, tmp_path / "one") as (base, process):
        phone = Phone(base)
        assert MENU in said(await phone.send(phone.event("start")))
        menu_key = phone.event("dtmf", digits="1")
        answered = await phone.send(menu_key)
        assert "出险日期" in said(answered)
        os.killpg(process.pid, signal.SIGKILL)  # no shutdown of any kind
        process.wait()
    with serving(channel_db, rasa_url, tmp_path / "two") as (base, _):
        url = base + "/ivr/events"
        # the next utterance is a bot turn of the same call, not a greeting
        assert "哪里" in said(await phone.send(phone.event("speech", text="昨天"), url))
        # the key pressed before the kill, sent again, gets its answer: no second turn
        assert await phone.send(menu_key, url) == answered
    assert user_lines(channel_db, phone.caller) == ["/report_incident", "昨天"]


@pytest.fixture
async def two(tmp_path: Path, channel_db: Database, rasa_url: str,
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Platform, Platform]]:
    """Two platforms over one database, without Redis."""
    env = platform_env(None)
    first = await start_platform(tmp_path / "a", channel_db, rasa_url, env, monkeypatch)
    second = await start_platform(tmp_path / "b", channel_db, rasa_url, env, monkeypatch)
    yield first, second
    await first.server.close()
    await second.server.close()


async def test_a_call_goes_on_in_a_second_process_without_redis(
        two: tuple[Platform, Platform]) -> None:
    a, b = two
    phone = Phone(a.url(""))
    assert MENU in said(await phone.send(phone.event("start")))
    report = phone.event("dtmf", digits="1")
    answered = await phone.send(report, b.url("/ivr/events"))
    assert "出险日期" in said(answered)
    assert await phone.send(report) == answered  # a copy reaching the other process
    assert "哪里" in said(await phone.send(phone.event("speech", text="昨天")))
    assert user_lines(a.db, phone.caller) == ["/report_incident", "昨天"]


async def test_text_no_store_can_write_is_400(platform: Platform) -> None:
    phone = Phone(platform.url(""))
    await phone.send(phone.event("start"))
    for name, value in (("text", "我要\ud800报案"), ("from", "139\udfff"), ("to", "\ud83d")):
        status, answer = await post(phone.url, *phone.event("speech", **{name: value}))
        assert status == 400 and answer["error"]["field"] == name, (name, answer)
    assert user_lines(platform.db, phone.caller) == []


async def test_a_copy_of_an_event_whose_first_request_died_is_asked_again(
        platform: Platform) -> None:
    """The process that took an event died before answering it (its record has no answer,
    and is older than any turn can take): a copy gets a re-prompt, never a second turn."""
    phone = Phone(platform.url(""))
    await phone.send(phone.event("start"))
    sent = phone.event("speech", text="我要报案")
    event_id = json.loads(sent[0])["event_id"]
    mark = {"digest": hashlib.sha256(sent[0]).hexdigest(), "since": time.time() - 60}
    assert state.claim(platform.db, state.Put(f"ivr:event:{event_id}", mark, 900)).claimed
    actions = await phone.send(sent)
    assert BUSY in said(actions) and MENU in said(actions) and actions[-1]["type"] == "collect"
    assert user_lines(platform.db, phone.caller) == []
