"""The scheduled jobs: when each fires, which slot a firing claims, and what it runs.

| job | when (Asia/Shanghai) | runs |
| --- | --- | --- |
| `notifications_dispatch` | every 30 s | send due notifications (retry, dead-letter) |
| `policy_clock` | daily 00:30 | premium due → grace → lapse, expiry |
| `auto_enrollment` | monthly, 1st, 01:00 | enroll residents who became eligible |
| `job_runs_prune` | daily 03:15 | forget dispatch firings older than 7 days, expired state |
| `progress_notices` | daily 09:00 | progress notice every 3 working days from the report |
| `documents_reminders` | daily 09:00 | missing documents told again after 5 and 10 working days |
| `deadline_checks` | daily 09:00 | warnings one working day ahead, escalations after a breach |
| `follow_up_visits` | daily 09:00 | a follow-up task per closed claim; 回访 question on day 3 |
| `follow_up_first_month` | 1st, 16th 09:30 | 回访 of a sample of the last half-month's members |
| `follow_up_quarterly` | 1 Jan/Apr/Jul/Oct, 09:40 | 回访 of a quarterly sample of the insureds |
| `follow_up_yearly` | 1 Dec, 09:50 | 回访 of a yearly sample of the insureds |
| `premium_reminders` | daily 09:00 | reminders 7 days ahead and on the due day |
| `enrollment_notices` | hourly 09:10–19:10 | enrollment notices, a batch a run (WeChat or SMS) |
| `loss_ratio_watch` | monthly, 1st, 06:00 | alert: projected loss ratio below 60 % or above 100 % |
| `complaint_clocks` | daily 08:30 | complaint warnings 3 days ahead, escalation on a breach |
| `home_visit_clocks` | every 15 min | home-visit warnings 4 h ahead, breaches flagged |
| `privacy_access_log_expiry` | daily 03:40 | delete access-log entries older than 3 years |
| `privacy_retention` | daily 03:50 | delete what is past its retention (domain.retention) |

The job store keeps only `fire(job_id)` and the trigger; what a job needs at run time (the
database, the senders) is this process's Runtime, installed when its scheduler starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from backoffice import clock
from backoffice.notifications.base import Sender
from backoffice.scheduler.guard import owner_id, prune_runs, run_guarded
from backoffice.services import (
    channel_state,
    complaints,
    customer_answers,
    follow_up_samples,
    home_visits,
    privacy_access,
    reminders,
    retention_job,
    scheme,
    staff,
)
from backoffice.services.base import SHANGHAI
from backoffice.services.notifications import dispatch_due
from backoffice.store.db import Database
from backoffice.store.models import JobRun

log = logging.getLogger("xiaobao.scheduler")

FIRE = "backoffice.scheduler.jobs:fire"
DISPATCH_BATCH = 100
DISPATCH_ROUNDS = 10  # batches per firing at most; the next firing takes the rest
DISPATCH_RUNS_KEPT = timedelta(days=7)


@dataclass(frozen=True)
class Runtime:
    """What the jobs of this process work with."""

    db: Database
    senders: Mapping[str, Sender]
    max_attempts: int = 6
    owner: str = field(default_factory=owner_id)
    # the document store (retention deletes photos' files there); None: documents wait
    files: Any = None


Body = Callable[[Runtime, datetime], dict[str, Any]]


@dataclass(frozen=True)
class JobSpec:
    """A job: its id (stable: the job store's key), its cron fields, what it runs.

    `slot`: a firing is named by the day it is for (`date`: "2026-09-28") or by its exact time
    (`time`: "2026-09-28T09:00:30+08:00"). `misfire_grace`: how late (seconds) a firing may
    still run, e.g. when the platform was down at 09:00. `lookback`: how far back the latest
    firing is looked for (longer than the job's period).
    """

    id: str
    cron: Mapping[str, Any]
    body: Body
    slot: Literal["date", "time"] = "date"
    misfire_grace: int = 12 * 3600
    lookback: timedelta = timedelta(days=2)

    def trigger(self) -> CronTrigger:
        return CronTrigger(timezone=SHANGHAI, **self.cron)

    def last_fire_time(self, now: datetime) -> datetime | None:
        """The latest scheduled firing at or before `now` (None if none in the lookback)."""
        trigger = self.trigger()
        last = None
        at = trigger.get_next_fire_time(None, now - self.lookback)
        while at is not None and at <= now:
            last = at
            at = trigger.get_next_fire_time(at, at + timedelta(microseconds=1))
        return last

    def slot_of(self, scheduled: datetime) -> str:
        local = scheduled.astimezone(SHANGHAI)
        if self.slot == "date":
            return local.date().isoformat()
        return local.isoformat(timespec="seconds")


def business_day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


# ---- bodies ------------------------------------------------------------------------------

def _progress_notices(rt: Runtime, at: datetime) -> dict[str, Any]:
    return reminders.progress_notices(rt.db, business_day(at))


def _documents_reminders(rt: Runtime, at: datetime) -> dict[str, Any]:
    return reminders.documents_reminders(rt.db, business_day(at))


def _enrollment_notices(rt: Runtime, at: datetime) -> dict[str, Any]:
    return scheme.enrollment_notices(rt.db, business_day(at))


def _loss_ratio_watch(rt: Runtime, at: datetime) -> dict[str, Any]:
    return scheme.loss_ratio_watch(rt.db, business_day(at))


def _deadline_checks(rt: Runtime, at: datetime) -> dict[str, Any]:
    return reminders.deadline_checks(rt.db, business_day(at))


def _follow_up_visits(rt: Runtime, at: datetime) -> dict[str, Any]:
    made = reminders.follow_up_visits(rt.db, business_day(at))
    return {**made, **customer_answers.ask_follow_ups(rt.db, business_day(at))}


def _follow_up_sample(kind: str) -> Body:
    def body(rt: Runtime, at: datetime) -> dict[str, Any]:
        return follow_up_samples.open_samples(rt.db, kind, business_day(at))

    body.__name__ = f"_follow_up_{kind}"
    return body


def _premium_reminders(rt: Runtime, at: datetime) -> dict[str, Any]:
    return reminders.premium_reminders(rt.db, business_day(at), clock.utcnow())


def _policy_clock(rt: Runtime, at: datetime) -> dict[str, Any]:
    return reminders.policy_clock(rt.db, business_day(at))


def _auto_enrollment(rt: Runtime, at: datetime) -> dict[str, Any]:
    return reminders.auto_enrollment(rt.db, business_day(at))


def _complaint_clocks(rt: Runtime, at: datetime) -> dict[str, Any]:
    return complaints.clock_checks(rt.db, business_day(at))


def _home_visit_clocks(rt: Runtime, at: datetime) -> dict[str, Any]:
    return home_visits.clock_checks(rt.db, clock.utcnow())


def _access_log_expiry(rt: Runtime, at: datetime) -> dict[str, Any]:
    return privacy_access.expire(rt.db, clock.utcnow())


def _retention(rt: Runtime, at: datetime) -> dict[str, Any]:
    return retention_job.run_from_env(rt.db, rt.files)


def _dispatch(rt: Runtime, at: datetime) -> dict[str, Any]:
    total: dict[str, int] = {}
    for _ in range(DISPATCH_ROUNDS):
        counts = dispatch_due(rt.db, rt.senders, clock.utcnow(), DISPATCH_BATCH,
                              max_attempts=rt.max_attempts)
        for key, n in counts.items():
            total[key] = total.get(key, 0) + n
        if counts["taken"] < DISPATCH_BATCH:
            break
    return total


def _prune(rt: Runtime, at: datetime) -> dict[str, Any]:
    """Old dispatch firings, and the expired desk sessions, API tokens and channel state
    (calls abandoned without a hangup, answers of phone events past their replay window)."""
    return {"pruned": prune_runs(rt.db, "notifications_dispatch", at - DISPATCH_RUNS_KEPT),
            "sessions_purged": staff.purge_sessions(rt.db),
            "api_tokens_purged": staff.purge_api_tokens(rt.db),
            "channel_state_purged": channel_state.purge_expired(rt.db)}


NINE = {"hour": 9, "minute": 0}
DEFAULT_JOBS: tuple[JobSpec, ...] = (
    JobSpec("notifications_dispatch", {"second": "*/30"}, _dispatch, slot="time",
            misfire_grace=30, lookback=timedelta(minutes=2)),
    JobSpec("policy_clock", {"hour": 0, "minute": 30}, _policy_clock),
    JobSpec("auto_enrollment", {"day": 1, "hour": 1, "minute": 0}, _auto_enrollment,
            misfire_grace=24 * 3600, lookback=timedelta(days=32)),
    JobSpec("job_runs_prune", {"hour": 3, "minute": 15}, _prune),
    JobSpec("progress_notices", NINE, _progress_notices),
    JobSpec("documents_reminders", NINE, _documents_reminders),
    JobSpec("deadline_checks", NINE, _deadline_checks),
    JobSpec("follow_up_visits", NINE, _follow_up_visits),
    JobSpec("premium_reminders", NINE, _premium_reminders),
    # 回访 samples (the product's rates): each period once per policy, the same people on a
    # re-run (backoffice.services.follow_up_samples)
    JobSpec("follow_up_first_month", {"day": "1,16", "hour": 9, "minute": 30},
            _follow_up_sample("first_month"), misfire_grace=24 * 3600,
            lookback=timedelta(days=17)),
    JobSpec("follow_up_quarterly", {"month": "1,4,7,10", "day": 1, "hour": 9, "minute": 40},
            _follow_up_sample("quarterly"), misfire_grace=24 * 3600,
            lookback=timedelta(days=93)),
    JobSpec("follow_up_yearly", {"month": 12, "day": 1, "hour": 9, "minute": 50},
            _follow_up_sample("yearly"), misfire_grace=24 * 3600,
            lookback=timedelta(days=366)),
    # daytime only (no SMS at night), a batch an hour: the gateway's budget, not a flood
    JobSpec("enrollment_notices", {"hour": "9-19", "minute": 10}, _enrollment_notices,
            slot="time", misfire_grace=3000, lookback=timedelta(hours=26)),
    JobSpec("loss_ratio_watch", {"day": 1, "hour": 6, "minute": 0}, _loss_ratio_watch,
            misfire_grace=24 * 3600, lookback=timedelta(days=32)),
    JobSpec("complaint_clocks", {"hour": 8, "minute": 30}, _complaint_clocks),
    JobSpec("home_visit_clocks", {"minute": "*/15"}, _home_visit_clocks, slot="time",
            misfire_grace=15 * 60, lookback=timedelta(hours=1)),
    # who looked (个人信息访问记录) is kept 3 years; the database refuses younger deletions
    JobSpec("privacy_access_log_expiry", {"hour": 3, "minute": 40}, _access_log_expiry),
    # retention by purpose (backoffice.domain.retention): from the state of the data, so a
    # missed or repeated firing loses nothing and deletes nothing twice
    JobSpec("privacy_retention", {"hour": 3, "minute": 50}, _retention),
)
JOBS: dict[str, JobSpec] = {spec.id: spec for spec in DEFAULT_JOBS}


# ---- this process's runtime and the function the job store calls ---------------------------

_runtime: Runtime | None = None
_registry: dict[str, JobSpec] = dict(JOBS)


def install(runtime: Runtime, jobs: tuple[JobSpec, ...] | list[JobSpec] = DEFAULT_JOBS) -> None:
    global _runtime
    _runtime = runtime
    _registry.update({spec.id: spec for spec in jobs})


def uninstall() -> None:
    global _runtime
    _runtime = None


def run(runtime: Runtime, spec: JobSpec, scheduled: datetime,
        slot: str | None = None) -> dict[str, Any] | None:
    """Run the firing of `spec` scheduled at `scheduled` unless another process has: the
    job's result, or None when skipped."""
    slot = slot or spec.slot_of(scheduled)
    result = run_guarded(runtime.db, spec.id, slot, lambda: spec.body(runtime, scheduled),
                         runtime.owner)
    if result is not None and spec.slot == "date":
        log.info("job %s (%s) done: %s", spec.id, slot, result)
    return result


def fire(job_id: str) -> dict[str, Any] | None:
    """Called by APScheduler in a worker thread at each firing."""
    runtime = _runtime
    if runtime is None:
        raise RuntimeError("the scheduler's runtime is not installed in this process")
    spec = _registry[job_id]
    now = clock.utcnow()
    return run(runtime, spec, spec.last_fire_time(now) or now)


def catch_up_time(db: Database, spec: JobSpec, now: datetime) -> datetime | None:
    """The latest firing when it has not run yet and may still (within the misfire grace):
    a platform that was down at 09:00 runs the day's jobs when it comes back."""
    last = spec.last_fire_time(now)
    if last is None or (now - last).total_seconds() > spec.misfire_grace:
        return None
    with db.read() as s:
        done = s.execute(select(JobRun.id).where(JobRun.job == spec.id,
                                                 JobRun.slot == spec.slot_of(last))).first()
    return None if done else last.astimezone(UTC)
