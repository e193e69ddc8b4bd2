"""Exactly one active scheduler, and a standby that takes over: two real `xiaobao scheduler`
processes on one database (SQLite file, and PostgreSQL when configured); the active one is
killed with SIGKILL between two firings, the standby fires the next ones, and no firing of the
job (every 2 s) is lost or run twice."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from backoffice.store.db import Database
from backoffice.store.models import JobRun, OutboxEvent
from tests.channels.channel_kit import free_port

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
POLL = 0.3


@dataclass
class Scheduler:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def owner(self) -> str:
        return f"{socket.gethostname()}:{self.process.pid}"[:80]

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz",
                                        timeout=5) as r:
                return dict(json.loads(r.read()))
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def leadership(self) -> str | None:
        health = self.health()
        return health["parts"]["leadership"]["state"] if health else None


def _start(db: Database, tmp_path: Path, name: str) -> Scheduler:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOBAO_")}
    # the suite's column keys (conftest): the processes read and write what this one does
    env.update({k: v for k, v in os.environ.items() if k.startswith("XIAOBAO_FIELDS_")})
    env.update({"XIAOBAO_DATABASE_URL": db.url, "XIAOBAO_VAR_DIR": str(tmp_path / "var"),
                "XIAOBAO_API_TOKEN": "failover-token", "XIAOBAO_LOG_LEVEL": "INFO",
                "PYTHONPATH": str(ROOT)})
    port = free_port()
    with (tmp_path / f"{name}.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(HERE / "scheduler_role_process.py"), "--port", str(port),
             "--standby-poll", str(POLL)], env=env, cwd=HERE, stdout=log,
            stderr=subprocess.STDOUT)
    return Scheduler(process, port)


def _until(check: Any, what: str, rounds: int = 600) -> Any:
    """Bounded wait (rounds of 0.1 s) for `check()` to be truthy."""
    for _ in range(rounds):
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def _runs(db: Database) -> list[JobRun]:
    with db.read() as s:
        return list(s.execute(select(JobRun).where(JobRun.job == "tick")
                              .order_by(JobRun.slot)).scalars())


def _finished(db: Database, owner: str) -> list[JobRun]:
    return [r for r in _runs(db) if r.owner == owner and r.finished_at is not None]


def _ticks(db: Database) -> list[dict[str, Any]]:
    with db.read() as s:
        return [e.payload for e in s.execute(select(OutboxEvent).where(
            OutboxEvent.topic == "scheduler.tick")).scalars()]


def _stop(scheduler: Scheduler) -> None:
    if scheduler.process.poll() is None:
        scheduler.process.send_signal(signal.SIGTERM)
        try:
            scheduler.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            scheduler.process.kill()
            scheduler.process.wait()


def test_the_standby_takes_over_when_the_active_scheduler_is_killed(
        db: Database, tmp_path: Path) -> None:
    first = _start(db, tmp_path, "first")
    second: Scheduler | None = None
    try:
        _until(lambda: first.leadership() == "active", "the first scheduler active")
        second = _start(db, tmp_path, "second")
        _until(lambda: second.leadership() == "standby", "the second standing by")
        # the first runs firings; the standby none, while it waits
        _until(lambda: len(_finished(db, first.owner)) >= 2, "two firings by the first")
        seen = len(_finished(db, first.owner))
        _until(lambda: len(_finished(db, first.owner)) > seen, "a fresh firing", 100)
        first.process.send_signal(signal.SIGKILL)  # just after a firing: none in flight
        first.process.wait()
        killed_at = datetime.now().astimezone()
        assert second.leadership() in ("standby", "active")
        _until(lambda: second.leadership() == "active", "the standby taking over")
        _until(lambda: len(_finished(db, second.owner)) >= 2, "two firings by the second")
    finally:
        for s in (first, second):
            if s is not None:
                _stop(s)
    assert second.process.returncode == 0  # a clean stop on SIGTERM

    runs = _runs(db)
    slots = [datetime.fromisoformat(r.slot) for r in runs]
    # no firing lost: one every 2 s from the first to the last, across the kill
    assert [b - a for a, b in itertools.pairwise(slots)] == \
        [timedelta(seconds=2)] * (len(slots) - 1), [r.slot for r in runs]
    assert all(r.finished_at is not None for r in runs)
    # none doubled: one execution of the job's body per firing, by the firing's owner
    ticks = _ticks(db)
    assert sorted((t["at"][:19], t["owner"]) for t in ticks) == sorted(
        (r.slot[:19], r.owner) for r in runs)
    # the first ran everything before the kill, the second everything after
    owners = [r.owner for r in runs]
    assert set(owners) == {first.owner, second.owner}
    switch = owners.index(second.owner)
    assert owners[:switch] == [first.owner] * switch
    assert owners[switch:] == [second.owner] * (len(owners) - switch)
    assert slots[switch] > killed_at - timedelta(seconds=2)
