"""Retention by purpose (issue 19, item 2): the scheduler's `privacy_retention` on the app's
clock deletes what is past its period from the database, Rasa's tracker store (a real SQLite
`events` table with Rasa's columns) and the file store — and nothing else; a re-run changes
nothing. SQLite and PostgreSQL (the `db` fixture).

Timeline: the claim is reported, paid and closed on Tue 10 March 2026; the job runs on
R = 12 May 2026 (close + 63 days: past the 60-day appeal period).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, insert, select

from backoffice.clock import ManualClock, manual_clock
from backoffice.domain import retention as rt
from backoffice.domain.errors import NotFound, ValidationError
from backoffice.scheduler import jobs
from backoffice.services import claims, demo, document_reading, retention, retention_job
from backoffice.store.db import Database
from backoffice.store.files import FileStore
from backoffice.store.models import (
    AttemptLimit,
    ClaimDocument,
    ClaimFlag,
    ClaimRow,
    Conversation,
    ConversationMessage,
    DocumentReading,
    JobRun,
)

CLOSED = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 Beijing
RUN = datetime(2026, 5, 12, 2, 0, tzinfo=UTC)
CARD = "6222020200112233446"
DOC_TYPES = ("discharge_summary", "medical_invoice", "claimant_id", "bank_account")


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    with manual_clock(CLOSED) as c:
        yield c


@pytest.fixture
def files(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


@pytest.fixture
def tracker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """Rasa's SQL tracker store as the job finds it: XIAOBAO_RASA_TRACKER_URL."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = create_engine(url)
    retention.events_table().create(engine)
    monkeypatch.setenv("XIAOBAO_RASA_TRACKER_URL", url)
    yield engine
    engine.dispose()


def closed_claim(db: Database, files: FileStore, scheme: demo.SeedResult, who: int = 0) -> str:
    status, view = claims.report(db, {
        "policy_no": scheme.group_policy_no, "insured_id_number": scheme.sample_id_numbers[who],
        "claim_type": "hospital_allowance", "incident_date": "2026-03-01",
        "incident_place": "潮南区峡山街道", "description": "在家中摔倒",
        "reporter": {"name": "陈小明", "relation": "child", "phone": "13912345678"},
        "channel": "wechat", "bank_account": CARD,
        "facts": {"diagnosis": "右桡骨远端骨折", "hospital_level": 2,
                  "admission_date": "2026-03-01", "discharge_date": "2026-03-09"}})
    assert status == 201
    no = str(view["claim_no"])
    for doc_type in DOC_TYPES:
        claims.upload_document(db, files, no, f"{doc_type}.jpg", "image/jpeg",
                               f"scan of {doc_type} of {who}".encode(), doc_type, "customer")
    claims.transition(db, {"claim_no": no, "action": "pay", "amount": "240.00",
                           "account": CARD, "reference": "TX1"}, "cashier-1")
    assert claims.transition(db, {"claim_no": no, "action": "close"}, "adj-1")["status"] \
        == "closed"
    return no


def conversation(db: Database, user: str, last: datetime, *, channel: str = "web",
                 summary: dict[str, Any] | None = None,
                 unsubscribed: datetime | None = None) -> int:
    with db.transaction() as s:
        conv = Conversation(channel=channel, user_id=user, state="closed", created_at=last,
                            updated_at=last, closed_at=last, handoff_summary=summary,
                            unsubscribed_at=unsubscribed)
        s.add(conv)
        s.flush()
        s.add_all([ConversationMessage(conversation_id=conv.id, role="user", text="我想问理赔",
                                       created_at=last - timedelta(minutes=5)),
                   ConversationMessage(conversation_id=conv.id, role="bot", text="好的",
                                       created_at=last)])
        return conv.id


def events(engine: Engine, sender: str, at: datetime, n: int = 2) -> None:
    with engine.begin() as conn:
        conn.execute(insert(retention.events_table()), [
            {"sender_id": sender, "type_name": "user", "timestamp": at.timestamp() - i,
             "intent_name": "ask_claim", "action_name": None, "data": json.dumps({"text": "x"})}
            for i in range(n)])


