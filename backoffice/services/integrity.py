"""Claims integrity in the claim's transaction: gather the facts, run the checks, keep the flags.

The checks themselves are pure (backoffice.domain.integrity). Here: indexed queries for the
insured's other claims (by insured party), documents with the same content hash or invoice,
other claims by the same reporter phone; the flags persisted in `claim_flags`, a new one on the
timeline and in the audit log; clearing by a claims supervisor with a note.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from backoffice.domain import integrity
from backoffice.domain.errors import Forbidden, NotFound, ValidationError
from backoffice.domain.integrity import DocumentFact, Flag, IntegrityFacts, OtherClaim, Stay
from backoffice.domain.money import from_fen, to_fen
from backoffice.domain.product import Product
from backoffice.services.base import append_rows, audit, today_cn
from backoffice.services.document_reading import INSURED_NAME
from backoffice.store.db import pipelined
from backoffice.store.models import (
    AuditEntry,
    ClaimDocument,
    ClaimEvent,
    ClaimFlag,
    ClaimRow,
    Party,
    RosterMember,
    utcnow,
)

SYSTEM = "system"


# ---- facts -----------------------------------------------------------------------------------

def _day(raw: Any) -> date | None:
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def stay_of(facts: dict[str, Any] | None) -> Stay | None:
    """The stay a claim's facts give, when both dates are there and in order."""
    admission = _day((facts or {}).get("admission_date"))
    discharge = _day((facts or {}).get("discharge_date"))
    if admission is None or discharge is None or discharge < admission:
        return None
    return Stay(admission, discharge)


def _amount(approved: int | None, payable: int | None) -> Decimal | None:
    fen = approved if approved is not None else payable
    return None if fen is None else from_fen(fen)


# Built once: the statements run on every registration and document, and building one costs
# more than running it on an index (bench/integrity.py). The insured's other claims, the
# reporter's claims for other insureds and the roster's record of a death are one statement:
# each is an indexed read, and on PostgreSQL each read alone is a round trip.
_INSURED_CLAIMS = select(
    literal("claim").label("kind"), ClaimRow.claim_no, ClaimRow.insured_party_id,
    ClaimRow.status, ClaimRow.claim_type, ClaimRow.incident_date, ClaimRow.facts,
    ClaimRow.approved_fen, ClaimRow.payable_fen, ClaimRow.allowance_days_by_year,
).where(ClaimRow.insured_party_id == bindparam("insured"), ClaimRow.id != bindparam("claim"))
_REPORTER_LATEST = select(ClaimRow.claim_no, ClaimRow.insured_party_id).where(
    ClaimRow.reporter_phone_hash == bindparam("phone"), ClaimRow.reported_on >= bindparam("since"),
    ClaimRow.insured_party_id != bindparam("insured")).limit(50).subquery()
_NONE = [null()] * 7
_AROUND = union_all(
    _INSURED_CLAIMS,
    select(literal("reporter"), _REPORTER_LATEST.c.claim_no,
           _REPORTER_LATEST.c.insured_party_id, *_NONE),
    select(literal("death"), null(), null(), null(), null(), func.min(RosterMember.ended_on),
           null(), null(), null(), null()).where(
        RosterMember.party_id == bindparam("insured"), RosterMember.end_reason == "death"),
)


@dataclass(frozen=True, slots=True)
class Around:
    """What is known around a claim: the insured's other claims, the claims the same reporter
    phone reported for other insureds within a year, the death the roster records."""

    other_claims: list[OtherClaim]
    reporter_others: list[tuple[str, int]]
    roster_death: date | None


def around(s: Session, row: ClaimRow) -> Around:
    """One indexed statement (claims by insured party, by reporter phone; roster by party)."""
    claims: list[OtherClaim] = []
    reporter: list[tuple[str, int]] = []
    death: date | None = None
    for kind, no, who, status, claim_type, day, facts, approved, payable, by_year in s.execute(
            _AROUND, {"insured": row.insured_party_id, "claim": row.id,
                      "phone": row.reporter_phone_hash,
                      "since": row.reported_on - timedelta(days=365)}):
        if kind == "claim":
            claims.append(_other(no, status, claim_type, day, facts, approved, payable, by_year))
        elif kind == "reporter":
            reporter.append((no, who))
        else:
            death = _as_date(day)
    return Around(claims, reporter, death)


