"""A platform-like process for the exactly-once test: a real PlatformScheduler (APScheduler,
job store in the shared database, thread pool) with one job firing every second. Each firing
the process wins writes an outbox event; it stops cleanly once `--firings` firings are
recorded in the database (by either process) and prints what it ran and what it skipped.

    python heartbeat_process.py DATABASE_URL FIRINGS
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import func, select

from backoffice.scheduler.jobs import JobSpec, Runtime
from backoffice.scheduler.service import PlatformScheduler
from backoffice.services.base import emit
from backoffice.store.db import Database
from backoffice.store.models import JobRun


def heartbeat(rt: Runtime, at: datetime) -> dict[str, Any]:
    with rt.db.transaction() as s:
        emit(s, "scheduler.heartbeat", {"at": at.isoformat(), "owner": rt.owner})
    return {"owner": rt.owner}


HEARTBEAT = JobSpec("heartbeat", {"second": "*"}, heartbeat, slot="time", misfire_grace=5,
                    lookback=timedelta(seconds=10))


async def main(url: str, firings: int) -> None:
    db = Database(url)
    scheduler = PlatformScheduler(Runtime(db, {}), [HEARTBEAT], threads=2)
    outcome = {"ran": 0, "skipped": 0}

    def executed(event: JobExecutionEvent) -> None:
        outcome["ran" if event.retval is not None else "skipped"] += 1

    scheduler.scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
    scheduler.start()
    print("started", flush=True)
    for _ in range(600):  # bounded: 60 s at most
        with db.read() as s:
            done = s.execute(select(func.count()).select_from(JobRun)
                             .where(JobRun.job == "heartbeat")).scalar_one()
        if done >= firings:
            break
        await asyncio.sleep(0.1)
    await scheduler.stop()
    db.dispose()
    print(json.dumps({**outcome, "running": scheduler.running}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
