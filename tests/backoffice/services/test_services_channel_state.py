"""The channels' shared state in the database (backoffice.services.channel_state), on SQLite
and PostgreSQL: first sight wins, also among concurrent claims; expired values count as
absent, are taken over by the next claim and purged by the prune."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import func, select

from backoffice.clock import manual_clock
from backoffice.scheduler import jobs
from backoffice.scheduler.jobs import Runtime
from backoffice.services import channel_state as state
from backoffice.store.db import Database
from backoffice.store.models import ChannelState


def rows(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(ChannelState)).scalar_one())


def test_first_sight_wins_and_reads_come_along(db: Database) -> None:
    state.write(db, [state.Put("call", {"stage": "menu"}, 60)])
    first = state.claim(db, state.Put("event", {"digest": "a"}, 60), ["call", "none"])
    assert first == state.Claimed(True, {"call": {"stage": "menu"}})
    again = state.claim(db, state.Put("event", {"digest": "b"}, 60), ["call"])
    assert again == state.Claimed(False, {"call": {"stage": "menu"},
                                          "event": {"digest": "a"}})  # the holder's value
    state.write(db, [state.Put("event", {"digest": "a", "answer": [1]}, 60)], ["call"])
    assert state.read(db, ["event", "call"]) == {"event": {"digest": "a", "answer": [1]}}


def test_expired_values_are_absent_taken_over_and_purged(db: Database) -> None:
    with manual_clock(datetime(2026, 12, 7, 1, 0, tzinfo=UTC)) as clock:
        state.write(db, [state.Put("call", {"n": 1}, 60), state.Put("long", {"n": 2}, 600)])
        state.claim(db, state.Put("event", {"digest": "a"}, 60))
        clock.advance(seconds=61)
        assert state.read(db, ["call", "event", "long"]) == {"long": {"n": 2}}
        assert state.claim(db, state.Put("event", {"digest": "b"}, 60)).claimed
        assert state.read(db, ["event"]) == {"event": {"digest": "b"}}
        assert state.purge_expired(db) == 1  # the call; the event was taken over
        assert rows(db) == 2
        clock.advance(seconds=600)  # the daily prune takes the rest
        assert jobs.JOBS["job_runs_prune"].body(Runtime(db, {}), clock.at)[
            "channel_state_purged"] == 2
        assert rows(db) == 0


def test_of_concurrent_claims_exactly_one_wins(db: Database) -> None:
    """Each claim in its own thread and connection, started together."""
    start = threading.Barrier(8)

    def claim(n: int) -> bool:
        start.wait()
        return state.claim(db, state.Put("ivr:event:same", {"n": n}, 60)).claimed

    for _ in range(5):
        state.write(db, [], ["ivr:event:same"])
        with ThreadPoolExecutor(8) as pool:
            won = list(pool.map(claim, range(8)))
        assert won.count(True) == 1
