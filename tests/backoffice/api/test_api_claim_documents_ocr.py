"""Claim documents read by OCR through the API: upload → fields → the requirement ticked off
→ the fast track decides on what the document says; doubtful fields go to a person. Real
photos drawn at test time (bench/ocr_synth.py), the real OCR models, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from api_testkit import Api
from test_api_claims_kit import (
    DOCS,
    Scheme,
    clock,
    multipart,
    report,
    report_body,
    scheme,
    upload,
)

from bench.ocr_synth import discharge_photo

__all__ = ["clock", "scheme"]  # fixtures

INCIDENT = date(2026, 5, 20)


async def insured_name(api: Api, id_number: str) -> str:
    party: dict[str, Any] = await api.get(f"/parties/{id_number}", expect=200)
    name = party.get("name") or party.get("party", {}).get("name")
    assert isinstance(name, str) and name
    return name


async def upload_photo(api: Api, claim_no: str, data: bytes,
                       doc_type: str | None = None) -> dict[str, Any]:
    parts = [("file", data, "photo.jpg")]
    if doc_type:
        parts.append(("doc_type", doc_type.encode(), None))
    body, headers = multipart(parts)
    answer: dict[str, Any] = await api.call("POST", f"/claims/{claim_no}/documents", data=body,
                                            headers=headers, expect=201)
    return answer


async def test_a_discharge_summary_fills_the_days_and_the_fast_track_decides(
        api: Api, scheme: Scheme) -> None:
    # reported without the stay: the days come from the document
    claim = await report(api, report_body(scheme, facts={}, incident=INCIDENT.isoformat()))
    no = claim["claim_no"]
    name = await insured_name(api, scheme.members[0])
    photo = discharge_photo(1, name, INCIDENT, date(2026, 5, 30))

    receipt = await upload_photo(api, no, photo)  # no doc_type: OCR tells what it is
    assert receipt["doc_type"] == "discharge_summary"
    assert receipt["detected_type"] == "discharge_summary"
    fields = {n: f["value"] for n, f in receipt["fields"].items()}
    assert fields["patient_name"] == name
    assert fields["admission_date"] == "2026-05-20" and fields["discharge_date"] == "2026-05-30"
    assert fields["hospital_days"] == 10
    assert receipt["needs_review"] == [] and receipt["status"] == "read"
    assert receipt["claim_status"] == "documents_pending"

    claim = await api.get(f"/claims/{no}", expect=200)
    assert "discharge_summary" not in [m["type"] for m in claim["missing_documents"]]

    read = await api.get(f"/claims/{no}/documents/{receipt['document_id']}", expect=200)
    assert read["document_id"] == receipt["document_id"]
    assert read["doc_type"] == "discharge_summary" and read["status"] == "read"
    assert read["fields"] == receipt["fields"] and read["needs_review"] == []

    for doc_type in DOCS["hospital_allowance"][1:]:
        last = await upload(api, no, doc_type)
    assert last["claim_status"] == "approved"
    claim = await api.get(f"/claims/{no}", expect=200)
    assert claim["track"] == "fast" and claim["track_rule"].startswith("F1")
    assert claim["payable"] == claim["approved"] == "300.00"  # 10 days × 30 元


async def test_a_document_about_someone_else_goes_to_a_person(api: Api,
                                                            scheme: Scheme) -> None:
    claim = await report(api, report_body(scheme, facts={}, incident=INCIDENT.isoformat()))
    no = claim["claim_no"]
    name = await insured_name(api, scheme.members[0])
    other = "欧阳" + name[-1] if not name.startswith("欧阳") else "司马" + name[-1]
    photo = discharge_photo(2, other, date(2026, 5, 18), date(2026, 5, 25))

    receipt = await upload_photo(api, no, photo, "discharge_summary")
    assert receipt["doc_type"] == "discharge_summary"
    assert receipt["fields"]["patient_name"]["value"] == other
    # another patient, admitted before the reported accident
    assert {"patient_name", "admission_date"} <= set(receipt["needs_review"])
    assert receipt["status"] == "needs_review"
    read = await api.get(f"/claims/{no}/documents/{receipt['document_id']}", expect=200)
    assert "姓名与被保险人不一致" in read["problems"]["patient_name"]
    assert any("早于报案的出险日期" in p for p in read["problems"]["admission_date"])

    for doc_type in DOCS["hospital_allowance"][1:]:
        last = await upload(api, no, doc_type)
    # the requirement is ticked off, but nothing doubtful is trusted: a person decides
    assert last["claim_status"] == "under_review"
    claim = await api.get(f"/claims/{no}", expect=200)
    assert claim["missing_documents"] == [] and claim["track"] != "fast"
    assert claim["approved"] is None


async def test_files_that_are_not_pictures_are_kept_unread(api: Api, scheme: Scheme) -> None:
    claim = await report(api, report_body(scheme))
    no = claim["claim_no"]
    receipt = await upload(api, no, "household_cancellation")
    assert receipt["status"] == "unreadable" and receipt["fields"] == {}
    read = await api.get(f"/claims/{no}/documents/{receipt['document_id']}", expect=200)
    assert read["status"] == "unreadable" and read["warnings"]


async def test_unknown_documents_are_404(api: Api, scheme: Scheme) -> None:
    claim = await report(api, report_body(scheme))
    no = claim["claim_no"]
    receipt = await upload(api, no, "other")
    other = await report(api, report_body(scheme, insured=scheme.members[1]))
    for path in (f"/claims/{other['claim_no']}/documents/{receipt['document_id']}",
                 f"/claims/{no}/documents/999999",
                 f"/claims/R000/documents/{receipt['document_id']}"):
        answer = await api.get(path, expect=404)
        assert answer["error"]["field"] == "document_id"
    answer = await api.get(f"/claims/{no}/documents/abc", expect=400)  # not an id at all
    assert answer["error"]["field"] == "document_id"


def _picture(fmt: str, width: int, height: int, mode: str = "RGB") -> bytes:
    """A mostly blank picture: a small file however many pixels it declares."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, (width, height), "white").save(out, fmt)
    return out.getvalue()


async def test_pictures_with_too_many_pixels_are_refused_before_decoding(
        api: Api, scheme: Scheme) -> None:
    """A decompression bomb (a small file declaring huge dimensions) is refused with 413
    naming `file`, and nothing is stored; the largest pictures taken are read reduced."""
    claim = await report(api, report_body(scheme))
    no = claim["claim_no"]
    before = (await api.get(f"/claims/{no}", expect=200))["documents"]
    bombs = [_picture("PNG", 7700, 7700), _picture("PNG", 5000, 5000, "RGBA"),
             _picture("JPEG", 9000, 9000), _picture("GIF", 12000, 12000, "P")]
    for bomb in bombs:
        assert len(bomb) < 2 * 1024 * 1024
        body, headers = multipart([("file", bomb, "bomb.png")])
        answer = await api.call("POST", f"/claims/{no}/documents", data=body,
                                headers=headers, expect=413)
        assert answer["error"]["field"] == "file" and answer["error"]["code"] == "too_large"
        assert "像素" in answer["error"]["message"]
    assert (await api.get(f"/claims/{no}", expect=200))["documents"] == before
    for big in (_picture("PNG", 7300, 5470), _picture("JPEG", 7300, 5470)):
        receipt = await upload_photo(api, no, big)
        assert receipt["status"] == "unreadable" or receipt["document_id"]
