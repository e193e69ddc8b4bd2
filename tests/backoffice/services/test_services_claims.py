"""Claims service: report → registration → documents → fast track or people → payment → close.

Runs on SQLite and PostgreSQL (the `db` fixture). "Today" is pinned with `manual_clock` to
Tuesday 10 March 2026 (10:00 in Beijing) unless a test moves it. The scheme is the demo
潮南区 group policy (CN-ELDER-ACC, 1 Jan 2026 – 1 Jan 2027): death 3,000, transport death
30,000 by motor vehicle, disability 3,000 × level %, hospital allowance 30 元/day (90 per stay,
180 per year). Every expected date and amount below was worked out by hand.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from backoffice.clock import ManualClock, manual_clock
from backoffice.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationError,
)
from backoffice.domain.staff import CLAIMS_ADJUSTER, Actor
from backoffice.services import claims, demo, staff
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.files import FileStore
from backoffice.store.models import (
    AuditEntry,
    ClaimEvent,
    ClaimFlag,
    ClaimPause,
    ClaimPayment,
    ClaimRequirement,
    ClaimRow,
    Notification,
    OutboxEvent,
    Party,
    Task,
)

if TYPE_CHECKING:
    from conftest import Factory

D = date
TODAY = D(2026, 3, 10)  # a Tuesday
PHONE = "13912345678"
CARD = "6222020200112233446"  # passes the Luhn check
OTHER_CARD = "6222020200112233453"  # passes too: someone else's card
BAD_CARD = "6222020200112233445"  # fails it

DOCS: dict[str, list[tuple[str, str]]] = {  # rules.md §6, as the scheme's product lists them
    "death": [("death_certificate", "死亡证明"), ("household_cancellation", "户籍注销证明"),
              ("claimant_id", "申请人身份证明"),
              ("relationship_proof", "与被保险人关系证明或受益人证明"),
              ("bank_account", "领款人银行账户")],
    "transport_death": [("death_certificate", "死亡证明"),
                        ("household_cancellation", "户籍注销证明"),
                        ("claimant_id", "申请人身份证明"),
                        ("relationship_proof", "与被保险人关系证明或受益人证明"),
                        ("bank_account", "领款人银行账户"),
                        ("transport_ticket", "车票、船票、登机牌或乘车记录"),
                        # a transport accident: the police's report (seeds/004)
                        ("accident_certificate", "交通事故认定书或事故证明")],
    "disability": [("disability_assessment", "伤残鉴定报告"), ("medical_records", "病历资料"),
                   ("claimant_id", "申请人身份证明"), ("bank_account", "领款人银行账户")],
    "hospital_allowance": [("discharge_summary", "出院小结"),
                           ("medical_invoice", "住院医疗费用发票"),
                           ("claimant_id", "申请人身份证明"), ("bank_account", "领款人银行账户")],
}


# ---- fixtures and helpers -------------------------------------------------------------------

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


def on(clock: ManualClock, day: date) -> None:
    """Move "today" to 10:00 Beijing time on `day`."""
    clock.set(datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC))


def body(scheme: demo.SeedResult, who: int = 0, claim_type: str = "hospital_allowance",
         incident: str = "2026-03-01", facts: dict[str, Any] | None = None,
         **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "policy_no": scheme.group_policy_no,
        "insured_id_number": scheme.sample_id_numbers[who],
        "claim_type": claim_type,
        "incident_date": incident,
        "incident_place": "潮南区峡山街道",
        "description": "在家中摔倒",
        "reporter": {"name": "陈小明", "relation": "child", "phone": PHONE},
        "channel": "wechat",
        "bank_account": CARD,  # the customer's own statement: the verified payee
    }
    if facts is not None:
        raw["facts"] = facts
        if claim_type == "hospital_allowance" and "admission_date" in facts:
            # an injury's stay in a level-2 hospital, unless the test says otherwise
            raw["facts"] = {"diagnosis": "右桡骨远端骨折", "hospital_level": 2, **facts}
    return {**raw, **extra}


def report(db: Database, raw: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    status, view = claims.report(db, {**raw, "idempotency_key": key})
    assert status == 201
    return view


def upload(db: Database, files: FileStore, claim_no: str, doc_type: str | None,
           actor: str = "customer") -> dict[str, Any]:
    return claims.upload_document(db, files, claim_no, f"{doc_type}.jpg", "image/jpeg",
                                  f"scan of {doc_type} for {claim_no}".encode(), doc_type, actor)


def upload_all(db: Database, files: FileStore, claim_no: str) -> dict[str, Any]:
    for doc in claims.get_claim(db, claim_no)["missing_documents"]:
        upload(db, files, claim_no, doc["type"])
    return claims.get_claim(db, claim_no)


def act(db: Database, claim_no: str, action: str, actor: str, **kw: Any) -> dict[str, Any]:
    role = kw.pop("role", None)  # the rules' approval role, named by the test
    return claims.transition(db, {"claim_no": claim_no, "action": action, **kw}, actor,
                             approval_role=role)


def row(db: Database, claim_no: str) -> ClaimRow:
    with db.read() as s:
        return s.execute(select(ClaimRow).where(ClaimRow.claim_no == claim_no)).scalar_one()


def notifications(db: Database, claim_no: str) -> list[Notification]:
    with db.read() as s:
        return list(s.execute(select(Notification).where(
            Notification.dedupe_key.like(f"claim:{claim_no}:%")).order_by(Notification.id))
            .scalars())


def tasks(db: Database, claim_no: str) -> list[tuple[str, date, str | None]]:
    with db.read() as s:
        return [(t.kind, t.due_on, t.note) for t in s.execute(
            select(Task).join(ClaimRow, ClaimRow.id == Task.claim_id)
            .where(ClaimRow.claim_no == claim_no).order_by(Task.id)).scalars()]


def pauses(db: Database, claim_no: str) -> list[tuple[date, date | None]]:
    with db.read() as s:
        return [(p.started_on, p.ended_on) for p in s.execute(
            select(ClaimPause).join(ClaimRow, ClaimRow.id == ClaimPause.claim_id)
            .where(ClaimRow.claim_no == claim_no).order_by(ClaimPause.id)).scalars()]


def events(db: Database, claim_no: str) -> list[tuple[str, str, str]]:
    with db.read() as s:
        return [(e.action, e.status, e.actor) for e in s.execute(
            select(ClaimEvent).join(ClaimRow, ClaimRow.id == ClaimEvent.claim_id)
            .where(ClaimRow.claim_no == claim_no).order_by(ClaimEvent.id)).scalars()]


def audits(db: Database, claim_no: str) -> list[AuditEntry]:
    with db.read() as s:
        return list(s.execute(select(AuditEntry).where(
            AuditEntry.entity_type == "claim", AuditEntry.entity_id == claim_no)
            .order_by(AuditEntry.id)).scalars())


def manual_claim(db: Database, files: FileStore, scheme: demo.SeedResult, who: int = 0,
                 claim_type: str = "disability", incident: str = "2026-03-01") -> str:
    """A claim that queues for people (not a hospital allowance), documents complete."""
    view = report(db, body(scheme, who, claim_type, incident))
    done = upload_all(db, files, view["claim_no"])
    assert (done["status"], done["track"]) == ("under_review", "manual")
    return str(view["claim_no"])


def dl(view: dict[str, Any], name: str) -> tuple[str, bool, bool, str | None]:
    d = view["deadlines"][name]
    return d["due"], d["breached"], d["paused"], d["done_on"]


# ---- report and registration ----------------------------------------------------------------

def test_report_registers_and_asks_once_for_every_document(
    db: Database, scheme: demo.SeedResult
) -> None:
    seen = set()
    for claim_type, expected in DOCS.items():
        view = report(db, body(scheme, 0, claim_type))
        no = view["claim_no"]
        assert no.startswith("R2026") and len(no) == 13 and no not in seen
        seen.add(no)
        assert view["status"] == "documents_pending"
        assert view["claim_type"] == claim_type
        assert view["late_report"] is False
        assert [(m["type"], m["name"]) for m in view["missing_documents"]] == expected
        # the insurer's clocks start with complete documents; the customer's run from the report
        assert set(view["deadlines"]) == {"progress_notice", "documents_reminder", "time_bar"}
        assert [(t["action"], t["status"], t["actor"]) for t in view["timeline"]] == [
            ("report", "reported", "customer"), ("register", "registered", "system"),
            ("request_documents", "documents_pending", "system")]
        names = [name for _, name in expected]
        assert view["timeline"][2]["note"] == "一次性告知所需材料：" + "、".join(names)
        sent = notifications(db, no)
        assert len(sent) == 1
        note = sent[0]
        assert (note.channel, note.recipient, note.template) == ("sms", PHONE,
                                                                 "missing_documents")
        assert note.text == (f"【小保】您的报案（报案号 {no}）已受理。请一次性准备以下材料："
                             f"{'、'.join(names)}。可在公众号上传照片，或到就近服务网点提交。")
        for name in names:
            assert note.text.count(name) == 1
        with db.read() as s:
            reqs = s.execute(select(ClaimRequirement.doc_type, ClaimRequirement.notice_no)
                             .join(ClaimRow).where(ClaimRow.claim_no == no)).all()
        assert sorted(reqs) == sorted((t, 1) for t, _ in expected)
        assert tasks(db, no) == []


def test_a_report_taken_twice_under_one_key_is_one_claim(
    db: Database, scheme: demo.SeedResult
) -> None:
    raw = body(scheme)
    first_status, first = claims.report(db, {**raw, "idempotency_key": "wx-msg-0001"})
    again_status, again = claims.report(db, {**dict(raw), "idempotency_key": "wx-msg-0001"})
    assert (first_status, again_status) == (201, 200)
    assert again["claim_no"] == first["claim_no"]
    assert again["timeline"] == first["timeline"]
    assert len(notifications(db, first["claim_no"])) == 1
    with pytest.raises(Conflict) as err:
        claims.report(db, {**raw, "incident_date": "2026-03-02",
                           "idempotency_key": "wx-msg-0001"})
    assert err.value.field == "Idempotency-Key"
    with db.read() as s:
        assert len(s.execute(select(ClaimRow.id)).all()) == 1
    # without a key every report is a new claim
    one = report(db, raw)
    two = report(db, raw)
    assert len({first["claim_no"], one["claim_no"], two["claim_no"]}) == 3
    with pytest.raises(ValidationError) as bad:
        claims.report(db, {**raw, "idempotency_key": "k" * 201})
    assert bad.value.field == "Idempotency-Key"


def test_the_report_answer_is_the_claim_as_read_back(
    db: Database, scheme: demo.SeedResult
) -> None:
    """The report answers from what it wrote; a later read must show exactly that claim."""
    for claim_type in DOCS:
        answer = report(db, body(scheme, 1, claim_type))
        assert answer == claims.get_claim(db, answer["claim_no"])
        trail = audits(db, answer["claim_no"])
        assert [(a.action, a.before, (a.after or {}).get("status")) for a in trail] == [
            ("report", None, "reported"), ("register", {"status": "reported"}, "registered"),
            ("request_documents", {"status": "registered"}, "documents_pending")]
        with db.read() as s:
            topics = s.execute(select(OutboxEvent.topic).where(
                OutboxEvent.payload["claim_no"].as_string() == answer["claim_no"])
                .order_by(OutboxEvent.id)).scalars().all()
        assert topics == ["claim.register", "claim.request_documents", "claim.reported"]


def test_someone_not_on_the_policy_stays_reported_for_review_then_is_declined(
    db: Database, scheme: demo.SeedResult
) -> None:
    # sample 3 is a young PA-GUARD insured, not a member of the scheme
    view = report(db, body(scheme, 3))
    no = view["claim_no"]
    reason = "出险人不是该保单的被保险人"
    assert view["status"] == "reported"
    assert view["missing_documents"] == []
    assert view["track_rule"] == f"立案核查未通过，待人工处理：{reason}"
    assert [t["action"] for t in view["timeline"]] == ["report"]
    assert tasks(db, no) == [("registration_review", TODAY, reason)]
    assert notifications(db, no) == []
    assert view["allowed_actions"] == ["register", "decline_registration", "withdraw",
                                       "change_type", "register_anyway"]

    with pytest.raises(DomainError) as err:
        act(db, no, "register", "clerk-1")
    assert err.value.message == f"不符合立案条件：{reason}"
    assert row(db, no).status == "reported"
    with pytest.raises(ValidationError):
        act(db, no, "decline_registration", "clerk-1", reasons=[])

    declined = act(db, no, "decline_registration", "clerk-1", reasons=[reason])
    assert declined["status"] == "rejected"
    assert declined["rejection_reasons"] == [reason]
    assert declined["timeline"][-1]["actor"] == "clerk-1"
    [letter] = declined["letters"]
    assert letter["kind"] == "rejection" and letter["sent_at"] is None
    assert f"1. {reason}" in letter["body"]
    assert "第二十四条" in letter["body"]
    assert dl(declined, "rejection_letter") == ("2026-03-13", False, False, None)


def test_an_incident_outside_the_policy_period_is_not_registered(
    db: Database, scheme: demo.SeedResult, factory: Factory
) -> None:
    before = report(db, body(scheme, 0, incident="2025-12-31"))
    reason = "出险日期 2025-12-31 不在保单有效期内（2026-01-01 至 2027-01-01）"
    assert before["status"] == "reported"
    assert before["track_rule"] == f"立案核查未通过，待人工处理：{reason}"
    assert tasks(db, before["claim_no"]) == [("registration_review", TODAY, reason)]

    # an individual policy issued today starts tomorrow
    person = factory.person()
    policy = factory.issued(insured=person)
    assert policy["start_date"] == "2026-03-11"
    raw = body(scheme, 0, incident="2026-03-10", policy_no=policy["policy_no"],
               insured_id_number=person["id_number"])
    today = report(db, raw)
    assert today["status"] == "reported"
    assert today["track_rule"].endswith(
        "出险日期 2026-03-10 不在保单有效期内（2026-03-11 至 2027-03-11）")
    assert notifications(db, today["claim_no"]) == []


def test_report_refuses_bad_input(db: Database, scheme: demo.SeedResult) -> None:
    with pytest.raises(ValidationError) as err:
        claims.report(db, body(scheme, incident="2026-03-11"))  # tomorrow
    assert err.value.field == "incident_date"
    with pytest.raises(ValidationError) as err:
        claims.report(db, body(scheme, claim_type="theft"))
    assert err.value.field == "claim_type"
    with pytest.raises(NotFound):
        claims.report(db, body(scheme, policy_no="G209900000001"))


# ---- documents and the fast track -------------------------------------------------------------

def test_each_document_ticks_itself_off_and_the_last_one_fast_tracks(
    db: Database, scheme: demo.SeedResult, files: FileStore
) -> None:
    view = report(db, body(scheme, facts={"admission_date": "2026-03-01",
                                          "discharge_date": "2026-03-09"}))
    no = view["claim_no"]
    extra = upload(db, files, no, None)  # an unrequested paper ticks nothing off
    assert extra["doc_type"] == "other"
    assert len(claims.get_claim(db, no)["missing_documents"]) == 4
    expected = [t for t, _ in DOCS["hospital_allowance"]]
    for i, doc_type in enumerate(expected):
        done = upload(db, files, no, doc_type)
        after = claims.get_claim(db, no)
        assert [m["type"] for m in after["missing_documents"]] == expected[i + 1:]
        if i < 3:
            assert done["claim_status"] == after["status"] == "documents_pending"
            assert row(db, no).documents_complete_on is None
    assert done["claim_status"] == "approved"
    assert row(db, no).documents_complete_on == TODAY
    assert after["track"] == "fast"
    assert after["track_rule"] == ("F1 住院津贴 240.00 元 不超过 5,000.00 元，材料齐全一致、"
                                   "按时报案，系统自动理算并审批")
    assert (after["payable"], after["approved"]) == ("240.00", "240.00")
    assert after["adjudication_lines"] == [
        {"text": "意外住院津贴：住院 8 天（2026-03-01 至 2026-03-09，入院当日计入、出院当日不计）"
                 "× 30.00 元/天", "amount": "240.00"},
        {"text": "应付合计：240.00 元", "amount": "240.00"},
    ]
    tail = [(t["action"], t["status"], t["actor"]) for t in after["timeline"][-3:]]
    assert tail == [("documents_complete", "under_review", "system"),
                    ("adjudicate", "adjudicated", "system"),
                    ("approve", "approved", "system")]
    assert after["timeline"][-1]["note"] == after["track_rule"]
    assert len(after["documents"]) == 5
    # decided today: decision and review met; pay 240 元 within 3 working days (Fri 13 March)
    assert dl(after, "decision") == ("2026-04-09", False, False, "2026-03-10")
    assert dl(after, "review") == ("2026-03-13", False, False, "2026-03-10")
    assert dl(after, "payment") == ("2026-03-13", False, False, None)
    assert tasks(db, no) == []  # nothing for people to do
    assert len(notifications(db, no)) == 1


def test_small_allowance_claims_that_still_need_people(
    db: Database, scheme: demo.SeedResult, files: FileStore
) -> None:
    stay = {"admission_date": "2026-03-01", "discharge_date": "2026-03-09"}
    cases = [
        (body(scheme, 0, incident="2026-02-07", facts={"admission_date": "2026-02-07",
                                                       "discharge_date": "2026-02-10"}),
         "M5 ", True),  # reported 31 days after the incident
        (body(scheme, 2, incident="2026-02-08", facts={"admission_date": "2026-02-08",
                                                       "discharge_date": "2026-02-10"}),
         "F1 ", False),  # 30 days: on time (another insured: the same days would overlap)
        (body(scheme, 1, facts=stay, cause="fighting"), "M8 ", False),
        (body(scheme, 1, facts={"admission_date": "2026-03-02",
                                "discharge_date": "2026-03-02"}), "M9 ", False),
        (body(scheme, 2), "M7 ", False),  # no dates: nothing to adjudicate
    ]
    for raw, rule, late in cases:
        view = report(db, raw)
        assert view["late_report"] is late
        done = upload_all(db, files, view["claim_no"])
        assert done["track_rule"].startswith(rule), done["track_rule"]
        if rule == "F1 ":
            assert done["status"] == "approved"
            assert done["payable"] == "60.00"
        else:
            assert (done["status"], done["track"]) == ("under_review", "manual")
            assert done["payable"] is None
            assert tasks(db, view["claim_no"]) == [
                ("claim_review", D(2026, 3, 13), done["track_rule"])]


def test_the_yearly_allowance_cap_counts_earlier_approved_claims(
    db: Database, scheme: demo.SeedResult, files: FileStore, clock: ManualClock
) -> None:
    def stay_claim(incident: str, discharge: str, reported: date) -> str:
        on(clock, reported)
        view = report(db, body(scheme, 0, incident=incident, facts={
            "admission_date": incident, "discharge_date": discharge}))
        upload_all(db, files, view["claim_no"])
        return str(view["claim_no"])

    # 90 days (5 Jan – 5 Apr), reported late, so adjudicated and approved by people
    first = stay_claim("2026-01-05", "2026-04-05", D(2026, 4, 6))
    assert claims.get_claim(db, first)["track_rule"].startswith("M5 ")
    assert act(db, first, "adjudicate", "adj-1")["payable"] == "2700.00"
    assert act(db, first, "approve", "adj-2", role="adjuster")["status"] == "approved"
    # 80 days (10 Apr – 29 Jun): 90 + 80 = 170 ≤ 180, all paid
    second = stay_claim("2026-04-10", "2026-06-29", D(2026, 6, 30))
    assert act(db, second, "adjudicate", "adj-1")["payable"] == "2400.00"
    act(db, second, "approve", "adj-2", role="adjuster")
    # adjudicated (1 of 1 day) but then rejected: must not count
    rejected = stay_claim("2026-06-29", "2026-06-30", D(2026, 6, 30))
    assert act(db, rejected, "adjudicate", "adj-1")["payable"] == "30.00"
    act(db, rejected, "reject", "adj-1", reasons=["重复报案"])
    # 20 days (1 – 21 Jul), reported on time: only 180 − 170 = 10 days are paid; the third
    # accident within 12 months is flagged (frequent), so people adjudicate it
    last = stay_claim("2026-07-01", "2026-07-21", D(2026, 7, 21))
    view = claims.get_claim(db, last)
    assert [f["code"] for f in view["flags"]] == ["frequent"]
    assert (view["status"], view["track"]) == ("under_review", "manual")
    view = act(db, last, "adjudicate", "adj-1")
    assert view["payable"] == "300.00"
    assert view["adjudication_lines"] == [
        {"text": "意外住院津贴：住院 20 天（2026-07-01 至 2026-07-21，入院当日计入、出院当日不计）"
                 "× 30.00 元/天", "amount": "600.00"},
        {"text": "2026 年度已给付 170 天，每年最多给付 180 天，本次 2026 年的 20 天中 10 天不给付",
         "amount": "-300.00"},
        {"text": "应付合计：300.00 元", "amount": "300.00"},
    ]
    assert row(db, last).allowance_days_by_year == {"2026": 10}


def test_death_after_disability_from_the_same_accident_deducts_it(
    db: Database, scheme: demo.SeedResult, files: FileStore
) -> None:
    disability = manual_claim(db, files, scheme, 1, "disability")
    assessed = act(db, disability, "adjudicate", "adj-1",
                   facts={"disability_levels": [5], "assessment_date": "2026-03-09"})
    assert assessed["payable"] == "1800.00"  # 3,000 × 60 % (level 5)
    assert act(db, disability, "approve", "adj-2", role="adjuster")["approved"] == "1800.00"

    death = manual_claim(db, files, scheme, 1, "death")
    view = act(db, death, "adjudicate", "adj-1", facts={"death_date": "2026-03-09"})
    assert view["payable"] == "1200.00"
    amounts = [ln["amount"] for ln in view["adjudication_lines"]]
    assert amounts == ["3000.00", "-1800.00", "1200.00"]
    assert "扣除同一事故已给付的伤残保险金 1,800.00 元" in view["adjudication_lines"][1]["text"]

    # the same death claimed again under another accident date: one death, one benefit —
    # only what the first death claim does not already pay (3,000 − 1,200)
    other = manual_claim(db, files, scheme, 1, "death", incident="2026-03-02")
    view = act(db, other, "adjudicate", "adj-1", facts={"death_date": "2026-03-09"})
    assert view["payable"] == "1800.00"
    assert {f["code"] for f in view["flags"]} >= {"death_benefit_paid", "duplicate_incident"}


# ---- people: escalation, payment, close, and the audit trail -----------------------------------

def test_transport_death_is_escalated_approved_paid_and_closed(
    db: Database, scheme: demo.SeedResult, files: FileStore, clock: ManualClock
) -> None:
    no = manual_claim(db, files, scheme, 2, "transport_death")
    view = claims.get_claim(db, no)
    assert view["track_rule"] == "M2 transport_death 类案件须人工审核（快速通道仅限住院津贴）"
    assert tasks(db, no) == [("claim_review", D(2026, 3, 13), view["track_rule"])]

    view = act(db, no, "adjudicate", "adj-1",
               facts={"transport": "motor_vehicle", "death_date": "2026-03-01"})
    assert (view["status"], view["payable"]) == ("adjudicated", "30000.00")
    with pytest.raises(Forbidden):
        act(db, no, "approve", "adj-1", role="system")  # people cannot act as the system

    view = act(db, no, "approve", "adj-2", role="adjuster")
    assert (view["status"], view["approval_role"], view["approved"]) == (
        "pending_approval", "supervisor", None)
    assert view["timeline"][-1] == {**view["timeline"][-1], "action": "escalate",
                                    "actor": "adj-2", "status": "pending_approval",
                                    "note": "超权限上报：30000.00 元须由理赔主管审批"}
    assert tasks(db, no)[-1] == ("approval_supervisor", TODAY, "超权限上报")
    assert view["allowed_actions"] == ["approve", "reject", "advance_payment"]
    with pytest.raises(IllegalTransition):
        act(db, no, "pay", "cashier-1", amount="30000.00", account=CARD)

    on(clock, D(2026, 3, 11))
    view = act(db, no, "approve", "sup-1", role="supervisor")
    assert (view["status"], view["approved"], view["approval_role"]) == (
        "approved", "30000.00", None)
    assert view["timeline"][-1]["note"] == "理赔主管审批通过"
    # 30,000 元 → 7 working days from Wed 11 March: Fri 20 March; Art. 23's 10 days: 21 March
    assert dl(view, "payment") == ("2026-03-20", False, False, None)
    assert dl(view, "decision")[3] == "2026-03-11"

    with pytest.raises(ValidationError) as err:
        act(db, no, "pay", "cashier-1", amount="29999.99", account=CARD)
    assert err.value.field == "amount"
    with pytest.raises(ValidationError) as err:
        act(db, no, "pay", "cashier-1", amount="30000.00", account=BAD_CARD)
    assert err.value.field == "account"
    with pytest.raises(Conflict) as other:  # only to the customer's verified account
        act(db, no, "pay", "cashier-1", amount="30000.00", account=OTHER_CARD)
    assert other.value.field == "account"
    with pytest.raises(Forbidden) as own:  # four eyes: the approver does not pay
        act(db, no, "pay", "sup-1", amount="30000.00")
    assert own.value.field == "action"
    assert row(db, no).status == "approved"

    on(clock, D(2026, 3, 12))
    view = act(db, no, "pay", "cashier-1", amount="30000.00", account=CARD, reference="TX1")
    assert view["status"] == "paid"
    assert view["timeline"][-1]["note"] == "银行转账 30000.00 元至 ***************3446"
    assert dl(view, "payment") == ("2026-03-20", False, False, "2026-03-12")
    with db.read() as s:
        [payment] = s.execute(select(ClaimPayment)).scalars().all()
        assert (payment.kind, payment.amount_fen, payment.account, payment.actor) == (
            "final", 3_000_000, CARD, "cashier-1")

    view = act(db, no, "close", "adj-1")
    assert view["status"] == "closed"
    assert tasks(db, no)[-1] == ("follow_up", D(2026, 3, 19), "结案后一周内回访")
    assert view["allowed_actions"] == ["reopen"]

    # the card number appears nowhere in the timeline, the audit log or the notices
    texts = [str(t["note"]) for t in view["timeline"]]
    texts += [f"{a.before} {a.after}" for a in audits(db, no)]
    texts += [n.text for n in notifications(db, no)]
    assert not any(CARD in t for t in texts)


def test_every_transition_has_an_event_with_its_actor_and_an_audit_entry(
    db: Database, scheme: demo.SeedResult, files: FileStore
) -> None:
    no = manual_claim(db, files, scheme, 2, "transport_death")
    staff.add(db, "adj-1", "a-long-password-1", CLAIMS_ADJUSTER)
    act(db, no, "assign", "lead-1", handler="adj-1")
    act(db, no, "investigate", "adj-1")
    act(db, no, "finish_investigation", "adj-1", note="现场查勘完毕")
    act(db, no, "adjudicate", "adj-1", facts={"transport": "ship", "death_date": "2026-03-05"})
    act(db, no, "approve", "adj-2", role="adjuster")
    act(db, no, "approve", "sup-1", role="supervisor")  # 50,000.00: within a supervisor's
    act(db, no, "pay", "cashier-1", amount="50000.00", account=CARD)
    act(db, no, "close", "adj-1")
    act(db, no, "reopen", "head-1", note="家属申请复核")
    act(db, no, "reject", "head-1", reasons=["复核认定非营运船舶"])
    act(db, no, "send_rejection_letter", "clerk-1")

    trail = events(db, no)
    assert [(a, actor) for a, _, actor in trail] == [
        ("report", "customer"), ("register", "system"), ("request_documents", "system"),
        *[("document", "customer")] * 7,
        ("documents_complete", "system"), ("assign", "lead-1"), ("investigate", "adj-1"),
        ("finish_investigation", "adj-1"), ("enter_facts", "adj-1"), ("adjudicate", "adj-1"),
        ("escalate", "adj-2"),
        ("approve", "sup-1"), ("pay", "cashier-1"), ("close", "adj-1"), ("reopen", "head-1"),
        ("reject", "head-1"), ("send_rejection_letter", "clerk-1"),
    ]
    assert [status for _, status, _ in trail][-6:] == [
        "approved", "paid", "closed", "under_review", "rejected", "rejected"]
    assert [(a.action, a.actor) for a in audits(db, no)] == [(a, actor) for a, _, actor in trail]
    moved = [a for a in audits(db, no) if a.action in ("approve", "pay", "close", "reopen")]
    assert [(a.before, a.after and a.after["status"]) for a in moved] == [
        ({"status": "pending_approval"}, "approved"), ({"status": "approved"}, "paid"),
        ({"status": "paid"}, "closed"), ({"status": "closed"}, "under_review")]


def test_a_refused_action_changes_nothing(
    db: Database, scheme: demo.SeedResult
) -> None:
    no = report(db, body(scheme))["claim_no"]
    before_events, before_audits = events(db, no), len(audits(db, no))
    with pytest.raises(IllegalTransition) as err:
        act(db, no, "pay", "cashier-1", amount="100.00", account=CARD)
    assert err.value.current == "documents_pending"
    with pytest.raises(ValidationError) as bad:
        act(db, no, "fly", "adj-1")
    assert bad.value.field == "action"
    with pytest.raises(NotFound):
        act(db, "R209900000000", "withdraw", "adj-1")
    assert events(db, no) == before_events
    assert len(audits(db, no)) == before_audits
    assert row(db, no).status == "documents_pending"


def test_an_advance_cannot_exceed_what_the_policy_or_the_adjudication_allows(
    db: Database, scheme: demo.SeedResult, files: FileStore
) -> None:
    no = manual_claim(db, files, scheme, 0, "disability")
    before = events(db, no)
    with pytest.raises(ValidationError) as err:  # more than any sum insured of the policy
        act(db, no, "advance_payment", "sup-1", amount="5000000.00",
            determinable="5000000.00", account=CARD)
    assert err.value.field == "determinable"
    assert events(db, no) == before and row(db, no).advance_paid_fen == 0
    act(db, no, "adjudicate", "sup-1", facts={"disability_levels": [5]})
    payable = claims.get_claim(db, no)["payable"]
    with pytest.raises(ValidationError) as err:  # adjudicated: at most what it pays
        act(db, no, "advance_payment", "sup-2", amount="100.00",
            determinable=str(Decimal(payable) + 1), account=CARD)
    assert err.value.field == "determinable"
    with pytest.raises(Forbidden):  # four eyes: who adjudicated does not pay an advance
        act(db, no, "advance_payment", "sup-1", amount="100.00", determinable=payable,
            account=CARD)
    view = act(db, no, "advance_payment", "sup-2", amount="100.00", determinable=payable,
               account=CARD)
    assert view["advance_paid"] == "100.00"


def test_advance_payment_is_deducted_from_the_final_payment(
    db: Database, scheme: demo.SeedResult, files: FileStore
) -> None:
    no = manual_claim(db, files, scheme, 0, "disability")
    with pytest.raises(ValidationError):
        act(db, no, "advance_payment", "adj-1", amount="1800.01", determinable="1800.00",
            account=CARD)
    view = act(db, no, "advance_payment", "adj-1", amount="500.00", determinable="1800.00",
               account=CARD)
    assert (view["status"], view["advance_paid"]) == ("under_review", "500.00")
    assert view["timeline"][-1]["note"] == "先予支付 500.00 元（保险法第25条）"
    assert dl(view, "advance_payment") == ("2026-05-09", False, False, "2026-03-10")
    act(db, no, "adjudicate", "adj-1", facts={"disability_levels": [5]})
    act(db, no, "approve", "adj-2", role="adjuster")
    with pytest.raises(ValidationError):
        act(db, no, "pay", "cashier-1", amount="1800.00")
    view = act(db, no, "pay", "cashier-1", amount="1300.00")  # the card on file
    assert view["status"] == "paid"
    with db.read() as s:
        paid = s.execute(select(ClaimPayment.kind, ClaimPayment.amount_fen)
                         .order_by(ClaimPayment.id)).all()
    assert [tuple(p) for p in paid] == [("advance", 50_000), ("final", 130_000)]


# ---- a further documents request (Art. 22) and the paused clock ----------------------------------

def test_a_later_request_is_a_second_notice_and_pauses_the_decision_clock(
    db: Database, scheme: demo.SeedResult, files: FileStore, clock: ManualClock
) -> None:
    no = manual_claim(db, files, scheme, 0, "disability")
    view = claims.get_claim(db, no)
    assert dl(view, "decision") == ("2026-04-09", False, False, None)

    on(clock, D(2026, 3, 12))
    with pytest.raises(ValidationError):
        act(db, no, "request_documents", "adj-1", documents=[])
    view = act(db, no, "request_documents", "adj-1", documents=[
        {"type": "accident_certificate", "name": "意外事故证明"},
        {"type": "disability_assessment", "name": "伤残鉴定报告"},
    ])
    assert view["status"] == "documents_pending"
    assert view["timeline"][-1]["note"] == (
        "补充材料通知：意外事故证明、伤残鉴定报告"
        "（其中 伤残鉴定报告 本应在首次通知中一并告知，记为一次性告知缺陷）")
    assert [m["type"] for m in view["missing_documents"]] == [
        "disability_assessment", "accident_certificate"]
    sent = notifications(db, no)
    assert len(sent) == 2
    assert sent[1].text == f"【小保】报案号 {no} 还需补充：意外事故证明、伤残鉴定报告。"
    assert pauses(db, no) == [(D(2026, 3, 12), None)]
    with db.read() as s:
        notice = dict(s.execute(select(ClaimRequirement.doc_type, ClaimRequirement.notice_no)
                                .join(ClaimRow).where(ClaimRow.claim_no == no)).all())
    assert notice["accident_certificate"] == 2
    with pytest.raises(IllegalTransition):  # nothing more can be asked while waiting
        act(db, no, "request_documents", "adj-1", documents=[{"type": "x_ray", "name": "X光片"}])

    # Sunday 15 March: paused for 13–15 March; the due date shown is provisional
    on(clock, D(2026, 3, 15))
    view = claims.get_claim(db, no)
    assert dl(view, "decision") == ("2026-04-12", False, True, None)
    assert dl(view, "review") == ("2026-03-16", False, True, None)
    upload(db, files, no, "accident_certificate")
    assert row(db, no).status == "documents_pending"

    # Tuesday 17 March: the last paper arrives; the pause lasted 5 days
    on(clock, D(2026, 3, 17))
    done = upload(db, files, no, "disability_assessment")
    assert done["claim_status"] == "under_review"
    assert pauses(db, no) == [(D(2026, 3, 12), D(2026, 3, 17))]
    view = claims.get_claim(db, no)
    assert row(db, no).documents_complete_on == TODAY  # the clock's start does not move
    assert dl(view, "decision") == ("2026-04-14", False, False, None)
    # 3 working days from 10 March, skipping 13–17 March: 11, 12, 18 March
    assert dl(view, "review") == ("2026-03-18", False, False, None)
    # Art. 25's 60 days are not paused
    assert dl(view, "advance_payment") == ("2026-05-09", False, False, None)
    assert tasks(db, no) == [("claim_review", D(2026, 3, 13), view["track_rule"])]


def test_each_further_notice_is_sent_even_on_the_same_day(
    db: Database, scheme: demo.SeedResult, files: FileStore
) -> None:
    no = manual_claim(db, files, scheme, 0, "disability")
    act(db, no, "request_documents", "adj-1",
        documents=[{"type": "accident_certificate", "name": "意外事故证明"}])
    upload(db, files, no, "accident_certificate")
    act(db, no, "request_documents", "adj-1",
        documents=[{"type": "police_report", "name": "公安机关证明"}])
    texts = [n.text for n in notifications(db, no)]
    assert texts[1:] == [f"【小保】报案号 {no} 还需补充：意外事故证明。",
                         f"【小保】报案号 {no} 还需补充：公安机关证明。"]
    assert pauses(db, no) == [(TODAY, TODAY), (TODAY, None)]


# ---- rejection (Art. 24) ----------------------------------------------------------------------

def test_rejection_letter_with_reasons_sent_on_its_clock(
    db: Database, scheme: demo.SeedResult, files: FileStore, clock: ManualClock
) -> None:
    sent_in_time = manual_claim(db, files, scheme, 0, "disability")
    with pytest.raises(ValidationError) as err:
        act(db, sent_in_time, "reject", "adj-1", reasons=[])
    assert err.value.field == "reasons"
    reasons = ["经调查，伤残系疾病所致，不属于意外伤害", "伤残鉴定超过事故后180日"]
    view = act(db, sent_in_time, "reject", "adj-1", reasons=reasons)
    assert (view["status"], view["rejection_reasons"]) == ("rejected", reasons)
    assert view["timeline"][-1]["note"] == "；".join(reasons)
    [letter] = view["letters"]
    with db.read() as s:
        insured = s.execute(select(Party.name).where(
            Party.id_number_hash == keyed_hash("id_number", scheme.sample_id_numbers[0])
        )).scalar_one()
    assert letter["body"].startswith("拒绝赔付通知书\n\n陈小明 先生/女士：\n\n")
    assert (f"您于 2026-03-10 报案的被保险人 {insured} 于 2026-03-01 发生的保险事故"
            f"（报案号 {sent_in_time}）") in letter["body"]
    assert ("1. 经调查，伤残系疾病所致，不属于意外伤害\n2. 伤残鉴定超过事故后180日"
            in letter["body"])
    assert "根据《中华人民共和国保险法》第二十四条，特此书面通知" in letter["body"]
    assert dl(view, "rejection_letter") == ("2026-03-13", False, False, None)
    assert dl(view, "decision")[3] == "2026-03-10"
    progress = claims.progress(db, sent_in_time)
    assert progress["stage"] == "已拒赔"
    assert progress["text"] == (f"您的理赔（报案号 {sent_in_time}）当前进度：已拒赔。拒赔理由："
                                + "；".join(reasons) + "。")

    # rejected while documents are pending; reported by the insured themselves (as the bot
    # records it), so the letter is addressed to them by name
    late = report(db, body(scheme, 1, reporter={"name": "本人", "relation": "self",
                                                "phone": PHONE}))["claim_no"]
    [late_letter] = act(db, late, "reject", "adj-1", reasons=["被保险人已于出险前退出本计划"])[
        "letters"]
    with db.read() as s:
        second = s.execute(select(Party.name).where(
            Party.id_number_hash == keyed_hash("id_number", scheme.sample_id_numbers[1])
        )).scalar_one()
    assert late_letter["body"].startswith(f"拒绝赔付通知书\n\n{second} 先生/女士：\n\n")

    on(clock, D(2026, 3, 12))
    view = act(db, sent_in_time, "send_rejection_letter", "clerk-1")
    assert view["letters"][0]["sent_at"] is not None
    assert dl(view, "rejection_letter") == ("2026-03-13", False, False, "2026-03-12")
    assert view["timeline"][-1]["note"] == f"拒赔通知书 {view['letters'][0]['letter_no']} 已发送"
    assert [n.template for n in notifications(db, sent_in_time)] == [
        "missing_documents", "rejection_letter"]
    with pytest.raises(DomainError):
        act(db, sent_in_time, "send_rejection_letter", "clerk-1")  # already sent

    on(clock, D(2026, 3, 13))  # the due day: not yet late
    assert dl(claims.get_claim(db, late), "rejection_letter") == (
        "2026-03-13", False, False, None)
    assert late not in {i["claim_no"] for i in claims.search(db, breached=True)}
    on(clock, D(2026, 3, 14))
    assert dl(claims.get_claim(db, late), "rejection_letter")[1] is True
    breached = {i["claim_no"] for i in claims.search(db, breached=True)}
    assert late in breached and sent_in_time not in breached
    assert claims.search(db, breached=False) == []  # a rejection whose letter went out is done
    view = act(db, late, "send_rejection_letter", "clerk-1")
    assert dl(view, "rejection_letter") == ("2026-03-13", True, False, "2026-03-14")


# ---- deadlines ---------------------------------------------------------------------------------

def test_deadlines_breach_the_day_after_they_fall_due(
    db: Database, scheme: demo.SeedResult, files: FileStore, clock: ManualClock
) -> None:
    # documents complete on Thursday 2 April; 4–6 April is Qingming (Sat–Mon)
    on(clock, D(2026, 4, 2))
    no = manual_claim(db, files, scheme, 1, "disability", incident="2026-03-30")
    view = claims.get_claim(db, no)
    assert dl(view, "review") == ("2026-04-08", False, False, None)  # Fri 3, Tue 7, Wed 8
    assert dl(view, "decision") == ("2026-05-02", False, False, None)
    assert dl(view, "advance_payment") == ("2026-06-01", False, False, None)
    assert claims.progress(db, no)["expected_by"] == "2026-04-08"

    on(clock, D(2026, 4, 8))
    assert dl(claims.get_claim(db, no), "review")[1] is False
    assert claims.search(db, breached=True) == []
    [due] = claims.search(db, due_before="2026-04-08")
    assert (due["claim_no"], due["next_due"], due["breached"]) == (no, "2026-04-08", False)
    assert claims.search(db, due_before="2026-04-07") == []

    on(clock, D(2026, 4, 9))
    view = claims.get_claim(db, no)
    assert dl(view, "review")[1] is True
    assert dl(view, "decision")[1] is False
    assert [i["claim_no"] for i in claims.search(db, breached=True)] == [no]
    assert claims.search(db, breached=False) == []

    on(clock, D(2026, 5, 2))
    assert dl(claims.get_claim(db, no), "decision")[1] is False
    on(clock, D(2026, 5, 3))
    assert dl(claims.get_claim(db, no), "decision")[1] is True

    # deciding late stops the clock but the breach stays on record
    view = act(db, no, "adjudicate", "adj-1", facts={"disability_levels": [10]})
    assert view["payable"] == "300.00"
    view = act(db, no, "approve", "adj-2", role="adjuster")
    assert dl(view, "decision") == ("2026-05-02", True, False, "2026-05-03")


# ---- withdraw and reopen -----------------------------------------------------------------------

def test_withdraw_and_reopen(
    db: Database, scheme: demo.SeedResult, files: FileStore, clock: ManualClock
) -> None:
    no = report(db, body(scheme))["claim_no"]
    view = act(db, no, "withdraw", "clerk-1", note="客户来电撤案")
    assert view["status"] == "withdrawn"
    assert view["timeline"][-1]["note"] == "客户来电撤案"
    progress = claims.progress(db, no)
    assert (progress["stage"], progress["next_step"]) == (
        "已撤案", "案件已撤销，如需重新报案请联系我们")
    with pytest.raises(DomainError):
        upload(db, files, no, "discharge_summary")
    view = act(db, no, "reopen", "sup-1")
    assert view["status"] == "under_review"
    assert (view["track"], view["track_rule"]) == ("manual", "M4 重开案件须人工复核")
    assert row(db, no).reopen_count == 1

    fast = report(db, body(scheme, 1, facts={"admission_date": "2026-03-01",
                                             "discharge_date": "2026-03-03"}))["claim_no"]
    assert upload_all(db, files, fast)["status"] == "approved"
    with pytest.raises(IllegalTransition):
        act(db, fast, "withdraw", "clerk-1")
    act(db, fast, "pay", "cashier-1", amount="60.00", account=CARD)
    act(db, fast, "close", "clerk-1")
    on(clock, D(2026, 5, 6))  # eight weeks later: the clocks of the new decision start today
    view = act(db, fast, "reopen", "sup-1", note="客户对天数有异议")
    assert dl(view, "review") == ("2026-05-09", False, False, None)  # Sat 9th: 调休
    assert dl(view, "decision") == ("2026-06-05", False, False, None)  # 30 days
    assert (view["status"], view["approved"], view["track"]) == ("under_review", None, "manual")
    assert view["track_rule"] == "M4 重开案件须人工复核"
    assert view["allowed_actions"] == ["request_documents", "investigate", "adjudicate",
                                       "reject", "withdraw", "advance_payment", "change_type"]
    assert view["advance_paid"] == "60.00"  # what was paid stays paid
    view = act(db, fast, "adjudicate", "adj-1", facts={"discharge_date": "2026-03-04"})
    assert view["payable"] == "90.00"  # 3 days
    act(db, fast, "approve", "adj-2", role="adjuster")
    with pytest.raises(ValidationError):
        act(db, fast, "pay", "cashier-1", amount="90.00")
    assert act(db, fast, "pay", "cashier-1", amount="30.00")["status"] == "paid"


# ---- the customer's progress view ---------------------------------------------------------------

def test_progress_in_chinese_at_each_stage(
    db: Database, scheme: demo.SeedResult, files: FileStore
) -> None:
    outsider = report(db, body(scheme, 3))["claim_no"]
    p = claims.progress(db, outsider)
    assert (p["stage"], p["expected_by"]) == ("已报案", None)
    assert p["text"] == f"您的理赔（报案号 {outsider}）当前进度：已报案。"
    assert p["next_step"] == "我们正在核对保单信息，完成后会通知您所需材料"

    no = report(db, body(scheme, 0, facts={"admission_date": "2026-03-01",
                                           "discharge_date": "2026-03-09"}))["claim_no"]
    p = claims.progress(db, no)
    assert p["stage"] == "待补充材料"
    assert p["text"] == (f"您的理赔（报案号 {no}）当前进度：待补充材料。还需提交：出院小结、"
                         "住院医疗费用发票、申请人身份证明、领款人银行账户。")
    assert [m["type"] for m in p["missing_documents"]] == [
        t for t, _ in DOCS["hospital_allowance"]]
    assert p["next_step"] == "请提交下列材料，材料齐全后我们将在3个工作日内完成审核"
    assert p["expected_by"] is None

    upload_all(db, files, no)
    p = claims.progress(db, no)
    assert (p["stage"], p["status"], p["expected_by"]) == ("已审批，待支付", "approved",
                                                          "2026-03-13")
    assert p["text"] == (f"您的理赔（报案号 {no}）当前进度：已审批，待支付。"
                         "核定赔付金额 240.00 元。预计 2026-03-13 前完成下一步。")
    act(db, no, "pay", "cashier-1", amount="240.00", account=CARD)
    p = claims.progress(db, no)
    assert (p["stage"], p["expected_by"]) == ("已支付", None)
    assert p["text"] == f"您的理赔（报案号 {no}）当前进度：已支付。核定赔付金额 240.00 元。"

    review = manual_claim(db, files, scheme, 1, "disability")
    p = claims.progress(db, review)
    assert p["text"] == (f"您的理赔（报案号 {review}）当前进度：材料审核中。"
                         "预计 2026-03-13 前完成下一步。")
    act(db, review, "investigate", "adj-1")
    p = claims.progress(db, review)
    assert (p["stage"], p["expected_by"]) == ("调查核实中", "2026-04-09")
    act(db, review, "finish_investigation", "adj-1")
    act(db, review, "adjudicate", "adj-1", facts={"disability_levels": [1]})
    p = claims.progress(db, review)
    assert (p["stage"], p["expected_by"]) == ("已理算", "2026-04-09")
    assert p["next_step"] == "赔付金额已计算，正在审批"


# ---- search ------------------------------------------------------------------------------------

def test_search_by_insured_status_and_handler(
    db: Database, scheme: demo.SeedResult, files: FileStore
) -> None:
    a = report(db, body(scheme, 0))["claim_no"]
    b = manual_claim(db, files, scheme, 1, "disability")
    c = report(db, body(scheme, 1, "death"))["claim_no"]
    staff.add(db, "adj-7", "a-long-password-7", CLAIMS_ADJUSTER)
    act(db, b, "assign", "lead-1", handler="adj-7")

    def found(**kw: Any) -> list[str]:
        return [i["claim_no"] for i in claims.search(db, **kw)]

    assert found(insured_id_number=scheme.sample_id_numbers[0]) == [a]
    assert found(insured_id_number=scheme.sample_id_numbers[1]) == [c, b]  # newest first
    assert found(insured_id_number=scheme.sample_id_numbers[2]) == []
    assert found(status="under_review") == [b]
    assert found(status="documents_pending") == [c, a]
    assert found(insured_id_number=scheme.sample_id_numbers[1], status="documents_pending") == [c]
    assert found(handler="adj-7") == [b]
    assert found(handler="adj-8") == []
    [item] = claims.search(db, handler="adj-7")
    assert item == {"claim_no": b, "status": "under_review", "claim_type": "disability",
                    "incident_date": "2026-03-01", "handler": "adj-7", "track": "manual"}
    assert found(due_before="2026-03-13") == [b]  # the only claim with a running clock
    with pytest.raises(ValidationError):
        claims.search(db, status="lost")
    with pytest.raises(ValidationError):
        claims.search(db, insured_id_number="123")


# ---- more edges -------------------------------------------------------------------------------

def test_a_retry_racing_the_first_report_gets_the_same_claim(
    db: Database, scheme: demo.SeedResult
) -> None:
    raw = body(scheme)
    barrier = threading.Barrier(4)
    results: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def send() -> None:
        barrier.wait()
        try:
            status, view = claims.report(db, {**raw, "idempotency_key": "ivr-call-77"})
            results.append((status, view["claim_no"]))
        except BaseException as exc:  # collected and shown below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(s for s, _ in results) == [200, 200, 200, 201]
    assert len({no for _, no in results}) == 1
    with db.read() as s:
        assert len(s.execute(select(ClaimRow.id)).all()) == 1
    assert len(notifications(db, results[0][1])) == 1


def test_one_stay_reported_four_times_at_once_is_flagged_on_every_later_report(
    db: Database, scheme: demo.SeedResult
) -> None:
    """Registrations take no lock of the insured: they follow one another on the claim
    number's counter, so each later report sees the earlier claims and is flagged."""
    raw = body(scheme, facts={"admission_date": "2026-03-01", "discharge_date": "2026-03-06"})
    barrier = threading.Barrier(4)
    numbers: list[str] = []
    errors: list[BaseException] = []

    def send(i: int) -> None:
        barrier.wait()
        try:
            numbers.append(report(db, {**raw, "reporter": {**raw["reporter"],
                                                           "name": f"陈小{'甲乙丙丁'[i]}"}})[
                "claim_no"])
        except BaseException as exc:  # collected and shown below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(numbers)) == 4
    with db.read() as s:
        flagged = {no: sorted(rel for rel in related or [])
                   for no, related in s.execute(
                       select(ClaimRow.claim_no, ClaimFlag.related).join(
                           ClaimFlag, ClaimFlag.claim_id == ClaimRow.id).where(
                           ClaimFlag.code == "duplicate_stay"))}
    first = sorted(numbers)[0]  # numbers follow the counter: the first registered
    assert first not in flagged
    for no in sorted(numbers)[1:]:  # each later one names every earlier claim
        assert flagged[no] == [n for n in sorted(numbers) if n < no]


