"""A person's whole life in the system, then their deletion request and the retention job
(issue 19, "Done when" 1), through the platform's own doors: the WeChat chat written through the
channel service, the tracker store (a SQLite file with Rasa's `events` table), the report, the
documents (a real PNG, sealed at rest), the claim decided and paid by different people and
closed, a complaint about it worked to its close; then a deletion request taken, started and
completed through the API (completing it runs erase_person), and the retention job on the
manual clock moved past the archive period.

Every table of the metadata (each string and JSON column), the tracker's events and every file
of the file store (its name, its raw bytes and its content opened through the store) are
scanned for the person's ID number, phone and name, also as JSON writes them (\\uXXXX). At the
request, what remains is exactly what the erasure's summary says is kept (the claim and the
complaint inside their archive period, the transcripts linked to them, the access log); after
the archive period and the job, nothing. The claims statistics and the quarterly disclosure
are the same before and after each step.

The chat starts as the bot's does: the short notice, and the person's consent recorded before
they give their ID number (tests/bot/test_consent_conversations.py walks it with the bot).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from api_testkit import TOKEN, Api
from sqlalchemy import Engine, select
from test_api_claims_kit import (
    CARD,
    DOCS,
    Scheme,
    act,
    clock,
    multipart,
    report,
    report_body,
    scheme,
    staff_headers,
)

from backoffice import clock as app_clock
from backoffice.services import (
    claim_stats,
    conversations,
    privacy_erasure,
    retention,
    retention_job,
)
from backoffice.services import scheme as scheme_service
from backoffice.services import staff as staff_service
from backoffice.services.base import SHANGHAI
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.files import FileStore
from backoffice.store.models import AuditEntry, Base, Party
from backoffice.store.sealing import Keyring
from tests.backoffice.services.test_privacy_erasure import cover_ended
from tests.backoffice.services.test_privacy_retention import tracker  # noqa: F401 (fixture)
from xiaobao.config import Settings
from xiaobao.platform import create_app

__all__ = ["clock", "scheme"]  # fixtures

KEYS = Keyring.parse(Keyring.new_entry("whole-life"))
PHOTO = Path(__file__).parents[3] / "docs" / "screenshots" / "conversation.png"
OPENID = "o-whole-life"
SUPERVISOR, HANDLER = "supervisor.zhou", "handler.wl"


@pytest.fixture
async def client(aiohttp_client: Any, db: Database, tmp_path: Path) -> TestClient:
    """The platform with its documents sealed at rest (var_dir/files)."""
    settings = Settings(database_url=db.url, api_token=TOKEN, rasa_url="http://127.0.0.1:9",
                        log_level="INFO", var_dir=tmp_path, files_keys=KEYS)
    client: TestClient = await aiohttp_client(create_app(settings, db))
    return client


# ---- the scan -------------------------------------------------------------------------------

def forms(needles: list[str]) -> dict[str, str]:
    """Each form searched for → the needle it stands for: as written, as JSON escapes it, and
    a number grouped as people write it (ID 6-8-4, phone 3-4-4, by spaces or dashes)."""
    out = {}
    for n in needles:
        out[n] = n
        out[json.dumps(n)[1:-1]] = n
        cuts = {18: (6, 14), 11: (3, 7)}.get(len(n)) if n.isascii() else None
        if cuts:
            a, b = cuts
            for sep in (" ", "-"):
                out[sep.join((n[:a], n[a:b], n[b:]))] = n
    return out


def scan(db: Database, tracker_: Engine, store: FileStore, needles: list[str]
         ) -> dict[str, set[str]]:
    """Per needle, where it is: table names, `tracker`, `file name`, `file bytes`,
    `file content` (opened through the store)."""
    wanted = forms(needles)
    found: dict[str, set[str]] = {n: set() for n in needles}

    def look(text: str, where: str) -> None:
        for form, needle in wanted.items():
            if form in text:
                found[needle].add(where)

    with db.read() as s:
        for table in Base.metadata.sorted_tables:
            cols = privacy_erasure._text_columns(table)
            for row in s.execute(select(*cols)).tuples() if cols else []:
                look(json.dumps(list(row), ensure_ascii=False, default=str), table.name)
    with tracker_.connect() as conn:
        for row in conn.execute(select(retention.events_table())).tuples():
            look(json.dumps(list(row), ensure_ascii=False, default=str), "tracker")
    for name in store.names():
        look(name, "file name")
        look(store.read_stored(name).decode("utf-8", "replace"), "file bytes")
        look(store.read(name).decode("utf-8", "replace"), "file content")
    return found


def figures(db: Database, policy_no: str) -> dict[str, Any]:
    """The statistics a deletion must not change."""
    return {"claims": claim_stats.claim_stats(db, "2026-01-01", "2026-12-31"),
            "quarter": scheme_service.quarterly_report(db, {"policy_no": policy_no,
                                                            "quarter": "2026Q2"})}


# ---- the life -------------------------------------------------------------------------------

async def chat(api: Api, db: Database, tracker_: Engine, p: Party) -> None:
    """Consent given, bound on WeChat, the person tells the bot who they are; the bot's
    tracker holds it."""
    shown = await api.get("/channel/consent-notice?channel=wechat", expect=200)
    await api.post("/channel/consents", {"channel": "wechat", "user": OPENID,
                                         "decision": "given", "notice_version": shown["version"],
                                         "notice_sha256": shown["sha256"]}, expect=201)
    await api.post("/bindings", {"channel": "wechat", "user": OPENID,
                                 "id_number": p.id_number, "phone": p.phone}, expect=200)
    turn = conversations.user_message(db, "wechat", OPENID,
                                      f"我是{p.name}，身份证{p.id_number}，电话{p.phone}，我摔伤住院了")
    conversations.bot_messages(db, turn.conversation_id,
                               [{"text": f"{p.name}您好，请上传出院小结等材料"}])
    n = p.id_number
    conversations.user_message(db, "wechat", OPENID, f"再说一遍：{n[:6]} {n[6:14]} {n[14:]}")
    at = app_clock.utcnow().timestamp()
    with tracker_.begin() as conn:
        conn.execute(retention.events_table().insert(), [
            {"sender_id": f"wechat:{OPENID}", "type_name": "user", "timestamp": at,
             "intent_name": "report_claim", "data": json.dumps(
                 {"text": f"我是{p.name}，身份证{p.id_number}"})},
            {"sender_id": f"wechat:{OPENID}", "type_name": "slot", "timestamp": at + 1,
             "intent_name": None, "data": json.dumps({"name": "phone", "value": p.phone})}])


async def claim_paid(api: Api, scheme_: Scheme, p: Party) -> str:
    """Reported by the insured, four documents (the ID card a real image), decided and
    approved (the fast track, or an adjuster and another one), paid by someone who did not
    approve, closed by a supervisor."""
    claim = await report(api, report_body(
        scheme_, insured=p.id_number, description=f"{p.name}在家中浴室滑倒受伤",
        reporter={"name": p.name, "relation": "self", "phone": p.phone},
        incident_place=f"汕头市潮南区峡山街道和平路3号{p.name}家"))
    no = claim["claim_no"]
    for doc_type in DOCS["hospital_allowance"]:
        content = PHOTO.read_bytes() if doc_type == "claimant_id" else \
            f"{doc_type}: {p.name} {p.id_number} {p.phone}".encode()
        data, headers = multipart([("file", content, f"{p.name}-{doc_type}.png"),
                                   ("doc_type", doc_type.encode(), None)])
        await api.call("POST", f"/claims/{no}/documents", data=data, headers=headers,
                       expect=201)
    if (await api.get(f"/claims/{no}", expect=200))["status"] == "under_review":
        await act(api, no, "adjudicate", actor="adjuster.li")
        await act(api, no, "approve", actor="adjuster.wang")  # not who adjudicated
    scheme_.clock.advance(days=1)
    paid = await act(api, no, "pay", actor="adjuster.li", amount="300.00", account=CARD,
                     reference="BANK-WL-1")
    approvers = {e["actor"] for e in paid["timeline"] if e["action"] == "approve"}
    assert paid["status"] == "paid" and "adjuster.li" not in approvers  # four eyes
    assert (await act(api, no, "close", actor=SUPERVISOR))["status"] == "closed"
    return str(no)


async def complaint(api: Api, db: Database, p: Party, claim_no: str) -> str:
    """The person complains about the claim; a handler works it to its close."""
    staff_service.add(db, HANDLER, "whole-life-handler-1", "complaint_handler", "王专员")
    made = await api.post("/complaints", {
        "channel": "wechat", "user": OPENID, "claim_no": claim_no,  # as the bot files it
        "complainant": {"name": p.name, "phone": p.phone}, "category": "claims",
        "description": f"我是{p.name}（{p.id_number}），理赔太慢"}, expect=201)
    no = made["complaint_no"]
    headers = await staff_headers(api, HANDLER, password="whole-life-handler-1")
    for action, fields in (("take", {}), ("note", {"note": f"已联系{p.name}"}),
                           ("decide", {"decision": "致歉", "outcome": "upheld"}),
                           ("notify", {}), ("close", {})):
        await api.call("POST", f"/complaints/{no}/transitions",
                       json_body={"action": action, **fields}, headers=headers, expect=200)
    return str(no)


async def deletion_request(api: Api, p: Party) -> dict[str, Any]:
    """Taken down, started and completed by a claims supervisor (completing it erases)."""
    headers = await staff_headers(api, SUPERVISOR)
    made = await api.call("POST", "/privacy-requests", json_body={
        "id_number": p.id_number, "name": p.name, "kind": "deletion", "channel": "phone",
        "verified_by": "phone", "phone": p.phone}, headers=headers, auth=False, expect=201)
    no = made["privacy_request_no"]
    for action in ("start", "complete"):
        done: dict[str, Any] = await api.call(
            "POST", f"/privacy-requests/{no}/steps", json_body={"action": action},
            headers=headers, auth=False, expect=200)
    assert done["status"] == "done"
    return done


def erasure_summary(db: Database, party_id: int) -> dict[str, Any]:
    with db.read() as s:
        entry = s.execute(select(AuditEntry).where(
            AuditEntry.entity_type == "party", AuditEntry.entity_id == str(party_id),
            AuditEntry.action == "erased")).scalar_one()
        return dict(entry.after or {})


async def test_a_whole_life_then_deletion_and_retention_leave_nothing_but_what_is_kept(
        api: Api, db: Database, scheme: Scheme, tracker: Engine,  # noqa: F811
        tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files", KEYS)
    with db.read() as s:
        p = s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", scheme.members[0]))).scalar_one()
        s.expunge(p)
    needles = [p.id_number, p.phone, p.name]
    await chat(api, db, tracker, p)
    claim_no = await claim_paid(api, scheme, p)
    complaint_no = await complaint(api, db, p, claim_no)
    await api.get(f"/claims/{claim_no}", headers=await staff_headers(api, SUPERVISOR),
                  auth=False, expect=200)  # a staff member looked: an access-log entry
    before = scan(db, tracker, store, needles)
    assert all(before.values()) and {"tracker", "file content"} <= before[p.id_number]
    assert "file bytes" not in before[p.id_number]  # sealed at rest
    cover_ended(db, p.id)  # moved away: no policy in force keeps them any more
    stats = figures(db, scheme.policy_no)

    await deletion_request(api, p)
    summary = erasure_summary(db, p.id)
    kept = {k["record"]: k for k in summary["kept"]}
    assert set(kept) >= {f"claim {claim_no}", f"complaint {complaint_no}", "access_log"}
    # the chat is the complaint's record (its WeChat user filed it): kept with it, and its
    # tracker events with it
    assert any(k.startswith("conversation ") for k in kept), kept
    allowed = {t for k in summary["kept"] for t in k["tables"]}
    left = scan(db, tracker, store, needles)
    for needle, places in left.items():
        assert places <= allowed | {"tracker", "file name", "file content"}, (needle, places)
    # and what is listed is really kept: the claim and complaint still name them, the
    # claim's documents are still there to open
    assert {"claims", "complaints", "file content"} <= left[p.name] | left[p.id_number]
    assert figures(db, scheme.policy_no) == stats

    # past the archive period (5 years after the close) and the transcripts' 180 days
    last = max(date.fromisoformat(k["until"]) for k in summary["kept"] if k["until"])
    scheme.clock.set(datetime.combine(last + timedelta(days=1), time(10), SHANGHAI))
    stats = figures(db, scheme.policy_no)
    done = retention_job.run_from_env(db, store)
    assert (done["claims_anonymised"], done["erasures_completed"]) == (1, 1)
    # the access log's triggers count its 3 years on the database's own clock, not the app's:
    # its expiry cannot be run ahead here; it is listed as kept, until before the claim's end
    assert kept["access_log"]["until"] < kept[f"claim {claim_no}"]["until"]
    assert scan(db, tracker, store, needles) == {n: set() for n in needles}
    assert figures(db, scheme.policy_no) == stats
