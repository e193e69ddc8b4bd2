"""回访 samples on the settable clock: new members in their first month, quarterly and yearly
samples of the insureds — sized by the product, the same people on a re-run, opened once per
period, members without a phone or very old kept in with a note on how to reach them."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from scheduler_world import World, at
from sqlalchemy import select, text

from backoffice.domain import follow_up_sample as fs
from backoffice.domain.errors import ValidationError
from backoffice.domain.identity import make_id_number
from backoffice.scheduler import jobs
from backoffice.services import follow_up_samples, group
from backoffice.store.db import Database
from backoffice.store.models import Party, RosterMember, Task

START = date(2026, 1, 1)
HEADER = "name,gender,birth_date,id_number,phone,address\n"


def _scheme(db: Database, world: World, members: int, *, on: date = START,
            policy_no: str | None = None) -> str:
    world.on(START)
    if policy_no is None:
        policy_no = group.create_group_policy(db, {
            "product_code": "CN-ELDER-ACC", "applicant_name": "汕头市潮南区人民政府",
            "start_date": START.isoformat()}, "admin")["policy_no"]
    world.on(on)
    base = 0 if on == START else 300
    lines = [HEADER] + [_row(base + n) for n in range(members)]
    assert group.import_roster(db, policy_no, lines, "importer-1", on).imported == members
    return str(policy_no)


def _row(n: int) -> str:
    birth = date(1940, 3, 1) if n % 5 == 0 else date(1955, 1, 1)  # every fifth is 85 or more
    name = "陈林黄郑吴许蔡杨"[n % 8] + "一二三四五六七八九十"[n // 8 % 10]
    return (f"{name},男,{birth.isoformat()},{make_id_number('440514', birth, 2 * n + 1)},"
            f"139{n:08d},潮南区峡山街道{n}号\n")


def _samples(db: Database, kind: str) -> list[Task]:
    with db.read() as s:
        return list(s.execute(select(Task).where(
            Task.dedupe_key.like(f"follow_up_sample:{kind}:%")).order_by(Task.id)).scalars())


def _run(db: Database, world: World, job: str, day: date, hour: int = 10) -> dict | None:
    world.on(day, hour)
    spec = jobs.JOBS[job]
    return jobs.run(jobs.Runtime(db, {}), spec, spec.last_fire_time(at(day, hour)))


def test_first_month_samples_the_half_month_just_ended_once(db: Database, world: World) -> None:
    policy_no = _scheme(db, world, 120)
    done = _run(db, world, "follow_up_first_month", date(2026, 1, 16))
    assert done is not None and done["period"] == "2026-01a"
    first = _samples(db, "first_month")
    assert len(first) == 6  # 5 % of the 120 enrolled on the 1st: ceil(6.0), floor 5
    assert all(t.kind == "follow_up" and t.due_on == date(2026, 1, 23) for t in first)
    assert all(t.note.startswith("参保首月回访（2026-01a）") for t in first)
    # the same firing again: the scheduler's guard; the same period from another run: nothing
    assert _run(db, world, "follow_up_first_month", date(2026, 1, 16), 15) is None
    again = follow_up_samples.open_samples(db, "first_month", date(2026, 1, 20))
    assert again["opened"] == 0 and len(_samples(db, "first_month")) == 6
    _scheme(db, world, 40, on=date(2026, 1, 20), policy_no=policy_no)  # the second half
    # on 1 Feb the second half of January: the 40 who came on the 20th, 5 of them (the floor)
    _run(db, world, "follow_up_first_month", date(2026, 2, 1))
    second = _samples(db, "first_month")[6:]
    assert len(second) == 5
    with db.read() as s:
        enrolled = dict(s.execute(select(RosterMember.party_id, RosterMember.enrolled_on)).all())
    assert {enrolled[t.party_id] for t in first} == {START}
    assert {enrolled[t.party_id] for t in second} == {date(2026, 1, 20)}


def test_the_pick_is_the_same_for_a_period_and_differs_between_periods() -> None:
    ids = list(range(1, 1001))
    once = fs.pick(ids, "quarterly:2026Q2:7", 10)
    assert once == fs.pick(list(reversed(ids)), "quarterly:2026Q2:7", 10)
    assert once != fs.pick(ids, "quarterly:2026Q3:7", 10)
    assert fs.SampleRule(fs.Decimal("0.01"), 10, 200).size(50_000) == 200
    assert fs.SampleRule(fs.Decimal("0.01"), 10, 200).size(3) == 3
    assert fs.period_of("first_month", date(2026, 3, 1)) == "2026-02b"
    assert fs.enrolled_between("2026-02b") == (date(2026, 2, 16), date(2026, 2, 28))
    assert fs.period_of("quarterly", date(2026, 10, 1)) == "2026Q4"


@pytest.mark.parametrize("raw", [
    {"weekly": {"rate": "0.1"}}, {"quarterly": {"rate": "1.5"}}, {"yearly": {"rate": "x"}},
    {"yearly": {"rate": "0.1", "min": 9, "max": 3}}, {"yearly": {"rate": "NaN"}},
    {"yearly": {"rate": "0.1", "max": True}}, ["quarterly"]])
def test_malformed_sample_rules_are_refused(raw: object) -> None:
    with pytest.raises(ValidationError):
        fs.parse_samples(raw)


def test_quarterly_and_yearly_samples_keep_the_unreachable_and_say_how(
        db: Database, world: World) -> None:
    _scheme(db, world, 15)
    with db.transaction() as s:  # a member auto-enrolled from the residents' list: no phone
        first = s.execute(select(RosterMember.party_id).order_by(RosterMember.id)).scalar()
        s.execute(text("UPDATE parties SET phone = NULL, phone_hash = NULL WHERE id = :id"),
                  {"id": first})  # plain SQL: a sealed column is not an expression to set
    _run(db, world, "follow_up_quarterly", date(2026, 4, 1))
    quarterly = _samples(db, "quarterly")
    assert len(quarterly) == 10  # 1 % of 15, the floor of 10
    assert all(t.due_on == date(2026, 4, 21) and "2026Q2" in t.note for t in quarterly)
    _run(db, world, "follow_up_yearly", date(2026, 12, 1))
    yearly = _samples(db, "yearly")
    assert len(yearly) == 15  # the floor of 20 is more than there are: all of them
    notes = {t.party_id: t.note for t in yearly}
    assert fs.NO_PHONE_NOTE in notes[first]
    with db.read() as s:
        births = dict(s.execute(select(Party.id, Party.birth_date)).all())
    elderly = {pid for pid in notes if births[pid] == date(1940, 3, 1)}
    assert elderly and all(fs.ELDERLY_NOTE in notes[pid] for pid in elderly)
    assert all(fs.ELDERLY_NOTE not in notes[pid] for pid in set(notes) - elderly)
    # a removed member is not sampled next year; the policy has ended by then anyway
    assert follow_up_samples.open_samples(db, "yearly", date(2026, 12, 2))["opened"] == 0


def test_two_runs_of_one_period_at_once_open_one_sample(db: Database, world: World) -> None:
    _scheme(db, world, 30)
    world.on(date(2026, 4, 1))
    results: list[dict] = []

    def go() -> None:
        results.append(follow_up_samples.open_samples(db, "quarterly", date(2026, 4, 1)))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["opened"] for r in results) == [0, 10]
    assert len(_samples(db, "quarterly")) == 10
