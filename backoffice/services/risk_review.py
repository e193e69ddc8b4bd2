"""The risk review queue (风险核查): flagged claims for adjusters and supervisors, each flag
with its evidence — the related claims side by side, the documents they share, the diagnosis
and hospital lines — and the monthly figures of flags raised, confirmed, cleared and the
amounts held back.

Decisions are claim steps (`confirm_flag`, `clear_flag` in backoffice.services.claims), so
they keep the claim's lock, timeline and audit; this module only reads.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.domain import claim as cl
from backoffice.domain import integrity
from backoffice.domain.money import fmt, from_fen
from backoffice.services.base import SHANGHAI, today_cn
from backoffice.services.commands import Command, Count, takes
from backoffice.services.integrity import stay_of
from backoffice.store.db import Database
from backoffice.store.models import ClaimDocument, ClaimFlag, ClaimRow, Party

OUTCOMES = (integrity.OPEN, integrity.CONFIRMED, integrity.CLEARED)


class RiskQuery(Command):
    """The queue's filters (GET /risk/flags): open flags unless told otherwise."""

    outcome: Literal[(*OUTCOMES, "all")] = integrity.OPEN  # type: ignore[valid-type]
    code: Literal[integrity.CODES] | None = None  # type: ignore[valid-type]
    limit: Count(500) = 100  # type: ignore[valid-type]


@takes(RiskQuery)
def queue(db: Database, cmd: RiskQuery, actor: str = "") -> dict[str, Any]:
    """Flags by severity (highest first), then age (oldest first), with their evidence."""
    with db.read() as s:
        stmt = select(ClaimFlag, ClaimRow).join(ClaimRow, ClaimRow.id == ClaimFlag.claim_id)
        if cmd.outcome != "all":
            stmt = stmt.where(ClaimFlag.outcome == cmd.outcome)
        if cmd.code:
            stmt = stmt.where(ClaimFlag.code == cmd.code)
        # severity is the domain's, not a column: order in Python over a bounded window
        found = s.execute(stmt.order_by(ClaimFlag.raised_at, ClaimFlag.id).limit(2000)).all()
        found.sort(key=lambda fr: -integrity.SEVERITY[fr[0].code])
        today = today_cn()
        cache: dict[str, dict[str, Any]] = {}
        items = [_item(s, flag, row, today, cache) for flag, row in found[:cmd.limit]]
        counts = dict(s.execute(select(ClaimFlag.outcome, func.count())
                                .group_by(ClaimFlag.outcome)).all())
    return {"items": items, "counts": {o: int(counts.get(o, 0)) for o in OUTCOMES}}


def _item(s: Session, flag: ClaimFlag, row: ClaimRow, today: date,
          cache: dict[str, dict[str, Any]]) -> dict[str, Any]:
    severity = integrity.SEVERITY[flag.code]
    related = [r for r in s.execute(select(ClaimRow).where(
        ClaimRow.claim_no.in_(list(flag.related or [])))).scalars()]
    related.sort(key=lambda r: r.claim_no)
    claims = [_claim(s, r, cache) for r in [row, *related]]
    _mark_shared(claims)
    raised = today_cn(flag.raised_at)
    return {
        "flag_id": flag.id, "claim_no": row.claim_no, "code": flag.code,
        "code_name": integrity.CODE_NAMES[flag.code], "severity": severity,
        "severity_name": integrity.SEVERITY_NAMES[severity], "text": flag.text,
        "related": list(flag.related or []), "outcome": flag.outcome,
        "outcome_name": integrity.OUTCOME_NAMES[flag.outcome],
        "raised_at": flag.raised_at.isoformat(), "age_days": max(0, (today - raised).days),
        "decided_by": flag.cleared_by,
        "decided_at": flag.cleared_at.isoformat() if flag.cleared_at else None,
        "note": flag.cleared_note, "held_back": fmt(from_fen(flag.held_back_fen or 0)),
        "deducts": flag.code in integrity.DEDUCTING,
        "claims": claims,
    }


