"""The scheme year to year on the settable clock: renewal from this year's roster, enrollment
notices in batches, and the loss-ratio watch with its alert."""

from __future__ import annotations

import io
import threading
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from scheduler_world import World, at
from sqlalchemy import func, select

from backoffice.domain.errors import Conflict, DomainError, NotFound, ValidationError
from backoffice.domain.identity import make_id_number
from backoffice.domain.scheme import LossRatio, loss_ratio
from backoffice.services import claims, complaints, group, scheme
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import (
    AuditEntry,
    ChannelBinding,
    ClaimPayment,
    ClaimRow,
    Notification,
    Party,
    PolicyRow,
    RosterMember,
    Task,
)
from backoffice.views import disclosure

AREA = "440514"
START = date(2026, 1, 1)
HEADER = "name,gender,birth_date,id_number,phone,address\n"
NAMES = "陈林黄郑吴许蔡杨"


def _idn(n: int) -> str:
    return make_id_number(AREA, date(1950, 1, 1), 2 * n + 1)


def _scheme(db: Database, world: World, members: int) -> str:
    world.on(START)
    policy_no = group.create_group_policy(db, {
        "product_code": "CN-ELDER-ACC", "applicant_name": "汕头市潮南区人民政府",
        "start_date": START.isoformat()}, "admin")["policy_no"]
    lines = [HEADER] + [f"{NAMES[n % 8]}阿{'一二三四五六七八九十'[n % 10]},男,1950-01-01,"
                        f"{_idn(n)},139{n:08d},潮南区峡山街道{n}号\n" for n in range(members)]
    result = group.import_roster(db, policy_no, lines, "importer-1", START)
    assert result.imported == members, result.as_dict()
    return str(policy_no)


def _renew(db: Database, policy_no: str, **body: Any) -> dict[str, Any]:
    return scheme.renew(db, {"policy_no": policy_no, **body}, "underwriter-1")


def _roster(db: Database, policy_no: str) -> set[str]:
    with db.read() as s:
        return set(s.execute(select(Party.id_number).join(
            RosterMember, RosterMember.party_id == Party.id).join(
            PolicyRow, PolicyRow.id == RosterMember.policy_id).where(
            PolicyRow.policy_no == policy_no, RosterMember.status == "active")).scalars())


# ---- renewal ------------------------------------------------------------------------------------

def test_the_renewal_carries_over_who_is_alive_and_resident_at_the_new_rate(
        db: Database, world: World) -> None:
    policy_no = _scheme(db, world, 6)
    world.on(date(2026, 3, 2))
    group.remove_member(db, {"policy_no": policy_no, "id_number": _idn(1), "reason": "death",
                             "date": "2026-03-01"}, "underwriter-1")
    group.remove_member(db, {"policy_no": policy_no, "id_number": _idn(2),
                             "reason": "moved_away", "date": "2026-03-01"}, "underwriter-1")
    # a death reported as a claim but not yet taken off the roster
    claims.report(db, {"policy_no": policy_no, "insured_id_number": _idn(3),
                       "claim_type": "death", "incident_date": "2026-02-20", "channel": "phone",
                       "reporter": {"name": "陈大明", "relation": "child",
                                    "phone": "13900001111"}})
    world.on(date(2026, 10, 3))  # the window opens 90 days before 2027-01-01
    made = _renew(db, policy_no, premium_per_insured="12.50")
    assert made["renewal_of"] == policy_no and made["policy_no"] != policy_no
    assert (made["start_date"], made["end_date"]) == ("2027-01-01", "2028-01-01")
    assert (made["members"], made["not_renewed"]) == (3, 3)
    assert (made["premium_per_insured"], made["annual_premium"]) == ("12.50", "37.50")
    assert _roster(db, made["policy_no"]) == {_idn(0), _idn(4), _idn(5)}
    with db.read() as s:
        old, new = (s.execute(select(PolicyRow).where(PolicyRow.policy_no == p)).scalar_one()
                    for p in (policy_no, made["policy_no"]))
        assert new.renewal_of_id == old.id and new.status == "in_force"
        assert [(c.code, c.sum_insured_fen) for c in new.coverages] == [
            (c.code, c.sum_insured_fen) for c in old.coverages]
        assert {m.enrolled_on for m in s.execute(select(RosterMember).where(
            RosterMember.policy_id == new.id)).scalars()} == {date(2027, 1, 1)}
        entry = s.execute(select(AuditEntry).where(
            AuditEntry.action == "renew_group")).scalar_one()
        assert entry.actor == "underwriter-1" and entry.entity_id == made["policy_no"]
    # a later import onto the new year keeps the government's rate, not the product's
    world.on(date(2027, 1, 5))
    group.import_roster(db, made["policy_no"], [
        HEADER, f"新阿伯,男,1950-01-01,{_idn(40)},13900000040,潮南区\n"], "importer-1",
        date(2027, 1, 5))
    with db.read() as s:
        assert s.execute(select(PolicyRow.annual_premium_fen).where(
            PolicyRow.policy_no == made["policy_no"])).scalar_one() == 4 * 1250


