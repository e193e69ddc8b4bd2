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

import atexit
import base64
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from backoffice.services.products import install_products
from backoffice.store import fieldseal
from backoffice.store.db import Database
from backoffice.store.migrate import upgrade

pytest_plugins = ["tests.bot_stack", "tests.s3_server"]

os.environ.setdefault("XIAOBAO_CHEAP_PASSWORD_HASHES", "1")
# `xiaobao serve` started by a test seals documents under a demo key in its var/ (the
# processes inherit it); production refuses to start without XIAOBAO_FILES_KEYS
os.environ.setdefault("XIAOBAO_FILES_DEMO_KEY", "1")
# ID, phone and bank card numbers are sealed in the database under these keys, the same in
# this process and in every process a test starts on the same database (test keys only)
os.environ.setdefault("XIAOBAO_FIELDS_KEYS", "test:" + base64.b64encode(
    hashlib.sha256(b"xiaobao test fields key").digest()).decode())
os.environ.setdefault("XIAOBAO_FIELDS_HASH_KEY", base64.b64encode(
    hashlib.sha256(b"xiaobao test hash key").digest()).decode())
fieldseal.install(fieldseal.FieldKeys.parse(os.environ["XIAOBAO_FIELDS_KEYS"],
                                            os.environ["XIAOBAO_FIELDS_HASH_KEY"]))

PG_URL = os.environ.get("XIAOBAO_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _migrated(url: str) -> None:
    database = Database(url)
    upgrade(database)
    install_products(database, "test")
    database.dispose()


# A fresh database per test is a copy of one migrated at the session's first need: running
# thirty migrations for every test cost ~0.15 s on SQLite and ~0.45 s on PostgreSQL, a copy
# ~5 ms and ~55 ms.
_SQLITE_TEMPLATE: list[Path] = []


def _fresh_sqlite(tmp_path: Path) -> Database:
    if not _SQLITE_TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="xiaobao-template-")) / "template.db"
        _migrated(f"sqlite:///{template}")  # the last connection's close folds the WAL in
        atexit.register(shutil.rmtree, template.parent, True)
        _SQLITE_TEMPLATE.append(template)
    path = tmp_path / "test.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_SQLITE_TEMPLATE[0], path)
    return Database(f"sqlite:///{path}")


class _PostgresTemplate:
    """PG_URL's database recreated per test from a migrated template beside it (same server,
    name + "_template"), so the URL every test and subprocess uses stays the same."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.name = self.url.database or "postgres"
        self.template = f"{self.name}_template"
        admin = self.url.set(database="postgres" if self.name != "postgres" else "template1")
        self.admin = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.built = False

    def _run(self, *statements: str) -> None:
        with self.admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))

    def fresh(self) -> Database:
        if not self.built:
            self._run(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)',
                      f'CREATE DATABASE "{self.template}"')
            _migrated(self.url.set(database=self.template).render_as_string(hide_password=False))
            atexit.register(self._run, f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
            self.built = True
        self._run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)',
                  f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"')
        return Database(self.url.render_as_string(hide_password=False))


_POSTGRES: list[_PostgresTemplate] = []


def fresh_database(backend: str, tmp_path: Path) -> Database:
    if backend == "sqlite":
        return _fresh_sqlite(tmp_path)
    assert PG_URL
    if not _POSTGRES:
        _POSTGRES.append(_PostgresTemplate(PG_URL))
    return _POSTGRES[0].fresh()


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
