"""Deterministic synthetic residents of 汕头市潮南区 (area code 440514) for the demo scheme.

The 潮南区老年人意外伤害综合保险 (rules.md §4) covers every resident aged 60 or over — 215,864 at
tender time — with the government as applicant, and adds residents who turn 60 from the 1st of
the following month. `generate_people` produces such a roster; `generate_people_turning` produces
the 59-year-olds about to join it, for testing the monthly auto-enrollment.

Everything is drawn from one `random.Random` per call, in a fixed order, so the same arguments
always give the same people and the first k people do not depend on `n`. All names, ID numbers,
phone numbers and addresses are fictional.

ID numbers (GB 11643-1999): area code 440514, the birth date, a three-digit sequence (odd for men,
even for women) and the check character, exactly as `make_id_number` builds them.
`generate_people` uses sequences 001–899 and `generate_people_turning` 900–999, so the two never
collide. IDs are unique within one run of either function.

Speed (the full 215,864-person roster in 1–2.5 s of CPU on the shared dev VM): everything
that does not depend on the person is built before the loop — per birth day the ID prefix and
the "sequence + check character" tails, a guide table over the day weights, and 4,096-slot
lookup tables for every other weighted choice, so each field costs one `getrandbits(12)` and
one tuple index.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from functools import cache, lru_cache
from itertools import accumulate, chain, repeat
from math import exp, gcd
from typing import NamedTuple, TypeVar

from backoffice.domain.identity import age_on, make_id_number

AREA_CODE = "440514"
ADDRESS_PREFIX = "广东省汕头市潮南区"

# The eleven towns and streets (镇、街道) of 潮南区, in the order used everywhere in the demo.
TOWNS: tuple[str, ...] = (
    "峡山街道",
    "陈店镇",
    "两英镇",
    "井都镇",
    "胪岗镇",
    "仙城镇",
    "司马浦镇",
    "红场镇",
    "雷岭镇",
    "成田镇",
    "陇田镇",
)

# Sequence ranges (the 15th–17th digits of the ID number).
_MAIN_MALE_SEQUENCES = range(1, 900, 2)  # 001, 003, … 899
_MAIN_FEMALE_SEQUENCES = range(2, 900, 2)  # 002, 004, … 898
_TURNING_MALE_SEQUENCES = range(901, 1000, 2)  # 901 … 999, reserved for generate_people_turning
_TURNING_FEMALE_SEQUENCES = range(900, 1000, 2)  # 900 … 998
_SEQUENCE_STRIDE = 211  # a prime, coprime with the sizes of all four ranges (450, 449, 50, 50)


@dataclass(frozen=True, slots=True)
class Person:
    """One synthetic resident of 潮南区."""

    name: str
    gender: str  # "male" | "female"
    birth_date: date
    id_number: str
    phone: str
    address: str
    occupation: str
    occupation_class: int


# Building a frozen dataclass through its __init__ costs one object.__setattr__ call per field,
# which dominated generation time; the hot loop instead allocates the instance and fills its
# slots through their descriptors. Same object, same fields; nothing is skipped (a dataclass
# __init__ does nothing else).
_PERSON_SETTERS = tuple(Person.__dict__[f.name].__set__ for f in fields(Person))


# --------------------------------------------------------------------------------------------
# Static data
# --------------------------------------------------------------------------------------------

# Surnames with a rough relative frequency in 潮汕 (陈 alone is about one person in eight).
_SURNAMES: tuple[tuple[str, float], ...] = (
    ("陈", 13.0), ("林", 7.5), ("黄", 5.5), ("郑", 4.6), ("李", 3.6), ("张", 3.4),
    ("吴", 3.2), ("蔡", 3.0), ("王", 2.6), ("许", 2.4), ("刘", 2.3), ("杨", 2.2),
    ("谢", 2.0), ("马", 1.8), ("洪", 1.7), ("庄", 1.6), ("翁", 1.5), ("姚", 1.4),
    ("周", 1.3), ("方", 1.3), ("詹", 1.2), ("苏", 1.2), ("余", 1.1), ("沈", 1.1),
    ("郭", 1.0), ("卢", 1.0), ("赖", 0.9), ("曾", 0.9), ("肖", 0.8), ("魏", 0.8),
    ("佘", 0.8), ("纪", 0.7), ("邱", 0.7), ("柯", 0.7), ("袁", 0.6), ("钟", 0.6),
    ("朱", 0.6), ("杜", 0.5), ("廖", 0.5), ("潘", 0.5), ("孙", 0.5), ("罗", 0.5),
    ("徐", 0.5), ("彭", 0.4), ("江", 0.4), ("邢", 0.4), ("萧", 0.4), ("辜", 0.3),
    ("温", 0.3), ("连", 0.3), ("章", 0.3), ("胡", 0.3), ("邓", 0.3), ("唐", 0.3),
    ("池", 0.2), ("高", 0.2), ("欧", 0.2), ("侯", 0.2),
)

# Given names typical of people born 1925–1966 in 潮汕, with rough weights.
_MALE_GIVEN_NAMES: tuple[tuple[str, float], ...] = (
    ("建国", 3.0), ("振华", 2.5), ("炳坤", 2.0), ("锦泉", 2.0), ("木松", 2.0), ("德明", 2.0),
    ("国庆", 1.5), ("文明", 1.2), ("炳南", 1.2), ("炳松", 1.2), ("锦辉", 1.2), ("锦城", 1.0),
    ("木坤", 1.2), ("木林", 1.0), ("树林", 1.0), ("汉忠", 1.2), ("汉生", 1.2), ("汉雄", 1.0),
    ("少雄", 1.2), ("文雄", 1.2), ("伟雄", 1.0), ("耀雄", 1.0), ("瑞坤", 1.2), ("瑞华", 1.2),
    ("瑞祥", 1.0), ("永生", 1.2), ("永发", 1.0), ("永和", 1.0), ("亚弟", 1.0), ("亚龙", 0.8),
    ("亚木", 0.8), ("荣华", 1.2), ("荣发", 1.0), ("德茂", 1.0), ("德才", 1.0), ("金城", 1.0),
    ("金海", 1.0), ("金水", 1.0), ("水生", 1.0), ("顺发", 1.0), ("顺利", 0.8), ("贵和", 0.8),
    ("明德", 1.0), ("惠明", 1.0), ("惠忠", 0.8), ("绍雄", 0.8), ("绍坤", 0.8), ("育民", 0.8),
    ("裕民", 0.8), ("裕坤", 0.8), ("开明", 0.8), ("松林", 1.0), ("锡坤", 0.8), ("镇坤", 0.8),
    ("泽民", 0.8), ("泽生", 0.8), ("泽坤", 0.8), ("光辉", 1.0), ("光明", 1.0), ("喜来", 0.6),
    ("来福", 0.6), ("元发", 0.6), ("佳明", 0.6), ("炳辉", 1.0), ("锦华", 1.0), ("坤", 0.8),
    ("茂", 0.8), ("忠", 0.8), ("雄", 0.8), ("松", 0.8), ("发", 0.6), ("清", 0.6), ("钦", 0.6),
    ("辉", 0.6), ("强", 0.6), ("兴", 0.6), ("勤", 0.5), ("炎", 0.5),
)
_FEMALE_GIVEN_NAMES: tuple[tuple[str, float], ...] = (
    ("秀英", 3.0), ("桂英", 2.5), ("玉珍", 2.5), ("淑贞", 2.0), ("亚妹", 2.0), ("惜", 1.5),
    ("妙", 1.2), ("美珠", 1.5), ("秀珍", 1.5), ("秀娥", 1.5), ("秀兰", 1.2), ("秀凤", 1.0),
    ("秀琴", 1.0), ("玉兰", 1.5), ("玉英", 1.2), ("玉娥", 1.2), ("玉凤", 1.0), ("玉梅", 1.0),
    ("玉珠", 1.0), ("玉銮", 1.0), ("桂香", 1.2), ("桂兰", 1.0), ("桂珍", 1.0), ("桂花", 1.0),
    ("淑英", 1.0), ("淑娟", 0.8), ("淑华", 0.8), ("美英", 1.0), ("美娥", 1.0), ("美玉", 0.8),
    ("美兰", 0.8), ("亚珠", 1.0), ("亚英", 1.0), ("亚兰", 0.8), ("亚娥", 0.8), ("亚銮", 0.8),
    ("亚娇", 0.6), ("素珍", 1.0), ("素英", 1.0), ("素娥", 0.8), ("素贞", 0.8), ("丽珍", 0.8),
    ("丽娟", 0.8), ("丽华", 0.8), ("惜珍", 0.8), ("惜娥", 0.8), ("妙娥", 0.8), ("妙珍", 0.8),
    ("妙兰", 0.6), ("銮英", 0.6), ("銮珍", 0.6), ("瑞英", 0.8), ("瑞娥", 0.8), ("瑞珍", 0.6),
    ("金凤", 0.8), ("金英", 0.8), ("金娥", 0.8), ("金珠", 0.6), ("宝珠", 0.6), ("宝珍", 0.6),
    ("月娥", 0.8), ("月英", 0.8), ("月珍", 0.6), ("月华", 0.6), ("凤英", 0.8), ("凤珍", 0.6),
    ("香兰", 0.6), ("婵娟", 0.6), ("佩珍", 0.6), ("佩英", 0.6), ("琼英", 0.6), ("琼华", 0.6),
    ("少珍", 0.6), ("少英", 0.6), ("少娥", 0.6), ("爱英", 0.6), ("爱华", 0.6), ("爱珍", 0.6),
    ("巧英", 0.6), ("巧珍", 0.6), ("若兰", 0.4), ("銮", 0.8), ("娥", 0.8), ("英", 0.6),
    ("珍", 0.6), ("凤", 0.6), ("兰", 0.6), ("珠", 0.6), ("娟", 0.5), ("莲", 0.5), ("梅", 0.5),
    ("婵", 0.6), ("娇", 0.5), ("蕊", 0.4),
)

# Names of their era: (name, gender, first birth year, last birth year). A person born in the
# span gets one of these instead of a regular name with probability _ERA_NAME_SHARE.
_ERA_NAMES: tuple[tuple[str, str, int, int], ...] = (
    ("解放", "male", 1949, 1950),
    ("建国", "male", 1949, 1952),
    ("援朝", "male", 1950, 1953),
    ("抗美", "male", 1950, 1953),
    ("建华", "male", 1950, 1958),
    ("国庆", "male", 1949, 1959),
    ("跃进", "male", 1958, 1959),
    ("卫东", "male", 1966, 1968),
    ("红英", "female", 1958, 1966),
    ("跃英", "female", 1958, 1959),
    ("卫红", "female", 1966, 1968),
)
_ERA_NAME_SHARE = 0.08

# Villages (村) and communities (社区) per town; plausible, not a gazetteer. Town weights are rough
# shares of the elderly population.
_VILLAGES: dict[str, tuple[float, tuple[str, ...]]] = {
    "峡山街道": (24.0, (
        "桃溪社区", "东沟社区", "洋汾陈社区", "西湖社区", "泗黄社区", "上东浦社区", "溪南社区",
        "峡晖社区", "南里社区", "凤岗社区", "华桥社区", "汕头埔社区",
    )),
    "陈店镇": (14.0, (
        "溪口村", "文光村", "湖东村", "新溪村", "内輋村", "仙门村", "陈南村", "凤陇村", "沟湖村",
    )),
    "两英镇": (15.0, (
        "古溪村", "东北村", "西陇村", "禾皋村", "新寮村", "鹤丰村", "风华村", "高堂村", "圆山村",
        "墩头村",
    )),
    "井都镇": (5.0, ("神山村", "古埕村", "钱塘村", "华里西村", "前美村", "东仙村", "新溪东村")),
    "胪岗镇": (8.0, ("新庆村", "泗和村", "胪溪村", "上堡村", "溪头村", "南港村", "新林村")),
    "仙城镇": (9.0, ("深洋村", "波美村", "仙港村", "宅美村", "上底村", "东溪村", "仙门城村")),
    "司马浦镇": (10.0, ("大布村", "司下村", "司上村", "仙家村", "溪美朱村", "美西村", "华瑶村")),
    "红场镇": (2.0, ("大溪坝村", "苏区村", "宝溪村", "林招村", "湖美村", "大輋村")),
    "雷岭镇": (2.0, ("雷岭村", "荷树村", "深田村", "茶园村", "东西村", "乌石村")),
    "成田镇": (6.0, ("成田村", "上盐村", "家美村", "深溪村", "西岐村", "田心村", "沙陇村")),
    "陇田镇": (5.0, ("东华村", "浩溪村", "华林村", "陇东村", "仙斗村", "南美村", "田东村")),
}

_CN_NUMBERS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十",
               "十一", "十二", "十三", "十四", "十五", "十六")
# Exactly 64 lanes and house numbers 1–64, so that one 12-bit draw picks "lane + number".
_LANES: tuple[str, ...] = (
    *(f"{n}巷" for n in _CN_NUMBERS),
    *(f"{side}{n}巷" for side in "东西南北" for n in _CN_NUMBERS[:8]),
    *(f"新厝{n}巷" for n in _CN_NUMBERS[:4]),
    *(f"老寨{n}巷" for n in _CN_NUMBERS[:4]),
    "新乡路", "振兴路", "兴华路", "环村路", "池墘街", "祠堂前", "后沟", "大埕",
)
_HOUSE_NUMBERS = range(1, 65)

# Mobile prefixes, weighted towards China Mobile numbers older people have had for years.
_PHONE_PREFIXES: tuple[tuple[str, float], ...] = (
    ("138", 8.0), ("139", 8.0), ("135", 6.0), ("137", 6.0), ("136", 5.0), ("134", 4.0),
    ("159", 4.0), ("158", 3.5), ("150", 3.5), ("151", 3.0), ("152", 2.5), ("157", 1.5),
    ("188", 2.5), ("187", 2.0), ("182", 2.0), ("183", 1.5), ("198", 1.0),
    ("130", 2.0), ("131", 1.5), ("132", 1.5), ("155", 1.0), ("156", 1.0), ("186", 1.5),
    ("133", 2.0), ("153", 1.5), ("189", 2.0), ("180", 1.5), ("181", 1.5), ("199", 1.0),
    ("191", 0.5), ("177", 0.5), ("173", 0.5),
)

# (occupation, occupation class, weight); mostly classes 1–2, a few class 3.
_MALE_OCCUPATIONS: tuple[tuple[str, int, float], ...] = (
    ("退休", 1, 30.0), ("务农", 2, 38.0), ("家务", 1, 4.0), ("无业", 1, 9.0),
    ("个体经营", 2, 7.0), ("果农", 2, 4.0), ("茶农", 2, 2.0), ("农机操作", 3, 3.0),
    ("水产养殖", 3, 3.0),
)
_FEMALE_OCCUPATIONS: tuple[tuple[str, int, float], ...] = (
    ("家务", 1, 42.0), ("务农", 2, 28.0), ("退休", 1, 20.0), ("抽纱手工", 1, 4.0),
    ("无业", 1, 3.0), ("个体经营", 2, 2.0), ("水产养殖", 3, 1.0),
)

# Relative size of birth cohorts (famine years small, the early-1960s baby boom large).
_COHORT_FACTORS: tuple[tuple[int, float], ...] = (
    (1949, 1.0), (1958, 1.15), (1961, 0.7), (1971, 1.35),
)
_LATER_COHORT_FACTOR = 1.1
_MALE_BIRTH_RATIO = 1.04  # boys per girl at birth

# Gompertz mortality from age 60: hazard h(a) = h60 · exp(B · (a − 60)).
_GOMPERTZ_B = 0.1
_HAZARD_AT_60 = {"male": 0.012, "female": 0.007}


# --------------------------------------------------------------------------------------------
# Lookup tables
# --------------------------------------------------------------------------------------------

_TABLE_BITS = 12
_TABLE_SIZE = 1 << _TABLE_BITS  # 4,096 slots: weights are kept to about 0.025 %

_T = TypeVar("_T", bound=Hashable)


def _cumulative(weights: Sequence[float]) -> list[float]:
    """Normalised cumulative weights, the last exactly 1.0."""
    total = sum(weights)
    if total <= 0:
        raise ValueError("weights must have a positive sum")
    cum = [w / total for w in accumulate(weights)]
    cum[-1] = 1.0
    return cum


def _weighted_table(values: Sequence[_T], weights: Sequence[float]) -> tuple[_T, ...]:
    """A 4,096-slot table where each value fills a share of slots equal to its weight (rounded),
    so that `table[rng.getrandbits(_TABLE_BITS)]` is a weighted choice."""
    bounds = [int(c * _TABLE_SIZE + 0.5) for c in _cumulative(weights)]
    counts = [end - start for start, end in zip([0, *bounds[:-1]], bounds, strict=True)]
    if 0 in counts:
        lost = sorted({v for v, c in zip(values, counts, strict=True) if c == 0}, key=str)
        raise ValueError(f"weights too small for a {_TABLE_SIZE}-slot table: {lost}")
    return tuple(chain.from_iterable(repeat(v, c) for v, c in zip(values, counts, strict=True)))


_SURNAME_TABLE = _weighted_table([s for s, _ in _SURNAMES], [w for _, w in _SURNAMES])
_VILLAGE_TABLE = _weighted_table(
    [f"{ADDRESS_PREFIX}{town}{village}" for town in TOWNS for village in _VILLAGES[town][1]],
    [_VILLAGES[town][0] / len(_VILLAGES[town][1]) for town in TOWNS for _ in _VILLAGES[town][1]],
)
if len(_LANES) * len(_HOUSE_NUMBERS) != _TABLE_SIZE:
    raise AssertionError("lanes × house numbers must fill the table exactly")
_LANE_HOUSE_TABLE = tuple(f"{lane}{house}号" for lane in _LANES for house in _HOUSE_NUMBERS)
_PHONE_PREFIX_TABLE = _weighted_table(
    [p for p, _ in _PHONE_PREFIXES], [w for _, w in _PHONE_PREFIXES]
)
_FOUR_DIGITS = tuple(f"{i:04d}" for i in range(10_000))  # the 8 digits after the prefix: 2 × 4


def _occupation_table(
    rows: Sequence[tuple[str, int, float]],
) -> tuple[tuple[str, int], ...]:
    return _weighted_table([(o, c) for o, c, _ in rows], [w for _, _, w in rows])


_MALE_OCCUPATION_TABLE = _occupation_table(_MALE_OCCUPATIONS)
_FEMALE_OCCUPATION_TABLE = _occupation_table(_FEMALE_OCCUPATIONS)
# Before retirement age (men 60, women 50 for workers) nobody is 退休.
_MALE_RETIREMENT_AGE = 60
_FEMALE_RETIREMENT_AGE = 50
_MALE_WORKING_OCCUPATION_TABLE = _occupation_table(
    [row for row in _MALE_OCCUPATIONS if row[0] != "退休"]
)
_FEMALE_WORKING_OCCUPATION_TABLE = _occupation_table(
    [row for row in _FEMALE_OCCUPATIONS if row[0] != "退休"]
)


@cache
def _given_name_table(gender: str, birth_year: int) -> tuple[str, ...]:
    """Given names for one gender and birth year: the regular names, plus the era's names
    (建国, 援朝, 卫红 …) taking _ERA_NAME_SHARE of the slots in the years they were given."""
    era = tuple(
        name
        for name, name_gender, first, last in _ERA_NAMES
        if name_gender == gender and first <= birth_year <= last
    )
    return _given_name_table_with(gender, era)


@cache
def _given_name_table_with(gender: str, era: tuple[str, ...]) -> tuple[str, ...]:
    regular = _MALE_GIVEN_NAMES if gender == "male" else _FEMALE_GIVEN_NAMES
    names = [name for name, _ in regular]
    total = sum(w for _, w in regular)
    if not era:
        return _weighted_table(names, [w / total for _, w in regular])
    weights = [(1 - _ERA_NAME_SHARE) * w / total for _, w in regular]
    weights += [_ERA_NAME_SHARE / len(era)] * len(era)
    return _weighted_table([*names, *era], weights)


def _cohort_factor(year: int) -> float:
    for last_year, factor in _COHORT_FACTORS:
        if year <= last_year:
            return factor
    return _LATER_COHORT_FACTOR


def _survival(gender: str, age: int) -> float:
    """Share of a cohort alive at 60 that is still alive at `age` (Gompertz)."""
    h60 = _HAZARD_AT_60[gender]
    return exp(-(h60 / _GOMPERTZ_B) * (exp(_GOMPERTZ_B * (age - 60)) - 1.0))


# --------------------------------------------------------------------------------------------
# ID numbers
# --------------------------------------------------------------------------------------------

# The check character is (Σ digit·weight) mod 11 mapped one-to-one onto "10X98765432", so it is
# linear in the digits: with sequence 000 it identifies the residue of the 14-digit area+birth
# prefix, and two birth dates with the same such character share, for every sequence, the same
# "sequence + check character" tail. The tails are built once per character with
# `make_id_number`, so every ID is exactly what `make_id_number` returns, for one string join
# per person.
_ID_TAILS: dict[str, tuple[str, ...]] = {}


@lru_cache(maxsize=65_536)
def _id_parts(birth: date) -> tuple[str, tuple[str, ...]]:
    """The 14-digit prefix of IDs born on `birth` and the 1000 tails (sequence + check)."""
    with_sequence_0 = make_id_number(AREA_CODE, birth, 0)
    key = with_sequence_0[17]
    tails = _ID_TAILS.get(key)
    if tails is None:
        tails = tuple(make_id_number(AREA_CODE, birth, seq)[14:] for seq in range(1000))
        _ID_TAILS[key] = tails
    return with_sequence_0[:14], tails


# --------------------------------------------------------------------------------------------
# Birth days
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _BirthDays:
    """Candidate birth dates with per-gender weights; cached and shared, never mutated."""

    dates: tuple[date, ...]
    ages: tuple[int, ...]  # age on as_of
    id_prefixes: tuple[str, ...]
    id_tails: tuple[tuple[str, ...], ...]  # per day: tails for sequences 000–999
    male_cum: tuple[float, ...]
    female_cum: tuple[float, ...]
    male_guide: tuple[int, ...]
    female_guide: tuple[int, ...]
    female_share: float


_GUIDE_FACTOR = 4  # guide entries per birth day


def _guide_table(cum: Sequence[float]) -> tuple[int, ...]:
    """A guide table (Chen & Asau) for drawing from `cum` without a binary search.

    With `size = len(guide) - 1`, `guide[k]` is the first index whose cumulative weight exceeds
    k/size, so for r = random() the draw is `guide[int(r * size)]` stepped forward while
    `cum[i] <= r` — on average less than one step, against ~14 scattered comparisons for
    `bisect` on a 15,000-day table.
    """
    size = _GUIDE_FACTOR * len(cum)
    # k/size < 1.0 == cum[-1] for k < size, so these stay within the table; k == size is the end.
    return (*[bisect_right(cum, k / size) for k in range(size)], len(cum) - 1)


def _birth_days(
    as_of: date,
    candidates: Sequence[date],
    male_weights: Sequence[float],
    female_weights: Sequence[float],
) -> _BirthDays:
    if not candidates:
        raise ValueError("no birth date between 1900 and as_of gives an age in range")
    parts = [_id_parts(birth) for birth in candidates]
    male_cum = _cumulative(male_weights)
    female_cum = _cumulative(female_weights)
    male_total = sum(male_weights)
    female_total = sum(female_weights)
    return _BirthDays(
        dates=tuple(candidates),
        ages=tuple(age_on(birth, as_of) for birth in candidates),
        id_prefixes=tuple(prefix for prefix, _ in parts),
        id_tails=tuple(tails for _, tails in parts),
        male_cum=tuple(male_cum),
        female_cum=tuple(female_cum),
        male_guide=_guide_table(male_cum),
        female_guide=_guide_table(female_cum),
        female_share=female_total / (male_total + female_total),
    )


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    one = timedelta(days=1)
    while day <= last:
        yield day
        day += one


@lru_cache(maxsize=8)
def _roster_birth_days(as_of: date, min_age: int, max_age: int) -> _BirthDays:
    """Birth dates giving an age of min_age..max_age on as_of, weighted by cohort × survival."""
    candidates = [
        birth
        for birth in _days(
            date(max(as_of.year - max_age - 1, 1900), 1, 1), date(as_of.year - min_age, 12, 31)
        )
        if min_age <= age_on(birth, as_of) <= max_age
    ]
    male_weights = [
        _MALE_BIRTH_RATIO * _cohort_factor(b.year) * _survival("male", age_on(b, as_of))
        for b in candidates
    ]
    female_weights = [
        _cohort_factor(b.year) * _survival("female", age_on(b, as_of)) for b in candidates
    ]
    return _birth_days(as_of, candidates, male_weights, female_weights)


@lru_cache(maxsize=8)
def _turning_birth_days(as_of: date, window_end: date) -> _BirthDays:
    """Birth dates of people aged 59 on as_of and 60 on window_end, weighted by cohort size."""
    candidates = [
        birth
        for birth in _days(date(as_of.year - 61, 1, 1), date(window_end.year - 59, 12, 31))
        if age_on(birth, as_of) == 59 and age_on(birth, window_end) >= 60
    ]
    factors = [_cohort_factor(b.year) for b in candidates]
    return _birth_days(as_of, candidates, [_MALE_BIRTH_RATIO * f for f in factors], factors)


def _add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the end of a shorter month."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    following = date(year + (month0 == 11), (month0 + 1) % 12 + 1, 1)
    last_day = (following - timedelta(days=1)).day
    return date(year, month0 + 1, min(day.day, last_day))


def _check_common(n: int, seed: int, as_of: date) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError("n must be a non-negative integer")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError("seed must be an integer")
    if not isinstance(as_of, date):
        raise ValueError("as_of must be a date")


# --------------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------------


def generate_people(
    n: int, seed: int, as_of: date, min_age: int = 60, max_age: int = 100
) -> Iterator[Person]:
    """`n` residents of 潮南区 aged `min_age`..`max_age` on `as_of`, deterministic in `seed`.

    Ages follow cohort sizes times Gompertz survival: far more people of 60–75 than of 90+, and
    more women than men, the more so at high ages. IDs are unique within the run (sequences
    001–899). Invalid arguments raise ValueError at once, not on the first `next`.
    """
    _check_common(n, seed, as_of)
    if min_age < 0 or max_age < min_age:
        raise ValueError("need 0 <= min_age <= max_age")
    days = _roster_birth_days(as_of, min_age, max_age)
    capacity = len(days.dates) * (len(_MAIN_MALE_SEQUENCES) + len(_MAIN_FEMALE_SEQUENCES))
    if n > capacity:
        raise ValueError(f"at most {capacity} unique ID numbers exist for this age range")
    return _generate(
        n, random.Random(seed), days, _MAIN_MALE_SEQUENCES, _MAIN_FEMALE_SEQUENCES
    )


def generate_people_turning(
    n: int, seed: int, as_of: date, months_ahead: int = 3
) -> Iterator[Person]:
    """`n` residents aged 59 on `as_of` who turn 60 after `as_of` and at the latest on the same
    day `months_ahead` months later — the coming auto-enrollments (rules.md §4).

    Draws from its own random stream derived from `seed` and uses ID sequences 900–999, so its
    IDs never collide with `generate_people`. Birthdays are spread evenly over the window.
    """
    _check_common(n, seed, as_of)
    if isinstance(months_ahead, bool) or not isinstance(months_ahead, int) or months_ahead < 1:
        raise ValueError("months_ahead must be a positive integer")
    days = _turning_birth_days(as_of, _add_months(as_of, months_ahead))
    capacity = len(days.dates) * (
        len(_TURNING_MALE_SEQUENCES) + len(_TURNING_FEMALE_SEQUENCES)
    )
    if n > capacity:
        raise ValueError(f"at most {capacity} unique ID numbers exist for this window")
    rng = random.Random(f"xiaobao-demo-turning:{seed}")
    return _generate(n, rng, days, _TURNING_MALE_SEQUENCES, _TURNING_FEMALE_SEQUENCES)


class _GenderDraw(NamedTuple):
    """What the hot loop needs for one gender; unpacked once per person."""

    gender: str
    day_cum: tuple[float, ...]
    day_guide: tuple[int, ...]
    guide_size: int
    n_sequences: int
    day_next: list[int]  # per birth day: offset of the next sequence to hand out (mutated)
    day_left: list[int]  # per birth day: sequences still free (mutated)
    day_tails: list[tuple[str, ...]]  # per birth day: ID tails by sequence offset
    day_given_names: list[tuple[str, ...]]  # per birth day: given-name table of its year
    day_occupations: list[tuple[tuple[str, int], ...]]  # per birth day: by retirement status


def _gender_draw(
    rng: random.Random,
    days: _BirthDays,
    gender: str,
    sequences: range,
) -> _GenderDraw:
    """Per-run state for one gender. Draws one random number per birth day: the offset of the
    day's first sequence. The i-th person of this gender born on a day then gets
    `sequences[(offset + i·stride) mod count]` — unique by construction, scattered over the
    range."""
    if gcd(_SEQUENCE_STRIDE, len(sequences)) != 1:
        raise AssertionError("the sequence stride must be coprime with the sequence count")
    male = gender == "male"
    guide = days.male_guide if male else days.female_guide
    if male:
        retirement_age = _MALE_RETIREMENT_AGE
        retired, working = _MALE_OCCUPATION_TABLE, _MALE_WORKING_OCCUPATION_TABLE
    else:
        retirement_age = _FEMALE_RETIREMENT_AGE
        retired, working = _FEMALE_OCCUPATION_TABLE, _FEMALE_WORKING_OCCUPATION_TABLE
    n_sequences = len(sequences)
    rnd = rng.random
    by_tails: dict[int, tuple[str, ...]] = {}
    day_tails: list[tuple[str, ...]] = []
    for tails in days.id_tails:  # at most 11 distinct tuples
        gender_tails = by_tails.get(id(tails))
        if gender_tails is None:
            gender_tails = by_tails[id(tails)] = tuple(tails[s] for s in sequences)
        day_tails.append(gender_tails)
    return _GenderDraw(
        gender=gender,
        day_cum=days.male_cum if male else days.female_cum,
        day_guide=guide,
        guide_size=len(guide) - 1,
        n_sequences=n_sequences,
        day_next=[int(rnd() * n_sequences) for _ in days.dates],
        day_left=[n_sequences] * len(days.dates),
        day_tails=day_tails,
        day_given_names=[_given_name_table(gender, birth.year) for birth in days.dates],
        day_occupations=[retired if age >= retirement_age else working for age in days.ages],
    )


def _generate(
    n: int,
    rng: random.Random,
    days: _BirthDays,
    male_sequences: range,
    female_sequences: range,
) -> Iterator[Person]:
    """The hot loop.

    Draws, in this fixed order: for men, then women, one sequence offset per birth day; then
    per person: gender, birth day (drawn again only while all of that day's sequences are
    taken), occupation, surname, given name, phone number digits, phone prefix, village,
    lane + house number. Changing this order changes every generated roster.
    """
    rnd = rng.random
    bits = rng.getrandbits
    new = object.__new__
    (set_name, set_gender, set_birth_date, set_id_number, set_phone, set_address,
     set_occupation, set_occupation_class) = _PERSON_SETTERS
    # Index 0 = male, 1 = female: a bool indexes the tuple.
    draws = (
        _gender_draw(rng, days, "male", male_sequences),
        _gender_draw(rng, days, "female", female_sequences),
    )
    remaining = [len(male_sequences) * len(days.dates), len(female_sequences) * len(days.dates)]
    female_share = days.female_share
    dates = days.dates
    id_prefixes = days.id_prefixes
    stride = _SEQUENCE_STRIDE
    surnames = _SURNAME_TABLE
    phone_prefixes = _PHONE_PREFIX_TABLE
    villages = _VILLAGE_TABLE
    lanes_houses = _LANE_HOUSE_TABLE
    four = _FOUR_DIGITS
    tb = _TABLE_BITS  # every lookup table has 2**tb slots

    for _ in range(n):
        female = rnd() < female_share
        if not remaining[female]:  # every ID of this gender is taken (callers check n)
            female = not female
        remaining[female] -= 1
        (gender, day_cum, day_guide, guide_size, n_sequences, day_next, day_left, day_tails,
         day_given_names, day_occupations) = draws[female]
        while True:
            r = rnd()
            day = day_guide[int(r * guide_size)]
            while day_cum[day] <= r:
                day += 1
            if day_left[day]:
                break
        day_left[day] -= 1
        offset = day_next[day]
        day_next[day] = (offset + stride) % n_sequences
        occupation, occupation_class = day_occupations[day][bits(tb)]

        person = new(Person)
        set_name(person, surnames[bits(tb)] + day_given_names[day][bits(tb)])
        set_gender(person, gender)
        set_birth_date(person, dates[day])
        set_id_number(person, id_prefixes[day] + day_tails[day][offset])
        digits = int(rnd() * 100_000_000)
        set_phone(person, phone_prefixes[bits(tb)] + four[digits // 10_000] + four[digits % 10_000])
        set_address(person, villages[bits(tb)] + lanes_houses[bits(tb)])
        set_occupation(person, occupation)
        set_occupation_class(person, occupation_class)
        yield person