def tracker_senders(engine: Engine) -> dict[str, int]:
    t = retention.events_table()
    with engine.connect() as conn:
        return dict(conn.execute(select(t.c.sender_id, func.count()).group_by(t.c.sender_id))
                    .tuples().all())


def conversation_ids(db: Database) -> set[int]:
    with db.read() as s:
        return set(s.execute(select(Conversation.id)).scalars())


def fire(db: Database, files: FileStore, at: datetime) -> dict[str, Any] | None:
    spec = jobs.JOBS["privacy_retention"]
    return jobs.run(jobs.Runtime(db, {}, files=files), spec, spec.last_fire_time(at) or at)


def test_the_job_deletes_each_purpose_after_its_period_and_a_rerun_changes_nothing(
    db: Database, files: FileStore, tracker: Engine, clock: ManualClock
) -> None:
    scheme = demo.seed(db, members=12, seed_value=5)
    no = closed_claim(db, files, scheme)
    with db.transaction() as s:  # what OCR read on the invoice: its fields stay, its text goes
        doc = s.execute(select(ClaimDocument).where(
            ClaimDocument.doc_type == "medical_invoice")).scalar_one()
        doc.fields = {"total_amount": {"value": "1200.00", "confidence": 0.98}}
        s.add(DocumentReading(document_id=doc.id, status="read", engine="test",
                              text="住院收费票据 陈大文 1200.00", fields=doc.fields))
    with db.read() as s:
        before = {d.id: (d.sha256, d.doc_type, d.fields, d.storage_path) for d in s.execute(
            select(ClaimDocument).order_by(ClaimDocument.id)).scalars()}
    assert len(before) == 4 and all((files.root / p).is_file() for *_, p in before.values())

    old = conversation(db, "web-old", RUN - timedelta(days=181))
    young = conversation(db, "web-young", RUN - timedelta(days=179))
    linked = conversation(db, "openid-claim", RUN - timedelta(days=200), channel="wechat",
                          summary={"claim_no": no, "intent": "claim_progress"})
    left = conversation(db, "openid-left", RUN - timedelta(days=200), channel="wechat",
                        unsubscribed=RUN - timedelta(days=10))
    events(tracker, "web:web-old", RUN - timedelta(days=181))
    events(tracker, "web:web-young", RUN - timedelta(days=179), 1)
    events(tracker, "wechat:openid-claim", RUN - timedelta(days=200), 1)
    with db.transaction() as s:
        s.add_all([AttemptLimit(key="a" * 64, scope="identify.id", failures=3,
                                last_failure_at=RUN - timedelta(days=31)),
                   AttemptLimit(key="b" * 64, scope="identify.id", failures=3,
                                last_failure_at=RUN - timedelta(days=29))])

    clock.set(RUN)
    dry = retention_job.run(db, files, retention.tracker_from_env(), dry_run=True)
    assert dry == {"dry_run": True, rt.TRANSCRIPTS: 1, rt.LINKED_TRANSCRIPTS: 0,
                   rt.DOCUMENT_FILES: 4, rt.ATTEMPTS: 1}
    assert conversation_ids(db) == {old, young, linked, left}  # a dry run deletes nothing

    done = fire(db, files, RUN)
    assert done == {rt.TRANSCRIPTS: 1, rt.LINKED_TRANSCRIPTS: 0, rt.DOCUMENT_FILES: 4,
                    rt.ATTEMPTS: 1, "tracker_events": 2, "files_removed": 4,
                    "claims_anonymised": 0, "erasures_completed": 0}
    # 181 days: gone with its lines and its tracker; 179 days, the claim's, the unsubscribed
    # one (its clock started at the unsubscribe) stay
    assert conversation_ids(db) == {young, linked, left}
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(ConversationMessage).where(
            ConversationMessage.conversation_id == old)).scalar_one() == 0
        assert set(s.execute(select(AttemptLimit.key)).scalars()) == {"b" * 64}
        after = {d.id: (d.sha256, d.doc_type, d.fields, d.storage_path) for d in s.execute(
            select(ClaimDocument).order_by(ClaimDocument.id)).scalars()}
        reading = s.execute(select(DocumentReading)).scalar_one()
    assert tracker_senders(tracker) == {"web:web-young": 1, "wechat:openid-claim": 1}
    # the photos: files gone, each row keeps its hash, kind and read fields
    assert {i: v[:3] for i, v in after.items()} == {i: v[:3] for i, v in before.items()}
    assert all(v[3] == "" for v in after.values())
    assert not any((files.root / p).exists() for *_, p in before.values())
    assert (reading.text, reading.fields) == ("", before[reading.document_id][2])
    view = claims.get_claim(db, no)
    assert all(d["file_deleted"] for d in view["documents"])
    with pytest.raises(NotFound) as gone:
        document_reading.document_file(db, files, no, str(reading.document_id), "sup-1", "desk")
    assert rt.FILE_GONE in str(gone.value)

    # the same slot again is skipped (JobRun guard); the next day's firing finds nothing
    assert fire(db, files, RUN) is None
    assert fire(db, files, RUN + timedelta(days=1)) == {
        rt.TRANSCRIPTS: 0, rt.LINKED_TRANSCRIPTS: 0, rt.DOCUMENT_FILES: 0, rt.ATTEMPTS: 0,
        "tracker_events": 0, "files_removed": 0, "claims_anonymised": 0,
        "erasures_completed": 0}
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(JobRun).where(
            JobRun.job == "privacy_retention")).scalar_one() == 2
    assert tracker_senders(tracker) == {"web:web-young": 1, "wechat:openid-claim": 1}

    # the integrity checks still know the deleted photo by its hash: sent again for another
    # person's claim, it is flagged as reused
    other = claims.report(db, {
        "policy_no": scheme.group_policy_no, "insured_id_number": scheme.sample_id_numbers[1],
        "claim_type": "hospital_allowance", "incident_date": "2026-05-01",
        "reporter": {"name": "林小红", "relation": "self", "phone": "13912340000"},
        "channel": "wechat"})[1]["claim_no"]
    claims.upload_document(db, files, other, "discharge_summary.jpg", "image/jpeg",
                           b"scan of discharge_summary of 0", "discharge_summary", "customer")
    with db.read() as s:
        flags = s.execute(select(ClaimFlag.code, ClaimFlag.related).join(
            ClaimRow, ClaimRow.id == ClaimFlag.claim_id).where(ClaimRow.claim_no == other)).all()
    assert ("document_reused", [no]) in [(c, list(r)) for c, r in flags]


