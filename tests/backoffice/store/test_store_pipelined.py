"""Bulk appends in a pipelined block: written together, and a clash is the usual IntegrityError
that rolls the whole transaction back."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backoffice.services.base import append_rows
from backoffice.store.db import Database, pipelined
from backoffice.store.models import AuditEntry, IdempotencyKey


def _key(key: str) -> dict[str, str]:
    return {"scope": "test", "key": key, "request_hash": "h", "resource_id": "r"}


def _count(db: Database, model: type, *where: object) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def test_appends_in_a_pipelined_block_are_written(db: Database) -> None:
    with db.transaction() as s, pipelined(s):
        append_rows(s, IdempotencyKey, [_key("a"), _key("b")])
        append_rows(s, AuditEntry, [{"actor": "t", "entity_type": "x", "entity_id": "1",
                                     "action": "made"}])
    with db.read() as s:
        keys = s.execute(select(IdempotencyKey.key).order_by(IdempotencyKey.key)).scalars()
        assert list(keys) == ["a", "b"]
        entry = s.execute(select(AuditEntry).where(AuditEntry.entity_type == "x")).scalar_one()
        assert entry.at is not None  # the column default applies to bulk rows too


def test_a_clash_in_a_pipelined_block_is_an_integrity_error_and_rolls_back(
    db: Database,
) -> None:
    with db.transaction() as s:
        append_rows(s, IdempotencyKey, [_key("taken")])
    with pytest.raises(IntegrityError), db.transaction() as s, pipelined(s):
        append_rows(s, AuditEntry, [{"actor": "t", "entity_type": "x", "entity_id": "1",
                                     "action": "lost"}])
        append_rows(s, IdempotencyKey, [_key("taken")])
    assert _count(db, AuditEntry, AuditEntry.entity_type == "x") == 0
    assert _count(db, IdempotencyKey) == 1
