"""OCR of the documents people send with a claim.

A library with no knowledge of the back office: `read_document(data)` takes the bytes of a photo,
scan or PDF and answers the document type, the fields of CONTRACTS.md with a confidence each, and
warnings for checks that failed. The engine (`ocr.engine`) runs the PP-OCR models once loaded per
process; `ocr.image` turns what people send into upright pictures; `ocr.layout` pairs labels with
values; `ocr.extractors` holds one extractor per document type; `ocr.validate` the checks.
"""

from ocr.errors import OcrInputError
from ocr.reader import DOC_TYPES, Reading, read_document

__all__ = ["DOC_TYPES", "OcrInputError", "Reading", "read_document"]
