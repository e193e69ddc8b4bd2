"""The router on its own: one sender's turns never overlap and run in the order the messages
were stored; a database outage loses nothing."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from backoffice.services import conversations as conv
from backoffice.store.db import Database
from channels.rasa import RasaClient
from channels.router import STORE_DOWN, Reply, Router, TurnOrder
from xiaobao.channel_port import InProcessBackoffice


async def test_turns_of_one_sender_run_one_at_a_time() -> None:
    locks = TurnOrder()
    running: dict[str, int] = {"a": 0, "b": 0}
    overlap: list[str] = []

    async def turn(sender: str) -> Any:
        running[sender] += 1
        if running[sender] > 1:
            overlap.append(sender)
        await asyncio.sleep(0.01)
        running[sender] -= 1

    await asyncio.gather(*(locks(s, lambda s=s: turn(s)) for s in "abab" * 10))
    assert overlap == [] and len(locks) == 0  # and no sender is kept once idle


async def test_turns_run_in_the_order_their_messages_were_stored() -> None:
    order = TurnOrder()
    done: list[int] = []

    async def turn(n: int) -> Reply:
        done.append(n)
        return Reply()

    # stored as 1, 2, 3 but their turns asked for in another order, one while 4 is stored
    keys = {n: order.reserve("s", n) for n in (1, 2, 3)}
    async with order.recording("s"):
        waiting = [asyncio.create_task(order.run("s", keys[n], lambda n=n: turn(n)))
                   for n in (3, 1, 2)]
        await asyncio.sleep(0)
        assert done == []  # nothing runs while a message of the sender is being stored
        keys[4] = order.reserve("s", 4)
    later = asyncio.create_task(order.run("s", keys[4], lambda: turn(4)))
    await asyncio.gather(*waiting, later)
    assert done == [1, 2, 3, 4] and len(order) == 0


async def test_a_turn_cancelled_while_waiting_lets_the_next_one_run() -> None:
    order = TurnOrder()
    first, second = order.reserve("s", 1), order.reserve("s", 2)
    blocked = asyncio.create_task(order.run("s", second, lambda: asyncio.sleep(0, Reply())))
    gate = asyncio.Event()

    async def slow() -> Reply:
        await gate.wait()
        return Reply()

    running = asyncio.create_task(order.run("s", first, slow))
    await asyncio.sleep(0)
    blocked.cancel()
    gate.set()
    await running
    assert blocked.cancelled() and len(order) == 0


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
    said = [m["text"] for m in body["messages"] if m["role"] == "user"]
    assert said == ["你好", "我要报案", "昨天"]  # stored at once, in the order they came
    roles = [m["role"] for m in body["messages"]]
    assert roles[0] == "user" and roles.count("bot") >= 3  # every message answered


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
