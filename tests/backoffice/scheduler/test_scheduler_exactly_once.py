"""Exactly one scheduler fires each firing, even with two platform processes on one database:
separate processes race for the same slots (SQLite file, and PostgreSQL when configured)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from scheduler_world import World
from sqlalchemy import select

from backoffice.store.db import Database
from backoffice.store.models import JobRun, Notification, OutboxEvent, Task

HERE = Path(__file__).parent


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOBAO_")}
    # the suite's column keys (conftest): the processes read and write what this one does
    env.update({k: v for k, v in os.environ.items() if k.startswith("XIAOBAO_FIELDS_")})
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, *args], env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=HERE)


def _finish(procs: list[subprocess.Popen[str]]) -> list[str]:
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        outputs.append(out)
    return outputs


def _lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def _runs(db: Database, job: str) -> list[JobRun]:
    with db.read() as s:
        return list(s.execute(select(JobRun).where(JobRun.job == job)
                              .order_by(JobRun.slot)).scalars())


def test_two_processes_race_for_the_same_firings(db: Database, world: World) -> None:
    world.on(date(2026, 6, 1))
    policy_no, idn = world.policy()
    claims = []
    for _ in range(3):
        world.on(date(2026, 9, 21))
        claims.append(world.claim(policy_no, idn, incident=date(2026, 9, 18)))
        world.on(date(2026, 9, 25))
        world.act(claims[-1], "documents_complete", waive_missing=True)  # review due 9-30
    days = [date(2026, 9, 25) + timedelta(days=i) for i in range(20)]  # to 10-14
    todays = [arg for d in days for arg in ("--today", d.isoformat())]

    procs = [_start(["-m", "backoffice.scheduler.run_once", "--database-url", db.url,
                     "--job", "deadline_checks", *todays]) for _ in range(2)]
    procs += [_start(["-m", "backoffice.scheduler.run_once", "--database-url", db.url,
                      "--job", "progress_notices", "--today", "2026-09-30"])
              for _ in range(2)]
    outputs = [_lines(out) for out in _finish(procs)]

    # every deadline_checks firing ran in exactly one of the two processes
    ran = Counter(line["slot"] for out in outputs[:2] for line in out if line["ran"])
    assert ran == Counter({d.isoformat(): 1 for d in days})
    assert all(len(out) == 20 for out in outputs[:2])  # each process tried every firing
    runs = _runs(db, "deadline_checks")
    assert [r.slot for r in runs] == [d.isoformat() for d in days]
    owners = {line["owner"] for out in outputs[:2] for line in out}
    assert {r.owner for r in runs} <= owners and len(owners) == 2
    assert all(r.finished_at is not None and r.result is not None for r in runs)

    # the one progress-notice firing: one process ran it, the other skipped
    progress = [line for out in outputs[2:] for line in out]
    assert sorted(line["ran"] for line in progress) == [False, True]
    assert [r.slot for r in _runs(db, "progress_notices")] == ["2026-09-30"]

    with db.read() as s:
        notes = Counter(s.execute(select(Notification.template)).scalars())
        tasks = Counter(s.execute(select(Task.kind)).scalars())
    assert notes["claim_progress"] == 3  # one per claim
    assert notes["deadline_warning"] == 3 and notes["deadline_escalation"] == 3
    assert tasks["deadline_warning"] == 3 and tasks["escalation"] == 3


def test_two_real_schedulers_fire_each_second_once(db: Database) -> None:
    firings = 4
    procs = [_start([str(HERE / "heartbeat_process.py"), db.url, str(firings)])
             for _ in range(2)]
    outputs = _finish(procs)
    reports = [_lines(out)[-1] for out in outputs]
    assert all(not r["running"] for r in reports)  # both stopped cleanly

    runs = _runs(db, "heartbeat")
    with db.read() as s:
        beats = [e.payload for e in s.execute(select(OutboxEvent).where(
            OutboxEvent.topic == "scheduler.heartbeat")).scalars()]
    assert len(runs) >= firings
    # each firing: one JobRun, one execution of the job's body, by the JobRun's owner
    by_slot = Counter(b["at"][:19] for b in beats)
    assert by_slot == Counter({r.slot[:19]: 1 for r in runs})
    assert sorted((b["at"][:19], b["owner"]) for b in beats) == sorted(
        (r.slot[:19], r.owner) for r in runs)
    assert sum(r["ran"] for r in reports) == len(runs)
