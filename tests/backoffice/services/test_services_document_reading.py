"""What OCR read on a claim document, checked against the claim (SQLite and PostgreSQL).

The readings here are given as the OCR worker hands them over, so that each rule is shown on
its own; tests/backoffice/api/test_api_claim_documents_ocr.py runs real photos through the
real models."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from test_services_claims import body, clock, files, scheme

from backoffice.services import claims, demo
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.files import FileStore
from backoffice.store.models import ClaimRow, DocumentReading, Party

__all__ = ["clock", "files", "scheme"]  # fixtures


def reading(doc_type: str, confidence: float = 0.98, **fields: Any) -> dict[str, Any]:
    return {"status": "read", "doc_type": doc_type, "engine": "rapidocr", "text": "…",
            "warnings": [], "seconds": 0.5,
            "fields": {n: {"value": v, "confidence": confidence} for n, v in fields.items()}}


def insured(db: Database, id_number: str) -> Party:
    with db.read() as s:
        party = s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", id_number))).scalar_one()
        s.expunge(party)
        return party


def upload(db: Database, files: FileStore, claim_no: str, doc_type: str | None,
           read: dict[str, Any]) -> dict[str, Any]:
    return claims.upload_document(db, files, claim_no, "photo.jpg", "image/jpeg", b"jpeg",
                                  doc_type, "customer", read)


def facts(db: Database, claim_no: str) -> dict[str, Any]:
    with db.read() as s:
        return dict(s.execute(select(ClaimRow.facts).where(ClaimRow.claim_no == claim_no))
                    .scalar_one())


def test_a_trusted_disability_assessment_feeds_the_level(db: Database, scheme: demo.SeedResult,
                                                          files: FileStore) -> None:
    claim = claims.report(db, body(scheme, 0, "disability", facts={}))[1]
    who = insured(db, scheme.sample_id_numbers[0])
    receipt = upload(db, files, claim["claim_no"], None, reading(
        "disability_assessment", name=who.name, id_number=who.id_number, disability_level=8,
        assessment_date="2026-03-05"))
    assert receipt["doc_type"] == "disability_assessment" and receipt["needs_review"] == []
    masked = who.id_number[:6] + "********" + who.id_number[-4:]
    assert receipt["fields"]["id_number"]["value"] == masked  # masked in answers
    assert receipt["status"] == "read"
    assert facts(db, claim["claim_no"])["disability_levels"] == [8]
    view = claims.get_claim(db, claim["claim_no"])
    assert "disability_assessment" not in [m["type"] for m in view["missing_documents"]]
    with db.read() as s:
        stored = s.execute(select(DocumentReading)).scalar_one()
        assert stored.detected_type == "disability_assessment" and stored.engine == "rapidocr"
        assert stored.fields["id_number"]["value"] == who.id_number  # stored in full


def test_an_id_card_without_a_type_is_the_claimants_and_may_be_the_reporters(
        db: Database, scheme: demo.SeedResult, files: FileStore) -> None:
    claim = claims.report(db, body(scheme, 1))[1]
    mine = upload(db, files, claim["claim_no"], None, reading("id_card", name="陈小明"))
    assert mine["doc_type"] == "claimant_id" and mine["needs_review"] == []
    stranger = upload(db, files, claim["claim_no"], None, reading("id_card", name="路人甲"))
    assert stranger["needs_review"] == ["name"] and stranger["status"] == "needs_review"
    assert stranger["problems"]["name"] == ["姓名既不是被保险人也不是报案人"]


def test_doubtful_fields_are_not_trusted(db: Database, scheme: demo.SeedResult,
                                         files: FileStore) -> None:
    claim = claims.report(db, body(scheme, 0, "death", facts={}))[1]
    no = claim["claim_no"]
    who = insured(db, scheme.sample_id_numbers[0])
    receipt = upload(db, files, no, "death_certificate", reading(
        "death_certificate", name=who.name, id_number="11010519491231002X",
        death_date="2026-02-01", cause=None))
    assert receipt["needs_review"] == ["cause", "death_date", "id_number"]
    problems = receipt["problems"]
    assert problems["id_number"] == ["身份证号与被保险人不一致"]
    assert problems["death_date"] == ["日期早于报案的出险日期 2026-03-01"]
    assert problems["cause"] == ["未识别到"]
    assert "death_date" not in facts(db, no)  # not trusted, not fed
    low = upload(db, files, no, "death_certificate", reading(
        "death_certificate", confidence=0.6, name=who.name, id_number=who.id_number,
        death_date="2026-03-02", cause="颅脑损伤"))
    assert low["needs_review"] == ["cause", "death_date", "id_number", "name"]
    assert set(low["problems"]["name"]) == {"识别置信度低"}


def test_a_document_that_is_not_what_the_sender_said(db: Database, scheme: demo.SeedResult,
                                                     files: FileStore) -> None:
    claim = claims.report(db, body(scheme, 0))[1]
    receipt = upload(db, files, claim["claim_no"], "bank_account",
                     reading("discharge_summary", patient_name="张三"))
    assert receipt["doc_type"] == "bank_account"
    assert receipt["needs_review"] == ["patient_name"] and receipt["status"] == "needs_review"
    assert receipt["problems"]["doc_type"] == [
        "识别出的材料类型 discharge_summary 与上传类型 bank_account 不符"]
    assert "admission_date" not in facts(db, claim["claim_no"])


def test_a_discharge_summary_outranks_a_reported_day_count(db: Database,
                                                           scheme: demo.SeedResult,
                                                           files: FileStore) -> None:
    claim = claims.report(db, body(scheme, 2, facts={"hospital_days": 3}))[1]
    who = insured(db, scheme.sample_id_numbers[2])
    upload(db, files, claim["claim_no"], None, reading(
        "discharge_summary", patient_name=who.name, hospital="潮南区人民医院",
        admission_date="2026-03-01", discharge_date="2026-03-06", hospital_days=5,
        diagnosis="左桡骨远端骨折"))
    assert facts(db, claim["claim_no"]) == {"admission_date": "2026-03-01",
                                            "discharge_date": "2026-03-06"}


def test_unreadable_and_failed_readings_keep_the_document(db: Database,
                                                          scheme: demo.SeedResult,
                                                          files: FileStore) -> None:
    claim = claims.report(db, body(scheme, 0))[1]
    unreadable = upload(db, files, claim["claim_no"], "medical_invoice", {
        "status": "unreadable", "doc_type": None, "fields": {}, "warnings": ["文件为空"]})
    assert unreadable["status"] == "unreadable" and unreadable["needs_review"] == []
    view = claims.get_claim(db, claim["claim_no"])
    assert "medical_invoice" not in [m["type"] for m in view["missing_documents"]]
    assert claims.upload_document(db, files, claim["claim_no"], "x.jpg", "image/jpeg", b"x",
                                  "other", "customer")["status"] == "received"