def test_the_business_day_is_the_beijing_day(
    db: Database, scheme: demo.SeedResult, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 3, 31, 16, 30, tzinfo=UTC))  # 00:30 on 1 April in Beijing
    view = report(db, body(scheme, incident="2026-04-01"))
    assert view["reported_on"] == "2026-04-01"
    assert view["claim_no"].startswith("R2026")
    with pytest.raises(ValidationError):
        claims.report(db, body(scheme, incident="2026-04-02"))


def test_staff_can_waive_missing_documents_and_mark_a_special_case(
    db: Database, scheme: demo.SeedResult, files: FileStore
) -> None:
    no = report(db, body(scheme, facts={"admission_date": "2026-03-01",
                                        "discharge_date": "2026-03-09"}))["claim_no"]
    act(db, no, "special_case", "sup-1", note="媒体关注")
    upload(db, files, no, "discharge_summary")
    with pytest.raises(DomainError) as err:
        act(db, no, "documents_complete", "adj-1")
    assert err.value.message.startswith(
        "仍缺少材料：住院医疗费用发票、申请人身份证明、领款人银行账户")
    view = act(db, no, "documents_complete", "adj-1", waive_missing=True)
    assert view["missing_documents"] == []
    assert (view["status"], view["track"]) == ("under_review", "manual")
    assert view["track_rule"] == "M3 重大或特殊案件须人工处理"
    assert view["special_case"] is True
    # 30 working days from 10 March (Qingming 4–6 April off): 22 April, instead of the review
    assert "review" not in view["deadlines"]
    assert dl(view, "special_case") == ("2026-04-22", False, False, None)
    assert claims.progress(db, no)["expected_by"] == "2026-04-22"
    assert [(a, actor) for a, _, actor in events(db, no)][-4:] == [
        ("special_case", "sup-1"), ("document", "customer"), ("waive_documents", "adj-1"),
        ("documents_complete", "adj-1")]


