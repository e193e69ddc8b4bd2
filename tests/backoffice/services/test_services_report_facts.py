"""What a report says of a traffic accident shapes the one missing-documents notice: the police
accident report, scene photos, the ticket of a public-transport death. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backoffice.clock import ManualClock, manual_clock
from backoffice.domain.errors import ValidationError
from backoffice.services import claims, demo
from backoffice.store.db import Database
from backoffice.store.files import FileStore
from backoffice.store.models import ClaimRow, Notification
from tests.backoffice.services.test_services_claims import DOCS, act, body, report, upload


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    with manual_clock(datetime(2026, 3, 10, 2, 0, tzinfo=UTC)) as c:
        yield c


@pytest.fixture
def scheme(db: Database, clock: ManualClock) -> demo.SeedResult:
    return demo.seed(db, members=30, seed_value=3)


@pytest.fixture
def files(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


def missing(view: dict[str, Any]) -> dict[str, str]:
    return {d["type"]: d["name"] for d in view["missing_documents"]}


def test_a_traffic_accident_reported_with_the_police_called_and_photos(
        db: Database, scheme: demo.SeedResult) -> None:
    facts = {"traffic_accident": True, "police_report": True, "scene_photos": True}
    view = report(db, body(scheme, 0, facts=facts, description="过马路被电动车撞倒"))
    docs = missing(view)
    assert docs["accident_certificate"] == "交通事故认定书（交警出具）"
    assert docs["scene_photos"] == "事故现场照片"
    assert [t for t, _ in DOCS["hospital_allowance"]] == list(docs)[:4]
    with db.read() as s:
        row = s.execute(select(ClaimRow).where(ClaimRow.claim_no == view["claim_no"])).scalar_one()
        assert row.facts == facts
        notice = s.execute(select(Notification).where(Notification.dedupe_key.like(
            f"claim:{view['claim_no']}:%"))).scalars().first()
        assert notice is not None and "交通事故认定书" in notice.text and "现场照片" in notice.text


def test_no_police_no_photos_asks_a_certificate_to_obtain_and_no_photos(
        db: Database, scheme: demo.SeedResult) -> None:
    facts = {"traffic_accident": True, "police_report": False, "scene_photos": False}
    docs = missing(report(db, body(scheme, 1, facts=facts)))
    assert "补开" in docs["accident_certificate"] and "scene_photos" not in docs


def test_a_report_that_is_no_traffic_accident_asks_nothing_more(
        db: Database, scheme: demo.SeedResult) -> None:
    docs = missing(report(db, body(scheme, 2, facts={"traffic_accident": False,
                                                     "police_report": True})))
    assert list(docs) == [t for t, _ in DOCS["hospital_allowance"]]


def test_a_public_transport_death_asks_the_ticket_or_a_fare_record_when_lost(
        db: Database, scheme: demo.SeedResult) -> None:
    kept = missing(report(db, body(scheme, 0, "transport_death",
                                   facts={"police_report": True, "ticket": True})))
    assert kept["transport_ticket"] == "车票、船票、登机牌或乘车记录"
    assert kept["accident_certificate"] == "交通事故认定书（交警出具）"
    lost = missing(report(db, body(scheme, 1, "transport_death", facts={"ticket": False})))
    assert "乘车记录" in lost["transport_ticket"] and "遗失" in lost["transport_ticket"]
    assert lost["accident_certificate"] == "交通事故认定书或事故证明"


@pytest.mark.parametrize("key", ["traffic_accident", "police_report", "scene_photos", "ticket"])
def test_a_report_fact_that_is_no_boolean_is_refused_naming_it(
        db: Database, scheme: demo.SeedResult, key: str) -> None:
    with pytest.raises(ValidationError) as err:
        claims.report(db, body(scheme, 0, facts={key: "yes"}))
    assert err.value.field == f"facts.{key}"
    with db.read() as s:
        assert s.execute(select(ClaimRow)).first() is None  # nothing written


def test_a_changed_type_lists_the_report_documents_again(
        db: Database, scheme: demo.SeedResult, files: FileStore) -> None:
    """A claim reported as a hospital stay after a bus crash, changed to a transport death:
    the ticket is asked, the accident report stays asked once."""
    view = report(db, body(scheme, 0, facts={"traffic_accident": True, "police_report": True}))
    upload(db, files, view["claim_no"], "accident_certificate")
    changed = act(db, view["claim_no"], "change_type", "adjuster-1",
                  claim_type="transport_death", note="家属来电：老人乘公交时车祸身故")
    docs = missing(changed)
    assert "transport_ticket" in docs and "accident_certificate" not in docs  # on file
