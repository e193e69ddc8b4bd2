"""A platform process's lease as the router sees it (channels.lease): an answer is handed out
at once while the lease is fresh, after a renewal otherwise, and never for a message another
process took over; a back office out of reach for a whole lease does not silence the process.
And the two settings, refused naming themselves when out of range."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backoffice import clock
from backoffice.store.db import Database
from channels.lease import InstanceLease
from xiaobao.channel_port import InProcessBackoffice
from xiaobao.config import Settings

T0 = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)


async def test_an_answer_waits_for_the_lease_and_is_dropped_when_taken(
        channel_db: Database) -> None:
    port = InProcessBackoffice(channel_db)
    now = [1000.0]  # the process's monotonic clock, moved by hand
    me, other = f"a:{uuid.uuid4().hex[:6]}", f"b:{uuid.uuid4().hex[:6]}"
    lease = InstanceLease(port, me, seconds=6, interval=1, clock=lambda: now[0])
    with clock.manual_clock(T0) as db_now:
        await lease.renew()
        await port.renew_lease(other, None, 3600)
        kept = await port.user_message("web", f"web-{uuid.uuid4().hex[:8]}", "一", answerer=me)
        lost = await port.user_message("web", f"web-{uuid.uuid4().hex[:8]}", "二", answerer=me)
        assert kept is not None and lost is not None
        lease.hold(kept.message_id)
        lease.hold(lost.message_id)
        assert await lease.ours(lost.message_id) and lease.renewals == 1  # fresh: no renewal
        now[0] += 5.5  # half a second of the lease left: not enough to hand out an answer
        assert await lease.ours(lost.message_id) and lease.renewals == 2  # renewed first
        # then the process stalls past its lease and another takes its messages over
        now[0] += 10
        db_now.advance(seconds=20)
        await port.settle([kept.message_id], "answered")  # answered before the stall
        assert [u.message_id for u in await port.unanswered(other, takeover=True)] == [
            lost.message_id]
        assert not await lease.ours(lost.message_id)  # renewed: the message is another's
        assert await lease.ours(kept.message_id)  # its own answer was out before
        assert lease.takeovers_noticed == 1 and lease.fresh()
        lease.release(lost.message_id)
        assert lease.taken == set() and lease.held == {kept.message_id}


async def test_a_back_office_out_of_reach_for_a_lease_does_not_silence_the_process(
        tmp_path: Path) -> None:
    gone = Database(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    lease = InstanceLease(InProcessBackoffice(gone), "a:1", seconds=1, interval=0.4)
    began = time.monotonic()
    assert await lease.ours(7)  # at least once rather than never
    assert 0.9 <= time.monotonic() - began < 5 and lease.generation is None
    gone.dispose()


def test_a_lease_shorter_than_two_renewals_is_refused() -> None:
    with pytest.raises(ValueError):
        InstanceLease(Any, "a:1", seconds=2, interval=1)  # type: ignore[arg-type]


def test_the_settings_default_and_refuse_naming_themselves(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("XIAOBAO_INSTANCE_LEASE_SECONDS", raising=False)
    monkeypatch.delenv("XIAOBAO_TAKEOVER_INTERVAL_SECONDS", raising=False)
    settings = Settings.from_env()
    assert (settings.instance_lease, settings.takeover_interval) == (20, 5.0)
    monkeypatch.setenv("XIAOBAO_INSTANCE_LEASE_SECONDS", "8")
    assert Settings.from_env().takeover_interval == 2.0  # a quarter of a short lease
    monkeypatch.setenv("XIAOBAO_TAKEOVER_INTERVAL_SECONDS", "0.5")
    assert Settings.from_env().takeover_interval == 0.5
    for lease, interval, named in [("2", "", "XIAOBAO_INSTANCE_LEASE_SECONDS"),
                                   ("3601", "", "XIAOBAO_INSTANCE_LEASE_SECONDS"),
                                   ("20.5", "", "XIAOBAO_INSTANCE_LEASE_SECONDS"),
                                   ("ten", "", "XIAOBAO_INSTANCE_LEASE_SECONDS"),
                                   ("20", "0", "XIAOBAO_TAKEOVER_INTERVAL_SECONDS"),
                                   ("20", "7", "XIAOBAO_TAKEOVER_INTERVAL_SECONDS"),
                                   ("20", "nan", "XIAOBAO_TAKEOVER_INTERVAL_SECONDS"),
                                   ("20", "-1", "XIAOBAO_TAKEOVER_INTERVAL_SECONDS")]:
        monkeypatch.setenv("XIAOBAO_INSTANCE_LEASE_SECONDS", lease)
        monkeypatch.setenv("XIAOBAO_TAKEOVER_INTERVAL_SECONDS", interval)
        with pytest.raises(SystemExit) as refused:
            Settings.from_env()
        assert named in str(refused.value), (lease, interval, refused.value)
