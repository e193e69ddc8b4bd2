"""From the bytes people send to upright pictures of a sensible size.

Phone photos come with an EXIF orientation, at 12 megapixels or as tiny thumbnails, and as PDF
scans. Rotation by quarter turns and skew are handled after detection (`ocr.engine`), where the
text lines tell which way is up.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings

import numpy as np
from PIL import Image, ImageOps

from ocr.errors import ImageTooLarge, OcrInputError

MAX_BYTES = 20 * 1024 * 1024
# Decoding is bounded before it starts (the header gives the size): one upload must not add
# more than ~300 MB to the process. A JPEG is decoded at a reduced scale straight from the DCT,
# so only its pixel count is limited; other formats decode in full, so their width × height ×
# the bytes per pixel that decoding and the first reduction hold at once is limited too.
MAX_PIXELS = 40_000_000
DECODE_BUDGET = 160 * 1024 * 1024
# bytes per pixel held while decoding and reducing, by mode: the decoded picture, plus the copy
# that converting (palette → RGB/RGBA) or reducing with alpha (premultiplied) makes
_DECODE_COST = {"1": 2, "L": 1, "LA": 8, "P": 9, "PA": 9, "RGB": 3, "RGBA": 8, "CMYK": 7,
                "YCbCr": 3, "I;16": 3, "I;16B": 3, "I": 5, "F": 5}
# formats whose decoders hold more than the picture itself (measured peaks, bench/image_memory):
# libwebp decodes into its own RGBA buffer before Pillow's copy (~16 bytes a pixel at the peak),
# TIFF strips are assembled whole (~10); a CMYK JPEG is converted at full size
_FORMAT_COST = {"WEBP": 16, "TIFF": 10}
_JPEG_FULL_COST = 9
PDF_PAGES = 2  # the first pages carry the fields; later pages are attachments
LONG_SIDE = 1600  # photos are reduced to this: more pixels cost time, not accuracy
SHORT_SIDE_MIN = 640  # thumbnails are enlarged to this so the detector sees the strokes
PDF_SCALE = 150 / 72  # render PDF pages at 150 dpi

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(b"%PDF")


def load_pages(data: bytes) -> list[np.ndarray]:
    """Decode an image or a PDF into RGB arrays (first pages of a PDF), resized for reading."""
    if not data:
        raise OcrInputError("文件为空")
    if len(data) > MAX_BYTES:
        raise OcrInputError(f"文件不能超过 {MAX_BYTES // (1024 * 1024)} MB")
    images = _pdf_pages(data) if is_pdf(data) else [_decode_image(data)]
    return [fit_size(_to_rgb_array(img)) for img in images]


def _decode_image(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only
            _check_size(img)
            if img.format == "JPEG" and max(img.size) > 2 * LONG_SIDE:
                # decode a 12-megapixel photo at 1/2 to 1/8 scale straight from the DCT
                # (less memory, several times faster): only LONG_SIDE pixels are kept anyway
                ratio = LONG_SIDE / max(img.size)
                img.draft("RGB", (math.ceil(img.width * ratio), math.ceil(img.height * ratio)))
            img.load()
            img = _shrink(img)
    except ImageTooLarge:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(0, 0) from None
    except Exception:  # PIL raises many kinds for a file that is not an image
        raise OcrInputError("文件不是可识别的图片或 PDF") from None
    # A phone stores the picture as the sensor saw it plus an orientation tag: apply the tag
    # (to the reduced picture: a transposed copy at full size would double the memory).
    # a broken EXIF block should not lose the picture
    with contextlib.suppress(Exception):
        img = ImageOps.exif_transpose(img)
    return img


def _too_large(width: int, height: int) -> ImageTooLarge:
    size = f"（{width}×{height}）" if width and height else ""
    return ImageTooLarge(f"图片像素过多{size}，请缩小到 {MAX_PIXELS // 1_000_000} 百万像素"
                         "以内后重新上传")


def _check_size(img: Image.Image) -> None:
    """Refuses, before decoding, a picture whose decoding would take too much memory (a
    decompression bomb: a small file declaring huge dimensions)."""
    width, height = img.size
    pixels = width * height
    cost = pixels * _cost_per_pixel(img)
    if pixels > MAX_PIXELS or cost > DECODE_BUDGET:
        raise _too_large(width, height)


def _cost_per_pixel(img: Image.Image) -> int:
    """Bytes a pixel costs while the picture is decoded and first reduced (0: a JPEG decoded
    at a reduced scale straight from the DCT, limited by its pixel count only)."""
    if img.format == "JPEG":
        return 0 if img.mode in ("RGB", "L") else _JPEG_FULL_COST
    return max(_FORMAT_COST.get(img.format or "", 0), _DECODE_COST.get(img.mode, 9))


def _shrink(img: Image.Image) -> Image.Image:
    """A big picture reduced by a whole factor right after decoding (box average, cheap), so
    that the conversions and copies that follow work on pictures of less than twice
    LONG_SIDE; the last step to LONG_SIDE stays with `fit_size` (area interpolation)."""
    if getattr(img, "n_frames", 1) > 1:
        img.seek(0)
    factor = max(img.size) // LONG_SIDE
    if factor < 2:
        return img
    if img.mode not in ("L", "LA", "RGB", "RGBA"):
        has_alpha = img.mode in ("PA", "LA") or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
    return img.reduce(factor)
def _pdf_pages(data: bytes) -> list[Image.Image]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except Exception:
        raise OcrInputError("PDF 文件已损坏或无法打开") from None
    try:
        if len(pdf) == 0:
            raise OcrInputError("PDF 文件没有页面")
        pages = []
        for i in range(min(len(pdf), PDF_PAGES)):
            page = pdf[i]
            w, h = page.get_size()
            scale = min(PDF_SCALE, LONG_SIDE / max(w, h, 1))
            pages.append(page.render(scale=scale).to_pil())
        return pages
    finally:
        pdf.close()


def _to_rgb_array(img: Image.Image) -> np.ndarray:
    if img.width < 8 or img.height < 8:
        raise OcrInputError("图片太小，无法识别")
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return np.asarray(img.convert("RGB"))


def fit_size(arr: np.ndarray) -> np.ndarray:
    """Reduce big photos to LONG_SIDE and enlarge thumbnails to SHORT_SIDE_MIN."""
    import cv2

    h, w = arr.shape[:2]
    scale = 1.0
    if max(h, w) > LONG_SIDE:
        scale = LONG_SIDE / max(h, w)
    elif min(h, w) < SHORT_SIDE_MIN:
        scale = min(SHORT_SIDE_MIN / min(h, w), LONG_SIDE / max(h, w))
    if abs(scale - 1.0) < 0.02:
        return np.ascontiguousarray(arr)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(arr, size, interpolation=interp)
