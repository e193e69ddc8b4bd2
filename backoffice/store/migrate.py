"""Run Alembic migrations programmatically (`xiaobao db upgrade`, tests, `xiaobao up`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import inspect

from backoffice.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    _run(db, command.upgrade, revision)


def downgrade(db: Database, revision: str) -> None:
    _run(db, command.downgrade, revision)


def _run(db: Database, step: Any, revision: str) -> None:
    """One transaction. On SQLite the foreign keys are off meanwhile (a migration that
    rebuilds a table others refer to copies it, drops it and renames the copy: SQLite's
    own procedure) and checked before the commit."""
    with db.engine.connect() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside a transaction
            conn.commit()
        try:
            with conn.begin():
                cfg = alembic_config(db.url)
                cfg.attributes["connection"] = conn
                step(cfg, revision)
                if db.is_sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise RuntimeError(f"migration left a broken reference: {tuple(broken)}")
        finally:
            if db.is_sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def current_revision(db: Database) -> str | None:
    if not inspect(db.engine).has_table("alembic_version"):
        return None
    with db.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def expected_revisions(url: str) -> tuple[str, ...]:
    """The schema revision(s) this code runs on: the migrations' head(s)."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config(url)).get_heads()))


def known_revision(url: str, revision: str) -> bool:
    """Whether `revision` is one of this code's migrations (else a newer version made it)."""
    try:
        return ScriptDirectory.from_config(alembic_config(url)).get_revision(revision) \
            is not None
    except (CommandError, ResolutionError):
        return False


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: str | None
    expected: tuple[str, ...]
    known: bool

    @property
    def current_ok(self) -> bool:
        return self.current in self.expected


def schema_state(db: Database) -> SchemaState:
    """Where the database's schema stands against this code's migrations (reads only)."""
    current = current_revision(db)
    return SchemaState(current, expected_revisions(db.url),
                       current is not None and known_revision(db.url, current))
