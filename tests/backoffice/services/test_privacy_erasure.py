"""A deletion request: `erase_person` leaves no trace of the person's ID number, phone or name
in any table (every string and JSON column of the SQLAlchemy metadata), in Rasa's tracker store
or in the file store — except what its summary says is kept, and until when — and the claims
statistics and the quarterly figures are the same before and after. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from backoffice.clock import ManualClock
from backoffice.domain.errors import Conflict, NotFound, ValidationError
from backoffice.services import claim_stats, claims, demo, privacy_erasure, retention, scheme
from backoffice.services.base import today_cn
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.files import FileStore
from backoffice.store.models import (
    AccessLogEntry,
    AuditEntry,
    Base,
    ChannelBinding,
    ClaimDocument,
    ClaimRow,
    ConversationMessage,
    Notification,
    Party,
    RosterMember,
)
from tests.backoffice.services.test_privacy_retention import (  # noqa: F401 (fixtures)
    CARD,
    CLOSED,
    DOC_TYPES,
    clock,
    conversation,
    events,
    files,
    tracker,
    tracker_senders,
)

PHONE = "13800009999"
AFTER_ARCHIVE = datetime(2031, 4, 1, 2, 0, tzinfo=UTC)  # closed 10 March 2026 + 5 years passed


def person(db: Database, id_number: str) -> Party:
    with db.transaction() as s:
        p = s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", id_number))).scalar_one()
        p.phone = PHONE
        s.flush()
        s.expunge(p)
        return p


def cover_ended(db: Database, party_id: int) -> None:
    """The person left the scheme (moved away) yesterday: no policy in force keeps them."""
    with db.transaction() as s:
        for m in s.execute(select(RosterMember).where(RosterMember.party_id == party_id)
                           ).scalars():
            m.status, m.end_reason = "removed", "moved_away"
            m.ended_on = today_cn() - timedelta(days=1)


def the_claim(db: Database, store: FileStore, scheme_: demo.SeedResult, p: Party,
              close: bool = True) -> str:
    """A hospital allowance reported by the insured, the ID card among the photos."""
    status, view = claims.report(db, {
        "policy_no": scheme_.group_policy_no, "insured_id_number": p.id_number,
        "claim_type": "hospital_allowance", "incident_date": "2026-03-01",
        "incident_place": "潮南区峡山街道和平路3号", "description": f"{p.name}在家中摔倒",
        "reporter": {"name": p.name, "relation": "self", "phone": PHONE},
        "channel": "wechat", "bank_account": CARD,
        "facts": {"diagnosis": "右桡骨远端骨折", "hospital_level": 2,
                  "admission_date": "2026-03-01", "discharge_date": "2026-03-09"}})
    assert status == 201
    no = str(view["claim_no"])
    for doc_type in DOC_TYPES if close else DOC_TYPES[:1]:
        claims.upload_document(db, store, no, f"{p.name}-{doc_type}.jpg", "image/jpeg",
                               f"{doc_type}: {p.name} {p.id_number}".encode(), doc_type,
                               "customer")
    if close:
        claims.transition(db, {"claim_no": no, "action": "pay", "amount": "240.00",
                               "account": CARD}, "cashier-1")
        claims.transition(db, {"claim_no": no, "action": "close"}, "adj-1")
    return no


def chat(db: Database, tracker_: Engine, p: Party, user: str) -> int:
    """A bound WeChat user's unlinked conversation where they typed their ID number."""
    with db.transaction() as s:
        s.add(ChannelBinding(channel="wechat", user=user, party_id=p.id))
        s.add(Notification(dedupe_key=f"test:{user}", channel="sms", recipient=PHONE,
                           template="t", text=f"{p.name}您好", payload={"id": p.id_number}))
        s.add(AccessLogEntry(staff="sup-1", role="claims_supervisor", record_kind="party",
                             record_id=p.id_number, door="desk", purpose="/desk/search"))
    conv = conversation(db, user, CLOSED, channel="wechat")
    with db.transaction() as s:
        s.add(ConversationMessage(conversation_id=conv, role="user", created_at=CLOSED,
                                  text=f"我是{p.name}，身份证{p.id_number}，电话{PHONE}"))
    events(tracker_, f"wechat:{user}", CLOSED)
    with tracker_.begin() as conn:
        conn.execute(retention.events_table().insert().values(
            sender_id=f"wechat:{user}", type_name="slot", timestamp=CLOSED.timestamp(),
            data=json.dumps({"value": p.id_number})))
    return conv


def traces(db: Database, needles: list[str]) -> dict[str, set[str]]:
    """Per needle, the tables where any string or JSON column holds it."""
    found: dict[str, set[str]] = {n: set() for n in needles}
    with db.read() as s:
        for table in Base.metadata.sorted_tables:
            cols = privacy_erasure._text_columns(table)
            if not cols:
                continue
            for row in s.execute(select(*cols)).tuples():
                text = json.dumps(list(row), ensure_ascii=False, default=str)
                for n in needles:
                    if n in text:
                        found[n].add(table.name)
    return found


