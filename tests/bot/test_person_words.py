"""A person asked for in words of giving up, however the NLU classified them
(actions/person_words.py is pure)."""

from __future__ import annotations

import pytest

from actions.person_words import asks_for_a_person


@pytest.mark.parametrize("said", [
    "算了，你帮我转人工吧", "不弄了，给我接客服", "还是找个真人跟我说吧", "不报了，叫个人工来",
    "先不办了，我要人工服务", "算了，让人工来处理吧", "帮我转接人工", "人工客服", "转人工！",
])
def test_a_person_asked_for(said: str) -> None:
    assert asks_for_a_person(said)


@pytest.mark.parametrize("said", [
    "不用转人工", "别转人工了", "我不要转人工", "不想找人工", "转了客服三次都没人管",
    "找客服没人理", "跟客服说了好几次", "电话打过去没人理", "人工关节置换", "算了，不报了",
])
def test_no_person_asked_for(said: str) -> None:
    assert not asks_for_a_person(said)
