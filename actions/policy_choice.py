"""Which policy a report goes to, when the insured has several that pay for it: the choices
in plain words (product name and period) and the user's answer ("第二个", "个人买的那份",
the product's name or the policy number). Pure (no Rasa, no I/O)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

_ORDINALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "1": 1, "2": 2, "3": 3,
             "4": 4, "5": 5}
_NTH = re.compile(r"^(?:第|选|用|就|要)?\s*([一二两三四五1-5])\s*(?:个|份|张|项|号)?"
                  r"(?:保单|吧|的|那份|那个)?\s*[。.！!]?$")
_NTH_INSIDE = re.compile(r"第\s*([一二两三四五1-5])\s*(?:个|份|张|项)")
_GROUP_WORDS = ("政府", "统保", "老年人", "老人险", "免费", "潮南")
_OWN_WORDS = ("个人", "自己买", "自己交", "商业", "买的那", "交钱的")
_LAST_WORDS = ("最后", "后面那", "后一")


def _day(raw: Any) -> date | None:
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        return None


def period_text(policy: dict[str, Any]) -> str:
    """"2026年1月1日至2026年12月31日": the end date is the first day no longer covered."""
    start, end = _day(policy.get("start_date")), _day(policy.get("end_date"))
    if not start:
        return ""
    first = f"{start.year}年{start.month}月{start.day}日"
    if not end:
        return first + "起"
    last = end - timedelta(days=1)
    return f"{first}至{last.year}年{last.month}月{last.day}日"


def name_of(policy: dict[str, Any]) -> str:
    return str(policy.get("product_name") or policy.get("product_code") or "保单")


def choices_text(policies: list[dict[str, Any]]) -> str:
    return "\n".join(f"{i}. {name_of(p)}（保障期 {period_text(p)}）"
                     for i, p in enumerate(policies, 1))


def chosen(text: str, policies: list[dict[str, Any]]) -> str | None:
    """The policy number the answer picks among `policies` (in the order offered), or None."""
    said = re.sub(r"\s+", "", text or "")
    if not said or not policies:
        return None
    for p in policies:  # the number itself
        if str(p.get("policy_no") or "").upper() in said.upper():
            return str(p["policy_no"])
    nth = _NTH.match(said) or _NTH_INSIDE.search(said)
    if nth:
        i = _ORDINALS[nth.group(1)]
        return str(policies[i - 1]["policy_no"]) if i <= len(policies) else None
    if any(w in said for w in _LAST_WORDS):
        return str(policies[-1]["policy_no"])
    named = [p for p in policies if name_of(p) in said or (said in name_of(p) and len(said) >= 4)]
    if len(named) == 1:
        return str(named[0]["policy_no"])
    for words, kind in ((_GROUP_WORDS, "group"), (_OWN_WORDS, "individual")):
        of_kind = [p for p in policies if p.get("kind") == kind]
        if any(w in said for w in words) and len(of_kind) == 1:
            return str(of_kind[0]["policy_no"])
    return None
