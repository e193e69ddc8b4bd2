"""Read one document: bytes in, document type + fields + warnings out."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ocr.engine import OcrEngine, PageText, get_engine
from ocr.errors import OcrInputError
from ocr.extractors import DOC_TYPES, EXTRACTORS, FIELDS, Extraction, detect_type
from ocr.image import load_pages

AUTO = "auto"
UNKNOWN = "unknown"


@dataclass
class Reading:
    doc_type: str
    fields: dict[str, dict[str, Any]]
    warnings: list[str]
    text: str
    side: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def as_contract(self) -> dict[str, Any]:
        """The JSON object of `xiaobao ocr --json` (CONTRACTS.md)."""
        return {"doc_type": self.doc_type, "fields": self.fields, "warnings": self.warnings}


def read_document(data: bytes, doc_type: str = AUTO, engine: OcrEngine | None = None
                  ) -> Reading:
    """Read a photo, scan or PDF; `doc_type` skips detection when the sender knows it."""
    if doc_type != AUTO and doc_type not in DOC_TYPES:
        raise OcrInputError(f"材料类型 {doc_type} 无效，可选：{', '.join(DOC_TYPES)}", "doc_type")
    started = time.perf_counter()
    pages = load_pages(data)
    timings = {"load": time.perf_counter() - started}
    engine = engine or get_engine()
    page: PageText | None = None
    kind: str | None = None
    for image in pages:
        page = engine.read(image)
        for stage, spent in page.timings.items():
            timings[stage] = timings.get(stage, 0.0) + spent
        kind = doc_type if doc_type != AUTO else detect_type(page.lines)
        if kind is not None and page.lines:
            break
    assert page is not None
    started = time.perf_counter()
    if kind is None:
        reading = Reading(UNKNOWN, {}, ["无法判断材料类型"] if page.lines else
                          ["图片中没有识别到文字"], page.text)
    else:
        ex: Extraction = EXTRACTORS[kind](page.lines)
        if not page.lines:
            ex.warnings.insert(0, "图片中没有识别到文字")
        reading = Reading(kind, ex.fields, ex.warnings, page.text, ex.side)
    timings["extraction"] = time.perf_counter() - started
    reading.timings = timings
    return reading


__all__ = ["AUTO", "DOC_TYPES", "FIELDS", "Reading", "read_document"]
