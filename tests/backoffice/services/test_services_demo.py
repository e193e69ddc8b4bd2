"""Demo seed: deterministic for a seed, idempotent, and its samples resolve to policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from backoffice.services import demo, lookup
from backoffice.store.db import Database
from backoffice.store.migrate import upgrade
from backoffice.store.models import (
    Party,
    Payment,
    PolicyRow,
    PremiumInstalment,
    Resident,
    RosterMember,
    ServiceOutlet,
)

TABLES = (Party, PolicyRow, RosterMember, Resident, ServiceOutlet, Payment, PremiumInstalment)


def _people(db: Database) -> list[tuple[str, str, str]]:
    with db.read() as s:
        return sorted(tuple(r) for r in s.execute(  # type: ignore[misc]
            select(Party.id_number, Party.name, Party.gender)).all())  # sealed: sorted here


def _counts(db: Database) -> dict[str, int]:
    with db.read() as s:
        return {m.__tablename__: int(s.execute(select(func.count()).select_from(m)).scalar_one())
                for m in TABLES}


def _policies(db: Database) -> list[tuple[Any, ...]]:
    with db.read() as s:
        return [tuple(r) for r in s.execute(
            select(PolicyRow.policy_no, PolicyRow.product_code, PolicyRow.status,
                   PolicyRow.annual_premium_fen).order_by(PolicyRow.application_no)).all()]


def test_same_seed_gives_the_same_data_on_two_fresh_databases(
    db: Database, tmp_path: Path
) -> None:
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        upgrade(other)
        first = demo.seed(db, members=300, seed_value=5)
        second = demo.seed(other, members=300, seed_value=5)
        assert first == second
        assert first.as_dict() == second.as_dict()
        people = _people(db)
        assert people == _people(other)
        assert _policies(db) == _policies(other)
        assert _counts(db) == _counts(other)
    finally:
        other.dispose()

    result = first.as_dict()
    assert set(result) == {"group_policy_no", "product_code", "members", "sample_id_numbers"}
    assert result["product_code"] == "CN-ELDER-ACC"
    assert result["members"] == 300
    assert len(set(result["sample_id_numbers"])) == len(result["sample_id_numbers"]) >= 1
    assert len(first.individual_policies) >= 1
    assert len({p[0] for p in people}) == len(people) >= 300
    with db.read() as s:
        members = s.execute(
            select(func.count()).select_from(RosterMember).join(
                PolicyRow, PolicyRow.id == RosterMember.policy_id)
            .where(PolicyRow.policy_no == first.group_policy_no)).scalar_one()
        premium = s.execute(select(PolicyRow.annual_premium_fen).where(
            PolicyRow.policy_no == first.group_policy_no)).scalar_one()
    assert members == 300
    assert premium == 300 * 1000  # 10 元 a head


def test_another_seed_gives_other_people(tmp_path: Path) -> None:
    a, b = (Database(f"sqlite:///{tmp_path / f'{n}.db'}") for n in ("a", "b"))
    try:
        upgrade(a)
        upgrade(b)
        ra, rb = demo.seed(a, members=50, seed_value=1), demo.seed(b, members=50, seed_value=2)
        assert ra.sample_id_numbers != rb.sample_id_numbers
        assert _people(a) != _people(b)
    finally:
        a.dispose()
        b.dispose()


def test_reseeding_the_same_database_adds_nothing(db: Database) -> None:
    first = demo.seed(db, members=300, seed_value=5)
    counts, people, policies = _counts(db), _people(db), _policies(db)
    again = demo.seed(db, members=300, seed_value=5)
    assert _counts(db) == counts
    assert _people(db) == people
    assert _policies(db) == policies
    assert again.as_dict() == first.as_dict()
    assert not demo.is_empty(db)


def test_sample_id_numbers_resolve_to_policies(db: Database) -> None:
    result = demo.seed(db, members=300, seed_value=5)
    seen_group = seen_individual = False
    for idn in result.sample_id_numbers:
        items = lookup.policies_for_id_number(db, {"id_number": idn}, "agent-1")
        assert items, idn
        for item in items:
            assert item["insured"]["id_number"] == idn[:6] + "********" + idn[-4:]
        seen_group |= any(i["policy_no"] == result.group_policy_no for i in items)
        seen_individual |= any(i["policy_no"] in result.individual_policies for i in items)
    assert seen_group and seen_individual
    for no in result.individual_policies:
        assert any(p[0] == no and p[2] == "in_force" for p in _policies(db))
