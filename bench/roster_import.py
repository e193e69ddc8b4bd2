"""Roster import benchmark: the 215,864-member 潮南区 roster into a fresh database.

For each backend (an SQLite file in a temp dir; PostgreSQL at --postgres-url, skipped with a
note when it does not answer) this makes a fresh migrated database, installs the products,
creates the CN-ELDER-ACC group policy and times `group.import_roster` over the CSV file: first
into the empty roster (cold), then again (the idempotent path: everyone is skipped).

    .venv/bin/python -m bench.roster_import                 # full size, both backends
    .venv/bin/python -m bench.roster_import --members 20000 --backends sqlite
    .venv/bin/python -m bench.roster_import --profile var/prof   # cProfile dumps per import

Target (issue): ≤ 15 s for the full roster on SQLite and on PostgreSQL, 2 cores.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from backoffice.demo.people import generate_people
from backoffice.services import group
from backoffice.services.base import today_cn
from backoffice.store.db import Database
from bench.common import (
    DEFAULT_PG_URL,
    SCHEME_APPLICANT,
    SCHEME_PRODUCT,
    ServerCpu,
    fresh_database,
    pg_reachable,
    print_table,
    scheme_start,
    write_roster,
)

FULL_ROSTER = 215_864
TARGET_SECONDS = 15.0


@dataclass
class Run:
    backend: str
    rows: int
    imported: int
    errors: int
    seconds: float
    cpu: float
    server_cpu: float | None
    reimport_seconds: float
    reimport_imported: int
    reimport_skipped: int


@dataclass
class Timing:
    seconds: float
    cpu: float  # this process
    server_cpu: float | None  # PostgreSQL backends, when the server is local


def _timed_import(db: Database, policy_no: str, csv_path: Path, label: str,
                  profile_dir: Path | None) -> tuple[Timing, group.ImportResult]:
    profiler = cProfile.Profile() if profile_dir else None
    server = ServerCpu(db)
    server.begin()
    with csv_path.open(encoding="utf-8", newline="") as f:
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        result = group.import_roster(db, policy_no, f, "bench")
        if profiler:
            profiler.disable()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler and profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
        out = profile_dir / f"roster_import-{label}.prof"
        profiler.dump_stats(out)
        print(f"  profile written to {out}")
    return Timing(elapsed, cpu, server.seconds()), result


def _server(seconds: float | None) -> str:
    return "" if seconds is None else f", PostgreSQL backends {seconds:.2f} s"


def bench_backend(backend: str, url: str, csv_path: Path, rows: int,
                  profile_dir: Path | None) -> Run:
    print(f"[{backend}] fresh database at {url}")
    db = fresh_database(url)
    try:
        policy_no = group.create_group_policy(db, {
            "product_code": SCHEME_PRODUCT, "applicant_name": SCHEME_APPLICANT,
            "start_date": scheme_start(today_cn()).isoformat()}, "bench")["policy_no"]
        cold, first = _timed_import(db, policy_no, csv_path, f"{backend}-cold", profile_dir)
        print(f"[{backend}] cold import: {cold.seconds:.2f} s (CPU here {cold.cpu:.2f} s"
              f"{_server(cold.server_cpu)}), imported {first.imported:,}, "
              f"skipped {first.skipped:,}, errors {len(first.errors):,}")
        again, second = _timed_import(db, policy_no, csv_path, f"{backend}-reimport",
                                      profile_dir)
        print(f"[{backend}] re-import:   {again.seconds:.2f} s (CPU here {again.cpu:.2f} s"
              f"{_server(again.server_cpu)}), imported {second.imported:,}, "
              f"skipped {second.skipped:,}, errors {len(second.errors):,}")
        return Run(backend, rows, first.imported, len(first.errors), cold.seconds, cold.cpu,
                   cold.server_cpu, again.seconds, second.imported, second.skipped)
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=FULL_ROSTER,
                    help=f"roster rows (default {FULL_ROSTER:,})")
    ap.add_argument("--seed", type=int, default=1, help="generate_people seed (default 1)")
    ap.add_argument("--postgres-url", default=DEFAULT_PG_URL,
                    help=f"PostgreSQL database to use (its schema public is dropped!); "
                         f"default {DEFAULT_PG_URL}")
    ap.add_argument("--backends", default="sqlite,postgresql",
                    help="comma-separated subset of sqlite,postgresql")
    ap.add_argument("--profile", type=Path, metavar="DIR",
                    help="write a cProfile dump of every import into DIR")
    args = ap.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]

    runs: list[Run] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="xiaobao-bench-") as tmp:
        tmpdir = Path(tmp)
        csv_path = tmpdir / "roster.csv"
        started = time.perf_counter()
        people = generate_people(args.members, args.seed, scheme_start(today_cn()))
        rows = write_roster(csv_path, people)
        print(f"roster CSV: {rows:,} rows, {csv_path.stat().st_size / 2**20:.1f} MiB, "
              f"seed {args.seed}, written in {time.perf_counter() - started:.1f} s")
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite:///{tmpdir / 'roster.db'}"
            elif backend == "postgresql":
                problem = pg_reachable(args.postgres_url)
                if problem:
                    note = f"postgresql skipped: {args.postgres_url} unreachable ({problem})"
                    print(note)
                    notes.append(note)
                    continue
                url = args.postgres_url
            else:
                ap.error(f"unknown backend {backend!r}")
            runs.append(bench_backend(backend, url, csv_path, rows, args.profile))

    print()
    print(f"Roster import, {args.members:,} members (target ≤ {TARGET_SECONDS:.0f} s)")
    print_table(
        ["backend", "rows", "imported", "errors", "seconds", "rows/s", "CPU s", "server CPU s",
         "re-import s", "re-import imported/skipped"],
        [[r.backend, f"{r.rows:,}", f"{r.imported:,}", f"{r.errors:,}", f"{r.seconds:.2f}",
          f"{r.rows / r.seconds:,.0f}", f"{r.cpu:.2f}",
          "-" if r.server_cpu is None else f"{r.server_cpu:.2f}", f"{r.reimport_seconds:.2f}",
          f"{r.reimport_imported:,}/{r.reimport_skipped:,}"] for r in runs],
    )
    load1, load5, _ = os.getloadavg()
    print(f"load average at the end: {load1:.2f} (1 min), {load5:.2f} (5 min) on "
          f"{os.cpu_count()} CPUs; 'CPU s' is this process, 'server CPU s' the PostgreSQL "
          f"backends of the bench database")
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
