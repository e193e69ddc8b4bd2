"""The end of the archive rule in the retention job: a closed claim past its archive period
loses everyone in it (as an erasure anonymises a claim; its own records, the messages sent
about it and its satisfaction question too), whoever asked for nothing; a person
whose erasure kept them for a claim is erased once that claim's archive period is over — not a
day before, not without a file store, and only once. SQLite and PostgreSQL.

Timeline: the claim is reported, paid and closed on 10 March 2026; its archive runs to
10 March 2031.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from backoffice.clock import ManualClock
from backoffice.services import claims, demo, privacy_erasure, retention, retention_job
from backoffice.store.db import Database
from backoffice.store.files import FileStore
from backoffice.store.models import ClaimRow, Party
from tests.backoffice.services.test_privacy_erasure import (
    PHONE,
    chat,
    cover_ended,
    person,
    stats,
    the_claim,
    traces,
)
from tests.backoffice.services.test_privacy_retention import (  # noqa: F401 (fixtures)
    clock,
    files,
    tracker,
)

LAST_DAY = datetime(2031, 3, 10, 2, 0, tzinfo=UTC)  # the archive's last day (Beijing)
DAY_AFTER = datetime(2031, 3, 11, 2, 0, tzinfo=UTC)


def claim_row(db: Database, no: str) -> ClaimRow:
    with db.read() as s:
        row = s.execute(select(ClaimRow).where(ClaimRow.claim_no == no)).scalar_one()
        s.expunge(row)
        return row


def test_a_claim_past_its_archive_period_is_anonymised_and_the_figures_stay(
    db: Database, files: FileStore, clock: ManualClock  # noqa: F811
) -> None:
    seeded = demo.seed(db, members=12, seed_value=5)
    p = person(db, seeded.sample_id_numbers[0])
    no = the_claim(db, files, seeded, p)
    clock.set(LAST_DAY)
    assert retention_job.run(db, files, None)["claims_anonymised"] == 0  # not a day before
    assert claim_row(db, no).reporter_name == p.name
    clock.set(DAY_AFTER)
    before = stats(db, seeded.group_policy_no)
    done = retention_job.run(db, files, None)
    assert (done["claims_anonymised"], done["erasures_completed"]) == (1, 0)
    row = claim_row(db, no)
    assert (row.reporter_name, row.reporter_phone, row.bank_account, row.description) == (
        privacy_erasure.MASK, "", None, None)
    assert (row.incident_place, row.approved_fen, row.status) == ("峡山街道", 24000, "closed")
    assert stats(db, seeded.group_policy_no) == before
    # the claim's own records name no one (its documents' names and read fields, its
    # events, letters and audit entries); the person stays a customer elsewhere (their ID
    # and phone numbers sealed in `parties`: found in clear nowhere)
    assert traces(db, [p.id_number, PHONE, p.name]) == {
        p.id_number: set(), PHONE: set(), p.name: {"parties"}}
    assert retention_job.run(db, files, None)["claims_anonymised"] == 0  # once
    with db.read() as s:  # nobody asked: the person is still a customer
        party = s.get(Party, p.id)
        assert party is not None and party.id_number == p.id_number


def test_an_erasure_that_kept_the_person_for_a_claim_is_finished_when_it_ends(
    db: Database, files: FileStore, tracker: Engine, clock: ManualClock  # noqa: F811
) -> None:
    seeded = demo.seed(db, members=12, seed_value=5)
    p = person(db, seeded.sample_id_numbers[1])
    no = the_claim(db, files, seeded, p, close=False)
    chat(db, tracker, p, "openid-r")
    cover_ended(db, p.id)
    summary = privacy_erasure.erase_person(db, p.id, "sup-1", files=files,
                                           tracker=retention.tracker_from_env())
    assert summary["kept"][0] == {**summary["kept"][0], "record": f"claim {no}", "until": None}
    claims.transition(db, {"claim_no": no, "action": "withdraw"},
                      "adj-1")
    needles = [p.id_number, PHONE, p.name]
    clock.set(LAST_DAY)
    assert retention_job.run(db, files, None)["erasures_completed"] == 0  # not a day before
    clock.set(DAY_AFTER)
    before = stats(db, seeded.group_policy_no)
    assert retention_job.run(db, None, None)["erasures_completed"] == 0  # no store: it waits
    assert traces(db, needles)[p.id_number]
    done = retention_job.run(db, files, retention.tracker_from_env())
    assert done["erasures_completed"] == 1
    assert traces(db, needles) == {p.id_number: {"access_log"}, PHONE: set(), p.name: set()}
    assert stats(db, seeded.group_policy_no) == before
    with db.read() as s:
        party = s.get(Party, p.id)
        assert party is not None and party.id_number.startswith(privacy_erasure.ERASED_ID)
        assert (party.name, party.phone) == (privacy_erasure.MASK, None)
    assert retention_job.run(db, files, None)["erasures_completed"] == 0  # once