def test_a_renewal_is_refused_too_early_twice_or_for_the_wrong_policy(
        db: Database, world: World) -> None:
    policy_no = _scheme(db, world, 2)
    world.on(date(2026, 10, 1))  # 92 days before the end
    with pytest.raises(Conflict) as early:
        _renew(db, policy_no)
    assert "2026-10-03" in early.value.message
    world.on(date(2026, 10, 3))
    for bad in ("0", "-1", "10000.01", "abc", "1.234"):
        with pytest.raises(ValidationError) as exc:
            _renew(db, policy_no, premium_per_insured=bad)
        assert exc.value.field == "premium_per_insured"
    with pytest.raises(NotFound):
        _renew(db, "G202699999999")
    individual, _ = world.policy()
    with pytest.raises(ValidationError) as exc:
        _renew(db, individual)
    assert exc.value.field == "policy_no"
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(PolicyRow).where(
            PolicyRow.renewal_of_id.is_not(None))).scalar_one() == 0
    made = _renew(db, policy_no)
    assert made["premium_per_insured"] == "10.00"  # the product's rate when none is given
    with pytest.raises(Conflict):
        _renew(db, policy_no)


def test_two_renewals_at_once_make_one_policy(db: Database, world: World) -> None:
    policy_no = _scheme(db, world, 3)
    world.on(date(2026, 12, 1))
    outcomes: list[object] = []
    gate = threading.Barrier(2)

    def go() -> None:
        gate.wait()
        try:
            outcomes.append(_renew(db, policy_no)["policy_no"])
        except DomainError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    made = [o for o in outcomes if isinstance(o, str)]
    assert len(made) == 1 and len(outcomes) == 2
    assert isinstance(next(o for o in outcomes if not isinstance(o, str)), Conflict)
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(RosterMember).where(
            RosterMember.policy_id == select(PolicyRow.id).where(
                PolicyRow.policy_no == made[0]).scalar_subquery())).scalar_one() == 3


# ---- enrollment notices ---------------------------------------------------------------------

def test_enrollment_notices_go_in_batches_once_each_by_wechat_where_bound(
        db: Database, world: World) -> None:
    policy_no = _scheme(db, world, 5)
    with db.transaction() as s:
        party = s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", _idn(2)))).scalar_one()
        s.add(ChannelBinding(channel="wechat", user="oMember-2", party_id=party.id))
        s.execute(Party.__table__.update().where(
                Party.id_number_hash == keyed_hash("id_number", _idn(4)))
                  .values(phone=None, phone_hash=None))
    day = date(2026, 1, 5)
    runs = [scheme.enrollment_notices(db, day, per_run=2) for _ in range(4)]
    assert [r["queued"] + r["no_contact"] for r in runs] == [2, 2, 1, 0]  # 2 a run at most
    assert sum(r["queued"] for r in runs) == 4 and sum(r["no_contact"] for r in runs) == 1
    with db.read() as s:
        notes = list(s.execute(select(Notification).where(
            Notification.template == "enrollment").order_by(Notification.id)).scalars())
    assert len(notes) == 4
    assert [n.channel for n in notes].count("wechat") == 1
    assert next(n for n in notes if n.channel == "wechat").recipient == "oMember-2"
    assert all(policy_no in n.text and "无需缴费" in n.text for n in notes)
    assert len({n.dedupe_key for n in notes}) == 4


# ---- loss ratio ---------------------------------------------------------------------------------

def _paid_claim(db: Database, policy_no: str, n: int, amount_fen: int, paid_on: date,
                kind: str = "disability", status: str = "paid") -> None:
    """A claim of member n; its payment recorded as the pay step does (the lifecycle itself
    is tested in the claims tests: here only the amounts matter)."""
    _, view = claims.report(db, {
        "policy_no": policy_no, "insured_id_number": _idn(n), "claim_type": kind,
        "incident_date": (paid_on.replace(day=1)).isoformat(), "channel": "phone",
        "reporter": {"name": "陈大明", "relation": "self", "phone": "13900001111"}})
    with db.transaction() as s:
        row = s.execute(select(ClaimRow).where(ClaimRow.claim_no == view["claim_no"])
                        ).scalar_one()
        row.status, row.approved_fen = status, amount_fen
        if status == "paid":
            s.add(ClaimPayment(claim_id=row.id, kind="final", amount_fen=amount_fen,
                               actor="cashier-1", paid_at=at(paid_on, 10)))


