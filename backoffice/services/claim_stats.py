"""Claims statistics for supervisors: volumes, cycle times, SLA compliance, loss ratios, payouts.

One window of business (Beijing) dates, `from` … `to` inclusive:

- volumes, cycle times and SLA compliance are about the claims *reported* in the window (a
  cohort), each counted in its current status;
- payouts are the claim payments (advance and final) *made* in the window;
- the loss ratio of a product is its claim payments made in the window ÷ its premium: for
  individual policies the premium received in the window (payments net of refunds), for group
  policies the annual premium of every group policy whose term overlaps the window.

Counts and sums are SQL aggregates. SLA compliance needs each claim's clocks (working-day
calendar, pauses for supplementary documents), so it reads the few date columns of the cohort
— not whole rows — and runs the same pure clock functions the claim view uses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, select
from sqlalchemy.orm import Session

from backoffice.domain import claim as cl
from backoffice.domain.clocks import CLOCK_NAMES, ClaimEvents, claim_deadlines
from backoffice.domain.errors import ValidationError
from backoffice.domain.money import fmt, from_fen
from backoffice.domain.party import parse_date
from backoffice.domain.product import CLAIM_TYPE_NAMES, CLAIM_TYPES
from backoffice.services import risk_review
from backoffice.services.base import SHANGHAI, business_date, today_cn
from backoffice.store.db import Database
from backoffice.store.models import (
    ClaimPause,
    ClaimPayment,
    ClaimRow,
    Payment,
    PolicyRow,
    ProductRow,
)

TRACKS = ("fast", "manual", "undecided")
TRACK_NAMES = {"fast": "快速通道", "manual": "人工处理", "undecided": "尚未分流"}
#: Every clock of a claim, in the order a claim meets them.
DEADLINES = ("review", "special_case", "decision", "payment", "rejection_letter",
             "advance_payment")
#: Buckets of the cycle-time distribution, in days: (label, lowest, highest or None).
CYCLE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0–3天", 0, 3), ("4–7天", 4, 7), ("8–15天", 8, 15), ("16–30天", 16, 30),
    ("31–60天", 31, 60), ("60天以上", 61, None),
)
MAX_WINDOW_DAYS = 3660


@dataclass(frozen=True, slots=True)
class Window:
    start: date
    end: date  # inclusive

    @property
    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00, the day after end 00:00) Beijing time, for UTC timestamps."""
        lo = datetime.combine(self.start, time(), SHANGHAI)
        return lo, datetime.combine(self.end + timedelta(days=1), time(), SHANGHAI)


def parse_window(raw_from: object, raw_to: object, today: date | None = None) -> Window:
    """`from`/`to` as YYYY-MM-DD; default from 1 January of `to`'s year to today."""
    today = today or today_cn()
    end = business_date(parse_date(raw_to, "to"), "to") if raw_to else today
    start = (business_date(parse_date(raw_from, "from"), "from") if raw_from
             else date(end.year, 1, 1))
    if start > end:
        raise ValidationError("from", "起始日期不能晚于截止日期")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise ValidationError("from", f"统计区间不能超过 {MAX_WINDOW_DAYS} 天")
    return Window(start, end)


# ---- helpers ---------------------------------------------------------------------------------

