"""Live updates: a logged-in page's websocket hears of a change made through the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient
from desk_testkit import World

from backoffice.services import complaints

Desk = Callable[[str | None], Awaitable[TestClient]]


async def test_a_new_complaint_reaches_the_open_pages(desk: Desk, world: World) -> None:
    client = await desk("complaint_handler")
    async with client.ws_connect("/desk/ws") as ws:
        hello = await ws.receive_json()
        assert hello["type"] == "hello"
        complaints.intake(world.db, {
            "channel": "api", "complainant": {"name": "周建国", "phone": "13700001111"},
            "category": "service", "description": "电话等了很久"})
        changed = await ws.receive_json()
        assert changed["type"] == "changed" and changed["version"] > hello["version"]
