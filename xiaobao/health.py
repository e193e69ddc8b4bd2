"""The platform's health: the database and the bot's parts (channels.readiness), for
`/healthz` and for what `xiaobao up` / `serve` print while the bot starts.

The platform can serve when every part is ready: its channels are always mounted, and a
channel message needs the bot. The API and the desk need only the database; they serve
whatever /healthz says.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable, Mapping

from backoffice.services.running import in_thread
from backoffice.store.db import Database
from channels.readiness import BotReadiness, PartState

NAMES = {"database": "数据库", "bot": "Rasa 服务器", "actions": "动作服务器"}
DETAILS = {"refused": "未响应", "timeout": "超时", "unreachable": "无法连接",
           "model_not_loaded": "正在加载模型", "model_not_verified": "模型未核对"}


class Health:
    """Each part's state; the database's ping is cached like the bot's probes, and one
    runs at a time."""

    def __init__(self, db: Database, readiness: BotReadiness, cache_seconds: float = 3.0
                 ) -> None:
        self.db = db
        self.readiness = readiness
        self.cache_seconds = cache_seconds
        self._db_state: PartState | None = None
        self._db_at = 0.0
        self._lock = asyncio.Lock()

    async def _database(self) -> PartState:
        async with self._lock:
            if self._db_state is None or time.monotonic() - self._db_at >= self.cache_seconds:
                up = await in_thread(self.db.ping)
                self._db_state = PartState("up") if up else PartState("down", "unreachable")
                self._db_at = time.monotonic()
            return self._db_state

    async def parts(self) -> dict[str, PartState]:
        database, bot = await asyncio.gather(self._database(), self.readiness.parts())
        return {"database": database, **bot}

    async def report(self, only: frozenset[str] | None = None) -> tuple[bool, dict[str, object]]:
        """(can serve, the /healthz body); with `only`, only those parts are judged (every
        part is still shown): a probe that needs the database alone, or none at all."""
        parts = await self.parts()
        waiting = [name for name, part in parts.items()
                   if not part.ready and (only is None or name in only)]
        body: dict[str, object] = {"status": "unavailable" if waiting else "ok",
                                   "parts": {k: p.as_dict() for k, p in parts.items()}}
        if self.readiness.several:  # each Rasa instance, and whether the gateway uses it
            body["rasa"] = await self.readiness.instances()
        if waiting:
            body["not_ready"] = waiting
            body["message"] = "未就绪：" + "、".join(describe(n, parts[n]) for n in waiting)
        return not waiting, body


def describe(name: str, part: PartState) -> str:
    detail = DETAILS.get(part.detail, part.detail)
    state = {"starting": "启动中", "down": "已停止应答"}.get(part.state, part.state)
    return f"{NAMES.get(name, name)}（{state}{'，' + detail if detail else ''}）"


Say = Callable[[str], None]


async def announce_when_ready(health: Health, banner: str, timeout: float, say: Say,
                              procs: Mapping[str, subprocess.Popen[bytes]] | None = None,
                              every: float = 1.0) -> None:
    """Print `banner` once every part is ready; until then what is awaited, each time that
    changes. A bot process that exits, or `timeout` seconds passing, is said plainly: the
    API and the desk serve all along, and the banner still follows if the bot comes up."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    told, late, exited = "", False, set()
    while True:
        parts = await health.parts()
        waiting = [describe(n, p) for n, p in parts.items() if not p.ready]
        if not waiting:
            waited = loop.time() - started
            say(banner + (f"\n（小保在 {waited:.0f} 秒后才就绪）" if late else ""))
            return
        for name, proc in (procs or {}).items():
            if name not in exited and proc.poll() is not None:
                exited.add(name)
                say(f"{name}进程已退出（退出码 {proc.returncode}）：小保无法应答。"
                    f"平台的 API 和坐席台照常服务；渠道消息会收到“小保正在启动”的提示。")
        line = "等待小保就绪：" + "、".join(waiting) + "…"
        if line != told and not late:
            say(line)
            told = line
        if not late and loop.time() - started >= timeout:
            late = True
            say(f"小保未能在 {timeout:.0f} 秒内就绪（{'、'.join(waiting)}）。平台的 API 和坐席台"
                f"照常服务，/healthz 答 503 并列出未就绪的部分；渠道消息会收到“小保正在启动”"
                f"的提示，不转人工。小保就绪后会再提示。")
        await asyncio.sleep(every)