def test_the_loss_ratio_counts_paid_and_reserved_and_alerts_once_a_month(
        db: Database, world: World) -> None:
    policy_no = _scheme(db, world, 10)  # premium 100.00
    world.on(date(2026, 2, 1))
    _paid_claim(db, policy_no, 0, 1000, date(2026, 2, 10))  # 10.00
    world.on(date(2026, 3, 1))
    _paid_claim(db, policy_no, 1, 2000, date(2026, 3, 5))  # 20.00
    _paid_claim(db, policy_no, 2, 500, date(2026, 3, 5), status="approved")  # reserved 5.00
    world.on(date(2026, 7, 1))
    view = scheme.loss_ratio(db, {"policy_no": policy_no})
    assert (view["premium"], view["paid"], view["reserved"]) == ("100.00", "30.00", "5.00")
    assert view["ratio"] == "0.3500"
    assert view["by_month"] == [{"month": "2026-02", "paid": "10.00"},
                                {"month": "2026-03", "paid": "20.00"}]
    # 181 of 365 days: 35 × 365/181 = 70.58 %
    assert view["projected"] == "0.7058" and view["alert"] is None
    # nothing more happens: by October the projection has fallen below 60 %
    world.on(date(2026, 10, 1))
    assert scheme.loss_ratio_watch(db, date(2026, 10, 1)) == {"checked": 1, "alerts": 1}
    assert scheme.loss_ratio_watch(db, date(2026, 10, 1)) == {"checked": 1, "alerts": 0}
    (task,) = world.tasks("loss_ratio_alert")
    assert task.assigned_to == "claims_supervisor" and "低于招标要求的 60%" in task.note
    assert policy_no in task.note
    (note,) = world.notifications("loss_ratio_alert")
    assert note.payload["alert"] == "low"
    assert scheme.loss_ratio_watch(db, date(2026, 11, 1))["alerts"] == 1  # next month again
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Task).where(
            Task.kind == "loss_ratio_alert")).scalar_one() == 2


@pytest.mark.parametrize(("paid", "days", "projected", "alert"), [
    ("50", 100, "1.8250", "high"),  # 50 × 365/100 over 100
    ("10", 100, "0.3650", "low"),
    ("25", 146, "0.6250", None),
    ("60", 365, "0.6000", None),    # the floor itself is enough
    ("100", 400, "1.0000", None),   # past the year's end: no further scaling
])
def test_the_projection_and_its_alert(paid: str, days: int, projected: str,
                                      alert: str | None) -> None:
    start = date(2026, 1, 1)
    lr = loss_ratio(Decimal("100"), Decimal(paid), Decimal(0), start, date(2027, 1, 1),
                    date.fromordinal(start.toordinal() + days))
    assert str(lr.projected) == projected
    assert lr.alert() == alert


def test_no_alert_too_early_and_no_ratio_without_premium() -> None:
    assert LossRatio(Decimal(100), Decimal(90), Decimal(0), 89, 365).alert() is None
    assert LossRatio(Decimal(0), Decimal(1), Decimal(0), 200, 365).ratio is None


# ---- the quarterly disclosure report ------------------------------------------------------

def _town_scheme(db: Database, world: World) -> str:
    """Members 0–5 in 峡山街道, 6–9 in 陈店镇."""
    world.on(START)
    policy_no = group.create_group_policy(db, {
        "product_code": "CN-ELDER-ACC", "applicant_name": "汕头市潮南区人民政府",
        "start_date": START.isoformat()}, "admin")["policy_no"]
    lines = [HEADER] + [
        f"{NAMES[n % 8]}阿伯,男,1950-01-01,{_idn(n)},139{n:08d},"
        f"潮南区{'峡山街道' if n < 6 else '陈店镇'}{n}号\n" for n in range(10)]
    assert group.import_roster(db, policy_no, lines, "importer-1", START).imported == 10
    return str(policy_no)


def _report(db: Database, policy_no: str, n: int, kind: str, day: date) -> str:
    _, view = claims.report(db, {
        "policy_no": policy_no, "insured_id_number": _idn(n), "claim_type": kind,
        "incident_date": day.isoformat(), "channel": "phone",
        "facts": {"diagnosis": "右桡骨远端骨折", "hospital_level": 2}
        if kind == "hospital_allowance" else {},
        "reporter": {"name": "陈大明", "relation": "child", "phone": "13900001111"}})
    return str(view["claim_no"])


