"""The checks of what was read: ID numbers, bank cards, amounts in words, dates, levels."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocr import validate as v


def test_id_number_check_character_birth_date_and_gender() -> None:
    good = "11010519491231002X"  # the standard's own example
    assert v.id_check_char(good[:17]) == "X"
    assert v.id_problems(good) == []
    assert v.id_birth_date(good) == "1949-12-31" and v.id_gender(good) == "女"
    assert v.id_problems(good, "1949-12-31", "女") == []
    assert v.id_problems(good[:17] + "1") == ["身份证号校验码不正确"]
    assert v.id_problems(good, "1949-12-30", "男") == ["出生日期与身份证号不一致",
                                                      "性别与身份证号不一致"]
    assert v.id_problems("1101051949123100") == ["身份证号应为18位"]
    assert "身份证号中的出生日期无效" in v.id_problems("110105194913310020")


def test_id_number_repair_of_ocr_look_alikes() -> None:
    assert v.repair_id_number("公民身份号码 11O1O5 1949 1231 002x") == "11010519491231002X"
    assert v.repair_id_number("no number here 12345") is None


@pytest.mark.parametrize(("number", "ok"), [
    ("6222020200112345678", False), ("4111111111111111", True), ("6222021234567890124", False),
    ("79927398713", False), ("12345678903", False), ("abcd", False)])
def test_luhn(number: str, ok: bool) -> None:
    assert v.luhn_ok(number) is ok


def test_luhn_accepts_generated_cards_and_rejects_one_digit_off() -> None:
    body = "622202000011112222"
    check = next(str(d) for d in range(10) if v.luhn_ok(body + str(d)))
    assert v.luhn_ok(body + check)
    assert not v.luhn_ok(body + str((int(check) + 1) % 10))
    assert v.bank_of(body + check) == "中国工商银行"
    assert v.bank_of("9999990000000000") is None


@pytest.mark.parametrize(("amount", "words"), [
    ("1234.50", "壹仟贰佰叁拾肆元伍角整"), ("1000.00", "壹仟元整"), ("1005.07", "壹仟零伍元零柒分"),
    ("0.35", "叁角伍分"), ("100200.00", "壹拾万零贰佰元整"), ("30000.00", "叁万元整"),
    ("12.30", "壹拾贰元叁角整"), ("2502.86", "贰仟伍佰零贰元捌角陆分")])
def test_amount_in_words_both_ways(amount: str, words: str) -> None:
    assert v.words_to_amount(words) == Decimal(amount)
    assert v.words_to_amount(v.amount_to_words(Decimal(amount))) == Decimal(amount)


def test_amount_in_words_rejects_other_text() -> None:
    assert v.words_to_amount("合计") is None
    assert v.words_to_amount("壹仟元ABC") is None
    assert v.parse_amount("（小写）¥1,234.5") == Decimal("1234.50")
    assert v.parse_amount("无") is None


@pytest.mark.parametrize(("text", "iso"), [
    ("2024年3月5日", "2024-03-05"), ("入院日期：2024-03-05", "2024-03-05"),
    ("2024.03.05 10时", "2024-03-05"), ("2024/3/5", "2024-03-05"), ("20240305", "2024-03-05"),
    ("2024 年 3 月 5 日", "2024-03-05"), ("2024年2月30日", None), ("三月五日", None)])
def test_dates_normalised(text: str, iso: str | None) -> None:
    assert v.normalise_date(text) == iso


def test_hospital_days_count_nights_and_at_least_one() -> None:
    assert v.days_between("2024-03-05", "2024-03-15") == 10
    assert v.days_between("2024-02-28", "2024-03-01") == 2
    assert v.days_between("2024-03-05", "2024-03-05") == 1


@pytest.mark.parametrize(("text", "level"), [
    ("构成十级伤残", 10), ("构成七级伤残", 7), ("伤残等级：3级", 3), ("构成拾级伤残", 10),
    ("一级伤残", 1), ("构成十一级伤残", None), ("无伤残", None)])
def test_disability_levels(text: str, level: int | None) -> None:
    assert v.cn_level(text) == level
