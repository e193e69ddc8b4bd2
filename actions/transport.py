"""The call script for a traffic or transport accident (seeds/001: "请问您是否已经报警并拍摄了
现场照片?"; seeds/004: 交通事故需有交警部门证明, 车票、船票、登机牌): whether the accident is
one, and the answers to the police, scene-photo and ticket questions as people give them.

Pure (no Rasa, no I/O). An answer is "yes", "no" or "unknown" ("不清楚"); None when the words
say nothing about the question. Volunteered words count too ("被车撞了，交警来过了"), so a
question already answered is not asked, and a correction ("不对，报警了") changes the answer.
"""

from __future__ import annotations

import re

from actions.claim_types import mentioned

YES, NO, UNKNOWN = "yes", "no", "unknown"
#: the slots of the script, in the order asked (the ticket only for a public-transport death)
SCRIPT_SLOTS = ("police_report", "scene_photos", "ticket")

# a vehicle or a crash: "撞" alone is not one ("头撞到门框")
_TRAFFIC = ("车祸", "交通事故", "交通意外", "被车", "车撞", "撞车", "撞上了车", "追尾", "翻车",
            "电动车", "电瓶车", "摩托", "摩的", "摩滴", "汽车", "小车", "轿车", "货车", "三轮",
            "面包车", "拖拉机",
            "公交", "大巴", "客车", "出租车", "的士", "网约车", "班车", "火车", "高铁", "动车",
            "地铁", "轻轨", "轮船", "客船", "渡轮", "渡船", "飞机", "航班", "交警", "马路上被")

_ASKING = re.compile(r"[?？]|吗$|吗[，,。]|要不要|用不用|需不需要")
_UNKNOWN = ("不知道", "不清楚", "不记得", "记不清", "忘了是不是", "说不清", "不太清楚")
_YES_START = re.compile(r"^(是的?|对|嗯|有|报了|报过|已经|当然|拍了|拍过|在|还在|留着|都有)")
_NO_START = re.compile(r"^(没|无|还没|未|都没|一张也没|一个也没)")

_POLICE = ("报警", "报了警", "报过警", "交警", "警察", "警方", "110", "122", "派出所", "认定书",
           "报了", "报过")
_POLICE_NO = re.compile(
    r"(没|没有|还没|未|不用|不需要|无需|别)[^，,。；;！!？?]{0,3}(报|叫|找|打)"
    r"|(交警|警察|警方)[^，,。；;]{0,2}(没|未|不)"
    r"|(没|没有|未)[^，,。；;]{0,2}(交警|警察|认定书)")

_PHOTOS = ("照片", "相片", "拍照", "拍了", "拍过", "拍下", "视频", "录像", "监控")
_PHOTOS_NO = re.compile(
    r"(没|没有|还没|未|忘了|忘记|顾不上|来不及)[^，,。；;！!？?]{0,4}(拍|照|录)"
    r"|(照片|相片|视频)[^，,。；;]{0,2}(没|无)")

_TICKET = ("车票", "船票", "机票", "登机牌", "票", "乘车记录", "乘车码", "刷卡", "公交卡",
           "交通卡", "扫码", "支付记录", "付款记录")
_TICKET_NO = re.compile(
    r"(丢|找不到|不见|遗失|弄没|扔了|没了|没有了)"
    r"|(没|没有|未|无)[^，,。；;！!？?]{0,3}(票|登机牌|记录|买|刷)")


def is_traffic_accident(text: str) -> bool:
    """The words tell of a traffic or transport accident (not "不是车祸")."""
    return mentioned(text, _TRAFFIC)


def _answer(text: str, asked: bool, words: tuple[str, ...], no: re.Pattern[str]) -> str | None:
    text = re.sub(r"\s+", "", text)
    if not text or text.startswith("/") or _ASKING.search(text):
        return None  # a question back ("要报警吗？") answers nothing
    about = any(w in text for w in words)
    if not (asked or about):
        return None
    if any(w in text for w in _UNKNOWN):
        return UNKNOWN
    if no.search(text) or (asked and _NO_START.match(text)):
        return NO
    if about or _YES_START.match(text):
        return YES
    return None


def police_answer(text: str, asked: bool = False) -> str | None:
    """报警了吗: "报了" "交警来过了" yes; "没报" "还没有" "交警没来" no."""
    return _answer(text, asked, _POLICE, _POLICE_NO)


def photos_answer(text: str, asked: bool = False) -> str | None:
    """有没有现场照片: "有照片" "拍了几张" yes; "没拍" "没来得及拍" no."""
    return _answer(text, asked, _PHOTOS, _PHOTOS_NO)


def ticket_answer(text: str, asked: bool = False) -> str | None:
    """车票还在吗: "还在" "有公交卡记录" yes; "票丢了" "没买票" no."""
    return _answer(text, asked, _TICKET, _TICKET_NO)


ANSWERS = {"police_report": police_answer, "scene_photos": photos_answer,
           "ticket": ticket_answer}
SAID = {"police_report": {YES: "已报警", NO: "未报警", UNKNOWN: "不清楚"},
        "scene_photos": {YES: "有", NO: "没有", UNKNOWN: "不清楚"},
        "ticket": {YES: "有", NO: "没有（可用乘车记录）", UNKNOWN: "不清楚"}}
FACTS = {"police_report": "police_report", "scene_photos": "scene_photos", "ticket": "ticket"}


def facts_of(answers: dict[str, str | None]) -> dict[str, bool]:
    """The claim's report facts: the accident a traffic one, and each yes or no answered
    ("不清楚" is left out: the back office then asks for the general certificate)."""
    facts = {"traffic_accident": True}
    for slot, value in answers.items():
        if value in (YES, NO):
            facts[FACTS[slot]] = value == YES
    return facts
