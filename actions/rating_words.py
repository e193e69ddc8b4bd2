"""A 1–5 satisfaction score in the customer's words, anywhere in the message ("收到短信让我打分，
我打4分", "五颗星", "满意度评价：满意"). Pure: no Rasa, no I/O."""

from __future__ import annotations

import re

_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
# longest first: "非常不满意" before "不满意" before "满意"
_WORDS = (("非常不满意", 1), ("很不满意", 1), ("特别不满意", 1), ("不太满意", 2), ("不满意", 2),
          ("非常满意", 5), ("很满意", 5), ("特别满意", 5), ("十分满意", 5), ("满分", 5),
          ("比较满意", 4), ("挺满意", 4), ("满意", 4), ("一般", 3), ("还行", 3), ("还可以", 3))
_SCORE = re.compile(r"(?<![0-9])([1-5一二两三四五])\s*(?:分|星|颗星)")
_BARE = re.compile(r"^\D{0,8}?([1-5])(?![0-9])")


def score_in(text: str) -> int | None:
    """The 1–5 score the words give: "4分", "五星", "打5", or a satisfaction word."""
    if m := _SCORE.search(text):
        said = m.group(1)
        return int(said) if said.isdigit() else _NUMERALS[said]
    if m := _BARE.match(text.strip()):
        return int(m.group(1))
    for word, score in _WORDS:
        if word in text:
            return score
    return None
