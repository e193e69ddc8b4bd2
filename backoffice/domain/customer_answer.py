"""What a customer's reply to the satisfaction question (满意度) or a 回访 question says.

Pure: a text in, a reading out (or None: not an answer, the message goes on as a normal one).

A rating is a score 1–5 said at the start of the reply — a digit ("5", "3分，态度还行"), a
Chinese numeral ("五", "五星"), a keypad digit — or a word: 非常满意 5, 满意 4, 一般/还行 3,
不满意 2, 非常不满意 1. What follows the score is the comment. "0", "6", "10", "55" are no
score: such a reply is a normal message (it may be a claim number, an ID number, an amount).

A 回访 reply is a rating, or "收到了 / 没收到 / 联系到了" (the customer was reached), or a
complaint ("我要投诉…", "太差了"): the outcome is `reached` or `complaint_raised`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

MAX_COMMENT = 1000  # the rest of a longer reply stays in the transcript, not in the rating
# outcomes of a follow-up task (回访): the customer's reply gives the first two; staff who
# could not reach the customer record the third
REACHED, COMPLAINT_RAISED, NOT_REACHED = "reached", "complaint_raised", "not_reached"
OUTCOMES = (REACHED, COMPLAINT_RAISED, NOT_REACHED)
OUTCOME_NAMES = {REACHED: "已联系", COMPLAINT_RAISED: "客户提出投诉", NOT_REACHED: "未联系上"}
LOW_SCORE = 2  # 1–2: a follow-up task for the supervisor

_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
# longest first: "非常不满意" before "不满意" before "满意"
_WORDS = (("非常不满意", 1), ("很不满意", 1), ("特别不满意", 1), ("极不满意", 1),
          ("不太满意", 2), ("不满意", 2), ("不怎么满意", 2),
          ("非常满意", 5), ("很满意", 5), ("特别满意", 5), ("十分满意", 5),
          ("比较满意", 4), ("挺满意", 4), ("满意", 4),
          ("一般般", 3), ("一般", 3), ("还行", 3), ("还可以", 3), ("马马虎虎", 3))
# the words before the score: "给4分", "打个五分", "我就给你们打四分吧", "评分：5"
_LEAD = re.compile(r"(?:评分|打分|评价)?[:：]?\s*(?:我|我们|本人)?(?:就|还是)?"
                   r"(?:觉得|感觉|认为|给|打)?(?:你们|您)?(?:打|给)?个?")
_SCORE = re.compile(r"([1-5一二两三四五])(分|星|颗星)?")
_SEPARATORS = " \t\r\n，,。.;；:：!！、~～-—"
_COMPLAINT = ("投诉", "举报", "太差", "很差", "差劲", "骗人", "欺骗", "不公平", "12378")
_REACHED = ("收到了", "已收到", "收到", "已经收到", "到账了", "已到账", "没收到", "还没收到",
            "未收到", "没到账", "联系到了", "谢谢", "感谢")


@dataclass(frozen=True, slots=True)
class RatingAnswer:
    score: int
    comment: str | None


@dataclass(frozen=True, slots=True)
class FollowUpAnswer:
    outcome: str  # reached | complaint_raised
    score: int | None
    result: str  # what the customer said, as the task's result


def _plain(text: str) -> str:
    """Full-width digits and punctuation as ASCII (NFKC), outer spaces gone."""
    return unicodedata.normalize("NFKC", text).strip()


def _comment(rest: str) -> str | None:
    rest = rest.strip(_SEPARATORS)
    return rest[:MAX_COMMENT] or None


def read_rating(text: str) -> RatingAnswer | None:
    """The score at the start of the reply and the comment after it, or None."""
    if not isinstance(text, str):
        return None
    plain = _plain(text)
    body = plain[_LEAD.match(plain).end():]  # type: ignore[union-attr]
    for word, score in _WORDS:
        if body.startswith(word):
            return RatingAnswer(score, _comment(body[len(word):]))
    match = _SCORE.match(body)
    if match is None:
        return None
    rest = body[match.end():]
    numeral = match.group(1)
    if not match.group(2) and (rest[:1].isalnum() or re.match(r"[.．]\d", rest)):
        # a bare number running into words or decimals ("五楼", "3天前", "1.5万") is no score
        return None
    score = int(numeral) if numeral.isdigit() else _NUMERALS[numeral]
    return RatingAnswer(score, _comment(rest))


def read_follow_up(text: str) -> FollowUpAnswer | None:
    """A reply to the 回访 question: a complaint, a rating, or a plain "received" answer;
    None when it is something else (a new question: a normal message)."""
    if not isinstance(text, str):
        return None
    plain = _plain(text)
    said = text.strip()[:MAX_COMMENT]
    rating = read_rating(plain)
    score = rating.score if rating else _score_within(plain)
    if any(word in plain for word in _COMPLAINT):
        return FollowUpAnswer(COMPLAINT_RAISED, score, said)
    if rating is not None:
        return FollowUpAnswer(REACHED, rating.score, said)
    if any(plain.startswith(word) for word in _REACHED):
        return FollowUpAnswer(REACHED, score, said)
    return None


_SCORE_WITHIN = re.compile(r"(?<![0-9.])([1-5])\s*分")


def _score_within(plain: str) -> int | None:
    """A score said inside a longer 回访 answer ("收到了，5分"), or a rating word in it."""
    match = _SCORE_WITHIN.search(plain)
    if match:
        return int(match.group(1))
    return next((score for word, score in _WORDS if word in plain), None)


def is_low(score: int | None) -> bool:
    return score is not None and score <= LOW_SCORE


# ---- figures by age band and town (the tender asks for analysis by age and area) -------------

AGE_BANDS = ((0, 59, "60岁以下"), (60, 64, "60–64岁"), (65, 69, "65–69岁"), (70, 74, "70–74岁"),
             (75, 79, "75–79岁"), (80, 84, "80–84岁"), (85, 200, "85岁及以上"))
_TOWN = re.compile(r"(?:市|区|县)?([\u4e00-\u9fff]{1,5}?(?:镇|街道|乡))")
_COUNTY = re.compile(r"^.*?(?:省)?.*?(?:市).*?(?:区|县)")


def age_band(birth: date, on: date) -> str:
    """The insured's age band on `on` (five-year bands from 60)."""
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return next(name for low, high, name in AGE_BANDS if low <= age <= high)


def town_of(address: str | None) -> str:
    """The town or street (镇、街道、乡) of an address, after its province, city and district;
    "未知" when none is named."""
    if not address:
        return "未知"
    rest = address
    county = _COUNTY.match(address)
    if county:
        rest = address[county.end():]
    match = _TOWN.search(rest)
    return match.group(1) if match else "未知"
