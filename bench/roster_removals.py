"""Roster removals benchmark: a monthly list of deaths and departures against the full roster.

For each backend (an SQLite file in a temp dir; PostgreSQL at --postgres-url, skipped with a
note when it does not answer) this makes a fresh migrated database, imports the roster of
--members people, then times `group.import_removals` over a list of --removals of them (deaths
and departures, dated last month): first run (every row removes), then again (the idempotent
path: every row skipped).

    .venv/bin/python -m bench.roster_removals                 # 215,864 members, 2,000 removals
    .venv/bin/python -m bench.roster_removals --members 20000 --backends sqlite
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from backoffice.demo.people import Person, generate_people
from backoffice.services import group
from backoffice.services.base import today_cn
from bench.common import (
    DEFAULT_PG_URL,
    SCHEME_APPLICANT,
    SCHEME_PRODUCT,
    fresh_database,
    pg_reachable,
    print_table,
    scheme_start,
    write_roster,
)

FULL_ROSTER = 215_864


def _removals(path: Path, people: list[Person], count: int) -> None:
    day = today_cn().replace(day=1) - timedelta(days=1)  # the last day of last month
    step = max(1, len(people) // count)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("id_number,name,reason,date,note\n")
        for i, p in enumerate(people[::step][:count]):
            reason = "死亡" if i % 3 else "迁出"
            f.write(f"{p.id_number},{p.name},{reason},"
                    f"{(day - timedelta(days=i % 28)).isoformat()},民政局月报\n")


def bench_backend(backend: str, url: str, roster: Path, removals: Path) -> list[object]:
    db = fresh_database(url)
    try:
        policy_no = group.create_group_policy(db, {
            "product_code": SCHEME_PRODUCT, "applicant_name": SCHEME_APPLICANT,
            "start_date": scheme_start(today_cn()).isoformat()}, "bench")["policy_no"]
        with roster.open(encoding="utf-8", newline="") as f:
            imported = group.import_roster(db, policy_no, f, "bench").imported
        times, results = [], []
        for _ in range(2):
            with removals.open(encoding="utf-8", newline="") as f:
                started = time.perf_counter()
                results.append(group.import_removals(db, policy_no, f, "bench"))
                times.append(time.perf_counter() - started)
        first, again = results
        print(f"[{backend}] roster {imported:,}; removals {times[0]:.2f} s "
              f"(removed {first.removed:,}, errors {len(first.errors):,}); "
              f"again {times[1]:.2f} s (skipped {again.skipped:,})")
        return [backend, f"{imported:,}", f"{first.removed:,}", f"{len(first.errors):,}",
                f"{times[0]:.2f}", f"{first.removed / times[0]:,.0f}", f"{times[1]:.2f}",
                f"{again.skipped:,}"]
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=FULL_ROSTER)
    ap.add_argument("--removals", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--postgres-url", default=DEFAULT_PG_URL,
                    help=f"PostgreSQL database to use (its schema public is dropped!); "
                         f"default {DEFAULT_PG_URL}")
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args(argv)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="xiaobao-bench-") as tmp:
        tmpdir = Path(tmp)
        people = list(generate_people(args.members, args.seed, scheme_start(today_cn())))
        write_roster(tmpdir / "roster.csv", people)
        _removals(tmpdir / "removals.csv", people, args.removals)
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            if backend == "sqlite":
                url = f"sqlite:///{tmpdir / 'removals.db'}"
            else:
                problem = pg_reachable(args.postgres_url)
                if problem:
                    print(f"postgresql skipped: {args.postgres_url} unreachable ({problem})")
                    continue
                url = args.postgres_url
            rows.append(bench_backend(backend, url, tmpdir / "roster.csv",
                                      tmpdir / "removals.csv"))
    print()
    print_table(["backend", "roster", "removed", "errors", "seconds", "rows/s",
                 "again s", "again skipped"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
