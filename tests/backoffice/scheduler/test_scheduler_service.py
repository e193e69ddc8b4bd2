"""The real APScheduler: jobs in the database under stable ids, firings in the thread pool,
started and stopped with the platform app (`xiaobao serve`, `--no-scheduler`)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text

from backoffice.scheduler.jobs import JOBS, JobSpec, Runtime
from backoffice.scheduler.service import PlatformScheduler
from backoffice.services.notifications import queue
from backoffice.store.db import Database
from backoffice.store.models import JobRun, Notification
from xiaobao.cli import build_parser
from xiaobao.config import Settings
from xiaobao.platform import SCHEDULER, create_app

ClientFactory = Callable[[web.Application], Awaitable[TestClient]]


def _stored_jobs(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return sorted(conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars())


class ThreadRecorder:
    def __init__(self) -> None:
        self.threads: list[str] = []

    def send(self, notification: Notification) -> str:
        self.threads.append(threading.current_thread().name)
        return "test"


async def test_jobs_are_stored_under_stable_ids(db: Database) -> None:
    retired = JobSpec("retired_job", {"hour": 4}, lambda rt, at: {})
    old = PlatformScheduler(Runtime(db, {}), [retired])
    old.start()
    await old.stop()
    assert _stored_jobs(db) == ["retired_job"]

    for _ in range(2):  # a restart, or a second process: replaced, not duplicated
        scheduler = PlatformScheduler(Runtime(db, {}))
        scheduler.start()
        assert scheduler.running
        assert _stored_jobs(db) == sorted(JOBS)
        job = scheduler.scheduler.get_job("progress_notices")
        assert job is not None and job.func_ref == "backoffice.scheduler.jobs:fire"
        assert job.args == ("progress_notices",) and job.misfire_grace_time == 12 * 3600
        assert str(job.trigger.timezone) == "Asia/Shanghai"
        await scheduler.stop()
        assert not scheduler.running
    assert _stored_jobs(db) == sorted(JOBS)


async def test_a_firing_runs_in_the_thread_pool(db: Database) -> None:
    with db.transaction() as s:
        queue(s, "k1", "log", "adjuster-1", "t", "hello")
    recorder = ThreadRecorder()
    scheduler = PlatformScheduler(Runtime(db, {"log": recorder}, owner="proc-a"),
                                  [JOBS["notifications_dispatch"]])
    scheduler.start()
    try:
        scheduler.scheduler.modify_job("notifications_dispatch",
                                       next_run_time=datetime.now(UTC))
        for _ in range(400):  # bounded wait for the worker thread
            with db.read() as s:
                status = s.execute(select(Notification.status)).scalar_one()
            if status == "sent":
                break
            await asyncio.sleep(0.05)
    finally:
        await scheduler.stop()
    assert status == "sent"
    assert recorder.threads and recorder.threads[0] != threading.main_thread().name
    with db.read() as s:
        run = s.execute(select(JobRun)).scalars().first()
    assert run is not None and run.job == "notifications_dispatch" and run.owner == "proc-a"


async def test_the_platform_runs_the_scheduler(aiohttp_client: ClientFactory,
                                               sqlite_db: Database, tmp_path: Path) -> None:
    settings = Settings(database_url=sqlite_db.url, api_token="t", rasa_url="http://127.0.0.1:9",
                        log_level="INFO", var_dir=tmp_path)
    app = create_app(settings, sqlite_db, scheduler=True)
    scheduler = app[SCHEDULER]
    client = await aiohttp_client(app)
    assert scheduler.running
    health = await (await client.get("/healthz")).json()  # no bot here: 503, the rest up
    assert health["parts"]["database"]["state"] == "up" and health["not_ready"] == ["bot"]
    assert health["role"] == "serve" and health["parts"]["scheduler"] == {"state": "running"}
    assert _stored_jobs(sqlite_db) == sorted(JOBS)
    await client.close()
    assert not scheduler.running

    plain = create_app(settings, sqlite_db)
    assert SCHEDULER not in plain
    client = await aiohttp_client(plain)
    health = await (await client.get("/healthz")).json()
    assert "scheduler" not in health["parts"] and health["role"] == "serve"
    await client.close()


def test_serve_and_up_can_leave_the_scheduler_out() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve", "--no-scheduler"]).no_scheduler is True
    assert parser.parse_args(["serve"]).no_scheduler is False
    assert parser.parse_args(["up", "--no-scheduler"]).no_scheduler is True