def test_the_quarterly_report_agrees_with_a_count_from_the_raw_tables(
        db: Database, world: World) -> None:
    policy_no = _town_scheme(db, world)
    world.on(date(2026, 6, 20))
    _report(db, policy_no, 0, "disability", date(2026, 6, 18))  # Q2: not in Q3's figures
    world.on(date(2026, 7, 10))
    kinds = ["hospital_allowance", "disability", "hospital_allowance", "death",
             "hospital_allowance"]
    members = [1, 2, 6, 7, 8]
    made = [_report(db, policy_no, n, k, date(2026, 7, 8)) for n, k in zip(members, kinds,
                                                                           strict=True)]
    with db.transaction() as s:  # one paid in the quarter, one rejected
        paid = s.execute(select(ClaimRow).where(ClaimRow.claim_no == made[0])).scalar_one()
        paid.status, paid.approved_fen = "paid", 2700
        s.add(ClaimPayment(claim_id=paid.id, kind="final", amount_fen=2700, actor="cashier-1",
                           paid_at=at(date(2026, 8, 3), 10)))
        s.execute(ClaimRow.__table__.update().where(ClaimRow.claim_no == made[3])
                  .values(status="rejected"))
    world.on(date(2026, 8, 1))
    group.remove_member(db, {"policy_no": policy_no, "id_number": _idn(9), "reason": "moved_away",
                             "date": "2026-07-31"}, "underwriter-1")
    complaints.intake(db, {"channel": "ivr", "complainant": {"name": "陈大明",
                                                             "phone": "13900001111"},
                           "category": "claims", "description": "赔得太慢",
                           "claim_no": made[1]})
    world.on(date(2026, 10, 9))
    report = scheme.quarterly_report(db, {"policy_no": policy_no, "quarter": "2026Q3"})

    # the independent count, straight from the tables
    with db.read() as s:
        policy_id = s.execute(select(PolicyRow.id).where(PolicyRow.policy_no == policy_no)
                              ).scalar_one()
        rows = s.execute(select(ClaimRow.claim_type, ClaimRow.status, Party.address,
                                ClaimRow.approved_fen).join(
            Party, Party.id == ClaimRow.insured_party_id).where(
            ClaimRow.policy_id == policy_id, ClaimRow.reported_on >= date(2026, 7, 1),
            ClaimRow.reported_on <= date(2026, 9, 30))).all()
        members_now = s.execute(select(RosterMember.enrolled_on, RosterMember.ended_on).where(
            RosterMember.policy_id == policy_id)).all()
    assert report["claims"]["reported"] == len(rows) == 5
    by_type: dict[str, int] = {}
    by_town: dict[str, int] = {}
    for kind, _, address, _ in rows:
        by_type[kind] = by_type.get(kind, 0) + 1
        town = "峡山街道" if "峡山街道" in address else "陈店镇"
        by_town[town] = by_town.get(town, 0) + 1
    assert {g["claim_type"]: g["reported"] for g in report["by_type"]} == by_type
    assert {g["town"]: g["reported"] for g in report["by_town"]} == by_town == {
        "峡山街道": 2, "陈店镇": 3}
    assert report["claims"]["rejected"] == sum(r[1] == "rejected" for r in rows) == 1
    assert report["claims"]["approved_amount"] == "27.00"
    assert report["paid_in_quarter"] == {"payments": 1, "amount": "27.00"}
    end = date(2026, 9, 30)
    assert report["insureds"]["at_quarter_end"] == sum(
        e <= end and (x is None or x >= end) for e, x in members_now) == 9
    assert report["insureds"]["left_moved_away"] == 1
    assert report["complaints"]["received"] == 1
    assert report["complaints"]["by_category"] == {"理赔": 1}
    assert report["satisfaction"]["ratings"] == 0 and report["satisfaction"]["average"] is None
    assert {t["deadline"] for t in report["sla"]} <= {
        "review", "decision", "special_case", "payment", "rejection_letter",
        "advance_payment"}


def test_the_report_renders_the_same_figures_as_a_page_and_a_workbook(
        db: Database, world: World) -> None:
    policy_no = _town_scheme(db, world)
    world.on(date(2026, 7, 10))
    _report(db, policy_no, 1, "hospital_allowance", date(2026, 7, 8))
    report = scheme.quarterly_report(db, {"policy_no": policy_no, "quarter": "2026q3"})
    assert report["quarter"] == "2026Q3"
    html = disclosure.render_html(report)
    book = load_workbook(io.BytesIO(disclosure.render_xlsx(report)))
    assert book.sheetnames == ["概况", "按险种", "按镇街", "服务时效", "投诉与满意度"]
    overview = {r[0]: r[1] for r in book["概况"].iter_rows(min_row=4, values_only=True)}
    assert overview["本季报案"] == report["claims"]["reported"] == 1
    assert overview["季末在保人数"] == 10
    towns = [r for r in book["按镇街"].iter_rows(min_row=4, values_only=True)]
    assert towns == [("峡山街道", 1, 0, "0.00")]
    assert "峡山街道" in html and policy_no in html and "<script" not in html
    for bad in ("2026Q5", "26Q1", "", "2026-07", "Q3"):
        with pytest.raises(ValidationError) as exc:
            scheme.quarterly_report(db, {"policy_no": policy_no, "quarter": bad})
        assert exc.value.field == "quarter"
