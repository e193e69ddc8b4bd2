"""OCR engines: one interface, two runtimes of the same PP-OCR models.

`RapidOcrEngine` (the default) runs the PP-OCRv4 detection and recognition models that ship in
the `rapidocr-onnxruntime` wheel on ONNX Runtime, so it works offline on a fresh machine.
`PaddleOcrEngine` runs PaddleOCR 3.x when it is installed and pointed at local model
directories (PaddleOCR otherwise downloads its models at run time). `get_engine()` loads the
chosen engine once per process.

Both answer a `PageText`: recognised lines in the frame of the upright, deskewed page, whatever
way the photo was taken, with the time each stage took.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

DET_SIDE = int(os.environ.get("XIAOBAO_OCR_DET_SIDE", "960") or 960)
MIN_SCORE = 0.5  # lines recognised with less confidence are noise (stains, stamps, patterns)


@dataclass(frozen=True)
class Line:
    """One recognised text line; box in upright page coordinates (pixels)."""

    text: str
    score: float
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass
class PageText:
    lines: list[Line]
    width: int
    height: int
    quarter_turns: int = 0  # counter-clockwise quarter turns that made the page upright
    skew_degrees: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(ln.text for ln in self.lines)


class OcrEngine(Protocol):
    name: str

    def read(self, rgb: np.ndarray) -> PageText: ...


class EngineUnavailable(RuntimeError):
    """The configured engine is not installed or has no local models."""


# ---- geometry shared by the engines ----------------------------------------------------------

def _sides(quad: np.ndarray) -> tuple[float, float]:
    width = float(np.linalg.norm(quad[1] - quad[0]))
    height = float(np.linalg.norm(quad[3] - quad[0]))
    return width, height


def vertical_share(quads: list[np.ndarray]) -> float:
    """Share of elongated boxes whose long side runs up and down: the page lies on its side."""
    vertical = horizontal = 0
    for q in quads:
        xs, ys = q[:, 0], q[:, 1]
        w, h = float(xs.max() - xs.min()), float(ys.max() - ys.min())
        if max(w, h) < 2 * max(min(w, h), 1.0):
            continue
        if h > w:
            vertical += 1
        else:
            horizontal += 1
    total = vertical + horizontal
    return vertical / total if total else 0.0


def rotate_quads_180(quads: list[np.ndarray], width: int, height: int) -> list[np.ndarray]:
    # the point order (top-left first, clockwise) is kept for the upright picture
    out = []
    for q in quads:
        r = np.stack([width - q[:, 0], height - q[:, 1]], axis=1).astype(np.float32)
        out.append(r[[2, 3, 0, 1]])
    return out


def skew_of(quads: list[np.ndarray]) -> float:
    """Median angle (degrees) of the long, horizontal-ish boxes' top edges."""
    angles = []
    for q in quads:
        w, h = _sides(q)
        if w >= 3 * max(h, 1.0):
            dx, dy = float(q[1][0] - q[0][0]), float(q[1][1] - q[0][1])
            angles.append(math.degrees(math.atan2(dy, dx)))
    return float(np.median(angles)) if angles else 0.0


def to_lines(quads: list[np.ndarray], texts: list[tuple[str, float]], width: int,
             height: int) -> tuple[list[Line], float]:
    """Lines in the deskewed frame: box corners turned back by the page's skew about its centre."""
    skew = skew_of(quads)
    rad = math.radians(-skew) if abs(skew) > 0.3 else 0.0
    cos, sin = math.cos(rad), math.sin(rad)
    cx, cy = width / 2, height / 2
    lines = []
    for q, (text, score) in zip(quads, texts, strict=True):
        text = text.strip()
        if not text or score < MIN_SCORE:
            continue
        xs = [cx + (x - cx) * cos - (y - cy) * sin for x, y in q]
        ys = [cy + (x - cx) * sin + (y - cy) * cos for x, y in q]
        lines.append(Line(text, float(score), min(xs), min(ys), max(xs), max(ys)))
    lines.sort(key=lambda ln: (round(ln.cy / max(ln.height, 1.0)), ln.x0))
    return lines, skew