def test_upload_and_bank_account_checks(
    db: Database, scheme: demo.SeedResult, files: FileStore
) -> None:
    no = report(db, body(scheme))["claim_no"]
    with pytest.raises(ValidationError) as err:
        claims.upload_document(db, files, no, "a.jpg", "image/jpeg", b"", "claimant_id", "c")
    assert err.value.field == "file"
    with pytest.raises(ValidationError) as err:
        claims.upload_document(db, files, no, "a.jpg", "image/jpeg", b"x", "bad type", "c")
    assert err.value.field == "doc_type"
    with pytest.raises(NotFound):
        upload(db, files, "R209900000000", "claimant_id")
    with pytest.raises(ValidationError):
        act(db, no, "set_bank_account", "clerk-1", account=BAD_CARD)
    act(db, no, "set_bank_account", "clerk-1", account=CARD)  # the one stated: no change
    assert row(db, no).bank_account == CARD
    [entry] = [a for a in audits(db, no) if a.action == "set_bank_account"]
    assert entry.after == {"account": "***************3446", "step": "set"}
    with pytest.raises(Conflict):  # an integration does not replace a verified account
        act(db, no, "set_bank_account", "clerk-1", account=OTHER_CARD)
    assert row(db, no).bank_account == CARD


def test_a_payee_change_by_staff_takes_a_second_person(
    db: Database, scheme: demo.SeedResult
) -> None:
    no = report(db, body(scheme))["claim_no"]
    li, wang = Actor("adj-li", CLAIMS_ADJUSTER), Actor("adj-wang", CLAIMS_ADJUSTER)
    view = act(db, no, "set_bank_account", li, account=OTHER_CARD)
    assert row(db, no).bank_account == CARD  # still the customer's until confirmed
    assert view["timeline"][-1]["action"] == "propose_bank_account"
    with pytest.raises(Forbidden) as err:
        act(db, no, "set_bank_account", li, account=OTHER_CARD)
    assert err.value.field == "action" and row(db, no).bank_account == CARD
    view = act(db, no, "set_bank_account", wang, account=OTHER_CARD)
    assert row(db, no).bank_account == OTHER_CARD
    assert (view["timeline"][-1]["action"], view["timeline"][-1]["actor"]) == (
        "confirm_bank_account", "adj-wang")


