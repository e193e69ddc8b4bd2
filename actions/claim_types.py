"""The claim type from what people say, only ever one the insured's cover pays for.

Pure (no Rasa, no I/O): the types a policy covers are looked up in actions/cover.py.
A word after a negation ("没住院", "不是住院") does not count: "没住院，摔断了手" decides
nothing, and the bot asks rather than guess a type the scheme does not cover.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# the back office's names (backoffice/domain/product.py CLAIM_TYPE_NAMES; a test keeps them equal)
CLAIM_TYPE_NAMES = {
    "death": "意外身故",
    "transport_death": "公共交通意外身故",
    "disability": "意外伤残",
    "hospital_allowance": "住院津贴",
    "medical": "医疗费用",
}
ALL_TYPES = tuple(CLAIM_TYPE_NAMES)
# how the question names each type, as people would answer it
ASKED_AS = {"hospital_allowance": "住院了", "disability": "落下伤残", "death": "人不幸去世了",
            "transport_death": "坐公共交通工具时去世", "medical": "只看了门诊、要报医药费"}

_DEATH = ("去世", "死亡", "身故", "过世", "走了", "没了", "逝世", "死了")
_TRANSPORT = ("公共交通", "公交", "大巴", "客车", "火车", "地铁", "高铁", "轻轨", "轮船", "客船",
              "渡轮", "飞机", "航班", "出租车", "的士", "网约车")
_DISABILITY = ("伤残", "残疾", "残废", "瘫", "截肢", "失明", "伤残鉴定", "落下残")
_STAY = ("住院", "住了院", "住进医院", "住进了医院", "在医院住", "住津贴")
_MEDICAL = ("门诊", "医药费", "医疗费", "看病的钱", "报销")
# a negation this close before a word takes it back ("没有住院", "不是住院", "还没住院")
_NEGATION = re.compile(r"((没有|没|不是|不用|不需要|不必|未|无|非)[^，,。；;！!？?]?|不)$")


def _said(text: str, words: Iterable[str]) -> bool:
    """Some word occurs in the text at least once without a negation just before it."""
    for word in words:
        for m in re.finditer(re.escape(word), text):
            if not _NEGATION.search(text[max(0, m.start() - 4):m.start()]):
                return True
    return False


def mentioned(text: str, words: Iterable[str]) -> bool:
    """Some word said and not taken back by a negation just before it ("不是车祸")."""
    return _said(text, words)


def _stayed(text: str, hospital: str | None) -> bool:
    if _said(text, _STAY):
        return True
    # a hospital named, and no word taking the stay back or making it a visit
    named = bool(hospital) and hospital != "未就医" and not hospital.startswith(("没", "不", "未"))
    return named and not any(w in text for w in ("住院", "门诊", "看了一下", "包扎"))


def guess(text: str, covered: Iterable[str], hospital: str | None = None) -> str | None:
    """The type the words decide among those covered, or None (then the bot asks)."""
    types = set(covered)
    found: str | None = None
    if _said(text, _DEATH):
        found = "transport_death" if _said(text, _TRANSPORT) else "death"
        if found not in types and "death" in types:
            found = "death"  # a transport death the cover does not pay is still a death
    elif _said(text, _DISABILITY):
        found = "disability"
    elif _stayed(text, hospital):
        found = "hospital_allowance"
    elif _said(text, _MEDICAL):
        found = "medical"
    return found if found in types else None


# the words a user names a type by at the read-back or as an answer, most specific first
_NAMED = [("transport_death", ("公共交通意外身故", "交通意外身故", "公共交通")),
          ("death", ("意外身故", *_DEATH)),
          ("disability", ("意外伤残", *_DISABILITY)),
          ("hospital_allowance", ("住院津贴", *_STAY)),
          ("medical", ("医疗费用", *_MEDICAL))]


def named(text: str) -> str | None:
    """The type the user names ("改成身故", "不是住院，是伤残"): the last one said without a
    negation; None when none is ("类型不对")."""
    last, at = None, -1
    for code, words in _NAMED:
        for word in words:
            for m in re.finditer(re.escape(word), text):
                if _NEGATION.search(text[max(0, m.start() - 4):m.start()]):
                    continue
                if m.start() > at or (m.start() == at and last is None):
                    last, at = code, m.start()
    if last == "death" and _said(text, _TRANSPORT):
        return "transport_death"
    return last


def changing_type(text: str, current: str | None = None) -> bool:
    """The user says the type read back is wrong without naming another ("类型不对"), or
    takes back what it rests on ("他没住院" when it reads 住院津贴)."""
    if "类型" in text and any(w in text for w in ("不对", "错", "改", "换", "不是")):
        return True
    words = dict(_NAMED).get(current or "", ())
    return any(w in text for w in words) and not _said(text, words)


# the order of the options: the common outcomes of an old person's fall first
ASK_ORDER = ("hospital_allowance", "disability", "medical", "death", "transport_death")


def options(covered: Iterable[str]) -> list[str]:
    return [t for t in ASK_ORDER if t in set(covered)]


def options_text(covered: Iterable[str]) -> str:
    asked = [ASKED_AS[t] for t in options(covered)]
    return "是" + "，还是".join(asked) + "？"
