"""Whether a message asks if a relative is covered ("我妈有没有参保", "我爸能不能赔"): the
public answer, then a check by the relative's ID number that tells covered or not and binds
nothing. Pure (no Rasa, no I/O)."""

from __future__ import annotations

import re

_RELATIVE = ("妈", "爸", "母亲", "父亲", "奶奶", "爷爷", "外婆", "外公", "姥姥", "姥爷", "婆婆",
             "公公", "岳母", "岳父", "丈母娘", "老伴", "老人", "阿嬷", "阿公", "阿婆", "阿伯",
             "阿姨", "舅", "姑", "伯", "叔", "长辈", "家里人", "家人", "亲戚", "邻居")
_COVERED = ("参保", "在保", "保上", "保了没", "有没有保", "有没有被保", "有保险吗", "有没有保险",
            "有这个保险", "有没有这个保险", "在不在保", "在名单", "统保名单", "算不算", "能不能赔",
            "能赔吗", "可以赔吗", "赔不赔得到", "能不能保", "保不保得到", "有没有份", "能不能享受",
            "纳入", "覆盖")
# the reporter's own words ("我有没有参保") are for identification, not for this check
_SELF_ONLY = re.compile(r"^(?:请问)?我(?:自己)?(?:有没有|能不能|在不在|参保|可以)")
DECLINED = "-"
_DECLINING = ("不用", "不查", "算了", "不要", "不了", "先不", "没带", "不记得", "不知道")


def asks_relative_covered(text: str) -> bool:
    """A relative's coverage asked about ("我妈有没有参保", "我爸在不在统保名单里")."""
    said = re.sub(r"\s+", "", text or "")
    if not said or _SELF_ONLY.match(said):
        return False
    return any(w in said for w in _RELATIVE) and any(w in said for w in _COVERED)


def declines(text: str) -> bool:
    """"不用了", "算了，不查了", "身份证号不记得": the check is not wanted now."""
    said = re.sub(r"\s+", "", text or "")
    return any(w in said for w in _DECLINING)


def result_text(covered: bool, product_name: str) -> str:
    """Covered or not, and nothing more about the person."""
    if covered:
        return (f"查到了：这位老人目前在“{product_name}”的保障范围内。"
                "老人出了意外，可以直接跟我说“我要报案”。")
    return (f"没有查到这位老人目前在“{product_name}”的保障中。如果老人符合参保条件，"
            "可能还在纳入中；需要核实请说“转人工”，或带上老人的身份证件到就近网点查询。")
