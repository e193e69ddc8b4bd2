"""Names as people answer "请问您怎么称呼？" (actions/names.py is pure)."""

from __future__ import annotations

import pytest

from actions.names import normal_name, person_name


@pytest.mark.parametrize(("said", "expected"), [
    ("王小明", "王小明"),
    ("李丽", "李丽"),
    ("欧阳娜娜", "欧阳娜娜"),
    ("王女士", "王女士"),
    ("我叫王小明", "王小明"),
    ("我是王小明", "王小明"),
    ("我叫王小明。", "王小明"),
    ("你好，我叫王小明", "王小明"),
    ("嗯，王小明", "王小明"),
    ("王小明，谢谢", "王小明"),
    ("王 小明", "王小明"),
    ("我叫 王小明", "王小明"),
    ("李 丽", "李丽"),
    ("名字是：欧阳娜娜", "欧阳娜娜"),
    ("叫我小王就行", "小王"),
    ("我是她女儿，叫李丽", "李丽"),
    ("我是王小明的女儿，叫李丽", "李丽"),
    ("我是她女儿，李丽", "李丽"),
    ("我是他儿子陈建华", "陈建华"),
    ("王小明的女儿李丽", "李丽"),
    ("说错了，我叫李丽", "李丽"),
    ("阿卜杜·热合曼", "阿卜杜·热合曼"),
    ("阿卜杜•热合曼", "阿卜杜·热合曼"),
    ("买买提．艾力", "买买提·艾力"),
    ("买买提・艾力", "买买提·艾力"),
    ("我叫古丽·买买提", "古丽·买买提"),
])
def test_names(said: str, expected: str) -> None:
    assert person_name(said) == expected


@pytest.mark.parametrize("said", [
    "买菜时地上湿滑摔倒，右手腕骨折，现在住院",  # the answer issue 16 saw stored as a name
    "在菜市场摔倒了",
    "手腕骨折",
    "王小明的女儿",  # who the speaker is, not their name
    "我是她女儿",
    "老人的儿子",
    "我是家属",
    "阿嬷",
    "免贵姓王",
    "我姓王",
    "王",
    "王小明王小明王",  # 7 characters
    "王小明123",
    "Tom",
    "Wang Xiaoming",
    "王Xiao明",
    "王小明\u200b",  # a zero-width space
    "王小明\n李丽",
    "<script>王小明</script>",
    "王😀明",
    "王小明😀",
    "王小明／李丽",
    "不知道",
    "保密",
    "",
    "   ",
    "·",
    "·王·",
    "阿卜杜··热合曼",
    "阿卜杜·热合曼·买买提·艾力·吐尔逊",  # five parts
    "阿" * 9 + "·" + "卜" * 9,
    "王小明 李丽",  # two names
    "王小明，李丽",
    "/inform",
    "王" * 1000,
])
def test_not_names(said: str) -> None:
    assert person_name(said) is None


def test_the_stored_form() -> None:
    assert normal_name(" 阿卜杜 • 热合曼 ") == "阿卜杜·热合曼"
    assert normal_name("王小明") == "王小明"
    assert normal_name("王小明的") is None


@pytest.mark.parametrize(("said", "expected"), [
    ("我姓李，李秀兰", "李秀兰"),
    ("免贵姓黄，黄文", "黄文"),
    ("姓周，周建国", "周建国"),
])
def test_a_surname_said_first_is_a_hint_beside_the_name(said: str, expected: str) -> None:
    assert person_name(said) == expected