def _claim(s: Session, row: ClaimRow, cache: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One claim as the evidence shows it (read once per queue page)."""
    if row.claim_no in cache:
        return {**cache[row.claim_no], "documents": [
            dict(d) for d in cache[row.claim_no]["documents"]]}
    facts = row.facts or {}
    stay = stay_of(facts)
    docs = _docs(s, row)
    diagnosis = _reading(docs, "diagnosis") or _text(facts.get("diagnosis"))
    hospital = _reading(docs, "hospital") or _text(facts.get("hospital"))
    insured = s.get(Party, row.insured_party_id)
    reading = integrity.read_diagnosis(diagnosis) if diagnosis else None
    view = {
        "claim_no": row.claim_no, "status": row.status, "stage": cl.STAGE_NAMES[row.status],
        "claim_type": row.claim_type, "incident_date": row.incident_date.isoformat(),
        "insured_name": insured.name if insured else "",
        "reporter_name": row.reporter_name,
        "admission_date": stay.admission.isoformat() if stay else None,
        "discharge_date": stay.discharge.isoformat() if stay else None,
        "hospital": hospital,
        "hospital_level": integrity.hospital_level(hospital) if hospital else None,
        "diagnosis": diagnosis,
        "diagnosis_verdict": reading.verdict if reading else None,
        "injuries": [f"{t}（{c}）" for t, c in reading.injuries] if reading else [],
        "illnesses": [f"{t}（{c}）" for t, c in reading.illnesses] if reading else [],
        "payable": None if row.payable_fen is None else fmt(from_fen(row.payable_fen)),
        "approved": None if row.approved_fen is None else fmt(from_fen(row.approved_fen)),
        "documents": [{"document_id": d.id, "doc_type": d.doc_type, "filename": d.filename,
                       "sha256": d.sha256, "invoice": d.invoice_key, "shared": False}
                      for d in docs],
    }
    cache[row.claim_no] = view
    return {**view, "documents": [dict(d) for d in view["documents"]]}


def _docs(s: Session, row: ClaimRow) -> list[ClaimDocument]:
    return list(s.execute(select(ClaimDocument).where(ClaimDocument.claim_id == row.id)
                          .order_by(ClaimDocument.id)).scalars())


def _mark_shared(claims: list[dict[str, Any]]) -> None:
    """A document is shared when another claim side by side has its hash or invoice."""
    for i, claim in enumerate(claims):
        others = [d for j, c in enumerate(claims) if j != i for d in c["documents"]]
        hashes = {d["sha256"] for d in others}
        invoices = {d["invoice"] for d in others if d["invoice"]}
        for d in claim["documents"]:
            d["shared"] = d["sha256"] in hashes or bool(d["invoice"] and d["invoice"] in invoices)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _reading(docs: list[ClaimDocument], name: str) -> str | None:
    for d in docs:
        if d.doc_type in ("discharge_summary", "medical_records"):
            item = (d.fields or {}).get(name)
            value = item.get("value") if isinstance(item, dict) else None
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


# ---- figures by month --------------------------------------------------------------------

def monthly(s: Session, start: date, end: date) -> dict[str, Any]:
    """Flags raised in the window by the month they were raised; confirmed and cleared (by a
    person) and the amounts held back by the month they were decided."""
    lo = datetime.combine(start, datetime.min.time(), SHANGHAI)
    hi = datetime.combine(end, datetime.max.time(), SHANGHAI)
    months: dict[str, dict[str, Any]] = {}

    def month(at: datetime) -> dict[str, Any]:
        key = today_cn(at).strftime("%Y-%m")
        return months.setdefault(key, {"month": key, "raised": 0, "confirmed": 0,
                                       "cleared": 0, "held_back_fen": 0})

    by_code: dict[str, dict[str, int]] = {}
    for code, at in s.execute(select(ClaimFlag.code, ClaimFlag.raised_at).where(
            ClaimFlag.raised_at >= lo, ClaimFlag.raised_at <= hi)).all():
        month(at)["raised"] += 1
        by_code.setdefault(code, {"raised": 0, "confirmed": 0, "cleared": 0})["raised"] += 1
    for code, outcome, at, fen in s.execute(select(
            ClaimFlag.code, ClaimFlag.outcome, ClaimFlag.cleared_at, ClaimFlag.held_back_fen)
            .where(ClaimFlag.cleared_at >= lo, ClaimFlag.cleared_at <= hi,
                   ClaimFlag.outcome != integrity.OPEN,
                   ClaimFlag.cleared_by != "system")).all():
        m = month(at)
        m[outcome] += 1
        m["held_back_fen"] += int(fen or 0)
        by_code.setdefault(code, {"raised": 0, "confirmed": 0, "cleared": 0})[outcome] += 1
    rows = [{**m, "held_back": fmt(from_fen(m.pop("held_back_fen")))}
            for _, m in sorted(months.items())]
    return {"by_month": rows,
            "by_code": [{"code": c, "code_name": integrity.CODE_NAMES[c], **by_code[c]}
                        for c in integrity.CODES if c in by_code]}
