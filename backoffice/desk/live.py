"""Live updates: every open desk page holds a websocket; when the back office changes (a new
outbox event, written by every use case in its own transaction) the desk tells the pages, which
then refresh what they show. One watcher per process polls the outbox's newest id, from the
first page that listens on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator

from aiohttp import web

from backoffice.services.desk_feed import latest_change
from backoffice.services.running import in_thread
from backoffice.store.db import Database

log = logging.getLogger("xiaobao.desk")
POLL_SECONDS = 1.5


class LiveHub:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.version = 0
        self._task: asyncio.Task[None] | None = None

    def _start(self) -> None:
        """The watcher runs from the first page that listens until the platform stops."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.watch())

    def _latest(self) -> int:
        return latest_change(self.db)

    async def watch(self) -> None:
        while True:
            try:
                latest = await in_thread(self._latest)
                if latest != self.version:
                    self.version = latest
                    await self.broadcast({"type": "changed", "version": latest})
            except Exception:  # the database may be briefly away; try again next round
                log.warning("desk live watcher could not read the outbox", exc_info=True)
            await asyncio.sleep(POLL_SECONDS)

    async def broadcast(self, message: dict[str, object]) -> None:
        for ws in list(self.sockets):
            if not ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_json(message)

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        # the page starts from the newest change now, so a change it already shows is not
        # announced to it again when the watcher catches up
        latest = await in_thread(self._latest)
        if self._task is None:
            self.version = latest
        self.sockets.add(ws)
        self._start()
        await ws.send_json({"type": "hello", "version": latest})
        async for _msg in ws:  # the page sends nothing we act on; read until it closes
            pass
        return ws

    async def context(self, _app: web.Application) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            for ws in list(self.sockets):
                await ws.close()
