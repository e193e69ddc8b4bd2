"""Claims statistics (GET /stats/claims) checked against the claims made through the API, and
the supervisor's charts page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from api_testkit import Api
from test_api_claims_kit import (
    CARD,
    Scheme,
    act,
    advance_to,
    clock,
    report,
    report_body,
    scheme,
    supply_all,
)

from backoffice.domain.claim import STAGE_NAMES, STATUSES
from backoffice.domain.clocks import NOTICE_CLOCKS

__all__ = ["clock", "scheme"]  # fixtures

DAY0 = date(2026, 6, 1)


@dataclass
class Book:
    """The claims of the scenario, by letter."""

    numbers: dict[str, str]
    as_of: date


@pytest.fixture
async def book(api: Api, scheme: Scheme) -> Book:
    """Six claims reported on DAY0, then moved along over twelve days.

    A  hospital allowance, fast track: paid day 2, closed day 3
    B  transport death 30,000: advance 10,000 on day 0, approved, balance paid day 7, closed 11
    C  death: rejected day 1, letter sent day 5 (one day late)
    D  death: withdrawn on day 0
    E  disability: documents still pending
    F  hospital allowance in a level-1 hospital: pays 0, manual, left under review
    """
    m = scheme.members
    a = await supply_all(api, await report(api, report_body(scheme, insured=m[0])))
    b = await supply_all(api, await report(api, report_body(scheme, "transport_death",
                                                            insured=m[1])))
    c = await supply_all(api, await report(api, report_body(scheme, "death", insured=m[2])))
    d = await report(api, report_body(scheme, "death", insured=m[0], incident="2026-05-01"))
    e = await report(api, report_body(scheme, "disability", insured=m[1]))
    f = await supply_all(api, await report(api, report_body(scheme, insured=m[2], facts={
        "admission_date": "2026-05-20", "discharge_date": "2026-05-25", "hospital_level": 1})))
    assert a["status"] == "approved" and f["status"] == "under_review"
    assert f["track_rule"].startswith("M9")
    await act(api, b["claim_no"], "advance_payment", amount="10000.00",
              determinable="30000.00", account=CARD)
    await act(api, b["claim_no"], "adjudicate")
    await act(api, b["claim_no"], "approve", actor="supervisor.zhou")
    await act(api, d["claim_no"], "withdraw")

    clock = scheme.clock
    advance_to(clock, date(2026, 6, 2))
    await act(api, c["claim_no"], "reject", reasons=["身故系疾病所致"])
    advance_to(clock, date(2026, 6, 3))
    await act(api, a["claim_no"], "pay", amount="300.00", account=CARD)
    advance_to(clock, date(2026, 6, 4))
    await act(api, a["claim_no"], "close")
    advance_to(clock, date(2026, 6, 6))
    await act(api, c["claim_no"], "send_rejection_letter")
    advance_to(clock, date(2026, 6, 8))
    await act(api, b["claim_no"], "pay", amount="20000.00")
    advance_to(clock, date(2026, 6, 12))
    await act(api, b["claim_no"], "close")
    numbers = {k: v["claim_no"] for k, v in zip("ABCDEF", (a, b, c, d, e, f), strict=True)}
    return Book(numbers, date(2026, 6, 12))


def counts(rows: list[dict[str, Any]], key: str) -> dict[str, int]:
    return {r[key]: r["count"] for r in rows if r["count"]}


async def test_volumes_cycle_times_and_payouts(api: Api, scheme: Scheme, book: Book) -> None:
    stats = await api.get("/stats/claims", expect=200)
    assert (stats["from"], stats["to"], stats["as_of"]) == ("2026-01-01", "2026-06-12",
                                                            "2026-06-12")
    assert stats["claims"] == {"total": 6, "open": 2}
    assert [r["status"] for r in stats["by_stage"]] == list(STATUSES)
    assert all(r["stage"] == STAGE_NAMES[r["status"]] for r in stats["by_stage"])
    assert counts(stats["by_stage"], "status") == {
        "closed": 2, "rejected": 1, "withdrawn": 1, "documents_pending": 1, "under_review": 1}
    assert counts(stats["by_claim_type"], "claim_type") == {
        "hospital_allowance": 2, "transport_death": 1, "death": 2, "disability": 1}
    assert counts(stats["by_track"], "track") == {"fast": 1, "manual": 3, "undecided": 2}

    close = stats["cycle_time_days"]["report_to_close"]
    assert {k: close[k] for k in ("count", "mean", "p50", "p90", "min", "max")} == {
        "count": 2, "mean": 7.0, "p50": 7.0, "p90": 10.2, "min": 3, "max": 11}
    assert {b["bucket"]: b["count"] for b in close["distribution"] if b["count"]} == {
        "0–3天": 1, "8–15天": 1}
    payment = stats["cycle_time_days"]["report_to_payment"]
    assert (payment["count"], payment["mean"], payment["p50"], payment["p90"]) == (
        2, 4.5, 4.5, 6.5)

    assert stats["payouts"] == {"total": "30300.00", "count": 3, "final": "20300.00",
                                "advance": "10000.00", "claims": 2}

    # another window: reports from day 1 on (none), payments made in it (A's and B's balance)
    later = await api.get("/stats/claims?from=2026-06-02&to=2026-06-30", expect=200)
    assert later["claims"] == {"total": 0, "open": 0}
    assert all(r["count"] == 0 for r in later["by_stage"])
    assert later["cycle_time_days"]["report_to_close"]["mean"] is None
    assert later["payouts"]["total"] == "20300.00" and later["payouts"]["advance"] == "0.00"
    assert all(r["total"] == 0 and r["compliance_pct"] is None for r in later["sla"])
    only_day0 = await api.get("/stats/claims?from=2026-06-01&to=2026-06-01", expect=200)
    assert only_day0["claims"]["total"] == 6
    assert only_day0["payouts"] == {"total": "10000.00", "count": 1, "final": "0.00",
                                    "advance": "10000.00", "claims": 1}


async def test_sla_compliance_agrees_with_the_claims_own_clocks(api: Api, book: Book) -> None:
    stats = await api.get("/stats/claims", expect=200)
    sla = {r["deadline"]: r for r in stats["sla"]}
    expected: dict[str, dict[str, int]] = {
        name: {"met": 0, "breached": 0, "open": 0} for name in sla}
    for no in book.numbers.values():
        claim = await api.get(f"/claims/{no}", expect=200)
        for name, d in claim["deadlines"].items():
            if name in NOTICE_CLOCKS:  # the customer's notices: not a service promise's SLA
                continue
            kind = "breached" if d["breached"] else "met" if d["done_on"] else "open"
            expected[name][kind] += 1
    for name, row in sla.items():
        assert {k: row[k] for k in ("met", "breached", "open")} == expected[name], name
        assert row["total"] == sum(expected[name].values())
        assert row["name"]
    # the story: F's review is late, C's letter went out a day late, payments were on time
    assert {k: sla["review"][k] for k in ("met", "breached", "open")} == {
        "met": 3, "breached": 1, "open": 0}
    assert sla["review"]["compliance_pct"] == "75.00"
    assert (sla["rejection_letter"]["breached"], sla["rejection_letter"]["met"]) == (1, 0)
    assert sla["rejection_letter"]["compliance_pct"] == "0.00"
    assert (sla["payment"]["met"], sla["payment"]["breached"]) == (2, 0)
    assert sla["payment"]["compliance_pct"] == "100.00"
    assert (sla["decision"]["met"], sla["decision"]["open"]) == (3, 1)
    assert sla["special_case"]["total"] == 0 and sla["special_case"]["compliance_pct"] is None


async def test_loss_ratio_per_product(api: Api, scheme: Scheme, book: Book) -> None:
    stats = await api.get("/stats/claims", expect=200)
    ratios = {r["product_code"]: r for r in stats["loss_ratio"]}
    group = await api.get(f"/policies/{scheme.policy_no}", expect=200)
    premium = Decimal(group["premium"]["annual"])
    assert premium == Decimal("500.00")  # 50 members × 10 元
    scheme_row = ratios["CN-ELDER-ACC"]
    assert scheme_row["kind"] == "group"
    assert (scheme_row["premium"], scheme_row["claims_paid"]) == ("500.00", "30300.00")
    assert Decimal(scheme_row["loss_ratio"]) == (Decimal("30300.00") / premium).quantize(
        Decimal("0.0001"))
    received = Decimal(0)
    for no in scheme.individual_policies:
        policy = await api.get(f"/policies/{no}", expect=200)
        received += sum((Decimal(p["amount"]) for p in policy["payments"]), Decimal(0))
    individual = ratios["PA-GUARD"]
    assert individual["kind"] == "individual" and received > 0
    assert (Decimal(individual["premium"]), individual["claims_paid"],
            individual["loss_ratio"]) == (received, "0.00", "0.0000")
    # a window before any premium: no ratio, not a division by zero
    early = await api.get("/stats/claims?from=2025-01-01&to=2025-06-30", expect=200)
    early_rows = {r["product_code"]: r for r in early["loss_ratio"]}
    assert early_rows["PA-GUARD"]["premium"] == "0.00"
    assert early_rows["PA-GUARD"]["loss_ratio"] is None
    assert early_rows["CN-ELDER-ACC"]["loss_ratio"] is None  # the scheme starts in 2026


async def test_the_charts_page(api: Api, book: Book) -> None:
    page = await api.get("/stats/claims/charts", expect=200)
    assert isinstance(page, str) and page.startswith("<!doctype html>")
    assert page.count("<svg") >= 5
    for label in ("已结案", "已拒赔", "已撤案", "待补充材料", "材料审核中", "各阶段案件数",
                  "时效达成情况", "各产品赔付率", "结案周期", "按时完成", "超时", "最低赔付率 60%",
                  "潮南区老年人意外伤害综合保险"):
        assert label in page, label
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page)
    assert "6060.0%" in page  # 30,300 / 500 for the scheme
    narrow = await api.get("/stats/claims/charts?from=2026-06-02&to=2026-06-30", expect=200)
    assert "2026-06-02" in narrow and "<svg" in narrow


async def test_statistics_of_an_empty_book(api: Api) -> None:
    stats = await api.get("/stats/claims?from=2026-01-01&to=2026-12-31", expect=200)
    assert stats["claims"] == {"total": 0, "open": 0}
    assert stats["payouts"]["total"] == "0.00"
    assert stats["cycle_time_days"]["report_to_payment"]["p90"] is None
    page = await api.get("/stats/claims/charts", expect=200)
    assert "<svg" in page and "已报案" in page
