"""Every document type through the real engine: photos drawn at test time, seeded, with their
ground truth (bench/ocr_synth.py); the full evaluation set is in bench/ocr_eval.py."""

from __future__ import annotations

import pytest

from bench.ocr_synth import DOC_TYPES, make_sample
from ocr import read_document
from ocr.engine import OcrEngine
from ocr.extractors import FIELDS, ID_CARD_BACK_FIELDS


def values(fields: dict[str, dict[str, object]]) -> dict[str, object]:
    return {name: item["value"] for name, item in fields.items()}


@pytest.mark.parametrize("kind", DOC_TYPES)
def test_each_type_is_detected_and_read_exactly(engine: OcrEngine, kind: str) -> None:
    sample = make_sample(kind, 7, variant="photo")
    reading = read_document(sample.image, engine=engine)
    assert reading.doc_type == sample.doc_type
    names = ID_CARD_BACK_FIELDS if kind == "id_card_back" else FIELDS[sample.doc_type]
    assert list(reading.fields) == list(names)  # exactly the contract's field names
    assert values(reading.fields) == sample.truth
    assert reading.warnings == []
    for item in reading.fields.values():
        assert 0.85 <= item["confidence"] <= 1.0
    assert reading.side == ("back" if kind == "id_card_back" else
                            "front" if kind == "id_card" else None)


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_pictures_taken_sideways_or_upside_down(engine: OcrEngine, turns: int) -> None:
    sample = make_sample("discharge_summary", 20 + turns, variant="turned")
    assert sample.meta["turns"] in (1, 2, 3)
    reading = read_document(sample.image, engine=engine)
    assert values(reading.fields) == sample.truth


def test_exif_orientation_is_applied(engine: OcrEngine) -> None:
    sample = make_sample("id_card", 5, variant="exif")
    reading = read_document(sample.image, engine=engine)
    assert values(reading.fields) == sample.truth


@pytest.mark.parametrize("variant", ["small", "large", "pdf"])
def test_thumbnails_big_photos_and_pdf_scans(engine: OcrEngine, variant: str) -> None:
    sample = make_sample("medical_invoice", 3, variant=variant)
    reading = read_document(sample.image, engine=engine)
    assert values(reading.fields) == sample.truth


def test_the_sender_can_name_the_type(engine: OcrEngine) -> None:
    sample = make_sample("death_certificate", 8, variant="photo")
    reading = read_document(sample.image, "death_certificate", engine=engine)
    assert reading.doc_type == "death_certificate"
    assert values(reading.fields) == sample.truth
    # named wrongly, the fields of the named type come back empty and say so
    wrong = read_document(sample.image, "bank_card", engine=engine)
    assert wrong.doc_type == "bank_card"
    assert wrong.fields["card_number"] == {"value": None, "confidence": 0.0}
    assert "未识别到卡号" in wrong.warnings


def test_wrong_id_check_character_is_a_warning_with_less_confidence(engine: OcrEngine) -> None:
    sample = make_sample("id_card", 9, variant="png", tamper=True)
    reading = read_document(sample.image, engine=engine)
    assert reading.fields["id_number"]["value"] == sample.truth["id_number"]
    assert "身份证号校验码不正确" in reading.warnings
    assert reading.fields["id_number"]["confidence"] <= 0.5


def test_amount_in_words_that_differs_from_the_figures(engine: OcrEngine) -> None:
    sample = make_sample("medical_invoice", 9, variant="png", tamper=True)
    reading = read_document(sample.image, engine=engine)
    assert reading.fields["total_amount"]["value"] == sample.truth["total_amount"]
    assert any("大写金额" in w and "不一致" in w for w in reading.warnings)
    assert reading.fields["total_amount"]["confidence"] <= 0.5


def test_printed_hospital_days_that_disagree_with_the_dates(engine: OcrEngine) -> None:
    sample = make_sample("discharge_summary", 9, variant="png", tamper=True)
    reading = read_document(sample.image, engine=engine)
    days = sample.truth["hospital_days"]
    assert reading.fields["hospital_days"]["value"] == days  # counted from the dates
    assert f"住院天数 {days + 3} 与出入院日期不符" in reading.warnings


def test_bank_card_failing_luhn(engine: OcrEngine) -> None:
    sample = make_sample("bank_card", 9, variant="png", tamper=True)
    reading = read_document(sample.image, engine=engine)
    assert reading.fields["card_number"]["value"] == sample.truth["card_number"]
    assert "银行卡号校验（Luhn）未通过" in reading.warnings
    assert reading.fields["card_number"]["confidence"] <= 0.5
