"""Shared fixtures: a migrated database on SQLite, and on PostgreSQL when one is configured.

Tests that take `db` run once per backend: `XIAOBAO_TEST_POSTGRES_URL` (set by .ci/run when a
server answers on localhost:5432) adds the PostgreSQL run. `bot_stack` (tests/bot_stack.py) is
the project's own bot on a real stack, started once per session for whoever needs it.

Staff passwords are hashed with argon2's cheapest parameters here
(XIAOBAO_CHEAP_PASSWORD_HASHES=1, also for the processes the tests start): the suite creates
many staff, and the recommended parameters cost about 0.2 s a hash. The test of those
parameters turns it off.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from backoffice.services.products import install_products
from backoffice.store.db import Database
from backoffice.store.migrate import upgrade

pytest_plugins = ["tests.bot_stack", "tests.s3_server"]

os.environ.setdefault("XIAOBAO_CHEAP_PASSWORD_HASHES", "1")
# `xiaobao serve` started by a test seals documents under a demo key in its var/ (the
# processes inherit it); production refuses to start without XIAOBAO_FILES_KEYS
os.environ.setdefault("XIAOBAO_FILES_DEMO_KEY", "1")

PG_URL = os.environ.get("XIAOBAO_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def fresh_database(backend: str, tmp_path: Path) -> Database:
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        assert PG_URL
        db = Database(PG_URL)
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(db)
    install_products(db, "test")
    return db


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = fresh_database(request.param, tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = fresh_database("sqlite", tmp_path)
    yield database
    database.dispose()