def test_a_report_without_an_account_cannot_be_paid_until_one_is_verified(
    db: Database, scheme: demo.SeedResult, files: FileStore
) -> None:
    raw = body(scheme, 1, "disability")
    del raw["bank_account"]
    no = report(db, raw)["claim_no"]
    upload_all(db, files, no)
    act(db, no, "adjudicate", "adj-1", facts={"disability_levels": [5]})
    act(db, no, "approve", "adj-2", role="adjuster")
    with pytest.raises(DomainError) as err:
        act(db, no, "pay", "cashier-1", amount="1800.00", account=CARD)
    assert err.value.field == "account" and row(db, no).status == "approved"
    act(db, no, "set_bank_account", "bot", account=CARD)  # the integration: the first one
    assert act(db, no, "pay", "cashier-1", amount="1800.00")["status"] == "paid"


def test_whoever_waived_documents_or_adjudicated_does_not_approve(
    db: Database, scheme: demo.SeedResult
) -> None:
    no = report(db, body(scheme, 1, "disability"))["claim_no"]
    view = act(db, no, "documents_complete", "adj-1", waive_missing=True)
    assert view["timeline"][-2]["action"] == "waive_documents"
    act(db, no, "adjudicate", "adj-2", facts={"disability_levels": [5]})
    for who in ("adj-1", "adj-2"):
        with pytest.raises(Forbidden) as err:
            act(db, no, "approve", who, role="adjuster")
        assert err.value.field == "action" and who in str(err.value)
    assert act(db, no, "approve", "adj-3", role="adjuster")["status"] == "approved"


