"""Files that are not documents: a clear error naming the input, never a traceback."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from bench.ocr_synth import encode, make_sample
from ocr import OcrInputError, read_document
from ocr.engine import OcrEngine
from ocr.image import load_pages
from xiaobao.cli import main


@pytest.mark.parametrize(("data", "message"), [
    (b"", "文件为空"),
    (b"hello, this is not a picture", "文件不是可识别的图片或 PDF"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40, "文件不是可识别的图片或 PDF"),
    (b"%PDF-1.4\n1 0 obj garbage", "PDF 文件已损坏或无法打开"),
])
def test_bad_files_are_refused_clearly(data: bytes, message: str) -> None:
    with pytest.raises(OcrInputError) as err:
        read_document(data)
    assert err.value.message == message and err.value.field == "file"


def test_a_truncated_jpeg_is_refused() -> None:
    whole = make_sample("bank_card", 1, variant="photo").image
    with pytest.raises(OcrInputError):
        read_document(whole[: len(whole) // 3])


def test_tiny_images_and_unknown_types_are_refused() -> None:
    with pytest.raises(OcrInputError, match="图片太小"):
        load_pages(encode(Image.new("RGB", (4, 4), "white"), "PNG"))
    with pytest.raises(OcrInputError) as err:
        read_document(encode(Image.new("RGB", (100, 100), "white"), "PNG"), "passport")
    assert err.value.field == "doc_type"


def test_sizes_are_brought_to_reading_size() -> None:
    big = load_pages(encode(Image.new("RGB", (6000, 4000), "white"), quality=50))[0]
    assert max(big.shape[:2]) == 1600
    small = load_pages(encode(Image.new("RGB", (200, 120), "white"), "PNG"))[0]
    assert min(small.shape[:2]) == 640
    rgba = load_pages(encode(Image.new("RGBA", (900, 700), (0, 0, 0, 0)), "PNG"))[0]
    assert rgba.shape == (700, 900, 3) and rgba[0, 0].tolist() == [255, 255, 255]


def test_a_blank_page_has_no_text(engine: OcrEngine) -> None:
    reading = read_document(encode(Image.new("RGB", (1200, 900), "white"), quality=90),
                            engine=engine)
    assert reading.doc_type == "unknown" and reading.fields == {}
    assert reading.warnings == ["图片中没有识别到文字"]


def test_a_pdf_of_several_pages_is_read_from_its_first_pages(engine: OcrEngine) -> None:
    sample = make_sample("disability_assessment", 4, variant="png")
    page = Image.open(io.BytesIO(sample.image)).convert("RGB")
    blank = Image.new("RGB", page.size, "white")
    buf = io.BytesIO()
    blank.save(buf, "PDF", save_all=True, append_images=[page, blank], resolution=150)
    reading = read_document(buf.getvalue(), engine=engine)
    assert {n: f["value"] for n, f in reading.fields.items()} == sample.truth


def test_cli_prints_the_contract_json(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      engine: OcrEngine) -> None:
    sample = make_sample("bank_card", 12, variant="photo")
    path = tmp_path / "card.jpg"
    path.write_bytes(sample.image)
    assert main(["ocr", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out) == {"doc_type", "fields", "warnings"}
    assert out["doc_type"] == "bank_card"
    assert {n: f["value"] for n, f in out["fields"].items()} == sample.truth
    assert main(["ocr", str(path), "--type", "bank_card"]) == 0
    assert "card_number" in capsys.readouterr().out


def test_cli_refuses_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert main(["ocr", str(empty), "--json"]) == 2
    assert "文件为空" in capsys.readouterr().err
    assert main(["ocr", str(tmp_path / "missing.jpg"), "--json"]) == 2
    assert "不存在" in capsys.readouterr().err
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    assert main(["ocr", str(text), "--json"]) == 2
    err = capsys.readouterr()
    assert err.out == "" and "Traceback" not in err.err


def test_the_console_script(tmp_path: Path) -> None:
    sample = make_sample("disability_assessment", 14, variant="photo")
    path = tmp_path / "assessment.jpg"
    path.write_bytes(sample.image)
    xiaobao = Path(sys.executable).with_name("xiaobao")
    proc = subprocess.run([str(xiaobao), "ocr", str(path), "--json"], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["doc_type"] == "disability_assessment"
    assert {n: f["value"] for n, f in out["fields"].items()} == sample.truth
    bad = subprocess.run([str(xiaobao), "ocr", str(tmp_path), "--json"], capture_output=True,
                         text=True, timeout=600)
    assert bad.returncode == 2 and bad.stdout == "" and "Traceback" not in bad.stderr
