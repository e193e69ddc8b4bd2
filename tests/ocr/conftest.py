"""OCR tests run the real PP-OCR models on documents drawn at test time (bench/ocr_synth.py).

One engine for the whole session: the models load once.
"""

from __future__ import annotations

import pytest

from ocr.engine import OcrEngine, get_engine


@pytest.fixture(scope="session")
def engine() -> OcrEngine:
    return get_engine("rapidocr")