@pytest.mark.parametrize(("facts", "field"), [
    ({"disability_levels": [5], "assessment_date": "2026-03-11"}, "facts.assessment_date"),
    ({"disability_levels": [5], "assessment_date": "2026-02-28"}, "facts.assessment_date"),
])
def test_fact_dates_after_today_or_before_the_incident_are_refused(
    db: Database, scheme: demo.SeedResult, files: FileStore, facts: dict[str, Any], field: str
) -> None:
    no = manual_claim(db, files, scheme, 0, "disability")  # incident 1 March, today 10 March
    with pytest.raises(ValidationError) as err:
        act(db, no, "adjudicate", "adj-1", facts=facts)
    assert err.value.field == field and row(db, no).status == "under_review"
    with pytest.raises(ValidationError) as at_report:
        report(db, body(scheme, 1, "disability", facts=facts))
    assert at_report.value.field == field


def test_a_report_about_an_unknown_person_is_refused(
    db: Database, scheme: demo.SeedResult
) -> None:
    from backoffice.domain.identity import make_id_number

    stranger = make_id_number("440514", D(1950, 1, 1), 999)
    with pytest.raises(NotFound) as err:
        claims.report(db, {**body(scheme, insured_id_number=stranger), "idempotency_key": "k-1"})
    assert err.value.field == "insured_id_number"
    with db.read() as s:
        assert s.execute(select(ClaimRow.id)).first() is None


