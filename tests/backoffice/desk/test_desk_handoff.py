"""The seam to the conversation router: the desk lists conversations through HandoffQueue,
shows them escaped, and stays up when the router's service is missing or fails."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from desk_testkit import World, login

from backoffice.desk.app import create_desk
from backoffice.desk.handoff import HandoffQueue
from backoffice.store.db import Database

ClientFactory = Callable[[web.Application], Awaitable[TestClient]]


def test_the_router_is_found_by_its_service_module(db: Database) -> None:
    import importlib.util

    module = importlib.util.find_spec("backoffice.services.conversations")
    queue = HandoffQueue(None)
    assert queue.available == (module is not None)
    if module is None:
        assert queue.list(db) == []


def test_a_failing_router_leaves_the_queue_empty(db: Database) -> None:
    def broken(_db: Database, state: str) -> Any:
        raise RuntimeError("router down")

    assert HandoffQueue(broken).list(db) == []


async def test_the_page_lists_what_the_router_gives(aiohttp_client: ClientFactory,
                                                    world: World, tmp_path: Path) -> None:
    asked: list[str] = []

    def conversations(_db: Database, state: str) -> dict[str, Any]:
        asked.append(state)
        if state != "queued":
            return {"items": []}
        return {"items": [{"id": "conv-7", "channel": "wechat", "waiting_seconds": 95,
                           "handoff_reason": "anger",
                           "summary": {"text": "<b>客户</b>询问理赔进度"}}]}

    outer = web.Application()
    outer.add_subapp("/desk", create_desk(world.db, HandoffQueue(conversations), live=False))
    client = await aiohttp_client(outer)
    await login(client, "agent.li", "demo-agent-2026")
    text = await (await client.get("/desk/handoff")).text()
    assert "conv-7" in text and "anger" in text and "1 分 35 秒" in text
    assert "&lt;b&gt;客户&lt;/b&gt;询问理赔进度" in text and "<b>客户</b>" not in text
    assert asked[-2:] == ["queued", "agent"]  # after the home page's count of the queue
    await login(client, "supervisor.zhao", "demo-supervisor-2026")
    board = await (await client.get("/desk/supervisor")).text()
    assert "1 分 35 秒" in board  # the longest wait of the router's queue
