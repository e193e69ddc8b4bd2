"""The platform's process roles from one code base (README, "Process roles"):

- `xiaobao serve`: gateway, API and desk; any number of them; never migrates, and refuses to
  start on a schema this code does not expect (`schema_refusal`);
- `xiaobao scheduler`: runs the scheduled jobs; exactly one is active, the others wait as
  standbys and take over when it dies (`SchedulerRole`, backoffice/scheduler/leader.py);
- `xiaobao db upgrade`: the one-off migration step before a new version's processes start;
- `xiaobao rasa` / `xiaobao actions`: the bot's two servers, started as `xiaobao up` does.

`xiaobao up` is still all of them in one go, for one machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiohttp import web

from backoffice.notifications.config import NotifyConfig, build_senders
from backoffice.scheduler.jobs import DEFAULT_JOBS, JobSpec, Runtime
from backoffice.scheduler.leader import Leadership
from backoffice.scheduler.service import PlatformScheduler
from backoffice.store.db import Database
from backoffice.store.migrate import SchemaState

log = logging.getLogger("xiaobao.scheduler")

#: The jobs `xiaobao scheduler` runs (a test's process may put its own here).
SCHEDULED: tuple[JobSpec, ...] = DEFAULT_JOBS
UPGRADE = "xiaobao db upgrade"


def schema_refusal(state: SchemaState) -> str | None:
    """Why a process must not start on this schema (None: it may): names the current and
    the expected revision and what to run."""
    if state.current_ok:
        return None
    expected = "、".join(state.expected)
    if state.current is None:
        return (f"数据库尚未迁移（当前版本：无；本版本需要：{expected}）。"
                f"请先运行一次 `{UPGRADE}`，再启动本进程。")
    if state.known:
        return (f"数据库结构版本较旧（当前：{state.current}；本版本需要：{expected}）。"
                f"请先运行一次 `{UPGRADE}`（迁移只由这一步执行），再启动本进程。")
    return (f"数据库结构版本 {state.current} 不是本版本的迁移（本版本需要：{expected}）："
            f"数据库多半已由更新的版本迁移。请部署与数据库相符的版本；不要降级数据库。")


class SchedulerRole:
    """Standby until this process holds the leadership, then the scheduler runs here; it
    stops again when the hold is lost. `poll`: seconds between tries (and checks)."""

    def __init__(self, db: Database, notify: NotifyConfig, leadership: Leadership,
                 poll: float, specs: Sequence[JobSpec] | None = None, files: Any = None
                 ) -> None:
        self.db = db
        self.files = files  # the document store, for the retention job
        self.notify = notify
        self.leadership = leadership
        self.poll = poll
        self.specs = tuple(specs if specs is not None else SCHEDULED)
        self.scheduler: PlatformScheduler | None = None
        self.takeovers = 0

    @property
    def state(self) -> str:
        return "active" if self.scheduler is not None else "standby"

    async def step(self) -> None:
        """One round: take over when free, or check the hold while active."""
        if self.scheduler is None:
            if await asyncio.to_thread(self.leadership.acquire):
                runtime = Runtime(self.db, build_senders(self.notify, self.db),
                                  self.notify.max_attempts, files=self.files)
                self.scheduler = PlatformScheduler(runtime, self.specs)
                self.scheduler.start()
                self.takeovers += 1
                log.info("scheduler active (%s leadership, %s)", self.leadership.kind,
                         runtime.owner)
        elif not await asyncio.to_thread(self.leadership.held):
            log.warning("scheduler leadership lost: stopping the jobs here, standing by")
            await self.stop_jobs()

    async def stop_jobs(self) -> None:
        if self.scheduler is not None:
            scheduler, self.scheduler = self.scheduler, None
            await scheduler.stop()

    async def run(self) -> None:
        log.info("scheduler standing by (%s leadership, every %.1f s)", self.leadership.kind,
                 self.poll)
        while True:
            await self.step()
            await asyncio.sleep(self.poll)

    async def close(self) -> None:
        await self.stop_jobs()
        await asyncio.to_thread(self.leadership.release)

    async def health(self, request: web.Request) -> web.Response:
        up = await asyncio.to_thread(self.db.ping)
        parts = {"database": {"state": "up" if up else "down"},
                 "leadership": {"state": self.state, "kind": self.leadership.kind},
                 "jobs": {"state": "running" if self.scheduler is not None else "waiting",
                          "count": len(self.specs)}}
        body = {"status": "ok" if up else "unavailable", "role": "scheduler", "parts": parts}
        return web.json_response(body, status=200 if up else 503,
                                 dumps=lambda d: json.dumps(d, ensure_ascii=False))

    def app(self) -> web.Application:
        """/healthz on a port of its own (for a process manager's or Kubernetes' probes)."""
        app = web.Application()
        app.router.add_get("/healthz", self.health)

        async def running(_app: web.Application) -> AsyncIterator[None]:
            task = asyncio.create_task(self.run())
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await self.close()
                self.db.dispose()

        app.cleanup_ctx.append(running)
        return app
