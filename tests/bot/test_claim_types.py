"""The claim type from what people say: only a covered type, negations taken back, names at the
read-back. Pure: actions/claim_types.py runs in either environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actions import claim_types as kinds
from backoffice.domain.product import CLAIM_TYPE_NAMES, parse_product

ELDER = ("death", "transport_death", "disability", "hospital_allowance")  # CN-ELDER-ACC
GUARD = ("death", "disability", "medical", "hospital_allowance")  # PA-GUARD


def test_the_names_are_the_back_offices() -> None:
    assert kinds.CLAIM_TYPE_NAMES == CLAIM_TYPE_NAMES


def test_the_schemes_cover_what_the_tests_assume() -> None:
    root = Path(__file__).resolve().parents[2] / "backoffice" / "products"
    for code, types in (("CN-ELDER-ACC", ELDER), ("PA-GUARD", GUARD)):
        product = parse_product(json.loads((root / f"{code}.json").read_text("utf-8")))
        assert {t for c in product.coverages for t in c.claim_types} == set(types)


@pytest.mark.parametrize(("said", "hospital", "expected"), [
    ("我妈摔倒了，住院了", None, "hospital_allowance"),
    ("摔了一跤，在人民医院住了院", None, "hospital_allowance"),
    ("右手腕骨折", "潮南区人民医院", "hospital_allowance"),  # a hospital named: a stay
    ("老人家过马路被车撞了，人没了", None, "death"),
    ("坐公交车出了事故，不幸去世", None, "transport_death"),
    ("坐高铁时摔倒身故", None, "transport_death"),
    ("摔伤以后落下残疾", "未就医", "disability"),
    ("下半身瘫了", None, "disability"),
    ("要做伤残鉴定", None, "disability"),
])
def test_words_that_decide_a_covered_type(said: str, hospital: str | None,
                                          expected: str) -> None:
    assert kinds.guess(said, ELDER, hospital) == expected


@pytest.mark.parametrize(("said", "hospital"), [
    ("没住院，摔断了手", "潮南区人民医院"),
    ("没住院，摔断了手", "未就医"),
    ("不是住院，就是手摔断了", None),
    ("没有住院，在门诊包扎了一下", "镇卫生院"),
    ("未住院", None),
    ("还没住院，在家躺着", None),
    ("手摔肿了", "未就医"),
    ("在门诊看的，花了医药费", "镇卫生院"),  # medical: not in the elder scheme
    ("人没死，就是摔伤了", "没去医院"),
    ("", None),
    ("🙂🙂 ？？", None),
    ("<script>alert(1)</script>", None),
])
def test_words_that_decide_nothing_covered_ask(said: str, hospital: str | None) -> None:
    assert kinds.guess(said, ELDER, hospital) is None


def test_a_type_outside_the_cover_is_never_guessed() -> None:
    assert kinds.guess("在门诊看的，花了医药费", GUARD, "镇卫生院") == "medical"
    assert kinds.guess("在门诊看的，花了医药费", ELDER, "镇卫生院") is None
    # a transport death under a cover without it is still the death the cover pays
    assert kinds.guess("坐公交车出事去世了", GUARD) == "death"
    assert kinds.guess("住院了", ("death",)) is None
    assert kinds.guess("住院了", ()) is None


def test_a_negation_is_only_close_before_the_word() -> None:
    assert kinds.guess("摔倒没多久就住院了", ELDER) == "hospital_allowance"
    assert kinds.guess("不需要住院", ELDER) is None
    assert kinds.guess("没住院，后来又住院了", ELDER) == "hospital_allowance"


@pytest.mark.parametrize(("said", "expected"), [
    ("不是住院，是伤残", "disability"),
    ("改成身故", "death"),
    ("不对，应该是意外伤残", "disability"),
    ("改成住院津贴", "hospital_allowance"),
    ("不是伤残，是住院", "hospital_allowance"),
    ("不对，是公共交通意外身故", "transport_death"),
    ("其实是坐大巴的时候去世的", "transport_death"),
    ("意外伤残", "disability"),
    ("住院了", "hospital_allowance"),
    ("类型不对", None),
    ("不对，是前天", None),
    ("不是住院", None),
    ("", None),
])
def test_the_type_a_user_names(said: str, expected: str | None) -> None:
    assert kinds.named(said) == expected


@pytest.mark.parametrize(("said", "current", "expected"), [
    ("类型不对", "hospital_allowance", True),
    ("理赔类型错了", "death", True),
    ("类型要改一下", None, True),
    ("他没住院", "hospital_allowance", True),
    ("不对，是前天", "hospital_allowance", False),
    ("对", "hospital_allowance", False),
    ("住院了五天", "hospital_allowance", False),
])
def test_a_type_said_to_be_wrong(said: str, current: str | None, expected: bool) -> None:
    assert kinds.changing_type(said, current) is expected


def test_the_question_offers_the_covered_types_only() -> None:
    asked = kinds.options_text(ELDER)
    assert asked.startswith("是住院了，还是落下伤残，还是")
    assert "住院" in asked and "伤残" in asked and "去世" in asked and "门诊" not in asked
    assert "门诊" in kinds.options_text(GUARD) and "公共交通" not in kinds.options_text(GUARD)