def test_a_decision_ends_the_pause_and_the_work_it_finishes(
    db: Database, scheme: demo.SeedResult, files: FileStore, clock: ManualClock
) -> None:
    no = manual_claim(db, files, scheme, 0, "disability")
    on(clock, D(2026, 3, 12))
    act(db, no, "request_documents", "adj-1",
        documents=[{"type": "accident_certificate", "name": "意外事故证明"}])
    assert pauses(db, no) == [(D(2026, 3, 12), None)]
    on(clock, D(2026, 3, 13))
    act(db, no, "withdraw", "adj-1")
    assert pauses(db, no) == [(D(2026, 3, 12), D(2026, 3, 13))]
    with db.read() as s:
        open_tasks = s.execute(select(Task.kind).join(ClaimRow, ClaimRow.id == Task.claim_id)
                               .where(ClaimRow.claim_no == no, Task.status == "open")).all()
    assert open_tasks == []  # the review task is finished by the withdrawal
    on(clock, D(2026, 6, 30))
    view = act(db, no, "reopen", "adj-1")
    assert not dl(view, "decision")[2]  # no pause is left holding the clock


def test_a_claim_is_assigned_only_to_active_claims_staff(
    db: Database, scheme: demo.SeedResult
) -> None:
    no = report(db, body(scheme))["claim_no"]
    staff.add(db, "agent-9", "a-long-password-9", "cs_agent")
    for handler in ("nobody", "agent-9", "adj-1<script>"):
        with pytest.raises(ValidationError) as err:
            act(db, no, "assign", "lead-1", handler=handler)
        assert err.value.field == "handler"
    assert row(db, no).handler is None
