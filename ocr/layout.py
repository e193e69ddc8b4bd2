"""Labels and their values on a page, by position.

Documents print `label：value` on one line, the value to the right of the label in a table cell,
or below it. OCR merges neighbouring cells into one line and misreads some characters of the
labels (姓各 for 姓名, 往址 for 住址). Labels are matched on a normalised copy of the text with
those confusions undone, exact matches first and then with one wrong character in longer
labels; a value runs to the next label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ocr.engine import Line

# characters the recogniser is known to put in place of those of the labels (one for one)
CONFUSIONS = str.maketrans({
    "各": "名", "铭": "名", "往": "住", "佳": "住", "注": "住", "朗": "期", "斯": "期",
    "旅": "族", "玛": "码", "吗": "码", "刖": "别", "列": "别", "曰": "日", "目": "日",
    "臼": "日", "冈": "因", "囚": "因", "困": "因", "瞩": "嘱", "属": "嘱",
    "贴": "点", "站": "点", "凭": "据", "具": "据", "栗": "票", "柒": "票", "歘": "款",
    "欵": "款", "単": "单", "坚": "鉴", "监": "鉴", "烧": "院", "阮": "院",
    "：": ":", "﹕": ":", "∶": ":",
})
SEPARATORS = " :：;；,，.。|_-—"


@dataclass(frozen=True)
class Value:
    key: str
    text: str
    score: float
    line: Line
    heads_line: bool = True  # the label opens its line (not a word inside a sentence)


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    key: str
    exact: bool


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _norm(text: str) -> str:
    return compact(text).translate(CONFUSIONS)


class Labels:
    """The labels of one document type: field key → printed aliases; `stops` end values only."""

    def __init__(self, fields: Mapping[str, Iterable[str]], stops: Iterable[str] = ()) -> None:
        self.aliases: list[tuple[str, str]] = []
        for key, names in fields.items():
            self.aliases += [(key, _norm(n)) for n in names]
        self.aliases += [("", _norm(n)) for n in stops]
        self.aliases.sort(key=lambda a: len(a[1]), reverse=True)

    def hits(self, text: str) -> list[_Hit]:
        norm = _norm(text)
        taken = [False] * len(norm)
        found: list[_Hit] = []
        for exact in (True, False):
            for key, alias in self.aliases:
                if not exact and len(alias) < 4:
                    continue
                for start in self._positions(norm, alias, exact):
                    end = start + len(alias)
                    if any(taken[start:end]):
                        continue
                    taken[start:end] = [True] * (end - start)
                    found.append(_Hit(start, end, key, exact))
        return sorted(found, key=lambda h: h.start)

    @staticmethod
    def _positions(norm: str, alias: str, exact: bool) -> list[int]:
        if exact:
            return [m.start() for m in re.finditer(re.escape(alias), norm)]
        n = len(alias)
        return [i for i in range(len(norm) - n + 1)
                if sum(a != b for a, b in zip(norm[i:i + n], alias, strict=True)) == 1
                and norm[i] == alias[0]]


def _clean(value: str) -> str:
    return value.strip(SEPARATORS + "（）()")


def _same_row(a: Line, b: Line) -> bool:
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    return overlap > 0.5 * min(a.height, b.height)


def find_values(lines: list[Line], labels: Labels) -> dict[str, list[Value]]:
    """Every value found for each field key, in reading order."""
    out: dict[str, list[Value]] = {}
    hits_by_line = {id(ln): labels.hits(ln.text) for ln in lines}
    for ln in lines:
        text = compact(ln.text)
        hits = hits_by_line[id(ln)]
        for i, hit in enumerate(hits):
            if not hit.key:
                continue
            stop = hits[i + 1].start if i + 1 < len(hits) else len(text)
            value = _clean(text[hit.end:stop])
            source = ln
            if not value and i + 1 == len(hits):
                neighbour = _neighbour(ln, lines, hits_by_line)
                if neighbour is not None:
                    source = neighbour
                    value = _clean(_overlap_trimmed(ln, neighbour,
                                                    _until_label(neighbour, hits_by_line)))
            if value:
                heads = i > 0 or hit.start == 0
                out.setdefault(hit.key, []).append(Value(hit.key, value, source.score, source,
                                                         heads))
    return out


def _overlap_trimmed(label: Line, value: Line, text: str) -> str:
    """A value box that starts inside its label's box begins with a piece of the label (a
    stray character): drop the characters that lie over the label."""
    overlap = label.x1 - value.x0
    if overlap <= 0 or value.y0 > label.y1 or not text:
        return text
    char_width = (value.x1 - value.x0) / max(len(compact(value.text)), 1)
    drop = round(overlap / char_width) if char_width else 0
    return text[drop:] if 0 < drop < len(text) else text


def _until_label(ln: Line, hits_by_line: dict[int, list[_Hit]]) -> str:
    text = compact(ln.text)
    hits = hits_by_line[id(ln)]
    return text[:hits[0].start] if hits else text


def _neighbour(ln: Line, lines: list[Line], hits_by_line: dict[int, list[_Hit]]
               ) -> Line | None:
    """The cell right of a label on its row, else the line just below it."""
    def starts_with_label(other: Line) -> bool:
        hits = hits_by_line[id(other)]
        return bool(hits) and hits[0].start == 0

    # boxes of a label and its value may overlap a little: the value starts right of the
    # label's middle
    right = [o for o in lines if o is not ln and _same_row(ln, o) and o.x0 > ln.cx
             and not starts_with_label(o)]
    if right:
        return min(right, key=lambda o: o.x0)
    below = [o for o in lines if o is not ln and o.y0 >= ln.cy and o.y0 - ln.y1 < 2 * ln.height
             and o.x1 > ln.x0 and o.x0 < ln.x1 + 3 * ln.height and not starts_with_label(o)]
    return min(below, key=lambda o: o.y0) if below else None


def continuation(first: Value, lines: list[Line], labels: Labels) -> list[Line]:
    """Lines that carry on a multi-line value (an address): below it, aligned, no label."""
    out: list[Line] = []
    last = first.line
    for ln in lines:
        if ln.y0 <= last.cy or ln is first.line:
            continue
        if ln.y0 - last.y1 > 0.9 * last.height:
            break
        if labels.hits(ln.text):
            break
        if ln.x0 >= first.line.x0 - last.height and ln.x0 < first.line.x1:
            out.append(ln)
            last = ln
    return out


def first_value(values: dict[str, list[Value]], key: str) -> Value | None:
    """The first value of a label that opens its line (a cell), else the first at all."""
    found = values.get(key) or []
    return next((v for v in found if v.heads_line), found[0] if found else None)
