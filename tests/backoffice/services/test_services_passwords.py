"""Staff passwords: argon2id with argon2's recommended parameters; an old scrypt hash still
signs in, once, and is replaced by argon2id on the way."""

from __future__ import annotations

import base64
import hashlib
import secrets

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy import select

from backoffice.services import staff
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, StaffRow

PASSWORD = "correct-horse-2026"


def scrypt_hash(password: str) -> str:
    """A hash as the platform wrote them before argon2id (scrypt, n=2^14, r=8, p=1)."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=64)
    b64 = base64.b64encode
    return f"scrypt$16384$8$1${b64(salt).decode()}${b64(key).decode()}"


def stored_hash(db: Database, username: str) -> str:
    with db.read() as s:
        return s.execute(select(StaffRow.password_hash)
                         .where(StaffRow.username == username)).scalar_one()


def with_old_hash(db: Database, username: str) -> None:
    staff.add(db, username, PASSWORD, "complaint_handler")
    with db.transaction() as s:
        row = s.execute(select(StaffRow).where(StaffRow.username == username)).scalar_one()
        row.password_hash = scrypt_hash(PASSWORD)


def test_the_default_parameters_are_argon2s_recommended_ones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XIAOBAO_CHEAP_PASSWORD_HASHES", raising=False)
    staff._hasher.cache_clear()
    try:
        hasher = staff._hasher()
        assert hasher.type is RFC_9106_LOW_MEMORY.type
        assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
            RFC_9106_LOW_MEMORY.time_cost, RFC_9106_LOW_MEMORY.memory_cost,
            RFC_9106_LOW_MEMORY.parallelism)
        assert (hasher.salt_len, hasher.hash_len) == (16, 32)
        assert staff.hash_password(PASSWORD).startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    finally:
        staff._hasher.cache_clear()


def test_new_hashes_are_argon2id(sqlite_db: Database) -> None:
    staff.add(sqlite_db, "new.li", PASSWORD, "complaint_handler")
    stored = stored_hash(sqlite_db, "new.li")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert not staff.needs_rehash(stored)


@pytest.mark.parametrize("door", ["desk", "api"])
def test_an_old_scrypt_hash_signs_in_and_is_replaced(sqlite_db: Database, door: str) -> None:
    with_old_hash(sqlite_db, "old.zhao")
    if door == "desk":
        assert staff.login(sqlite_db, "old.zhao", PASSWORD) is not None
    else:
        assert staff.issue_api_token(sqlite_db, "old.zhao", PASSWORD) is not None
    stored = stored_hash(sqlite_db, "old.zhao")
    assert stored.startswith("$argon2id$") and not staff.needs_rehash(stored)
    assert staff.login(sqlite_db, "old.zhao", PASSWORD) is not None  # the new hash works
    with sqlite_db.read() as s:
        actions = s.execute(select(AuditEntry.action, AuditEntry.actor)
                            .where(AuditEntry.entity_id == "old.zhao")).all()
    assert ("rehash_password", "old.zhao") in actions


def test_a_wrong_password_fails_against_either_format(sqlite_db: Database) -> None:
    with_old_hash(sqlite_db, "old.qian")
    old = stored_hash(sqlite_db, "old.qian")
    assert staff.login(sqlite_db, "old.qian", PASSWORD + "x") is None
    assert staff.issue_api_token(sqlite_db, "old.qian", "wrong-password-1") is None
    assert stored_hash(sqlite_db, "old.qian") == old  # a failure rewrites nothing
    staff.add(sqlite_db, "new.sun", PASSWORD, "complaint_handler")
    assert staff.login(sqlite_db, "new.sun", PASSWORD.upper()) is None
    assert staff.issue_api_token(sqlite_db, "new.sun", PASSWORD[:-1]) is None
    assert not staff.verify_password(PASSWORD, scrypt_hash(PASSWORD + "!"))
    assert not staff.verify_password(PASSWORD, "scrypt$16384$8$1$bad$bad")
    assert not staff.verify_password(PASSWORD, "$argon2id$v=19$m=8,t=1,p=1$garbage")


def test_a_hash_with_weaker_parameters_is_upgraded(sqlite_db: Database) -> None:
    staff.add(sqlite_db, "weak.zhou", PASSWORD, "complaint_handler")
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    with sqlite_db.transaction() as s:
        row = s.execute(select(StaffRow).where(StaffRow.username == "weak.zhou")).scalar_one()
        row.password_hash = weak
    assert staff.needs_rehash(weak)
    assert staff.login(sqlite_db, "weak.zhou", PASSWORD) is not None
    assert stored_hash(sqlite_db, "weak.zhou") != weak
