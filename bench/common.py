"""Helpers shared by the benchmarks: fresh migrated databases, the roster CSV, percentiles."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backoffice.demo.people import Person
from backoffice.services.products import install_products
from backoffice.store import fieldseal
from backoffice.store.db import Database
from backoffice.store.fieldseal import FieldKeys
from backoffice.store.migrate import upgrade
from backoffice.store.sealing import Keyring

DEFAULT_PG_URL = "postgresql+psycopg://postgres@localhost:5432/bench"


def field_keys_for_run() -> None:
    """The benches' databases are throw-away: without XIAOBAO_FIELDS_KEYS set, keys made for
    this run seal the personal numbers, and the processes a bench starts inherit them."""
    if not os.environ.get("XIAOBAO_FIELDS_KEYS"):
        os.environ["XIAOBAO_FIELDS_KEYS"] = Keyring.new_entry("bench")
        os.environ["XIAOBAO_FIELDS_HASH_KEY"] = FieldKeys.new_hash_key()
    fieldseal.install(FieldKeys.parse(os.environ["XIAOBAO_FIELDS_KEYS"],
                                      os.environ.get("XIAOBAO_FIELDS_HASH_KEY", "")))


field_keys_for_run()
SCHEME_PRODUCT = "CN-ELDER-ACC"
SCHEME_APPLICANT = "汕头市潮南区人民政府"
ROSTER_HEADER = "name,gender,birth_date,id_number,phone,address\n"
GENDER_CN = {"male": "男", "female": "女"}


def scheme_start(today: date) -> date:
    """The scheme year starts on 1 January, as in the demo seed."""
    return date(today.year, 1, 1)


def roster_lines(people: Iterable[Person]) -> Iterator[str]:
    """The roster CSV the 潮南区 civil affairs bureau sends (same layout as the demo seed)."""
    yield ROSTER_HEADER
    for p in people:
        yield (f"{p.name},{GENDER_CN[p.gender]},{p.birth_date.isoformat()},{p.id_number},"
               f"{p.phone},{p.address}\n")


def write_roster(path: Path, people: Iterable[Person]) -> int:
    """Write the CSV; returns the number of data rows."""
    rows = -1
    with path.open("w", encoding="utf-8", newline="") as f:
        for line in roster_lines(people):
            f.write(line)
            rows += 1
    return rows


def pg_reachable(url: str) -> str | None:
    """None if the server answers (creating the database when missing), else why not."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": parsed.database}).first()
            if exists is None:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        return None
    except Exception as exc:  # unreachable, auth, driver missing: the bench just skips it
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        admin.dispose()


def fresh_database(url: str) -> Database:
    """An empty, migrated database with the shipped products (as tests/conftest.py does).

    PostgreSQL: the schema `public` of the given database is dropped and recreated.
    SQLite: the file (and its WAL) is removed first.
    """
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[-1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        db = Database(url)
    else:
        db = Database(url)
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(db)
    install_products(db, "bench")
    return db


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as t: ...` then t[0] is the elapsed seconds."""
    box: list[float] = []
    started = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - started)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(h) for h in headers], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, r in enumerate(cells):
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                        enumerate(zip(r, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> float | None:
    """utime + stime of a local process in seconds, None when /proc cannot tell."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


class ServerCpu:
    """CPU seconds used by the PostgreSQL backends serving this database (local server only).

    `pg_stat_activity` gives the backend pids, /proc their CPU time; a remote server or a
    missing /proc gives None. Sampled before and after a measured step.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.start: dict[int, float] = {}

    def _sample(self) -> dict[int, float] | None:
        if self.db.is_sqlite:
            return None
        with self.db.engine.connect() as conn:
            pids = conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars().all()
        sample = {pid: cpu for pid in pids if (cpu := _proc_cpu(pid)) is not None}
        return sample or None

    def begin(self) -> None:
        self.start = self._sample() or {}

    def seconds(self) -> float | None:
        end = self._sample()
        if end is None:
            return None
        return sum(cpu - self.start.get(pid, 0.0) for pid, cpu in end.items())
