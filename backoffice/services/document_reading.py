"""What OCR read on a claim document, checked against the claim before anything trusts it.

The API reads an uploaded document off the event loop (backoffice.api.reading) and hands the
reading here, inside the upload's transaction. This module decides the document's type, keeps
the text, fields and confidences, cross-checks them with the claim (the insured's name and ID
number, the dates against the policy period and the reported incident) and lists the fields a
person must look at. Only trusted fields feed the claim's adjudication facts, so the fast track
decides on nothing the OCR was unsure of.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.domain import claim as cl
from backoffice.domain.errors import Damaged, DomainError, NotFound, Unavailable
from backoffice.domain.identity import mask_bank_card, mask_id_number
from backoffice.domain.retention import FILE_GONE
from backoffice.services.base import audit
from backoffice.store.db import Database
from backoffice.store.models import (
    ClaimDocument,
    ClaimRow,
    DocumentReading,
    Party,
    PolicyRow,
    utcnow,
)
from backoffice.store.sealing import Tampered, UnknownKey

log = logging.getLogger("xiaobao.files")

#: Fields read with less confidence than this go to a person.
REVIEW_BELOW = float(os.environ.get("XIAOBAO_OCR_REVIEW_BELOW", "0.85"))

#: The claim's document requirement a document of an OCR type fulfils, in order of preference.
REQUIREMENTS_OF = {
    "id_card": ("claimant_id",),
    "bank_card": ("bank_account",),
    "discharge_summary": ("discharge_summary", "medical_records"),
    "medical_invoice": ("medical_invoice",),
    "death_certificate": ("death_certificate",),
    "disability_assessment": ("disability_assessment",),
    "accident_certificate": ("police_report", "accident_certificate"),
}
#: Requirement types a sender may name, and the OCR type that reads them.
OCR_TYPE_OF = {"claimant_id": "id_card", "bank_account": "bank_card",
               "medical_records": "discharge_summary", "police_report": "accident_certificate"}
OCR_TYPES = tuple(REQUIREMENTS_OF)

#: Fields that name the insured, by document type (an ID card may be the claimant's).
INSURED_NAME = {"medical_invoice": "payer_name", "discharge_summary": "patient_name",
                "death_certificate": "name", "disability_assessment": "name"}


def ocr_type_for(doc_type: str | None) -> str:
    """What to ask the OCR for: the sender's type when it is readable, else `auto`."""
    if doc_type in OCR_TYPES:
        return doc_type
    return OCR_TYPE_OF.get(doc_type or "", "auto")


def document_kind(given: str | None, reading: Mapping[str, Any] | None,
                  missing: list[str]) -> str:
    """The stored doc_type: the sender's, else the missing requirement the reading fulfils."""
    if given:
        return given
    detected = (reading or {}).get("doc_type")
    if detected not in REQUIREMENTS_OF:
        return "other"
    for requirement in REQUIREMENTS_OF[detected]:
        if requirement in missing:
            return requirement
    return REQUIREMENTS_OF[detected][0]


def apply_reading(s: Session, row: ClaimRow, doc: ClaimDocument,
                  reading: Mapping[str, Any]) -> DocumentReading:
    """Store the reading, check it against the claim, feed trusted fields to the facts."""
    status = str(reading.get("status", "read"))
    fields: dict[str, Any] = dict(reading.get("fields") or {})
    warnings = list(reading.get("warnings") or [])
    detected = reading.get("doc_type")
    problems: dict[str, list[str]] = {}
    if status == "read":
        expected = ocr_type_for(doc.doc_type)
        if expected != "auto" and detected != expected:
            problems["doc_type"] = [f"识别出的材料类型 {detected} 与上传类型 {doc.doc_type} 不符"]
        for name, item in fields.items():
            if item.get("value") is None:
                problems.setdefault(name, []).append("未识别到")
            elif float(item.get("confidence", 0)) < REVIEW_BELOW:
                problems.setdefault(name, []).append("识别置信度低")
        for name, problem in _cross_check(s, row, str(detected), fields):
            problems.setdefault(name, []).append(problem)
        for warning in warnings:
            problems.setdefault("warnings", []).append(warning)
    review = sorted(n for n in problems if n in fields) if "doc_type" not in problems \
        else sorted(fields)
    stored = DocumentReading(
        document_id=doc.id, status=status, engine=str(reading.get("engine", "")),
        detected_type=detected if isinstance(detected, str) else None,
        text=str(reading.get("text", ""))[:20000], fields=fields, needs_review=review,
        warnings=warnings, problems=problems, seconds=float(reading.get("seconds", 0.0)),
        read_at=utcnow())
    s.add(stored)
    doc.fields = fields
    # a readable document with doubts goes to a person; the fast track then stays away
    doc.needs_review = status == "read" and bool(review or problems.get("warnings")
                                                  or problems.get("doc_type"))
    if status == "read" and "doc_type" not in problems:
        # a bank card's number stays a proposal in the document's fields: the customer
        # confirms it (POST /channel/claims/{claim_no}/bank-account with the document's id)
        _feed_facts(row, str(detected), fields, set(review))
    return stored


