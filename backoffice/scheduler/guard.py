"""The database lock that lets exactly one scheduler fire each firing of a job.

Every platform process runs a scheduler; before a job does anything it inserts a JobRun row
(job, slot), where the slot names the scheduled time it fires for. The unique (job, slot)
constraint lets one insert win: the process whose insert fails skips that firing. The row then
records who ran it, when it finished and what it did.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from backoffice import clock
from backoffice.store.db import Database
from backoffice.store.models import JobRun

log = logging.getLogger("xiaobao.scheduler")


def owner_id() -> str:
    """This process, as recorded on the JobRun rows it wins: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"[:80]


def claim_slot(db: Database, job: str, slot: str, owner: str | None = None) -> int | None:
    """Take the (job, slot) firing: the JobRun id, or None when another process has it."""
    try:
        with db.transaction() as s:
            run = JobRun(job=job, slot=slot, owner=owner or owner_id())
            s.add(run)
            s.flush()
            return run.id
    except IntegrityError:
        return None


def finish_slot(db: Database, run_id: int, result: dict[str, Any]) -> None:
    with db.transaction() as s:
        s.execute(update(JobRun).where(JobRun.id == run_id)
                  .values(finished_at=clock.utcnow(), result=result))


def run_guarded(db: Database, job: str, slot: str, body: Callable[[], dict[str, Any]],
                owner: str | None = None) -> dict[str, Any] | None:
    """Run `body` for (job, slot) unless another process already has: its result, or None.

    A body that raises leaves its error on the JobRun row and raises on; the slot stays taken
    (the jobs catch up on their next firing: they work from the state of the data, not from
    the firing).
    """
    run_id = claim_slot(db, job, slot, owner)
    if run_id is None:
        log.debug("job %s slot %s already taken by another scheduler", job, slot)
        return None
    try:
        result = body()
    except Exception as exc:
        finish_slot(db, run_id, {"error": f"{type(exc).__name__}: {exc}"[:500]})
        raise
    finish_slot(db, run_id, result)
    return result


def prune_runs(db: Database, job: str, before: datetime) -> int:
    """Forget the firings of a frequent job that started before `before`."""
    with db.transaction() as s:
        result = s.execute(delete(JobRun).where(JobRun.job == job, JobRun.started_at < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
