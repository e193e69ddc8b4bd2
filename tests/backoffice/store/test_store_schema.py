"""The store: migrations, ORM ↔ schema agreement, column types and constraints."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import BigInteger, Integer, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError

from backoffice.services.group import create_group_policy
from backoffice.store.db import Database
from backoffice.store.migrate import MIGRATIONS, alembic_config, current_revision, upgrade
from backoffice.store.models import (
    AuditEntry,
    Base,
    Party,
    Payment,
    PolicyRow,
    RosterMember,
)


def _scheme(applicant_name: str) -> dict[str, str]:
    return {"product_code": "CN-ELDER-ACC", "applicant_name": applicant_name,
            "start_date": "2026-01-01"}


def _head(db: Database) -> str:
    head = ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()
    assert head is not None
    return head


def test_migrations_reach_head(db: Database) -> None:
    assert current_revision(db) == _head(db)
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_upgrade_is_idempotent(db: Database) -> None:
    upgrade(db)
    assert current_revision(db) == _head(db)


def test_fresh_sqlite_file_has_no_revision_until_upgraded(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'nested' / 'fresh.db'}")
    try:
        assert current_revision(db) is None
        upgrade(db)
        assert current_revision(db) == _head(db)
        assert (tmp_path / "nested" / "fresh.db").is_file()
    finally:
        db.dispose()


def test_migrations_are_a_single_line(db: Database) -> None:
    script = ScriptDirectory(str(MIGRATIONS))
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1


def test_orm_metadata_matches_the_migrated_schema(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_money_columns_are_integer_fen(db: Database) -> None:
    money = [(t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns
             if c.name.endswith("_fen")]
    assert ("policies", "annual_premium_fen") in money and ("payments", "amount_fen") in money
    assert len(money) >= 6
    insp = inspect(db.engine)
    for table, column in money:
        assert isinstance(Base.metadata.tables[table].c[column].type, BigInteger), column
        reflected = {c["name"]: c["type"] for c in insp.get_columns(table)}
        assert isinstance(reflected[column], Integer), (table, column, reflected[column])
    # nothing that looks like money is stored any other way
    for t in Base.metadata.sorted_tables:
        for c in t.columns:
            if any(w in c.name for w in ("amount", "premium_", "sum_insured", "refund")) and (
                    c.name != "premium_lines"):
                assert c.name.endswith("_fen") and isinstance(c.type, Integer), (t.name, c.name)


def test_money_round_trips_as_exact_integers(db: Database) -> None:
    no = create_group_policy(db, _scheme("甲镇"), "t")["policy_no"]
    big = 123_456_789_012_345  # well beyond 32 bits, to the fen
    with db.transaction() as s:
        pid = s.execute(select(PolicyRow.id).where(PolicyRow.policy_no == no)).scalar_one()
        s.add(Payment(policy_id=pid, kind="premium", amount_fen=big, method="cash"))
        s.add(Payment(policy_id=pid, kind="refund", amount_fen=-1, method="cash"))
    with db.read() as s:
        amounts = s.execute(select(Payment.amount_fen).order_by(Payment.id)).scalars().all()
    assert amounts == [big, -1]
    assert all(type(a) is int for a in amounts)


# ---- UTC timestamps ---------------------------------------------------------------------------

def _entry(at: datetime) -> AuditEntry:
    return AuditEntry(at=at, actor="t", entity_type="x", entity_id="1", action="test")


def test_naive_datetime_is_refused(db: Database) -> None:
    with pytest.raises(StatementError) as exc, db.transaction() as s:
        s.add(_entry(datetime(2026, 5, 1, 12, 0)))
        s.flush()
    assert isinstance(exc.value.orig, ValueError)
    with db.read() as s:
        assert s.execute(select(AuditEntry).where(AuditEntry.entity_type == "x")).first() is None


def test_aware_datetimes_come_back_in_utc(db: Database) -> None:
    beijing = timezone(timedelta(hours=8))
    stamp = datetime(2026, 5, 1, 8, 30, 15, 123456, tzinfo=beijing)
    with db.transaction() as s:
        s.add(_entry(stamp))
    with db.read() as s:
        at = s.execute(select(AuditEntry.at).where(AuditEntry.entity_id == "1")).scalar_one()
    assert at.utcoffset() == timedelta(0)
    assert at == stamp
    assert (at.year, at.month, at.day, at.hour, at.minute) == (2026, 5, 1, 0, 30)
    # the default (utcnow) is aware too
    with db.transaction() as s:
        s.add(AuditEntry(actor="t", entity_type="x", entity_id="2", action="test"))
    with db.read() as s:
        latest = s.execute(select(AuditEntry.at).where(AuditEntry.entity_id == "2")).scalar_one()
    assert latest.tzinfo is not None and latest.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - latest) < timedelta(minutes=5)


def test_utc_ordering_is_by_instant(db: Database) -> None:
    early = datetime(2026, 5, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))  # 01:00 UTC
    late = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
    with db.transaction() as s:
        s.add(_entry(late))
        s.add(_entry(early))
    with db.read() as s:
        ordered = s.execute(select(AuditEntry.at).where(AuditEntry.entity_type == "x")
                            .order_by(AuditEntry.at)).scalars().all()
    assert ordered == [early, late]


# ---- constraints ---------------------------------------------------------------------------

def _party(id_number: str, name: str = "张三") -> Party:
    return Party(name=name, gender="male", birth_date=date(1950, 1, 1), id_number=id_number)


def test_id_number_is_unique(db: Database) -> None:
    with db.transaction() as s:
        s.add(_party("44051419500101001X"))
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(_party("44051419500101001X", "李四"))
    with db.read() as s:
        assert s.execute(select(Party.name)).scalars().all() == ["张三"]


def test_roster_member_is_unique_per_policy(db: Database) -> None:
    first = create_group_policy(db, _scheme("甲镇"), "t")["policy_no"]
    second = create_group_policy(db, _scheme("乙镇"), "t")["policy_no"]
    with db.transaction() as s:
        party = _party("44051419500101001X")
        s.add(party)
        s.flush()
        ids = dict(s.execute(select(PolicyRow.policy_no, PolicyRow.id)).all())
        pid = party.id
        s.add(RosterMember(policy_id=ids[first], party_id=pid, enrolled_on=date(2026, 1, 1),
                           source="test"))
    # the same person may be on another policy…
    with db.transaction() as s:
        s.add(RosterMember(policy_id=ids[second], party_id=pid, enrolled_on=date(2026, 1, 1),
                           source="test"))
    # …but not twice on one
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(RosterMember(policy_id=ids[first], party_id=pid, enrolled_on=date(2026, 2, 1),
                           source="test"))
    with db.read() as s:
        assert len(s.execute(select(RosterMember.id)).all()) == 2


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(RosterMember(policy_id=999, party_id=999, enrolled_on=date(2026, 1, 1),
                           source="test"))
