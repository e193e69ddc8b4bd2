"""Reading uploaded documents off the event loop: a small, bounded pool of OCR workers.

OCR takes about a second of CPU per photo. Running it on the event loop would stall every
other request, so the API hands it to a dedicated thread pool (ONNX Runtime releases the GIL
while it computes); the pool's size bounds how many documents are read at once and the
models are loaded once per process, on first use. XIAOBAO_OCR_WORKERS sets the size (default
1: the cores are better spent on one reading at a time); XIAOBAO_OCR_ENABLED=0 stores
documents without reading them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from backoffice.domain.errors import TooLarge

log = logging.getLogger("xiaobao.ocr")
TOO_LARGE = "too_large"


def read_bytes(data: bytes, doc_type: str) -> dict[str, Any]:
    """One reading as plain data for the claim service; bad files are `unreadable`."""
    from ocr import OcrInputError, read_document
    from ocr.engine import get_engine
    from ocr.errors import ImageTooLarge

    started = time.perf_counter()
    try:
        engine = get_engine()
        reading = read_document(data, doc_type, engine)
    except ImageTooLarge as exc:  # refused, not stored: the sender is asked for a smaller one
        return {"status": TOO_LARGE, "warnings": [exc.message]}
    except OcrInputError as exc:
        return {"status": "unreadable", "doc_type": None, "fields": {},
                "warnings": [exc.message], "text": "", "engine": "",
                "seconds": time.perf_counter() - started}
    except Exception:  # a reading that fails must not lose the upload: a person reads it
        log.exception("OCR failed on an uploaded document")
        return {"status": "failed", "doc_type": None, "fields": {},
                "warnings": ["识别失败，已转人工"], "text": "", "engine": "",
                "seconds": time.perf_counter() - started}
    return {"status": "read", "doc_type": reading.doc_type, "fields": reading.fields,
            "warnings": reading.warnings, "text": reading.text, "engine": engine.name,
            "seconds": time.perf_counter() - started}


class DocumentReader:
    """The bounded OCR pool of one process."""

    def __init__(self, workers: int | None = None) -> None:
        workers = workers or int(os.environ.get("XIAOBAO_OCR_WORKERS", "1") or 1)
        self.workers = max(1, workers)
        self._pool: ThreadPoolExecutor | None = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.workers,
                                            thread_name_prefix="ocr")
        return self._pool

    async def read(self, data: bytes, doc_type: str) -> dict[str, Any]:
        """The reading; TooLarge (413, naming `file`) for a picture with too many pixels."""
        loop = asyncio.get_running_loop()
        reading = await loop.run_in_executor(self._executor(), read_bytes, data, doc_type)
        if reading["status"] == TOO_LARGE:
            raise TooLarge("file", reading["warnings"][0])
        return reading

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def reader_from_env() -> DocumentReader | None:
    enabled = os.environ.get("XIAOBAO_OCR_ENABLED", "1").strip().lower()
    return None if enabled in ("0", "false", "no", "off") else DocumentReader()