def _days_between(s: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    """Whole days from `earlier` to `later` (two DATE columns) as SQL."""
    if s.get_bind().dialect.name == "sqlite":
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    return cast(later - earlier, Integer)


def _quantile(sorted_values: list[int], q: float) -> float:
    """Linear interpolation between closest ranks (as PostgreSQL's percentile_cont)."""
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _round1(value: float) -> float:
    return float(Decimal(str(value)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def cycle_summary(days: Iterable[int]) -> dict[str, Any]:
    values = sorted(days)
    if not values:
        return {"count": 0, "mean": None, "p50": None, "p90": None, "min": None, "max": None}
    return {
        "count": len(values),
        "mean": _round1(sum(values) / len(values)),
        "p50": _round1(_quantile(values, 0.5)),
        "p90": _round1(_quantile(values, 0.9)),
        "min": values[0],
        "max": values[-1],
    }


def distribution(days: Iterable[int]) -> list[dict[str, Any]]:
    counts = dict.fromkeys((b[0] for b in CYCLE_BUCKETS), 0)
    for d in days:
        for label, lo, hi in CYCLE_BUCKETS:
            if d >= lo and (hi is None or d <= hi):
                counts[label] += 1
                break
    return [{"bucket": label, "min_days": lo, "max_days": hi, "count": counts[label]}
            for label, lo, hi in CYCLE_BUCKETS]


def _pct(part: int, whole: int) -> str | None:
    if not whole:
        return None
    return str((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def _ratio(paid_fen: int, premium_fen: int) -> str | None:
    if premium_fen <= 0:
        return None
    return str((Decimal(paid_fen) / Decimal(premium_fen)).quantize(Decimal("0.0001"),
                                                                  ROUND_HALF_UP))


# ---- the parts -------------------------------------------------------------------------------

def _in_window(w: Window) -> ColumnElement[bool]:
    return and_(ClaimRow.reported_on >= w.start, ClaimRow.reported_on <= w.end)


def _volumes(s: Session, w: Window) -> dict[str, Any]:
    by_status = dict(s.execute(
        select(ClaimRow.status, func.count()).where(_in_window(w)).group_by(ClaimRow.status)
    ).tuples().all())
    by_type = dict(s.execute(
        select(ClaimRow.claim_type, func.count()).where(_in_window(w))
        .group_by(ClaimRow.claim_type)
    ).tuples().all())
    track = case(
        (ClaimRow.track == "fast", "fast"),
        (and_(ClaimRow.track == "manual", ClaimRow.track_rule != ""), "manual"),
        else_="undecided",
    )
    by_track = dict(s.execute(
        select(track, func.count()).where(_in_window(w)).group_by(track)
    ).tuples().all())
    total = sum(by_status.values())
    return {
        "total": total,
        "open": sum(n for st, n in by_status.items() if st in cl.OPEN),
        "by_stage": [{"status": st, "stage": cl.STAGE_NAMES[st],
                      "count": int(by_status.get(st, 0))} for st in cl.STATUSES],
        "by_claim_type": [{"claim_type": ct, "name": CLAIM_TYPE_NAMES.get(ct, ct),
                           "count": int(by_type.get(ct, 0))} for ct in CLAIM_TYPES],
        "by_track": [{"track": t, "name": TRACK_NAMES[t], "count": int(by_track.get(t, 0))}
                     for t in TRACKS],
    }


def _cycle_times(s: Session, w: Window) -> dict[str, Any]:
    def days(later: Any, condition: ColumnElement[bool]) -> list[int]:
        diff = _days_between(s, later, ClaimRow.reported_on)
        return [int(d) for d in s.execute(
            select(diff).where(_in_window(w), condition)).scalars() if d is not None]

    to_close = days(ClaimRow.closed_on, and_(ClaimRow.status == cl.CLOSED,
                                             ClaimRow.closed_on.is_not(None)))
    to_payment = days(ClaimRow.paid_on, ClaimRow.paid_on.is_not(None))
    return {
        "report_to_close": {**cycle_summary(to_close), "distribution": distribution(to_close)},
        "report_to_payment": {**cycle_summary(to_payment),
                              "distribution": distribution(to_payment)},
    }


_CLOCK_COLUMNS = (
    ClaimRow.reported_on, ClaimRow.documents_complete_on, ClaimRow.reviewed_on,
    ClaimRow.decided_on, ClaimRow.agreed_on, ClaimRow.approved_fen, ClaimRow.paid_on,
    ClaimRow.advance_paid_on, ClaimRow.rejected_on, ClaimRow.letter_sent_on,
    ClaimRow.special_case)


def staff_clocks(s: Session, claims: ColumnElement[bool], today: date, *columns: Any
                 ) -> Iterator[tuple[tuple[Any, ...], ClaimEvents, dict[str, Any]]]:
    """Each claim chosen by `claims` (a filter on ClaimRow): the values of `columns`, its
    events and its staff clocks on `today` — one reading for every report that counts them."""
    cohort = select(ClaimRow.id).where(claims).scalar_subquery()
    pauses: dict[int, list[tuple[date, date | None]]] = {}
    for claim_id, started, ended in s.execute(
            select(ClaimPause.claim_id, ClaimPause.started_on, ClaimPause.ended_on)
            .where(ClaimPause.claim_id.in_(cohort)).order_by(ClaimPause.id)).tuples():
        pauses.setdefault(claim_id, []).append((started, ended))
    rows = s.execute(select(ClaimRow.id, *columns, *_CLOCK_COLUMNS).where(claims)
                     .execution_options(yield_per=2000)).tuples()
    n = len(columns)
    for row in rows:
        (reported, complete, reviewed, decided, agreed, approved_fen, paid, advance, rejected,
         letter, special) = row[1 + n:]
        events = ClaimEvents(
            reported_on=reported,
            documents_complete_on=complete if complete and complete >= reported else None,
            pauses=tuple(pauses.get(row[0], ())), reviewed_on=reviewed, decided_on=decided,
            agreed_on=agreed, payout=None if approved_fen is None else from_fen(approved_fen),
            paid_on=paid, advance_paid_on=advance, rejected_on=rejected,
            letter_sent_on=letter, special_case=bool(special),
        )
        yield tuple(row[1:1 + n]), events, claim_deadlines(events, today)


def sla_by_clock(s: Session, claims: ColumnElement[bool], today: date) -> list[dict[str, Any]]:
    """Met, breached and open per staff clock of the claims chosen by `claims` (a filter on
    ClaimRow): the claims report's cohort, or a quarter of one group policy's claims."""
    tally = {name: {"met": 0, "breached": 0, "open": 0} for name in DEADLINES}
    for _, _, clocks in staff_clocks(s, claims, today):
        for name, d in clocks.items():
            if d.breached:
                tally[name]["breached"] += 1
            elif d.done_on is not None:
                tally[name]["met"] += 1
            else:
                tally[name]["open"] += 1
    out = []
    for name in DEADLINES:
        t = tally[name]
        out.append({"deadline": name, "name": CLOCK_NAMES[name], **t,
                    "total": t["met"] + t["breached"] + t["open"],
                    "compliance_pct": _pct(t["met"], t["met"] + t["breached"])})
    return out


def _money(s: Session, w: Window) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    lo, hi = w.utc_bounds
    paid_in_window = and_(ClaimPayment.paid_at >= lo, ClaimPayment.paid_at < hi)
    kinds = {kind: (int(total or 0), int(n)) for kind, total, n in s.execute(
        select(ClaimPayment.kind, func.sum(ClaimPayment.amount_fen), func.count())
        .where(paid_in_window).group_by(ClaimPayment.kind)).tuples()}
    total = sum(t for t, _ in kinds.values())
    payouts = {
        "total": fmt(from_fen(total)),
        "count": sum(n for _, n in kinds.values()),
        "final": fmt(from_fen(kinds.get("final", (0, 0))[0])),
        "advance": fmt(from_fen(kinds.get("advance", (0, 0))[0])),
        "claims": int(s.execute(select(func.count(func.distinct(ClaimPayment.claim_id)))
                                .where(paid_in_window)).scalar_one()),
    }
    claims_paid = dict(s.execute(
        select(ClaimRow.product_code, func.sum(ClaimPayment.amount_fen))
        .join(ClaimRow, ClaimRow.id == ClaimPayment.claim_id)
        .where(paid_in_window).group_by(ClaimRow.product_code)).tuples().all())
    individual = dict(s.execute(
        select(PolicyRow.product_code, func.sum(Payment.amount_fen))
        .join(PolicyRow, PolicyRow.id == Payment.policy_id)
        .where(PolicyRow.kind == "individual", Payment.paid_at >= lo, Payment.paid_at < hi)
        .group_by(PolicyRow.product_code)).tuples().all())
    group = dict(s.execute(
        select(PolicyRow.product_code, func.sum(PolicyRow.annual_premium_fen))
        .where(PolicyRow.kind == "group", PolicyRow.policy_no.is_not(None),
               PolicyRow.start_date.is_not(None), PolicyRow.start_date <= w.end,
               PolicyRow.end_date > w.start)
        .group_by(PolicyRow.product_code)).tuples().all())
    products = s.execute(select(ProductRow.code, ProductRow.name, ProductRow.kind)
                         .order_by(ProductRow.code)).tuples().all()
    ratios = []
    for code, name, kind in products:
        premium = int((group if kind == "group" else individual).get(code) or 0)
        paid = int(claims_paid.get(code) or 0)
        ratios.append({
            "product_code": code, "product_name": name, "kind": kind,
            "premium": fmt(from_fen(premium)), "claims_paid": fmt(from_fen(paid)),
            "loss_ratio": _ratio(paid, premium),
            "premium_basis": ("团体保单年保费（保险期间与统计区间重叠）" if kind == "group"
                              else "统计区间内实收保费（扣除退费）"),
        })
    return payouts, ratios


def claim_stats(db: Database, raw_from: object = None, raw_to: object = None
                ) -> dict[str, Any]:
    """The statistics of one window; see the module text for what counts where."""
    today = today_cn()
    w = parse_window(raw_from, raw_to, today)
    with db.read() as s:
        volumes = _volumes(s, w)
        cycle = _cycle_times(s, w)
        sla = sla_by_clock(s, _in_window(w), today)
        payouts, ratios = _money(s, w)
        risk = risk_review.monthly(s, w.start, w.end)
    return {
        "from": w.start.isoformat(), "to": w.end.isoformat(), "as_of": today.isoformat(),
        "claims": {"total": volumes["total"], "open": volumes["open"]},
        "by_stage": volumes["by_stage"],
        "by_claim_type": volumes["by_claim_type"],
        "by_track": volumes["by_track"],
        "cycle_time_days": cycle,
        "sla": sla,
        "loss_ratio": ratios,
        "payouts": payouts,
        "integrity": risk,
    }
