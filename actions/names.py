"""A person's name as an answer to "请问您怎么称呼？" (pure).

A name is 2–6 Chinese characters ("王小明", "王女士"), or parts joined by a middle dot as in
names of the Uyghur and other minorities ("阿卜杜·热合曼"; the look-alikes people type, • ． ・,
become ·). "我叫王小明", "我是王小明", "我是她女儿，叫李丽" give the name; "王小明的女儿" or
"我是她女儿" say who the speaker is, not what they are called, and a sentence
("买菜时地上湿滑摔倒，右手腕骨折") is no name: both get None, and the form asks again.
"""

from __future__ import annotations

import re

_DOTS = str.maketrans({"•": "·", "．": "·", "・": "·", "‧": "·", "∙": "·", "⋅": "·",
                       "｡": "·", "ㆍ": "·"})
_HAN = r"[\u3400-\u4dbf\u4e00-\u9fff]"
_PLAIN = re.compile(rf"{_HAN}{{2,6}}")
_DOTTED = re.compile(rf"{_HAN}{{1,8}}(?:·{_HAN}{{1,8}}){{1,3}}")
_MAX_DOTTED = 20
# characters no Chinese name is made of: particles, pronouns, the words of a sentence
_NOT_IN_NAMES = set("的了吗呢吧啊呀哦嗯哈我你您他她它们在是没不想说叫姓谁什么怎"
                    "摔倒伤骨折院医疼痛病")
# answers of two to six characters that are still no name
_NO_NAMES = {"保密", "匿名", "随便", "先生", "女士", "小姐", "老人家", "老人", "阿婆", "师傅"}
_KIN = ("女儿", "儿子", "老伴", "妻子", "丈夫", "爱人", "老公", "老婆", "孙子", "孙女", "外孙",
        "儿媳", "媳妇", "女婿", "侄子", "侄女", "弟弟", "妹妹", "哥哥", "姐姐", "朋友", "邻居",
        "亲戚", "妈妈", "爸爸", "母亲", "父亲", "奶奶", "爷爷", "外婆", "外公", "阿嬷", "阿公",
        "家属", "家人", "本人", "子女")
_CALLED = re.compile(r"(?:我叫|叫做|名叫|叫我|叫|名字是|名字叫|姓名是|姓名|称呼我)[：:]?"
                     r"(.+?)(?:就行|就好|就可以)?$")
_PREFIX = re.compile(r"^(?:我是|我就是|本人是|本人|是|免贵)")
# "我是他儿子陈建华", "王小明的女儿李丽": the kinship said before the name
_KIN_BEFORE = re.compile(rf"^(?:[^的]{{0,6}}的)?[他她]?(?:{'|'.join(_KIN)})")
_CLAUSES = re.compile(r"[，,。！!？?；;、~～\n]+")
_SMALL_TALK = ("你好", "您好", "谢谢", "好的", "嗯", "哦")
# "我姓陈，陈志强": the surname said first is a hint beside the name, not a second name
_SURNAME_HINT = re.compile(r"^(?:我|免贵|本人)?姓[\u4e00-\u9fff]{1,2}$")
_CORRECTION = ("不对", "错了", "说错", "不是", "更正", "改一下", "改成")


def normal_name(value: str) -> str | None:
    """`value` as a name in stored form (look-alike dots as ·), or None when it is none."""
    name = re.sub(r"\s+", "", value).translate(_DOTS).strip("·")
    if any(c in _NOT_IN_NAMES for c in name) or name in _NO_NAMES or name in _KIN:
        return None
    if _PLAIN.fullmatch(name):
        return name
    if _DOTTED.fullmatch(name) and len(name) <= _MAX_DOTTED:
        return name
    return None


def says_kinship(clause: str) -> bool:
    """"王小明的女儿", "我是她女儿", "老人的儿子": who the speaker is to someone."""
    return any(clause.endswith(k) for k in _KIN)


def _skippable(clause: str) -> bool:
    return (not clause or says_kinship(clause) or clause in _SMALL_TALK
            or _SURNAME_HINT.match(clause) is not None
            or any(w in clause for w in _CORRECTION))


def bare_name(said: str) -> str | None:
    """The whole answer as a name when it is one and no small talk: "谢銮" or "何好" answer the
    name question even where they sound like "thanks" or "hello"."""
    text = said.strip()
    return None if text in _SMALL_TALK or text.startswith(_SMALL_TALK) else normal_name(text)


def person_name(said: str) -> str | None:
    """The name in an answer, or None when it names nobody (see the module's examples)."""
    text = said.strip()
    if sum(1 for part in text.split() if normal_name(part)) > 1:  # "王小明 李丽": two people
        return None
    for clause in _CLAUSES.split(text):
        called = _CALLED.search(clause.strip())
        if called and not says_kinship(clause):
            return normal_name(called.group(1))
    rest = [c.strip() for c in _CLAUSES.split(text) if not _skippable(c.strip())]
    if len(rest) != 1:
        return None
    return normal_name(_KIN_BEFORE.sub("", _PREFIX.sub("", rest[0])))