def _cross_check(s: Session, row: ClaimRow, doc_type: str, fields: Mapping[str, Any]
                 ) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    insured = s.get(Party, row.insured_party_id)
    policy = s.get(PolicyRow, row.policy_id)

    def value(name: str) -> Any:
        return (fields.get(name) or {}).get("value")

    name_field = INSURED_NAME.get(doc_type)
    if name_field and value(name_field) and insured and value(name_field) != insured.name:
        out.append((name_field, "姓名与被保险人不一致"))
    if doc_type == "id_card" and value("name") and insured \
            and value("name") not in (insured.name, row.reporter_name):
        out.append(("name", "姓名既不是被保险人也不是报案人"))
    if doc_type in ("death_certificate", "disability_assessment") and value("id_number") \
            and insured and value("id_number") != insured.id_number:
        out.append(("id_number", "身份证号与被保险人不一致"))
    for name, rule in _DATE_RULES.get(doc_type, ()):
        day = _as_date(value(name))
        if day is None:
            continue
        if day < row.incident_date:
            out.append((name, f"日期早于报案的出险日期 {row.incident_date.isoformat()}"))
        if rule == "same" and day != row.incident_date:
            out.append((name, f"事故日期与报案的出险日期 {row.incident_date.isoformat()} 不一致"))
        if rule == "in_period" and policy and policy.start_date and policy.end_date \
                and not policy.start_date <= day <= policy.end_date:
            out.append((name, "日期不在保险期间内"))
    return out


# (field, rule): every date is on or after the incident; `same` = the incident's own date;
# `in_period` = within the policy period as well
_DATE_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "discharge_summary": (("admission_date", "in_period"), ("discharge_date", "after")),
    "medical_invoice": (("issue_date", "after"),),
    "death_certificate": (("death_date", "after"),),
    "disability_assessment": (("assessment_date", "after"),),
    "accident_certificate": (("accident_date", "same"),),
}


def _as_date(raw: Any) -> date | None:
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _feed_facts(row: ClaimRow, doc_type: str, fields: Mapping[str, Any],
                doubtful: set[str]) -> None:
    """Trusted fields become adjudication facts: the document outranks what was reported."""
    def trusted(name: str) -> Any:
        return None if name in doubtful else (fields.get(name) or {}).get("value")

    facts = dict(row.facts or {})
    if doc_type == "discharge_summary":
        if trusted("admission_date") and trusted("discharge_date"):
            # the dates decide the days (the adjudication counts them its own way): a day
            # count reported earlier must not contradict the document
            facts["admission_date"] = trusted("admission_date")
            facts["discharge_date"] = trusted("discharge_date")
            facts.pop("hospital_days", None)
        elif trusted("hospital_days") is not None:
            facts["hospital_days"] = trusted("hospital_days")
    elif doc_type == "death_certificate" and trusted("death_date"):
        facts["death_date"] = trusted("death_date")
    elif doc_type == "disability_assessment" and trusted("disability_level"):
        levels = [int(x) for x in facts.get("disability_levels") or []]
        if int(trusted("disability_level")) not in levels:
            levels.append(int(trusted("disability_level")))
        facts["disability_levels"] = levels
    if facts != (row.facts or {}):
        row.facts = facts  # a new dict, so that the JSON column is written


def check_claim_open(db: Database, claim_no: str) -> None:
    """Before the costly reading: the claim exists and still takes documents."""
    with db.read() as s:
        status = s.execute(select(ClaimRow.status).where(ClaimRow.claim_no == claim_no)).scalar()
    if status is None:
        raise NotFound(f"案件 {claim_no} 不存在", "claim_no")
    if status in (cl.CLOSED, cl.WITHDRAWN):
        raise DomainError(f"案件状态为 {cl.STAGE_NAMES[status]}，不能再上传材料", "claim_no")


