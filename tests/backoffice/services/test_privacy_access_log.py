"""The access log (个人信息访问记录) in the store: append-only by the database itself on both
backends, expired after 3 years by the scheduler's job, and read by the unusual-access report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backoffice.clock import manual_clock
from backoffice.domain.errors import ValidationError
from backoffice.domain.staff import Actor
from backoffice.scheduler.jobs import JOBS, Runtime, run
from backoffice.services import privacy_access
from backoffice.store.db import Database
from backoffice.store.models import AccessLogEntry

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
SUPERVISOR = Actor("supervisor.li", "claims_supervisor")


def _count(db: Database) -> int:
    with db.read() as s:
        return s.query(AccessLogEntry).count()


def test_the_database_refuses_to_change_or_delete_an_entry(db: Database) -> None:
    privacy_access.record_shown(db, "adjuster.chen", "claims_adjuster", "claim", "C-1", "desk",
                                "/desk/claims/{claim_no}")
    for statement in ("UPDATE access_log SET staff = 'someone.else'",
                      "UPDATE access_log SET at = '2000-01-01 00:00:00'",
                      "DELETE FROM access_log"):
        with pytest.raises(DBAPIError), db.engine.begin() as conn:
            conn.execute(text(statement))
    with db.read() as s:
        (entry,) = s.query(AccessLogEntry).all()
    assert (entry.staff, entry.record_id) == ("adjuster.chen", "C-1")
    if not db.is_sqlite:
        with pytest.raises(DBAPIError), db.engine.begin() as conn:
            conn.execute(text("TRUNCATE access_log"))
    assert _count(db) == 1


def test_entries_older_than_3_years_expire_by_the_job_and_no_younger(db: Database) -> None:
    real_now = datetime.now(UTC)
    with manual_clock(real_now - timedelta(days=3 * 365 + 5)):
        privacy_access.record_shown(db, "adjuster.chen", "claims_adjuster", "claim", "C-old",
                                    "api", "getClaim")
    with manual_clock(real_now - timedelta(days=3 * 365 - 5)):
        privacy_access.record_shown(db, "adjuster.chen", "claims_adjuster", "claim", "C-young",
                                    "api", "getClaim")
    spec = JOBS["privacy_access_log_expiry"]
    assert run(Runtime(db, {}), spec, real_now) == {"expired": 1}
    with db.read() as s:
        assert [e.record_id for e in s.query(AccessLogEntry)] == ["C-young"]
    # the database itself keeps the young one, whatever a job's clock says
    with pytest.raises(DBAPIError), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM access_log WHERE record_id = 'C-young'"))


def _opened(db: Database, staff: str, kind: str, ids: list[str]) -> None:
    for record_id in ids:
        privacy_access.record_shown(db, staff, "claims_adjuster", kind, record_id, "desk",
                                    "/desk/claims/{claim_no}")


def test_the_report_flags_over_threshold_and_no_work_and_reading_is_logged(
        sqlite_db: Database) -> None:
    db = sqlite_db
    with manual_clock(NOW):
        # unknown claims and parties are nobody's work; `has_work` is tested through the doors
        _opened(db, "adjuster.zhou", "policy", [f"P{i}" for i in range(31)])  # policies: work
        _opened(db, "adjuster.chen", "policy", [f"P{i}" for i in range(5)])
        _opened(db, "handler.wang", "party", ["110101198005060123"])  # no such party: no work
        report = privacy_access.unusual(db, {}, SUPERVISOR)
    by_staff = {i["staff"]: i for i in report["items"]}
    assert report["threshold"] == 30 and report["to"] == "2026-12-07"
    assert by_staff["adjuster.zhou"]["flags"] == ["over_threshold"]
    assert by_staff["adjuster.zhou"]["records"] == 31
    assert by_staff["handler.wang"]["flags"] == ["no_work"]
    assert by_staff["handler.wang"]["without_work_records"] == ["party:110101********0123"]
    assert by_staff["adjuster.chen"]["flags"] == []
    assert [i["staff"] for i in report["items"]][-1] == "adjuster.chen"  # flagged first
    with manual_clock(NOW):
        lower = privacy_access.unusual(db, {"threshold": "4"}, SUPERVISOR)
        assert {i["staff"]: i["flags"] for i in lower["items"]}["adjuster.chen"] == [
            "over_threshold"]
        found = privacy_access.entries(db, {"staff": "supervisor.li"}, SUPERVISOR)
    # both readings of the report are in the log, and this reading too (newest first)
    assert [e["record_kind"] for e in found["items"]] == ["access_log", "access_log"]
    assert found["items"][0]["purpose"] == "getUnusualAccess"


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2026-12-08", "to": "2026-12-01"}, "from"),
    ({"from": "2026-01-01", "to": "2026-12-01"}, "from"),
    ({"threshold": "0"}, "threshold"),
    ({"threshold": "abc"}, "threshold"),
    ({"from": "2026-13-01"}, "from"),
])
def test_bad_report_windows_are_refused_naming_the_field(
        sqlite_db: Database, query: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        privacy_access.unusual(sqlite_db, query, SUPERVISOR)
    assert refused.value.field == field
    assert _count(sqlite_db) == 0  # a refused reading writes nothing


def test_the_threshold_setting_and_its_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIAOBAO_ACCESS_DAILY_THRESHOLD", "12")
    assert privacy_access.daily_threshold() == 12
    for bad in ("0", "-3", "lots", "99999"):
        monkeypatch.setenv("XIAOBAO_ACCESS_DAILY_THRESHOLD", bad)
        assert privacy_access.daily_threshold() == 30
