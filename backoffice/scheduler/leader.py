"""Which scheduler process is the active one: exactly one holds the leadership, the others
wait as standbys and take over when it dies.

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) held on a connection of
  its own (not the pool's: a recycled pooled connection would drop it). The server frees the
  lock the moment that session ends — the process killed (its socket closes at once), or its
  machine gone (TCP keepalives on the connection end the session within about 30 s).
- SQLite: an exclusive `flock` on a file beside the database file. SQLite is one machine's
  file, so the kernel is the arbiter there and frees the lock the moment the holder dies; a
  lease row would add a heartbeat and a clock to tune for nothing.

A standby asks again every few seconds (`xiaobao scheduler --standby-poll`), so a takeover is
bounded by that interval (plus, on PostgreSQL, the keepalive time when a machine vanishes). The
leader checks that it still holds the lock at the same pace and stops its scheduler when it
does not. Leadership only keeps the standbys idle: each firing is still claimed through a
JobRun row (guard.py), so even two leaders for a moment cannot run a firing twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

log = logging.getLogger("xiaobao.scheduler")

#: The advisory lock's key: a stable 63-bit number derived from a name.
LOCK_NAME = "xiaobao.scheduler.leader"
LOCK_KEY = int.from_bytes(hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big") >> 1
#: TCP keepalives of the lock's connection: a vanished machine's session ends within
#: idle + interval × count seconds, and with it its lock.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
              "keepalives_count": 3}


class Leadership(Protocol):
    kind: str

    def acquire(self) -> bool:
        """Take the leadership if nobody holds it; True when this process holds it."""

    def held(self) -> bool:
        """Whether this process still holds it (False once its hold is lost)."""

    def release(self) -> None:
        """Give it up (and free what holds it)."""


class FileLeadership:
    """An exclusive flock on `path`: one holder among the processes of one machine."""

    kind = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for an operator's eyes
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor frees the lock
            self._fd = None


class AdvisoryLeadership:
    """A PostgreSQL session-level advisory lock on a dedicated connection."""

    kind = "postgresql"

    def __init__(self, url: str, key: int = LOCK_KEY) -> None:
        self.key = key
        self.engine = create_engine(
            url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
            connect_args={**KEEPALIVES, "application_name": "xiaobao-scheduler",
                          "connect_timeout": 10})
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        if self._conn is not None:
            return self.held()
        try:
            conn = self.engine.connect()
        except SQLAlchemyError as exc:
            log.warning("scheduler leadership: the database does not answer (%s)",
                        type(exc).__name__)
            return False
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                    {"k": self.key}).scalar())
        except SQLAlchemyError:
            conn.close()
            return False
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def held(self) -> bool:
        """A session-level lock lasts as long as its session: while the connection answers,
        the lock is this process's; a broken one (server restart, network) lost it, and
        another process may hold it now."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            self._drop()
            return False
        return True

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.close()
            self._conn = None

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):  # ending the session frees it anyway
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        self._drop()
        self.engine.dispose()


def leadership_for(url: str, var_dir: Path) -> Leadership:
    """The leadership that fits the database at `url`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return AdvisoryLeadership(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            return FileLeadership(Path(database).resolve().with_name(
                Path(database).name + ".scheduler.lock"))
        return FileLeadership(var_dir / "scheduler.lock")
    raise ValueError(f"no scheduler leadership for {parsed.get_backend_name()} databases")