def document_view(db: Database, claim_no: str, document_id: str) -> dict[str, Any]:
    """One claim document with what was read on it (BRIEF interface 3)."""
    if not document_id.isdigit() or len(document_id) > 12:
        raise NotFound(f"材料 {document_id} 不存在", "document_id")
    with db.read() as s:
        found = s.execute(
            select(ClaimDocument, DocumentReading)
            .join(ClaimRow, ClaimRow.id == ClaimDocument.claim_id)
            .outerjoin(DocumentReading, DocumentReading.document_id == ClaimDocument.id)
            .where(ClaimRow.claim_no == claim_no, ClaimDocument.id == int(document_id))
        ).first()
        if found is None:
            raise NotFound(f"案件 {claim_no} 没有材料 {document_id}", "document_id")
        doc, reading = found
        return receipt(doc, reading)


#: what a document's file is served as to staff: a picture or a PDF as itself, anything else
#: (whatever type the uploader claimed) as bytes to save, never as a page of the desk
SHOWN_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff",
                         "application/pdf"})


def document_file(db: Database, files: Any, claim_no: str, document_id: str, actor: str,
                  purpose: str) -> tuple[str, str, bytes]:
    """A claim document's file for a staff member: (content type, file name, bytes). Each
    look is audited (who, which document, from which page)."""
    if not document_id.isdigit() or len(document_id) > 12:
        raise NotFound(f"材料 {document_id} 不存在", "document_id")
    with db.transaction() as s:
        doc = s.execute(select(ClaimDocument).join(ClaimRow, ClaimRow.id == ClaimDocument.claim_id)
                        .where(ClaimRow.claim_no == claim_no,
                               ClaimDocument.id == int(document_id))).scalar()
        if doc is None:
            raise NotFound(f"案件 {claim_no} 没有材料 {document_id}", "document_id")
        kind, name, path = doc.content_type, doc.filename, doc.storage_path
        if not path:  # retention or erasure removed the original; the row keeps its hash
            raise NotFound(f"材料 {document_id}：{FILE_GONE}", "document_id")
        audit(s, actor, "claim", claim_no, "view_document", None,
              {"document_id": doc.id, "purpose": purpose[:40]})
    try:
        data = files.read(path)
    except UnknownKey as exc:  # the operator's to fix: the settings lack an older key
        log.error("document %s is sealed under key %r, not configured", document_id,
                  exc.key_id)
        raise Unavailable(f"材料 {document_id} 的加密密钥 {exc.key_id} 未配置"
                          "（XIAOBAO_FILES_KEYS），请联系管理员", "document_id") from None
    except Tampered:
        log.error("document %s of claim %s failed its integrity check", document_id, claim_no)
        raise Damaged(f"材料 {document_id} 的文件未通过完整性校验（存储的内容被改动），"
                      "已拒绝显示", "document_id") from None
    except (OSError, ValueError):
        raise NotFound(f"材料 {document_id} 的文件已不在存储中", "document_id") from None
    shown = kind if kind in SHOWN_TYPES else "application/octet-stream"
    return shown, name, data


MASKED = {"id_number": mask_id_number, "card_number": mask_bank_card}


def masked_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """ID and card numbers masked, as everywhere in API answers (stored in full)."""
    out = {}
    for name, item in fields.items():
        value = item.get("value") if isinstance(item, Mapping) else None
        if name in MASKED and isinstance(value, str):
            item = {**item, "value": MASKED[name](value)}
        out[name] = item
    return out


def receipt(doc: ClaimDocument, reading: DocumentReading | None) -> dict[str, Any]:
    return {
        "document_id": doc.id,
        "doc_type": doc.doc_type,
        "detected_type": reading.detected_type if reading else None,
        "fields": masked_fields(doc.fields or {}),
        "needs_review": list(reading.needs_review) if reading else [],
        "status": _status(doc, reading),
        "warnings": list(reading.warnings) if reading else [],
        "problems": dict(reading.problems) if reading else {},
        "filename": doc.filename,
        "uploaded_at": doc.uploaded_at.isoformat(),
    }


def _status(doc: ClaimDocument, reading: DocumentReading | None) -> str:
    """received (not read) | unreadable | failed | needs_review | read."""
    if reading is None:
        return "received"
    if reading.status != "read":
        return reading.status
    return "needs_review" if doc.needs_review else "read"
