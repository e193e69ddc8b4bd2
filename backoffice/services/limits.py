"""Counting guesses in the store: each try is counted before it is evaluated, atomically.

`reserve` counts one try under every key (an INSERT … ON CONFLICT DO UPDATE that locks the
row until the transaction ends, on SQLite and PostgreSQL alike) and refuses it uncounted while
any key is waiting out its delay. Because the count comes first, concurrent guesses each take a
distinct count and no more than the free allowance is ever evaluated. A try that turns out
right gives its count back (`release`) or clears the key (`clear`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backoffice.domain.limits import Limit
from backoffice.store.models import AttemptLimit, utcnow


@dataclass(frozen=True)
class Key:
    limit: Limit
    digest: str


class Blocked(Exception):
    """A key is waiting out its delay: retry after `until`."""

    def __init__(self, until: datetime, now: datetime) -> None:
        super().__init__(until.isoformat())
        self.until = until
        self.now = now


def key(limit: Limit, *parts: str) -> Key:
    # hashed: the table never holds an ID number or a username in clear
    raw = "\x1f".join((limit.scope, *parts))
    return Key(limit, hashlib.sha256(raw.encode()).hexdigest())


def _lock(s: Session, k: Key, now: datetime) -> AttemptLimit:
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(AttemptLimit).values(key=k.digest, scope=k.limit.scope, failures=0,
                                       last_failure_at=now, blocked_until=None)
    s.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                         set_={"scope": stmt.excluded.scope}))
    row = s.execute(select(AttemptLimit).where(AttemptLimit.key == k.digest)
                    .execution_options(populate_existing=True)).scalar_one()
    if now - row.last_failure_at >= k.limit.forget:  # quiet long enough: forgotten
        row.failures, row.blocked_until = 0, None
    return row


def reserve(s: Session, keys: list[Key]) -> None:
    """Count one try under each key, or raise Blocked (nothing counted) while any waits."""
    now = utcnow()
    rows = [(k, _lock(s, k, now)) for k in sorted(keys, key=lambda k: k.digest)]  # lock order
    waits = [r.blocked_until for _, r in rows if r.blocked_until and r.blocked_until > now]
    if waits:
        raise Blocked(max(waits), now)
    for k, row in rows:
        row.failures += 1
        row.last_failure_at = now
        delay = k.limit.delay(row.failures)
        row.blocked_until = now + delay if delay else None
    s.flush()


def release(s: Session, keys: list[Key]) -> None:
    """A try that was right: its count is given back (a shared address keeps the others')."""
    now = utcnow()
    for k in keys:
        row = _lock(s, k, now)
        row.failures = max(0, row.failures - 1)
        delay = k.limit.delay(row.failures)
        row.blocked_until = row.last_failure_at + delay if delay else None


def clear(s: Session, keys: list[Key]) -> None:
    s.execute(delete(AttemptLimit).where(AttemptLimit.key.in_([k.digest for k in keys])))


# scopes remembered longer than the purge's usual cut-off (their Limit's `forget`), named here
# so the purge keeps them whichever modules the purging process has imported
LONG_MEMORY = {"bind.phone": timedelta(days=7)}


def purge(s: Session, older_than: datetime) -> int:
    """Rows quiet since `older_than`; those of LONG_MEMORY's scopes only once quiet that long."""
    result = s.execute(delete(AttemptLimit).where(
        AttemptLimit.last_failure_at < older_than,
        AttemptLimit.scope.not_in(list(LONG_MEMORY))))
    purged = int(getattr(result, "rowcount", 0) or 0)
    now = utcnow()
    for scope, forget in LONG_MEMORY.items():
        done = s.execute(delete(AttemptLimit).where(
            AttemptLimit.scope == scope, AttemptLimit.last_failure_at < now - forget))
        purged += int(getattr(done, "rowcount", 0) or 0)
    return purged
