"""The one error OCR raises for input it cannot read (empty, not an image, too large)."""

from __future__ import annotations


class OcrInputError(ValueError):
    """A file that is not a readable image or PDF; `field` names the input at fault."""

    def __init__(self, message: str, field: str = "file") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ImageTooLarge(OcrInputError):
    """An image with more pixels than one reading may decode: refused before decoding it."""