def stats(db: Database, policy_no: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return (claim_stats.claim_stats(db, "2026-01-01", "2026-12-31"),
            scheme.quarterly_report(db, {"policy_no": policy_no, "quarter": "2026Q1"}))


def test_after_the_archive_period_nothing_of_the_person_remains_but_the_access_log(
    db: Database, files: FileStore, tracker: Engine, clock: ManualClock  # noqa: F811
) -> None:
    seeded = demo.seed(db, members=12, seed_value=5)
    p = person(db, seeded.sample_id_numbers[0])
    no = the_claim(db, files, seeded, p)
    chat(db, tracker, p, "openid-p")
    needles = [p.id_number, PHONE, p.name]
    assert all(traces(db, needles).values())  # the data is there to be found
    clock.set(AFTER_ARCHIVE)
    before = stats(db, seeded.group_policy_no)
    with db.read() as s:
        hashes = sorted(s.execute(select(ClaimDocument.sha256)).scalars())

    with pytest.raises(ValidationError) as no_store:  # refused before anything goes
        privacy_erasure.erase_person(db, p.id, "sup-1", tracker=retention.tracker_from_env())
    assert no_store.value.field == "files"
    assert tracker_senders(tracker) == {"wechat:openid-p": 3}
    assert all(traces(db, needles).values())

    summary = privacy_erasure.erase_person(db, p.id, "sup-1", files=files,
                                           tracker=retention.tracker_from_env())
    assert [k["record"] for k in summary["kept"]] == ["access_log"]
    assert summary["kept"][0]["until"] == "2029-03-10"
    assert summary["deleted"]["conversations"] == 1
    assert summary["deleted"]["document_files"] == 4
    assert summary["deleted"]["claims_anonymised"] == 1
    # nothing anywhere but the append-only access log, which the summary names
    assert traces(db, needles) == {p.id_number: {"access_log"}, PHONE: set(), p.name: set()}
    assert tracker_senders(tracker) == {}
    for path in files.root.rglob("*"):
        assert not path.is_file() or p.id_number.encode() not in path.read_bytes()
    # the statistics do not change: amounts, dates, type, status, town, age band
    assert stats(db, seeded.group_policy_no) == before
    with db.read() as s:
        row = s.execute(select(ClaimRow).where(ClaimRow.claim_no == no)).scalar_one()
        party = s.get(Party, p.id)
        assert party is not None
        assert (row.approved_fen, row.claim_type, row.incident_place) == (24000,
                                                                           "hospital_allowance",
                                                                           "峡山街道")
        assert party.birth_date.year == p.birth_date.year and party.birth_date.day == 1
        assert sorted(s.execute(select(ClaimDocument.sha256)).scalars()) == hashes
        erased = s.execute(select(AuditEntry).where(AuditEntry.action == "erased")).scalar_one()
        assert (erased.actor, erased.entity_id) == ("sup-1", str(p.id))
    # a second request finds no one left to erase (409); a bad id is refused naming it
    with pytest.raises(privacy_erasure.AlreadyErased) as again:
        privacy_erasure.erase_person(db, p.id, "sup-1", files=files)
    assert again.value.field == "party_id"
    for bad in (0, -1, True, "1"):
        with pytest.raises(ValidationError):
            privacy_erasure.erase_person(db, bad, "sup-1")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        privacy_erasure.erase_person(db, 10**9, "sup-1")


def test_an_open_claim_keeps_its_records_and_the_rest_goes(
    db: Database, files: FileStore, tracker: Engine, clock: ManualClock  # noqa: F811
) -> None:
    seeded = demo.seed(db, members=12, seed_value=5)
    p = person(db, seeded.sample_id_numbers[1])
    no = the_claim(db, files, seeded, p, close=False)
    chat(db, tracker, p, "openid-q")
    clock.advance(days=30)
    with pytest.raises(Conflict) as covered:  # still insured: kept to perform the contract
        privacy_erasure.erase_person(db, p.id, "sup-1", files=files)
    assert covered.value.field == "party_id" and seeded.group_policy_no in covered.value.message
    cover_ended(db, p.id)
    before = stats(db, seeded.group_policy_no)
    summary = privacy_erasure.erase_person(db, p.id, "sup-1", files=files,
                                           tracker=retention.tracker_from_env())
    [claim, log] = summary["kept"]
    assert (claim["record"], claim["until"], log["record"]) == (f"claim {no}", None,
                                                                "access_log")
    allowed = set(claim["tables"]) | set(log["tables"])
    found = traces(db, [p.id_number, PHONE, p.name])
    assert found[p.id_number] and all(t <= allowed for t in found.values()), found
    assert "conversation_messages" not in found[p.id_number]  # the unlinked chat is gone
    assert tracker_senders(tracker) == {}
    with db.read() as s:
        party = s.get(Party, p.id)
        # the identity, phone included, stays with the claim that names it until its archive
        # ends (then the retention job erases the person: test_retention_finishes_erasures)
        assert party is not None and (party.name, party.id_number, party.phone) == (
            p.name, p.id_number, PHONE)
        assert s.execute(select(ClaimDocument.storage_path)).scalar_one() != ""
    assert stats(db, seeded.group_policy_no) == before
