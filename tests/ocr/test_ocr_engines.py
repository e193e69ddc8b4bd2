"""Engine choice: RapidOCR by default, loaded once; PaddleOCR only with local models."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.ocr_synth import make_sample
from ocr.engine import EngineUnavailable, PaddleOcrEngine, get_engine
from xiaobao.cli import main


def test_the_default_engine_is_loaded_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XIAOBAO_OCR_ENGINE", raising=False)
    first = get_engine()
    assert first.name == "rapidocr"
    assert get_engine() is first and get_engine("rapidocr") is first


def test_paddle_needs_its_local_model_directories(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XIAOBAO_PADDLE_DET_DIR", raising=False)
    monkeypatch.delenv("XIAOBAO_PADDLE_REC_DIR", raising=False)
    with pytest.raises(EngineUnavailable, match="XIAOBAO_PADDLE_DET_DIR"):
        PaddleOcrEngine()
    with pytest.raises(EngineUnavailable, match="未知的 OCR 引擎"):
        get_engine("tesseract")


def test_cli_names_an_unavailable_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "card.png"
    path.write_bytes(make_sample("bank_card", 1, variant="png").image)
    monkeypatch.setenv("XIAOBAO_OCR_ENGINE", "paddle")
    monkeypatch.delenv("XIAOBAO_PADDLE_DET_DIR", raising=False)
    assert main(["ocr", str(path), "--json"]) == 2
    assert "XIAOBAO_PADDLE_DET_DIR" in capsys.readouterr().err
