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

from ocr.errors import OcrInputError

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 60_000_000  # a 60-megapixel limit keeps decompression bombs out
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
            img = Image.open(io.BytesIO(data))
            if img.format == "JPEG" and max(img.size) > 2 * LONG_SIDE:
                # decode a 12-megapixel photo at 1/2 or 1/4 scale straight from the DCT
                # (several times faster): only LONG_SIDE pixels are kept anyway
                ratio = LONG_SIDE / max(img.size)
                img.draft("RGB", (math.ceil(img.width * ratio), math.ceil(img.height * ratio)))
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise OcrInputError("图片像素过多，无法识别") from None
    except Exception:  # PIL raises many kinds for a file that is not an image
        raise OcrInputError("文件不是可识别的图片或 PDF") from None
    if getattr(img, "n_frames", 1) > 1:
        img.seek(0)
    # A phone stores the picture as the sensor saw it plus an orientation tag: apply the tag.
    # a broken EXIF block should not lose the picture
    with contextlib.suppress(Exception):
        img = ImageOps.exif_transpose(img)
    return img


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
