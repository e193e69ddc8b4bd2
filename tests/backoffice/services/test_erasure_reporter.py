"""A person who reported someone else's claim (a child for a parent, by their own phone) asks
for erasure: that claim is inside its archive period, so its records stay whole — the reporter's
name and phone in it are listed as kept, with the until-date, and the person's identity stays
with it — and the parent's claim is not touched. When the archive period is over the retention
job erases the reporter as it erases an insured. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, select

from backoffice.clock import ManualClock
from backoffice.services import claims, demo, privacy_erasure, retention, retention_job
from backoffice.store.db import Database
from backoffice.store.files import FileStore
from backoffice.store.models import ClaimRow, Party
from tests.backoffice.services.test_privacy_erasure import PHONE, cover_ended, person, stats, traces
from tests.backoffice.services.test_privacy_retention import (  # noqa: F401 (fixtures)
    CARD,
    clock,
    files,
    tracker,
)
from tests.backoffice.services.test_retention_past_archive import DAY_AFTER


def reported_for(db: Database, seeded: demo.SeedResult, child: Party, insured: str) -> str:
    """The child reports the parent's claim; it is withdrawn the same day (10 March 2026)."""
    status, view = claims.report(db, {
        "policy_no": seeded.group_policy_no, "insured_id_number": insured,
        "claim_type": "hospital_allowance", "incident_date": "2026-03-01",
        "incident_place": "潮南区峡山街道", "description": f"由{child.name}代为报案",
        "reporter": {"name": child.name, "relation": "child", "phone": PHONE},
        "channel": "wechat", "bank_account": CARD,
        "facts": {"diagnosis": "右桡骨远端骨折", "hospital_level": 2,
                  "admission_date": "2026-03-01", "discharge_date": "2026-03-09"}})
    assert status == 201
    no = str(view["claim_no"])
    claims.transition(db, {"claim_no": no, "action": "withdraw"}, "adj-1")
    return no


def test_a_reporter_is_kept_with_the_claim_they_reported_then_erased(
    db: Database, files: FileStore, tracker: Engine, clock: ManualClock  # noqa: F811
) -> None:
    seeded = demo.seed(db, members=12, seed_value=5)
    child = person(db, seeded.sample_id_numbers[2])
    no = reported_for(db, seeded, child, seeded.sample_id_numbers[0])
    needles = [child.id_number, PHONE, child.name]
    cover_ended(db, child.id)
    before = stats(db, seeded.group_policy_no)
    summary = privacy_erasure.erase_person(db, child.id, "sup-1", files=files,
                                           tracker=retention.tracker_from_env())
    [claim] = [k for k in summary["kept"] if k["record"].startswith("claim")]
    assert (claim["record"], claim["until"]) == (f"claim {no}", "2031-03-10")
    found = traces(db, needles)
    assert all(places <= set(claim["tables"]) for places in found.values()), found
    with db.read() as s:
        row = s.execute(select(ClaimRow).where(ClaimRow.claim_no == no)).scalar_one()
        assert (row.reporter_name, row.reporter_phone) == (child.name, PHONE)  # untouched
    assert stats(db, seeded.group_policy_no) == before

    clock.set(DAY_AFTER)
    before = stats(db, seeded.group_policy_no)
    assert retention_job.run(db, files, retention.tracker_from_env())["erasures_completed"] == 1
    assert traces(db, needles) == {n: set() for n in needles}
    assert stats(db, seeded.group_policy_no) == before
    with db.read() as s:
        party = s.get(Party, child.id)
        assert party is not None and party.id_number.startswith(privacy_erasure.ERASED_ID)
