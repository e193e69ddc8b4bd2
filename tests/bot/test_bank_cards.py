"""Bank card numbers however they are typed or said (actions/bank_cards.py is pure)."""

from __future__ import annotations

import pytest

from actions.bank_cards import card_in, luhn_ok, mask_card, mask_cards

CARD = "6222020200112233446"  # passes Luhn


@pytest.mark.parametrize("said", [
    CARD, "6222 0202 0011 2233 446", "卡号 6222-0202-0011-2233-446",
    "收款账号：6222020200112233446",
    "六二二二零二零二零零一一二二三三四四六", "６２２２０２０２００１１２２３３４４６",
    "六二二二 零二零二 零零一一 二二三三 四四六",
])
def test_card_numbers_as_said(said: str) -> None:
    assert card_in(said) == (CARD, None)


def test_a_wrong_digit_or_length_is_named() -> None:
    number, problem = card_in("6222 0202 0011 2233 447")
    assert number is None and problem and "校验不通过" in problem
    number, problem = card_in("6222 0202 01")
    assert number is None and problem and "10位" in problem
    number, problem = card_in("6222 0202 0011 2233 4461 2345")
    assert number is None and problem and "24位" in problem
    assert card_in("我要设置收款账户") == (None, None)
    assert card_in("住院3天") == (None, None)


def test_luhn_and_masking() -> None:
    assert luhn_ok(CARD) and not luhn_ok(CARD[:-1] + "7")
    assert mask_card(CARD) == "**** 3446" and CARD not in mask_card(CARD)
    assert mask_card("***************3446") == "**** 3446"  # the back office's own mask


def test_typed_card_numbers_are_masked_in_free_text() -> None:
    said = ("收款账号 6222 0202-0011 2233 446，电话13912345678，住院12天，"
            "卡号错了6222020200112233447")
    masked = mask_cards(said)
    assert "**** 3446" in masked and "2233 446" not in masked
    assert "13912345678" in masked and "住院12天" in masked  # not a card: left alone
    assert "6222020200112233447" in masked  # fails Luhn: not a card number