# ---- RapidOCR on ONNX Runtime ----------------------------------------------------------------

class RapidOcrEngine:
    """PP-OCRv4 detection + recognition and the text-direction classifier on ONNX Runtime."""

    name = "rapidocr"

    def __init__(self, threads: int = 0, det_side: int = DET_SIDE) -> None:
        from rapidocr_onnxruntime import RapidOCR

        params: dict[str, object] = {"print_verbose": False}
        if threads > 0:
            params["intra_op_num_threads"] = threads
        self._ocr = RapidOCR(**params)
        # Detection runs on a copy reduced to det_side (its cost grows with the pixels; text
        # lines stay findable), recognition on crops of the full picture (its accuracy needs
        # the pixels). A minimum of 32 stops the detector from enlarging the copy again.
        self._ocr.text_det.limit_type = "min"
        self._ocr.text_det.limit_side_len = 32
        self.det_side = det_side

    def _detect(self, bgr: np.ndarray, timings: dict[str, float]) -> list[np.ndarray]:
        import cv2

        started = time.perf_counter()
        height, width = bgr.shape[:2]
        scale = min(1.0, self.det_side / max(height, width))
        small = bgr if scale == 1.0 else cv2.resize(
            bgr, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        boxes, _ = self._ocr.text_det(small)
        timings["detection"] = timings.get("detection", 0.0) + time.perf_counter() - started
        if boxes is None or len(boxes) == 0:
            return []
        boxes = (np.asarray(boxes, dtype=np.float32) / scale).astype(np.float32)
        return list(self._ocr.sorted_boxes(boxes))

    def _classify(self, bgr: np.ndarray, quads: list[np.ndarray], timings: dict[str, float]
                  ) -> tuple[list[np.ndarray], list[tuple[str, float]]]:
        started = time.perf_counter()
        crops = self._ocr.get_crop_img_list(bgr, quads)
        crops, labels, _ = self._ocr.text_cls(crops)
        timings["orientation"] = timings.get("orientation", 0.0) + time.perf_counter() - started
        return crops, [(str(lab), float(score)) for lab, score in labels]

    def _quarter_turn(self, bgr: np.ndarray, quads: list[np.ndarray],
                      timings: dict[str, float]) -> int:
        """0 for an upright page; else the counter-clockwise quarter turns that make it upright.

        Crops of vertical lines are turned a quarter counter-clockwise before classification,
        so their text reads upright when the page was turned clockwise and upside down when it
        was turned counter-clockwise.
        """
        if vertical_share(quads) <= 0.5:
            return 0
        tall = [q for q in quads if _sides(q)[1] > 1.5 * _sides(q)[0]][:12]
        if not tall:
            return 0
        _, labels = self._classify(bgr, tall, timings)
        flipped = sum(1 for lab, _ in labels if lab == "180")
        return 3 if flipped > len(labels) / 2 else 1

    def read(self, rgb: np.ndarray) -> PageText:
        timings: dict[str, float] = {}
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        quads = self._detect(bgr, timings)
        turns = self._quarter_turn(bgr, quads, timings) if quads else 0
        if turns:
            bgr = np.ascontiguousarray(np.rot90(bgr, k=turns))
            quads = self._detect(bgr, timings)
        height, width = bgr.shape[:2]
        if not quads:
            return PageText([], width, height, turns, 0.0, timings)
        crops, labels = self._classify(bgr, quads, timings)
        if sum(1 for lab, s in labels if lab == "180" and s > 0.8) > len(labels) / 2:
            # upside down: turn the page, not each line, so that the layout reads right too
            bgr = np.ascontiguousarray(np.rot90(bgr, k=2))
            quads = rotate_quads_180(quads, width, height)
            turns = (turns + 2) % 4
            crops, labels = self._classify(bgr, quads, timings)
        started = time.perf_counter()
        rec, _ = self._ocr.text_rec(crops)
        timings["recognition"] = time.perf_counter() - started
        texts = [(str(r[0]), float(r[1])) for r in rec]
        lines, skew = to_lines(quads, texts, width, height)
        return PageText(lines, width, height, turns, skew, timings)


# ---- PaddleOCR 3.x with local models ---------------------------------------------------------

PADDLE_DIRS = {
    "text_detection_model_dir": "XIAOBAO_PADDLE_DET_DIR",
    "text_recognition_model_dir": "XIAOBAO_PADDLE_REC_DIR",
}
PADDLE_TEXTLINE_DIR = "XIAOBAO_PADDLE_TEXTLINE_DIR"


class PaddleOcrEngine:
    """PaddleOCR 3.x, offline: every model directory must be given (see README)."""

    name = "paddle"

    def __init__(self) -> None:
        dirs = {arg: os.environ.get(var, "") for arg, var in PADDLE_DIRS.items()}
        missing = [PADDLE_DIRS[a] for a, d in dirs.items() if not d or not os.path.isdir(d)]
        if missing:
            raise EngineUnavailable("PaddleOCR 需要本地模型目录：" + "、".join(missing))
        # PaddleX checks the model hubs at start; these machines are offline
        os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
        try:
            from paddleocr import PaddleOCR  # type: ignore[import-not-found]
        except ImportError:
            raise EngineUnavailable("未安装 paddleocr（pip install paddleocr paddlepaddle）") \
                from None
        textline = os.environ.get(PADDLE_TEXTLINE_DIR, "")
        kwargs: dict[str, object] = dict(dirs, use_doc_orientation_classify=False,
                                         use_doc_unwarping=False,
                                         use_textline_orientation=bool(textline))
        if textline:
            kwargs["textline_orientation_model_dir"] = textline
        self._ocr = PaddleOCR(**kwargs)

    def _run(self, bgr: np.ndarray) -> tuple[list[np.ndarray], list[tuple[str, float]]]:
        result = self._ocr.predict(bgr)[0]
        quads = [np.asarray(p, dtype=np.float32).reshape(4, 2) for p in result["rec_polys"]]
        texts = [(str(t), float(s)) for t, s in zip(result["rec_texts"], result["rec_scores"],
                                                      strict=True)]
        return quads, texts

    def read(self, rgb: np.ndarray) -> PageText:
        started = time.perf_counter()
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        quads, texts = self._run(bgr)
        turns = 0
        if vertical_share(quads) > 0.5:
            # try both quarter turns and keep the one read with more confidence
            best = None
            for k in (1, 3):
                turned = np.ascontiguousarray(np.rot90(bgr, k=k))
                q, t = self._run(turned)
                score = sum(s for _, s in t)
                if best is None or score > best[0]:
                    best = (score, k, q, t, turned)
            assert best is not None
            _, turns, quads, texts, bgr = best
        height, width = bgr.shape[:2]
        lines, skew = to_lines(quads, texts, width, height)
        # PaddleOCR runs detection and recognition in one call: report it as detection
        return PageText(lines, width, height, turns, skew,
                        {"detection": time.perf_counter() - started, "recognition": 0.0})


# ---- one engine per process ------------------------------------------------------------------

_lock = threading.Lock()
_engines: dict[str, OcrEngine] = {}


def engine_name() -> str:
    return os.environ.get("XIAOBAO_OCR_ENGINE", "rapidocr").strip().lower() or "rapidocr"


def get_engine(name: str | None = None) -> OcrEngine:
    """The process's engine, loaded on first use (the models take a second to load)."""
    name = name or engine_name()
    with _lock:
        engine = _engines.get(name)
        if engine is None:
            if name == "paddle":
                engine = PaddleOcrEngine()
            elif name == "rapidocr":
                threads = int(os.environ.get("XIAOBAO_OCR_THREADS", "0") or 0)
                engine = RapidOcrEngine(threads)
            else:
                raise EngineUnavailable(f"未知的 OCR 引擎 {name}（rapidocr 或 paddle）")
            _engines[name] = engine
        return engine