def _as_date(raw: Any) -> date | None:
    """A date from the union: SQLite gives the roster's date back as text."""
    return date.fromisoformat(raw) if isinstance(raw, str) else raw


def _other(no: str, status: str, claim_type: str, incident: Any, facts: Any,
           approved: int | None, payable: int | None, by_year: Any) -> OtherClaim:
    return OtherClaim(
        claim_no=no, status=status, claim_type=claim_type, incident_date=_as_date(incident),
        stay=stay_of(facts), amount=_amount(approved, payable),
        allowance_days_by_year={int(y): int(n) for y, n in (by_year or {}).items()},
        death_date=_day((facts or {}).get("death_date")),
    )


def _value(doc: ClaimDocument, name: str) -> str | None:
    item = (doc.fields or {}).get(name)
    value = item.get("value") if isinstance(item, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def invoice_key(doc: ClaimDocument) -> str | None:
    code, no = _value(doc, "invoice_code"), _value(doc, "invoice_number")
    return f"{code}/{no}"[:60] if code and no else None


def _document_fact(claim_no: str, doc: ClaimDocument) -> DocumentFact:
    key = doc.invoice_key
    invoice = tuple(key.split("/", 1)) if key and "/" in key else None
    name_field = INSURED_NAME.get(doc.doc_type)
    return DocumentFact(claim_no, doc.doc_type, doc.sha256, invoice,  # type: ignore[arg-type]
                        _value(doc, name_field) if name_field else None)


def documents(s: Session, row: ClaimRow) -> list[ClaimDocument]:
    docs = list(s.execute(select(ClaimDocument).where(ClaimDocument.claim_id == row.id)
                          .order_by(ClaimDocument.id)).scalars())
    for doc in docs:  # the invoice key is kept in a column, so that other claims find it
        key = invoice_key(doc)
        if key != doc.invoice_key:
            doc.invoice_key = key
    return docs


def matching_documents(s: Session, row: ClaimRow, docs: list[ClaimDocument]
                       ) -> list[DocumentFact]:
    """Documents of other claims with the same content hash or invoice (both indexed)."""
    hashes = {d.sha256 for d in docs}
    keys = {d.invoice_key for d in docs if d.invoice_key}
    if not hashes:
        return []
    match = ClaimDocument.sha256.in_(hashes)
    if keys:
        match = or_(match, ClaimDocument.invoice_key.in_(keys))
    found = s.execute(select(ClaimRow.claim_no, ClaimDocument)
                      .join(ClaimRow, ClaimRow.id == ClaimDocument.claim_id)
                      .where(match, ClaimDocument.claim_id != row.id).limit(50)).all()
    return [_document_fact(no, doc) for no, doc in found]


def _cap(product: Product) -> int | None:
    for cov in product.coverages:
        if "hospital_allowance" in cov.claim_types:
            cap = cov.benefit.get("max_days_per_year")
            return None if cap is None else int(cap)
    return None


def _reading(docs: list[ClaimDocument], name: str) -> str | None:
    return next((v for d in docs if d.doc_type in ("discharge_summary", "medical_records")
                 and (v := _value(d, name))), None)


def _stated(docs: list[ClaimDocument], facts: dict[str, Any]
            ) -> tuple[str | None, str | None, int | None]:
    """(diagnosis, hospital, reported level): a document's reading outranks the facts."""
    level = facts.get("hospital_level")
    diagnosis = facts.get("diagnosis") if isinstance(facts.get("diagnosis"), str) else None
    hospital = facts.get("hospital") if isinstance(facts.get("hospital"), str) else None
    return (_reading(docs, "diagnosis") or diagnosis, _reading(docs, "hospital") or hospital,
            level if isinstance(level, int) and not isinstance(level, bool) else None)


def fast_track_evidence(s: Session, row: ClaimRow) -> tuple[bool, bool]:
    """(an injury shown, a hospital of level 2 or up shown) for the fast track."""
    return integrity.fast_track_evidence(*_stated(documents(s, row), row.facts or {}))


def _recorded_death(row: ClaimRow, facts: dict[str, Any], roster: date | None) -> date | None:
    """The death known besides the other claims: this claim's own facts (unless it is the
    death claim itself, whose death follows its incident) and the roster."""
    own = _day(facts.get("death_date")) if row.claim_type not in integrity.DEATH_TYPES \
        else None
    known = [d for d in (own, roster) if d is not None]
    return min(known) if known else None


def gather(s: Session, row: ClaimRow, product: Product, *, new: bool = False) -> IntegrityFacts:
    """The facts the checks need; `new`: the claim was created in this transaction, so it has
    no documents yet (one query fewer at registration)."""
    facts = row.facts or {}
    docs = [] if new else documents(s, row)
    insured = s.get(Party, row.insured_party_id)
    diagnosis, hospital, level = _stated(docs, facts)
    near = around(s, row)
    return IntegrityFacts(
        claim_no=row.claim_no, claim_type=row.claim_type, incident_date=row.incident_date,
        reported_on=row.reported_on, insured_name=insured.name if insured else "",
        reporter_name=row.reporter_name, stay=stay_of(facts),
        diagnosis=diagnosis, hospital=hospital, hospital_level=level,
        death_date=_recorded_death(row, facts, near.roster_death),
        other_claims=near.other_claims,
        documents=[_document_fact(row.claim_no, d) for d in docs],
        matching_documents=matching_documents(s, row, docs),
        reporter_other_insureds=near.reporter_others,
        max_allowance_days_per_year=_cap(product),
    )


# ---- flags -----------------------------------------------------------------------------------

def _flags(s: Session, row: ClaimRow) -> list[ClaimFlag]:
    return list(s.execute(select(ClaimFlag).where(ClaimFlag.claim_id == row.id)
                          .order_by(ClaimFlag.id)).scalars())


def refresh(s: Session, row: ClaimRow, product: Product, *, new: bool = False
            ) -> list[ClaimFlag]:
    """Run the checks; keep new flags, retire open ones no longer raised. Returns open flags.

    A flag a supervisor decided (confirmed or cleared) is not raised again for the same
    claims; a new related claim raises it anew. `new`: the claim was created in this
    transaction (no documents, no flags to read back).
    """
    raised = integrity.check(gather(s, row, product, new=new))
    if not new:
        _, yielded = stay_owners(s, row)
        if yielded:  # a leak settled on the other claim: it gave up the shared days
            raised = tuple(f for f in raised if f.code not in integrity.STAY_FLAGS
                           or not set(f.related) <= yielded)
    if new:  # nothing to read back or retire: the flags go in by Core, in one round trip
        return _raise_new(s, row, raised)
    kept = _flags(s, row)
    added = [_raise(s, row, flag) for flag in raised if not any(_same(k, flag) for k in kept)]
    for old in kept:
        if old.outcome == integrity.OPEN and not any(_same(old, f) for f in raised):
            _decide(old, integrity.CLEARED, SYSTEM,
                    "复核时不再命中（相关案件已撤案、拒赔或材料已更正）")
    s.flush()
    return [k for k in kept if k.outcome == integrity.OPEN] + added


def _same(row: ClaimFlag, flag: Flag) -> bool:
    return row.code == flag.code and list(row.related or []) == list(flag.related) \
        and (row.outcome != integrity.CLEARED or row.cleared_by != SYSTEM)


def _raise(s: Session, row: ClaimRow, flag: Flag) -> ClaimFlag:
    kept = _new_flag(row, flag)
    s.add(kept)
    s.add(ClaimEvent(**_flag_event(row, flag)))
    s.add(AuditEntry(**_flag_audit(row, flag)))
    return kept


def _raise_new(s: Session, row: ClaimRow, raised: tuple[Flag, ...]) -> list[ClaimFlag]:
    """A new claim's flags with their timeline and audit rows: no ORM bookkeeping, and on
    PostgreSQL the three inserts are sent together. Returns the flags (unattached) for the
    answer."""
    if not raised:
        return []
    flags = [_new_flag(row, flag) for flag in raised]
    with pipelined(s):
        append_rows(s, ClaimFlag, [{"claim_id": f.claim_id, "code": f.code, "text": f.text,
                                    "related": f.related, "outcome": f.outcome,
                                    "raised_at": f.raised_at} for f in flags])
        append_rows(s, ClaimEvent, [_flag_event(row, flag) for flag in raised])
        append_rows(s, AuditEntry, [_flag_audit(row, flag) for flag in raised])
    return flags


def _new_flag(row: ClaimRow, flag: Flag) -> ClaimFlag:
    return ClaimFlag(claim_id=row.id, code=flag.code, text=flag.text, related=list(flag.related),
                     outcome=integrity.OPEN, raised_at=utcnow(), held_back_fen=0)


def _flag_event(row: ClaimRow, flag: Flag) -> dict[str, Any]:
    return {"claim_id": row.id, "at": utcnow(), "action": "flag", "status": row.status,
            "actor": SYSTEM, "note": f"风险核查：{flag.text}"}


def _flag_audit(row: ClaimRow, flag: Flag) -> dict[str, Any]:
    return {"at": utcnow(), "actor": SYSTEM, "entity_type": "claim", "entity_id": row.claim_no,
            "action": "flag", "before": None,
            "after": {"code": flag.code, "related": list(flag.related)}}


def _decide(flag: ClaimFlag, outcome: str, actor: str, note: str) -> None:
    flag.outcome, flag.cleared_by, flag.cleared_at, flag.cleared_note = (
        outcome, actor, utcnow(), note)


def open_flags(s: Session, row: ClaimRow) -> list[ClaimFlag]:
    return [f for f in _flags(s, row) if f.outcome == integrity.OPEN]


def confirmed_flags(s: Session, row: ClaimRow) -> list[ClaimFlag]:
    return [f for f in _flags(s, row) if f.outcome == integrity.CONFIRMED]


def shown_flags(s: Session, row: ClaimRow) -> list[ClaimFlag]:
    """What the claim detail shows: the open flags and the confirmed ones."""
    return [f for f in _flags(s, row) if f.outcome != integrity.CLEARED]


def view(flags: list[ClaimFlag]) -> list[dict[str, Any]]:
    return [{"code": f.code, "text": f.text, "related": list(f.related or []),
             "outcome": f.outcome} for f in flags]


def refusals(s: Session, row: ClaimRow) -> list[ClaimFlag]:
    """Confirmed flags that make the claim not payable as reported (not deductions)."""
    return [f for f in confirmed_flags(s, row) if f.code not in integrity.DEDUCTING]


def visible(text: str) -> str:
    """The characters a reader sees: no spaces, controls, format or bidi marks."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "CZ")


def _decision(code: str | None, note: str | None, role: str | None, verb: str) -> str:
    if role != "supervisor":
        raise Forbidden(f"风险核查标记只能由理赔主管核实后{verb}", "action")
    if not code:
        raise ValidationError("flag", f"须指明要{verb}的风险标记（flag）")
    if not note or not visible(note):
        raise ValidationError("note", f"{verb}风险标记须说明核实情况（note）")
    return note.strip()


def _open_of(s: Session, row: ClaimRow, code: str) -> list[ClaimFlag]:
    found = [f for f in open_flags(s, row) if f.code == code]
    if not found:
        raise NotFound(f"案件 {row.claim_no} 没有待核实的风险标记 {code}", "flag")
    return found


def clear(s: Session, row: ClaimRow, code: str | None, note: str | None, actor: str,
          role: str | None) -> None:
    """A claims supervisor clears an open flag with a note (not a leak); nobody else may."""
    text = _decision(code, note, role, "解除")
    for flag in _open_of(s, row, code or ""):
        _decide(flag, integrity.CLEARED, actor, text)
    s.add(ClaimEvent(claim_id=row.id, action="clear_flag", status=row.status, actor=actor,
                     note=f"解除风险标记 {code}：{text}"))
    audit(s, actor, "claim", row.claim_no, "clear_flag", {"flag": code},
          {"flag": code, "note": text, "on": today_cn().isoformat()})


def confirm(s: Session, row: ClaimRow, code: str | None, note: str | None, actor: str,
            role: str | None) -> list[str]:
    """A claims supervisor confirms an open flag with a note: the leak is real.

    For a duplicate or overlapping stay this claim yields the shared days to the related
    claims (their flags about this one are settled by it). Returns the related claims whose
    flags were settled. The caller revises the amount.
    """
    text = _decision(code, note, role, "核实")
    found = _open_of(s, row, code or "")
    related: set[str] = set()
    for flag in found:
        _decide(flag, integrity.CONFIRMED, actor, text)
        related.update(flag.related or [])
    s.add(ClaimEvent(claim_id=row.id, action="confirm_flag", status=row.status, actor=actor,
                     note=f"核实风险 {code}：{text}"))
    audit(s, actor, "claim", row.claim_no, "confirm_flag", {"flag": code},
          {"flag": code, "note": text, "on": today_cn().isoformat()})
    return _settle_reciprocal(s, row, code or "", sorted(related), actor) \
        if code in integrity.STAY_FLAGS else []


def _settle_reciprocal(s: Session, row: ClaimRow, code: str, related: list[str],
                       actor: str) -> list[str]:
    """The related claims' open stay flags about this claim: settled by its confirmation."""
    settled = []
    for other in s.execute(select(ClaimRow).where(ClaimRow.claim_no.in_(related))).scalars():
        for flag in open_flags(s, other):
            if flag.code in integrity.STAY_FLAGS and row.claim_no in (flag.related or []):
                _decide(flag, integrity.CLEARED, actor,
                        f"案件 {row.claim_no} 已核实为重复住院，重叠天数在该案中扣减")
                s.add(ClaimEvent(claim_id=other.id, action="clear_flag", status=other.status,
                                 actor=actor, note=f"{flag.code}：重叠天数已在案件 "
                                                   f"{row.claim_no} 中扣减"))
                settled.append(other.claim_no)
    return settled


def stay_owners(s: Session, row: ClaimRow) -> tuple[set[str], set[str]]:
    """(claims this one yielded its shared days to, claims that yielded theirs to this one),
    from confirmed stay flags of the insured's claims."""
    found = s.execute(select(ClaimRow.claim_no, ClaimFlag.related).join(
        ClaimRow, ClaimRow.id == ClaimFlag.claim_id).where(
        ClaimRow.insured_party_id == row.insured_party_id,
        ClaimFlag.outcome == integrity.CONFIRMED,
        ClaimFlag.code.in_(integrity.STAY_FLAGS))).all()
    owners = {no for claim_no, rel in found if claim_no == row.claim_no for no in rel or []}
    yielded = {claim_no for claim_no, rel in found
               if claim_no != row.claim_no and row.claim_no in (rel or [])}
    return owners, yielded


def record_held_back(s: Session, row: ClaimRow, unchecked_fen: int | None) -> None:
    """Keep on the first confirmed flag what the confirmed flags hold back of this claim."""
    confirmed = confirmed_flags(s, row)
    if not confirmed:
        return
    fen = row.approved_fen if row.approved_fen is not None else row.payable_fen
    held = integrity.held_back(
        [f.code for f in confirmed], None if fen is None else from_fen(fen),
        None if unchecked_fen is None else from_fen(unchecked_fen))
    for i, flag in enumerate(confirmed):
        flag.held_back_fen = to_fen(held) if i == 0 else 0
