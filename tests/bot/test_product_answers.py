"""Public answers about the scheme (actions/product_answers.py is pure: it runs in either venv),
built from the real product data exactly as `GET /api/v1/products/{code}` gives it."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import backoffice.products
from actions import product_answers as pa
from backoffice.domain.product import parse_product
from backoffice.services.products import product_view

PRODUCTS = Path(backoffice.products.__file__).parent


@cache
def _view(code: str) -> str:
    raw = json.loads((PRODUCTS / f"{code}.json").read_text(encoding="utf-8"))
    return json.dumps(product_view(parse_product(raw)))


def view(code: str = "CN-ELDER-ACC") -> dict[str, Any]:
    """The product as the API answers it (a fresh copy: tests may change it)."""
    return json.loads(_view(code))


def first_line(text: str) -> str:
    return text.splitlines()[0]


def documents(code: str, claim_type: str) -> list[str]:
    return [d["name"] for d in view(code)["claim_documents"][claim_type]]


# --- public transport: the mode's amount first, one line on the others -------------------------

@pytest.mark.parametrize(("question", "mode", "amount"), [
    ("坐公交出事赔多少", "营运机动车", "30000 元"),
    ("我妈坐公交车出了意外能赔多少", "营运机动车", "30000 元"),
    ("乘坐大巴出车祸去世了赔多少钱", "营运机动车", "30000 元"),
    ("打的路上出事故赔不赔", "营运机动车", "30000 元"),
    ("坐出租车出事怎么赔", "营运机动车", "30000 元"),
    ("长途客车翻车了能赔多少", "营运机动车", "30000 元"),
    ("坐公交车被电动车撞了赔多少", "营运机动车", "30000 元"),
    ("坐高铁出事赔多少", "轨道交通", "30000 元"),
    ("坐火车去世了保险赔多少", "轨道交通", "30000 元"),
    ("坐地铁出意外赔多少", "轨道交通", "30000 元"),
    ("坐动车出了事故呢", "轨道交通", "30000 元"),
    ("坐船出事赔多少", "客运轮船", "50000 元"),
    ("坐轮渡掉水里了赔不赔", "客运轮船", "50000 元"),
    ("坐飞机出事赔多少", "民航客机", "100000 元"),
    ("乘航班遇难赔多少钱", "民航客机", "100000 元"),
])
def test_a_mode_gets_its_own_amount_and_one_line_on_the_others(
        question: str, mode: str, amount: str) -> None:
    text = pa.answer(view(), question)
    head = first_line(text)
    assert mode in head and f"赔 {amount}" in head, text
    assert "代替 3000 元的意外身故金" in head  # instead of, never both
    assert "180 天内身故" in head
    others = text.splitlines()[1]
    assert others.startswith("其他公共交通工具") and mode not in others
    modes = view()["coverages"][1]["transport_modes"]
    assert all(m["name"] in text for m in modes)
    assert len(text.splitlines()) <= 3, text  # not the whole scheme


def test_the_bus_is_not_paid_at_the_aircraft_amount() -> None:
    head = first_line(pa.answer(view(), "坐公交出事赔多少"))
    assert "100000" not in head and "公交车" in head


@pytest.mark.parametrize("question", [
    "骑电动车摔了赔不赔", "骑电瓶车出车祸能赔多少", "开摩托车出事赔多少", "骑自行车摔了能赔吗",
    "自己开车出车祸去世赔多少", "坐私家车出事赔多少", "骑三轮车翻了赔不赔", "电动车撞了怎么赔",
    "骑电动车被公交车撞了赔多少",
])
def test_a_vehicle_that_is_not_public_transport_gets_the_ordinary_benefits(question: str) -> None:
    text = pa.answer(view(), question)
    assert "不属于公共交通工具" in text or "被车撞伤" in text, text
    assert "30000" not in text and "50000" not in text and "100000" not in text
    assert "赔 3000 元" in text and "每天 30 元" in text and "300–3000 元" in text


def test_an_electric_bike_is_not_a_bullet_train() -> None:
    assert pa.transport_mode("骑电动车") == "private"
    assert pa.transport_mode("坐动车") == "rail"
    assert pa.transport_mode("营运机动车") == "motor_vehicle"
    assert pa.transport_mode("非机动车道上摔倒") is None


@pytest.mark.parametrize("question", ["被公交车撞了能赔多少", "我爸走路被出租车撞倒了"])
def test_struck_by_a_bus_is_not_riding_it(question: str) -> None:
    text = pa.answer(view(), question)
    assert "不属于乘坐公共交通工具" in text and "30000" not in text


def test_transport_in_general_lists_every_mode() -> None:
    text = pa.answer(view(), "乘坐公共交通工具出事怎么赔")
    for mode in view()["coverages"][1]["transport_modes"]:
        assert f"{mode['name']}（" in text and f"{pa.figure(mode['amount'])} 元" in text


def test_amounts_come_from_the_product_not_from_the_bot() -> None:
    product = view()
    for mode in product["coverages"][1]["transport_modes"]:
        if mode["code"] == "motor_vehicle":
            mode["amount"] = "35000.00"
    product["coverages"][3]["benefit"]["daily_amount"] = "40.00"
    assert "赔 35000 元" in first_line(pa.answer(product, "坐公交出事赔多少"))
    allowance = pa.answer(product, "住院津贴一天多少钱")
    assert "每天 40 元" in allowance and "7200 元" in allowance  # 40 × 180 days


# --- hospital allowance, disability, death ------------------------------------------------------

@pytest.mark.parametrize("question", [
    "住院津贴一天多少钱", "住院一天能赔多少", "住院能赔多少", "一年最多赔几天住院津贴",
    "住院多少天能赔", "摔伤住院能赔吗",
])
def test_the_allowance_rule_with_its_limits(question: str) -> None:
    text = pa.answer(view(), question)
    assert "每天 30 元" in text and "每次住院最多 90 天" in text and "每年最多 180 天" in text
    assert "5400 元" in text and "二级及以上医院" in text
    assert "牙齿治疗" in text and "疾病" in text


def test_disability_is_a_percentage_of_3000_by_level() -> None:
    text = pa.answer(view(), "伤残怎么赔")
    assert "3000 元" in text and "JR/T 0083-2013" in text and "180 天内" in text
    for level, amount in ((1, 3000), (2, 2700), (5, 1800), (8, 900), (10, 300)):
        assert f"{level}级 {amount}" in text


@pytest.mark.parametrize(("question", "amount", "pct"), [
    ("8级伤残赔多少", "900 元", "30%"), ("八级伤残能赔多少钱", "900 元", "30%"),
    ("伤残评了十级赔多少", "300 元", "10%"), ("伤残等级是1级", "3000 元", "100%"),
    ("残疾三级怎么赔", "2400 元", "80%"),
])
def test_a_level_gets_its_amount(question: str, amount: str, pct: str) -> None:
    text = pa.answer(view(), question)
    assert f"即 {amount}" in text and pct in text, text


@pytest.mark.parametrize("question", ["伤残12级赔多少", "0级伤残"])
def test_a_level_that_does_not_exist(question: str) -> None:
    text = pa.answer(view(), question)
    assert "1–10 级" in text and "即" not in text


def test_a_hospital_level_is_not_a_disability_level() -> None:
    assert pa.disability_level("一级医院住院赔吗") is None
    assert "disability" not in pa.subjects("一级医院住院赔吗")


@pytest.mark.parametrize("question", ["意外身故赔多少", "老人意外去世能赔多少钱", "摔死了赔多少"])
def test_accidental_death(question: str) -> None:
    text = pa.answer(view(), question)
    assert "意外身故" in text and "赔 3000 元" in text and "180 天内" in text
    assert "30000–100000 元" in text  # one line on transport, not the whole list


# --- exclusions, 180 days, who and from when, reporting, documents ---------------------------

@pytest.mark.parametrize(("question", "code"), [
    ("猝死赔不赔", "sudden_death"), ("老人突然猝死了能赔吗", "sudden_death"),
    ("生病住院保不保", "disease"), ("中风住院赔吗", "disease"),
    ("喝醉了摔倒赔不赔", "drunkenness"), ("喝酒摔了赔吗", "drunkenness"),
    ("打架受伤能赔吗", "fighting"), ("自杀赔不赔", "suicide"),
    ("看牙能不能赔", "dental"), ("酒驾出事赔吗", "drunk_driving"),
])
def test_an_exclusion_is_named_from_the_product(question: str, code: str) -> None:
    text = pa.answer(view(), question)
    wanted = next(e["text"] for e in view()["exclusions"] if e["code"] == code)
    assert "不赔" in text and wanted in text, text
    assert "赔 3000 元" not in text  # no benefit promised for an excluded death


def test_a_fall_of_someone_with_high_blood_pressure_is_no_exclusion() -> None:
    text = pa.answer(view(), "我妈有高血压，摔倒住院能赔吗")
    assert "每天 30 元" in text and "责任免除" not in text


@pytest.mark.parametrize("question", ["哪些情况不赔", "什么情况下不赔", "免责条款有哪些"])
def test_every_exclusion(question: str) -> None:
    text = pa.answer(view(), question)
    for item in view()["exclusions"]:
        assert item["text"] in text


@pytest.mark.parametrize("question", ["受伤后多久以内去世才赔", "超过180天还赔吗",
                                      "过了半年才鉴定伤残还能赔吗"])
def test_the_180_day_rule(question: str) -> None:
    text = pa.answer(view(), question)
    assert "180 天内导致身故或伤残" in text and "第 180 天的身体状况" in text
    assert "意外住院津贴不受这个天数限制" in text


@pytest.mark.parametrize("question", ["谁能保", "哪些人可以参保", "多大年纪能保",
                                      "从什么时候开始保", "刚满60岁什么时候开始保",
                                      "这个保险要不要自己交钱"])
def test_who_is_insured_and_from_when(question: str) -> None:
    text = pa.answer(view(), question)
    assert "汕头市潮南区" in text and "60 周岁" in text and "次月1日" in text
    assert "政府统一投保" in text and "每人每年 10 元" in text


@pytest.mark.parametrize("question", ["怎么报案", "去哪里报案", "出险后多久内要报案",
                                      "出事了怎么办"])
def test_how_to_report(question: str) -> None:
    text = pa.answer(view(), question)
    assert "我要报案" in text and "2 年" in text and "一次性" in text


@pytest.mark.parametrize(("text", "how"), [
    ("怎么报案", True), ("去哪里报案", True), ("如何报案呢", True), ("报案要打什么电话", True),
    ("我妈摔倒了怎么报案", False), ("我要报案", False), ("老伴去世了，去哪里报案", False),
    ("出事了怎么办", False), ("住院了怎么报案", False), ("家里老人出了意外，要怎么报案", False),
])
def test_how_to_report_is_told_apart_from_a_report(text: str, how: bool) -> None:
    """Asking how starts no report form (no ID number asked); telling an incident does."""
    assert pa.asks_how_to_report(text) is how


@pytest.mark.parametrize(("question", "claim_type"), [
    ("住院要准备什么材料", "hospital_allowance"), ("申请住院津贴要带什么", "hospital_allowance"),
    ("伤残理赔需要哪些资料", "disability"), ("老人去世了理赔要什么材料", "death"),
    ("坐大巴出事去世要准备什么材料", "transport_death"),
])
def test_documents_per_claim_type(question: str, claim_type: str) -> None:
    text = pa.answer(view(), question)
    assert f"需要：{'、'.join(documents('CN-ELDER-ACC', claim_type))}。" in text, text
    assert "一次性" in text
    assert "每天 30 元" not in text  # the documents, not the benefit


def test_documents_of_every_claim_type_when_none_is_named() -> None:
    text = pa.documents(view(), "理赔要什么材料")
    for claim_type in ("death", "disability", "hospital_allowance"):
        assert "、".join(documents("CN-ELDER-ACC", claim_type)) in text
    assert "另加车票、船票、登机牌或乘车记录" in text
    assert "医疗" not in text.replace("医疗费用发票", "")  # the scheme pays no medical costs


def test_documents_by_the_entity_when_the_words_do_not_say() -> None:
    assert "死亡证明" in pa.documents(view(), "要什么材料", "death")


def test_medical_costs_are_not_covered() -> None:
    text = pa.answer(view(), "医药费能报销吗")
    assert "不报销医疗费" in text and "每天 30 元" in text


# --- a general question gets a short summary ----------------------------------------------------

@pytest.mark.parametrize("question", ["这个保险保什么", "保障范围是什么", "老年人意外险保些什么",
                                      "有哪些保险责任", ""])
def test_a_general_question_gets_a_short_summary(question: str) -> None:
    text = pa.answer(view(), question)
    for coverage in view()["coverages"]:
        assert coverage["name"] in text
    assert "30000–100000 元" in text and "300–3000 元" in text and "每天 30 元" in text
    assert len(text.splitlines()) <= 7


# --- a product whose sums are chosen per policy: no amount invented --------------------------

def test_a_product_without_transport_cover_says_so() -> None:
    text = pa.answer(view("PA-GUARD"), "坐公交出事赔多少")
    assert "没有单独的公共交通意外身故保障" in text and "100000" not in text
    assert "保额的 30%" in pa.answer(view("PA-GUARD"), "8级伤残赔多少")


# --- what is public, what is personal ------------------------------------------------------------

@pytest.mark.parametrize(("text", "pending"), [
    ("坐公交出事赔多少，我妈的理赔到哪一步了", "action_claim_progress"),
    ("住院津贴一天多少钱？顺便查下理赔进度", "action_claim_progress"),
    ("猝死赔不赔，查一下我的保单", "action_policy_query"),
    ("坐公交出事赔多少", None), ("到哪里报案", None),
])
def test_a_personal_request_beside_a_public_question(text: str, pending: str | None) -> None:
    assert pa.personal_request(text) == pending


@pytest.mark.parametrize(("text", "public"), [
    ("住院津贴一天多少钱，我的理赔到哪了", True),
    ("猝死赔不赔？帮我查一下我的保单", True),
    ("我的理赔到哪一步了", False),
    ("我妈住院的理赔到哪了", False),
    ("查一下我的保单", False),
])
def test_a_public_question_inside_a_personal_one(text: str, public: bool) -> None:
    assert pa.asks_public(text) is public


@pytest.mark.parametrize("text", ["", " ", "？？？", "a" * 5000, "'; drop table products; --",
                                  "😀🚌💥", "坐" * 300, "１２级伤残", "99999999999级伤残",
                                  "<script>alert(1)</script>住院"])
def test_odd_input_gets_an_answer_not_an_error(text: str) -> None:
    answer = pa.answer(view(), text)
    assert answer and "None" not in answer and "{" not in answer


def test_an_empty_product_gets_no_invented_figures() -> None:
    product = copy.deepcopy(view())
    product.update(coverages=[], exclusions=[], claim_documents={}, eligibility={})
    for question in ("坐公交出事赔多少", "伤残怎么赔", "住院津贴一天多少钱", "哪些情况不赔",
                     "保什么"):
        answer = pa.answer(product, question)
        assert not any(ch.isdigit() for ch in answer.replace("“", "")), (question, answer)


@pytest.mark.parametrize(("said", "cover", "where"), [
    ("我爸骑车摔了一跤，去卫生院缝了几针，没住院，这个能赔吗", True, False),
    ("我妈摔断了手住院了，住院能报多少", True, False),
    ("阿嬷在厝里跌倒了，怎么报案", False, True),
    ("出了意外要去哪里报案", False, True),
    ("我妈摔倒了", False, False),
    ("我要报案", False, False),
])
def test_a_report_that_asks_what_is_paid_or_where_to_report(said: str, cover: bool,
                                                            where: bool) -> None:
    assert pa.asks_about_cover(said) is cover
    assert pa.asks_where_to_report(said) is where
