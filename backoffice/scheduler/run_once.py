"""Run a scheduled job's firing by hand, through the same guard as the scheduler.

    python -m backoffice.scheduler.run_once --job progress_notices --today 2026-09-28
    python -m backoffice.scheduler.run_once --job deadline_checks --slot 2026-09-28-rerun

`--today D` picks the job's firing of day D (the latest one at or before the end of D, so the
1st of the month for `auto_enrollment`); `--at` names an exact time; without either, the latest
firing until now. `--slot` overrides the slot's name (a re-run of a day that already ran needs
a new one). Repeat `--today`/`--at` to run several firings in order. The database is
`--database-url`, else XIAOBAO_DATABASE_URL. Prints one JSON line per firing:
`{"job", "slot", "ran", "result", "owner"}` — `ran` is false when another process had it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from backoffice import clock
from backoffice.notifications.config import NotifyConfig, build_senders
from backoffice.scheduler.jobs import JOBS, Runtime, run
from backoffice.services.base import SHANGHAI
from backoffice.store import fieldseal
from backoffice.store.db import Database


def _aware(raw: str) -> datetime:
    value = datetime.fromisoformat(raw)
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backoffice.scheduler.run_once",
                                     description="运行一次定时任务（与调度器共用同一把数据库锁）")
    parser.add_argument("--job", required=True, choices=sorted(JOBS))
    parser.add_argument("--today", action="append", type=date.fromisoformat, default=[],
                        help="业务日期 YYYY-MM-DD（可重复）")
    parser.add_argument("--at", action="append", type=_aware, default=[],
                        help="计划触发时刻 ISO 8601（可重复；无时区按北京时间）")
    parser.add_argument("--slot", help="槽位名（默认由触发时刻得出）")
    parser.add_argument("--database-url", default=os.environ.get("XIAOBAO_DATABASE_URL"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.database_url:
        print("need --database-url or XIAOBAO_DATABASE_URL", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING)
    spec = JOBS[args.job]
    times: list[datetime] = list(args.at)
    for day in args.today:
        end = datetime.combine(day + timedelta(days=1), time(0), SHANGHAI)
        times.append(spec.last_fire_time(end - timedelta(microseconds=1)) or end)
    if not times:
        now = clock.utcnow()
        times.append(spec.last_fire_time(now) or now)
    if args.slot and len(times) > 1:
        print("--slot names one firing", file=sys.stderr)
        return 2
    keys, hash_key = (os.environ.get(f"XIAOBAO_FIELDS_{k}", "") for k in ("KEYS", "HASH_KEY"))
    if keys and hash_key:  # the jobs read sealed numbers (a notice's phone, a party's ID)
        fieldseal.install(fieldseal.FieldKeys.parse(keys, hash_key))
    db = Database(args.database_url)
    config = NotifyConfig.from_env()
    runtime = Runtime(db, build_senders(config, db), config.max_attempts)
    try:
        for scheduled in times:
            slot = args.slot or spec.slot_of(scheduled)
            result = run(runtime, spec, scheduled, slot)
            print(json.dumps({"job": spec.id, "slot": slot, "ran": result is not None,
                              "result": result, "owner": runtime.owner},
                             ensure_ascii=False, default=str), flush=True)
    finally:
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
