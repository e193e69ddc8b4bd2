"""Decoding is bounded: pictures whose decoding would take too much memory are refused from
their header, before any pixel is decoded; the largest pictures taken are reduced right after
decoding (JPEG: decoded at a reduced scale), still upright."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from ocr.errors import ImageTooLarge, OcrInputError
from ocr.image import DECODE_BUDGET, LONG_SIDE, MAX_PIXELS, load_pages


def picture(fmt: str, width: int, height: int, mode: str = "RGB", **save: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), "white" if mode != "P" else 0).save(out, fmt, **save)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "size", "mode", "save"), [
    ("PNG", (7700, 7700), "RGB", {}),  # the 230 KB picture of the issue
    ("PNG", (30000, 30000), "L", {}),
    ("PNG", (5000, 5000), "RGBA", {}),
    ("PNG", (4800, 4800), "P", {}),
    ("JPEG", (9000, 9000), "RGB", {}),
    ("GIF", (12000, 12000), "P", {}),
    ("TIFF", (8000, 8000), "L", {"compression": "tiff_deflate"}),
    ("WEBP", (7000, 7000), "RGB", {}),
])
def test_bombs_are_refused_naming_the_file(fmt: str, size: tuple[int, int], mode: str,
                                           save: dict[str, object]) -> None:
    data = picture(fmt, *size, mode, **save)
    with pytest.raises(ImageTooLarge) as refused:
        load_pages(data)
    assert refused.value.field == "file" and "像素" in refused.value.message
    assert isinstance(refused.value, OcrInputError)  # what every caller already handles


@pytest.mark.parametrize(("fmt", "size", "mode", "save"), [
    ("PNG", (7300, 5470), "RGB", {}),  # just under MAX_PIXELS
    ("PNG", (4470, 4470), "RGBA", {}),
    ("PNG", (4200, 4200), "P", {}),
    ("JPEG", (7300, 5470), "RGB", {}),
    ("JPEG", (7300, 5470), "RGB", {"progressive": True}),
    ("PNG", (6000, 200), "L", {}),
])
def test_the_largest_pictures_taken_are_read_reduced(fmt: str, size: tuple[int, int],
                                                     mode: str, save: dict[str, object]
                                                     ) -> None:
    [page] = load_pages(picture(fmt, *size, mode, **save))
    assert max(page.shape[:2]) <= LONG_SIDE and page.shape[2] == 3
    # the proportions survive the reduction
    shown, taken = page.shape[1] / page.shape[0], size[0] / size[1]
    assert abs(shown / taken - 1) < 0.05


def test_the_limits_hold_the_promise() -> None:
    # a full decode of the largest RGB picture taken fits the budget
    assert MAX_PIXELS * 3 <= DECODE_BUDGET <= 200 * 1024 * 1024


def test_orientation_is_applied_after_the_reduction() -> None:
    img = Image.new("RGB", (6000, 3000), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    [page] = load_pages(out.getvalue())
    assert page.shape[0] > page.shape[1]  # upright: taller than wide


@pytest.mark.parametrize(("fmt", "size", "mode", "save"), [
    ("WEBP", (7200, 5500), "RGB", {"lossless": True}),  # 1.5 KB, +491 MB when decoded whole
    ("WEBP", (7200, 5500), "RGB", {}),
    ("TIFF", (6320, 6320), "L", {"compression": "tiff_deflate"}),
    ("PNG", (6320, 6320), "LA", {}),
    ("JPEG", (7300, 5470), "CMYK", {"progressive": True}),
])
def test_formats_that_decode_whole_are_bounded_by_what_they_hold(
        fmt: str, size: tuple[int, int], mode: str, save: dict[str, object]) -> None:
    """Under the pixel limit, yet each of these held 300–600 MB while decoded: refused from
    the header, before decoding."""
    with pytest.raises(ImageTooLarge):
        load_pages(picture(fmt, *size, mode, **save))
