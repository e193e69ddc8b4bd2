"""The channels' shared state in the database (table channel_state): small JSON values by key,
each with an expiry, for platforms without Redis. The IVR keeps its calls in progress here and
the answers of the phone events it has seen, so that another platform process, or the next one
after a restart, goes on where the last one stopped.

Each function is one transaction. A row past its expiry counts as absent everywhere: the
daily prune (`purge_expired`) only reclaims the space.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from backoffice import clock
from backoffice.store.db import Database
from backoffice.store.models import ChannelState

Value = dict[str, Any]
_STATE = ChannelState.__table__


@dataclass(frozen=True, slots=True)
class Put:
    key: str
    value: Value
    ttl: int  # seconds from now


@dataclass(frozen=True, slots=True)
class Claimed:
    """`claimed`: the key was absent (or expired) and now holds the value given; `values`: the
    keys asked for that hold a live value, the claimed key's own when someone else holds it."""

    claimed: bool
    values: Mapping[str, Value]


def _upsert(conn: Connection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(_STATE)


def _read(conn: Connection, keys: Sequence[str], now: datetime) -> dict[str, Value]:
    if not keys:
        return {}
    rows = conn.execute(select(_STATE.c.key, _STATE.c.value).where(
        _STATE.c.key.in_(list(keys)), _STATE.c.expires_at >= now))
    return {str(k): dict(v) for k, v in rows}


def claim(db: Database, put: Put, read: Sequence[str] = ()) -> Claimed:
    """`put` stored unless its key holds a live value (first sight wins, atomically: a
    concurrent claim of the same key waits for this one and then finds it), and the live
    values of `read` in the same transaction."""
    now = clock.utcnow()
    with db.engine.begin() as conn:
        stmt = _upsert(conn).values(key=put.key, value=put.value,
                                    expires_at=now + timedelta(seconds=put.ttl))
        # an expired holder is taken over; a live one is left alone (no row changed)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_STATE.c.key],
            set_={"value": stmt.excluded.value, "expires_at": stmt.excluded.expires_at},
            where=_STATE.c.expires_at < now).returning(_STATE.c.key)
        # a row comes back when inserted or taken over (rowcount is not reliable here)
        claimed = conn.execute(stmt).first() is not None
        keys = [k for k in read if k != put.key] + ([] if claimed else [put.key])
        return Claimed(claimed, _read(conn, keys, now))


def read(db: Database, keys: Sequence[str]) -> dict[str, Value]:
    """The live values of `keys` (absent keys left out)."""
    with db.engine.connect() as conn:
        return _read(conn, keys, clock.utcnow())


def write(db: Database, puts: Sequence[Put], drops: Sequence[str] = ()) -> None:
    """Values stored (replacing what the keys held) and keys dropped, together."""
    now = clock.utcnow()
    with db.engine.begin() as conn:
        for put in sorted(puts, key=lambda p: p.key):  # one lock order for every writer
            stmt = _upsert(conn).values(key=put.key, value=put.value,
                                        expires_at=now + timedelta(seconds=put.ttl))
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[_STATE.c.key],
                set_={"value": stmt.excluded.value, "expires_at": stmt.excluded.expires_at}))
        if drops:
            conn.execute(delete(_STATE).where(_STATE.c.key.in_(sorted(drops))))


def purge_expired(db: Database, before: datetime | None = None) -> int:
    """Rows expired before `before` (now) deleted; how many."""
    with db.engine.begin() as conn:
        result = conn.execute(delete(_STATE).where(
            _STATE.c.expires_at < (before or clock.utcnow())))
        return int(result.rowcount or 0)
