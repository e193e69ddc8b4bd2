"""The platform's scheduler: APScheduler 3 on the event loop, jobs in the database.

Jobs live in the `apscheduler_jobs` table of the back office's own database
(SQLAlchemyJobStore) under stable ids, re-registered with `replace_existing=True` whenever a
process starts, and run in a thread pool (the use cases are synchronous). Any number of
platform processes may run one: each firing is claimed through a JobRun row first (see
guard.py), so exactly one of them runs it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN, SchedulerEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from backoffice.notifications.config import NotifyConfig, build_senders
from backoffice.scheduler import jobs
from backoffice.scheduler.jobs import DEFAULT_JOBS, FIRE, JobSpec, Runtime
from backoffice.services.base import SHANGHAI
from backoffice.store.db import Database

log = logging.getLogger("xiaobao.scheduler")

JOB_TABLE = "apscheduler_jobs"


class PlatformScheduler:
    """Start it inside a running event loop; `await stop()` on the way out."""

    def __init__(self, runtime: Runtime, job_specs: Sequence[JobSpec] = DEFAULT_JOBS, *,
                 threads: int = 4) -> None:
        self.runtime = runtime
        self.specs = tuple(job_specs)
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=runtime.db.engine,
                                                     tablename=JOB_TABLE)},
            executors={"default": ThreadPoolExecutor(threads)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=SHANGHAI,
        )

    @classmethod
    def from_config(cls, db: Database, config: NotifyConfig, files: Any = None
                    ) -> PlatformScheduler:
        return cls(Runtime(db, build_senders(config, db), config.max_attempts, files=files))

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def start(self) -> None:
        quiet = logging.getLogger("apscheduler.executors")  # "Running job …" every 30 s
        if quiet.level == logging.NOTSET:
            quiet.setLevel(logging.WARNING)
        jobs.install(self.runtime, list(self.specs))
        now = datetime.now(UTC)
        for spec in self.specs:
            extra = {}
            catch_up = jobs.catch_up_time(self.runtime.db, spec, now)
            if catch_up is not None:
                extra["next_run_time"] = catch_up
            self.scheduler.add_job(FIRE, trigger=spec.trigger(), args=[spec.id], id=spec.id,
                                   name=spec.id, replace_existing=True,
                                   misfire_grace_time=spec.misfire_grace, **extra)
        self.scheduler.start()
        known = {spec.id for spec in self.specs}
        for job in self.scheduler.get_jobs():
            if job.id not in known:  # a job this version no longer has
                job.remove()
        log.info("scheduler started (%s) with jobs: %s", self.runtime.owner,
                 ", ".join(sorted(known)))

    async def stop(self) -> None:
        """Stop taking firings and wait for running jobs to finish."""
        if not self.scheduler.running:
            return
        stopped = asyncio.Event()

        def on_shutdown(event: SchedulerEvent) -> None:
            stopped.set()  # called on the event loop's thread

        self.scheduler.add_listener(on_shutdown, EVENT_SCHEDULER_SHUTDOWN)
        self.scheduler.shutdown(wait=True)  # AsyncIOScheduler: runs on the loop, soon
        await stopped.wait()
        jobs.uninstall()
        log.info("scheduler stopped")
