"""The router on its own: one sender's turns never overlap; a database outage loses nothing."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from backoffice.services import conversations as conv
from backoffice.store.db import Database
from channels.rasa import RasaClient
from channels.router import STORE_DOWN, Router, SenderLocks
from xiaobao.channel_port import InProcessBackoffice


async def test_turns_of_one_sender_run_one_at_a_time() -> None:
    locks = SenderLocks()
    running: dict[str, int] = {"a": 0, "b": 0}
    overlap: list[str] = []

    async def turn(sender: str) -> Any:
        running[sender] += 1
        if running[sender] > 1:
            overlap.append(sender)
        await asyncio.sleep(0.01)
        running[sender] -= 1

    await asyncio.gather(*(locks(s, lambda s=s: turn(s)) for s in "abab" * 10))
    assert overlap == [] and len(locks) == 0  # and no lock is kept once idle


async def test_concurrent_messages_of_one_user_keep_their_order(
        sqlite_db: Database, rasa_url: str, tmp_path: Path) -> None:
    rasa = RasaClient(rasa_url)
    router = Router(InProcessBackoffice(sqlite_db), rasa, tmp_path / "spool.jsonl")
    try:
        user = f"web-order-{uuid.uuid4().hex[:8]}"
        replies = await asyncio.gather(*(router.handle("web", user, text)
                                         for text in ("你好", "我要报案", "昨天")))
    finally:
        await router.close()  # the last answer's lines are written behind the turn
        await rasa.close()
    assert all(r.messages for r in replies)
    body = conv.get_conversation(sqlite_db, {"conversation_id": replies[0].conversation_id or 0})
    roles = [m["role"] for m in body["messages"]]
    turns = [r for i, r in enumerate(roles) if i == 0 or r != roles[i - 1]]
    assert turns == ["user", "bot", "user", "bot", "user", "bot"]  # turns never interleave


async def test_a_database_outage_spools_then_queues_for_an_agent(
        sqlite_db: Database, rasa_url: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool.jsonl"
    rasa = RasaClient(rasa_url)
    down = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    try:
        reply = await Router(InProcessBackoffice(down), rasa, spool).handle(
            "wechat", "o-down", "我家老人住院了")
        assert reply.failed and reply.texts == [STORE_DOWN]
        assert spool.exists()
        # the database is back: the next message drains the spool into the agents' queue
        await Router(InProcessBackoffice(sqlite_db), rasa, spool).handle("web", "web-other", "你好")
    finally:
        await rasa.close()
        down.dispose()
    assert not spool.exists()
    queued = [c for c in conv.list_conversations(sqlite_db, {"state": "queued"})
              if c["user"] == "o-down"]
    assert queued and queued[0]["handoff_reason"] == "backoffice_down"
    texts = [m["text"] for m in conv.get_conversation(
        sqlite_db, {"conversation_id": queued[0]["id"]})["messages"]]
    assert texts[0] == "我家老人住院了"


async def test_the_bots_handoff_joins_the_agents_queue_of_its_channel(
        sqlite_db: Database, rasa_url: str, tmp_path: Path) -> None:
    rasa = RasaClient(rasa_url)
    router = Router(InProcessBackoffice(sqlite_db), rasa, tmp_path / "spool.jsonl")
    caller = "139" + uuid.uuid4().hex[:8].translate(str.maketrans("abcdef", "123456"))
    try:
        web = await router.handle("web", f"web-queue-{uuid.uuid4().hex[:8]}", "转人工")
        phone = await router.handle("ivr", caller, "转人工", phone=caller)
    finally:
        await router.close()
        await rasa.close()
    assert web.state == "queued" and phone.state == "queued"
    for turn, queue in ((web, "general"), (phone, "elderly")):
        ref = {"conversation_id": turn.conversation_id or 0}
        assert conv.get_conversation(sqlite_db, ref)["queue"] == queue
