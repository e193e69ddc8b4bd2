"""A person asked for in the customer's words, whatever else the message says
("算了，你帮我转人工吧", "不弄了，给我接客服", "还是找个真人吧"): the bot hands off however
the message was classified.
Pure: no Rasa, no I/O."""

from __future__ import annotations

import re

# 转 / 接 ask for anyone at the service (客服 included); 找 / 要 / 叫 / 换 / 让 only for a person
# as such (人工, 真人): "找客服没人理" tells what happened, it asks for nobody
_PUT_THROUGH = re.compile(r"(?:转|接)(?![了过])(?:个|给|到|一下|下|我)?(?:你们的?)?"
                          r"(?:人工|真人|客服|工作人员|坐席)")
_A_HUMAN = re.compile(r"(?:找|要|叫|换|让|来)(?:个|一个|一下|你们的?)?(?:人工|真人)")
_BARE = re.compile(r"^\W*(?:请|帮我)?(?:人工|人工客服|人工服务|真人|真人客服)(?:吧|啊|呀)?\W*$")
_NEGATED = re.compile(r"(?:不|别|没|无|莫)(?:用|要|需要|必|想)?(?:帮我|给我|你)?$")


def asks_for_a_person(text: str) -> bool:
    """A request for a person, not one declined ("不用转人工") or told of ("转了客服三次")."""
    if _BARE.match(text):
        return True
    for pattern in (_PUT_THROUGH, _A_HUMAN):
        for m in pattern.finditer(text):
            if not _NEGATED.search(text[max(0, m.start() - 6):m.start()]):
                return True
    return False
