"""The scheduler's leadership, in one process: one holder at a time, free again once released
(or, for PostgreSQL, once its session ends), and the kind chosen from the database URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from backoffice.scheduler.leader import (
    AdvisoryLeadership,
    FileLeadership,
    Leadership,
    leadership_for,
)
from backoffice.store.db import Database


def _two(db: Database, tmp_path: Path) -> tuple[Leadership, Leadership]:
    return (leadership_for(db.url, tmp_path / "var"), leadership_for(db.url, tmp_path / "var"))


def test_one_holder_at_a_time(db: Database, tmp_path: Path) -> None:
    first, second = _two(db, tmp_path)
    try:
        assert first.acquire() and first.held()
        assert first.acquire()  # asking again while holding: still held, nothing new
        assert not second.acquire() and not second.held()
        first.release()
        assert not first.held()
        assert second.acquire() and second.held()
        assert not first.acquire()
    finally:
        first.release()
        second.release()


def test_a_lost_session_is_a_lost_leadership(tmp_path: Path) -> None:
    from tests.conftest import PG_URL

    if not PG_URL:
        pytest.skip("PostgreSQL only: XIAOBAO_TEST_POSTGRES_URL is not set")
    first, second = AdvisoryLeadership(PG_URL), AdvisoryLeadership(PG_URL)
    admin = Database(PG_URL)
    try:
        assert first.acquire()
        with admin.engine.begin() as conn:  # the server ends the holder's session
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE application_name = 'xiaobao-scheduler' "
                              "AND datname = current_database() AND pid <> pg_backend_pid()"))
        assert not first.held()  # it notices, and stops counting itself the leader
        assert second.acquire()
    finally:
        first.release()
        second.release()
        admin.dispose()


@pytest.mark.parametrize(("url", "lock"), [
    ("sqlite:///{tmp}/x.db", "{tmp}/x.db.scheduler.lock"),
    ("sqlite://", "{tmp}/var/scheduler.lock"),
    ("sqlite:///:memory:", "{tmp}/var/scheduler.lock"),
])
def test_sqlite_locks_a_file_beside_the_database(url: str, lock: str, tmp_path: Path) -> None:
    chosen = leadership_for(url.format(tmp=tmp_path), tmp_path / "var")
    assert isinstance(chosen, FileLeadership)
    assert chosen.path == Path(lock.format(tmp=tmp_path))


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="mysql"):
        leadership_for("mysql://u@h/db", Path("var"))