def test_a_claim_linked_transcript_goes_after_the_archive_period(
    db: Database, files: FileStore, tracker: Engine, clock: ManualClock
) -> None:
    scheme = demo.seed(db, members=12, seed_value=5)
    no = closed_claim(db, files, scheme)
    with db.transaction() as s:  # the bot's report for a bound WeChat user keeps the openid
        row = s.execute(select(ClaimRow).where(ClaimRow.claim_no == no)).scalar_one()
        row.facts = {**row.facts, "wechat_openid": "openid-bot"}
    day = CLOSED - timedelta(days=1)
    linked = {conversation(db, "openid-claim", day, channel="wechat", summary={"claim_no": no}),
              conversation(db, "openid-bot", day, channel="wechat"),
              conversation(db, "13912345678", day, channel="ivr")}  # the reporter's phone
    unlinked = conversation(db, "13900000000", day, channel="ivr")
    events(tracker, "wechat:openid-claim", day)
    five_years = datetime(2031, 3, 10, 2, 0, tzinfo=UTC)  # the last day it is kept
    clock.set(five_years)
    assert retention_job.run(db, files, retention.tracker_from_env())[rt.LINKED_TRANSCRIPTS] == 0
    assert conversation_ids(db) == linked and unlinked not in linked
    clock.set(five_years + timedelta(days=1))
    assert retention_job.run(db, files, retention.tracker_from_env())[rt.LINKED_TRANSCRIPTS] == 3
    assert conversation_ids(db) == set() and tracker_senders(tracker) == {}


