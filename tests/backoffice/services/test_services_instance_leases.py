"""Platform processes' leases on the messages they answer (platform_instances): a process
whose lease runs out has its pending messages taken over by another, exactly once, even when
several take over at the same moment or the process renews late at that very moment; a
process that renews in time keeps them; a restart under the same name does not claim again
what was taken over."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backoffice import clock
from backoffice.domain.errors import ValidationError
from backoffice.services import conversations as conv
from backoffice.store.db import Database
from backoffice.store.models import ConversationMessage, PlatformInstance

T0 = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)


def store(db: Database, who: str, n: int, users: int = 3) -> list[int]:
    """`n` messages of `users` web users, pending on the process `who`."""
    ids = []
    for i in range(n):
        turn = conv.user_message(db, "web", f"web-lease-{i % users}", f"第 {i} 条",
                                 answerer=who)
        assert turn.message_id is not None
        ids.append(turn.message_id)
    return ids


def answerers(db: Database, ids: list[int]) -> dict[int, str | None]:
    with db.read() as s:
        return dict(s.execute(select(ConversationMessage.id, ConversationMessage.answerer)
                              .where(ConversationMessage.id.in_(ids))).all())


def test_a_live_lease_keeps_the_messages_and_a_lapsed_one_gives_them_over(db: Database) -> None:
    with clock.manual_clock(T0) as now:
        a = conv.renew_lease(db, "a:1", None, 20)
        conv.renew_lease(db, "b:1", None, 20)
        ids = store(db, "a:1", 5)
        now.advance(seconds=19)
        assert conv.unanswered(db, "b:1", takeover=True) == []  # a's lease still runs
        assert conv.renew_lease(db, "a:1", a.generation, 20, ids) == conv.Lease(a.generation)
        now.advance(seconds=19)
        assert conv.unanswered(db, "b:1", takeover=True) == []  # renewed in time: still a's
        now.advance(seconds=2)  # 21 s without a renewal
        taken = conv.unanswered(db, "b:1", takeover=True)
        assert [u.message_id for u in taken] == ids  # in order
        assert conv.unanswered(db, "b:1", takeover=True) == []  # once
        assert set(answerers(db, ids).values()) == {"b:1"}
        # a, only slow, renews late: its generation moved and it hears what it lost
        late = conv.renew_lease(db, "a:1", a.generation, 20, ids)
        assert late.generation == a.generation + 1 and late.taken == tuple(ids)
        # from then on a's lease holds again under the new generation
        assert conv.renew_lease(db, "a:1", late.generation, 20) == conv.Lease(late.generation)


def test_the_takeover_leaves_its_own_turns_in_progress_and_the_agents_theirs(
        db: Database) -> None:
    with clock.manual_clock(T0) as now:
        conv.renew_lease(db, "b:1", None, 20)
        mine = store(db, "b:1", 2)
        conv.renew_lease(db, "a:1", None, 20)
        theirs = store(db, "a:1", 2, users=1)
        now.advance(seconds=60)
        conv.renew_lease(db, "b:1", 1, 20)
        # b's own pending messages are its turns in progress: never claimed again
        assert [u.message_id for u in conv.unanswered(db, "b:1", takeover=True)] == theirs
        assert answerers(db, mine) == {i: "b:1" for i in mine}


def test_a_restart_under_the_same_name_does_not_claim_what_was_taken_over(
        db: Database) -> None:
    with clock.manual_clock(T0) as now:
        conv.renew_lease(db, "a:1", None, 20)
        ids = store(db, "a:1", 4)
        conv.renew_lease(db, "b:1", None, 20)
        now.advance(seconds=30)
        conv.renew_lease(db, "b:1", 1, 20)
        assert len(conv.unanswered(db, "b:1", takeover=True)) == 4
        # a comes back with the same name: it registers, then claims its own — none left
        conv.renew_lease(db, "a:1", None, 20)
        assert conv.unanswered(db, "a:1") == []
        # and what it stores now is its own again, not another's to take
        later = store(db, "a:1", 1)
        now.advance(seconds=10)
        assert conv.unanswered(db, "b:1", takeover=True) == []
        assert answerers(db, ids + later) == {**{i: "b:1" for i in ids}, later[0]: "a:1"}


def test_a_process_gone_for_a_day_with_nothing_left_is_forgotten(db: Database) -> None:
    with clock.manual_clock(T0) as now:
        for name in ("gone:1", "gone:2", "b:1"):
            conv.renew_lease(db, name, None, 20)
        store(db, "gone:2", 1)
        now.advance(hours=25)
        conv.renew_lease(db, "b:1", 1, 20)
        assert len(conv.unanswered(db, "b:1", takeover=True)) == 1  # gone:2's, taken over
        with db.read() as s:
            assert set(s.execute(select(PlatformInstance.name)).scalars()) == {"gone:2", "b:1"}
        conv.unanswered(db, "b:1", takeover=True)  # nothing of gone:2 pending any more
        with db.read() as s:
            assert set(s.execute(select(PlatformInstance.name)).scalars()) == {"b:1"}
        # a process forgotten while it was only stalled registers again at its renewal
        assert conv.renew_lease(db, "gone:1", 1, 20) == conv.Lease(1)
        with db.read() as s:
            assert s.get(PlatformInstance, "gone:1") is not None


def test_a_process_of_an_earlier_version_keeps_its_ten_minute_lease(db: Database) -> None:
    with clock.manual_clock(T0) as now:
        conv.renew_lease(db, "b:1", None, 20)
        ids = store(db, "old:1", 2)  # never renews a lease: the message's own lease counts
        now.advance(minutes=9)
        conv.renew_lease(db, "b:1", 1, 20)
        assert conv.unanswered(db, "b:1", takeover=True) == []
        now.advance(minutes=2)
        conv.renew_lease(db, "b:1", 1, 20)
        assert [u.message_id for u in conv.unanswered(db, "b:1", takeover=True)] == ids


def test_several_survivors_taking_over_together_claim_each_message_once(db: Database) -> None:
    dead = f"dead:{uuid.uuid4().hex[:6]}"
    conv.renew_lease(db, dead, None, 1)
    ids = store(db, dead, 120, users=12)
    with db.transaction() as s:  # its lease ran out a minute ago
        s.get(PlatformInstance, dead).lease_until = clock.utcnow() - timedelta(minutes=1)
    survivors = [f"survivor:{i}" for i in range(4)]
    for name in survivors:
        conv.renew_lease(db, name, None, 60)
    got: dict[str, list[int]] = {}
    start = threading.Barrier(len(survivors))

    def take(name: str) -> None:
        start.wait()
        claimed: list[int] = []
        while batch := conv.unanswered(db, name, claimed[-1] if claimed else 0, limit=7,
                                       takeover=True):
            claimed.extend(u.message_id for u in batch)
        got[name] = claimed

    threads = [threading.Thread(target=take, args=(n,)) for n in survivors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for claimed in got.values() for i in claimed]
    assert sorted(everything) == ids  # each message once, none lost
    owner = answerers(db, ids)
    assert all(owner[i] == name for name, claimed in got.items() for i in claimed)


def _race(db: Database, owner: str, survivor: str) -> None:
    lease = conv.renew_lease(db, owner, None, 1)
    ids = store(db, owner, 6, users=2)
    with db.transaction() as s:
        s.get(PlatformInstance, owner).lease_until = clock.utcnow() - timedelta(seconds=1)
    out: dict[str, object] = {}
    start = threading.Barrier(2)

    def renew() -> None:
        start.wait()
        out["lease"] = conv.renew_lease(db, owner, lease.generation, 30, ids)

    def take() -> None:
        start.wait()
        out["taken"] = [u.message_id for u in conv.unanswered(db, survivor, takeover=True)]

    threads = [threading.Thread(target=renew), threading.Thread(target=take)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    renewed, taken = out["lease"], out["taken"]
    assert isinstance(renewed, conv.Lease) and isinstance(taken, list)
    if renewed.generation == lease.generation:  # the renewal came first
        assert taken == [] and set(answerers(db, ids).values()) == {owner}
    else:  # the takeover came first: the owner hears of each message it lost
        assert sorted(taken) == ids and list(renewed.taken) == ids
    conv.settle(db, ids, "answered")


def test_a_late_renewal_racing_a_takeover_never_leaves_a_message_with_two_owners(
        db: Database) -> None:
    """At the moment a lease lapses, the slow owner renews while a survivor takes over: either
    the renewal wins (nothing is taken) or the takeover does (the renewal names every message
    taken). The owner never goes on believing it holds a message another process claimed."""
    survivor = "survivor:race"
    conv.renew_lease(db, survivor, None, 3600)
    for r in range(12):
        _race(db, f"slow:{r}", survivor)


def test_bad_lease_lengths_are_refused(db: Database) -> None:
    for seconds in (0, 0.5, 3601, float("nan")):
        with pytest.raises(ValidationError) as refused:
            conv.renew_lease(db, "a:1", None, seconds)
        assert refused.value.field == "seconds"
    with db.read() as s:
        assert s.execute(select(PlatformInstance)).first() is None
