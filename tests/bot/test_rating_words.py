"""A satisfaction score said in the chat, however it is put (actions/ratings.py is pure)."""

from __future__ import annotations

import pytest

from actions.rating_words import score_in


@pytest.mark.parametrize(("said", "score"), [
    ("5分", 5), ("打五分吧", 5), ("收到短信让我打分，我打4分", 4), ("一般，3分", 3),
    ("五颗星", 5), ("满意度评价：满意", 4), ("非常满意", 5), ("不满意，太慢", 2),
    ("非常不满意", 1), ("评价1分", 1), ("4", 4), ("给2分 等太久了", 2), ("你们服务我打满分", 5),
])
def test_scores_as_people_give_them(said: str, score: int) -> None:
    assert score_in(said) == score


@pytest.mark.parametrize("said", ["住院15天", "我要打分", "6分", "报案号R202600000012"])
def test_no_score_in_other_words(said: str) -> None:
    assert score_in(said) is None