def test_an_open_claim_keeps_its_transcript_and_its_photos(
    db: Database, files: FileStore, clock: ManualClock
) -> None:
    scheme = demo.seed(db, members=12, seed_value=5)
    status, view = claims.report(db, {
        "policy_no": scheme.group_policy_no, "insured_id_number": scheme.sample_id_numbers[2],
        "claim_type": "disability", "incident_date": "2026-03-01",
        "reporter": {"name": "陈小明", "relation": "child", "phone": "13912345678"},
        "channel": "wechat"})
    no = view["claim_no"]
    claims.upload_document(db, files, no, "x.jpg", "image/jpeg", b"x-ray", "medical_records",
                           "customer")
    conv = conversation(db, "openid-open", CLOSED - timedelta(days=1), channel="wechat",
                        summary={"claim_no": no})
    clock.set(CLOSED + timedelta(days=800))
    counts = retention_job.run(db, files, None)
    assert (counts[rt.LINKED_TRANSCRIPTS], counts[rt.DOCUMENT_FILES]) == (0, 0)
    assert conv in conversation_ids(db)


def test_the_settings_file_overrides_and_bad_values_are_named(tmp_path: Path) -> None:
    own = tmp_path / "retention.json"
    own.write_text(json.dumps({"claim_archive_years": 10, "appeal_days": 90}))
    rules = retention.load_rules(str(own))
    assert (rules.claim_archive_years, rules.appeal_days, rules.transcript_days) == (10, 90, 180)
    for bad, key in (({"transcript_days": 0}, "transcript_days"),
                     ({"appeal_days": "60"}, "appeal_days"),
                     ({"access_log_years": 5}, "access_log_years"),  # the triggers' 3 years
                     ({"keep_forever": True}, "keep_forever")):
        own.write_text(json.dumps(bad))
        with pytest.raises(ValidationError) as err:
            retention.load_rules(str(own))
        assert err.value.field == key
    assert rt.add_years(datetime(2028, 2, 29).date(), 5) == datetime(2033, 2, 28).date()


def test_the_cli_dry_run_prints_counts_by_purpose_only(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    from xiaobao import cli

    conversation(sqlite_db, "web-old", datetime.now(UTC) - timedelta(days=200))
    monkeypatch.setenv("XIAOBAO_DATABASE_URL", str(sqlite_db.engine.url))
    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("XIAOBAO_RASA_TRACKER_URL", raising=False)
    assert cli.main(["privacy", "retention", "--dry-run"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(out) == {"dry_run": True, rt.TRANSCRIPTS: 1, rt.LINKED_TRANSCRIPTS: 0,
                               rt.DOCUMENT_FILES: 0, rt.ATTEMPTS: 0}
    assert conversation_ids(sqlite_db)  # nothing deleted
    own = tmp_path / "bad.json"
    own.write_text(json.dumps({"transcript_days": -1}))
    monkeypatch.setenv("XIAOBAO_RETENTION_FILE", str(own))
    assert cli.main(["privacy", "retention"]) == 2  # refused, naming the setting
    assert "transcript_days" in capsys.readouterr().err
    assert conversation_ids(sqlite_db)


def test_both_stores_delete_a_file_once_and_refuse_names_outside(
    s3_endpoint: str, s3_bucket: str, files: FileStore
) -> None:
    from backoffice.store.stores import open_store

    bucket = open_store(f"s3://{s3_bucket}/claims", Path("unused"), endpoint_url=s3_endpoint)
    for store in (files, bucket):
        relative, _ = store.save("C2026000001", "出院小结.jpg", b"scan")
        assert store.delete(relative) is True
        assert store.delete(relative) is False  # already gone: a re-run is harmless
        with pytest.raises(FileNotFoundError):
            store.read(relative)
        with pytest.raises(ValueError):
            store.delete("../outside.jpg")
