"""Money: decimal yuan at the edges, integer fen in storage, round half up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice.domain.errors import ValidationError
from backoffice.domain.money import fmt, fmt_cn, from_fen, parse_amount, round_yuan, to_fen


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234.50", Decimal("1234.50")),
        ("1234.5", Decimal("1234.50")),
        (" 12 ", Decimal("12.00")),
        ("0.01", Decimal("0.01")),
        ("0", Decimal("0.00")),
        (0, Decimal("0.00")),
        (100, Decimal("100.00")),
        (Decimal("99.9"), Decimal("99.90")),
        ("1.500", Decimal("1.50")),  # a trailing zero is not a third decimal
        ("999999999999.99", Decimal("999999999999.99")),
    ],
)
def test_parse_amount_accepts(raw: object, expected: Decimal) -> None:
    amount = parse_amount(raw, "amount")
    assert amount == expected
    assert amount.as_tuple().exponent == -2  # always quantised to the fen


@pytest.mark.parametrize(
    "raw",
    [
        "-1",
        "-0.01",
        -5,
        Decimal("-3"),
        1.5,  # float
        0.0,
        "abc",
        "",
        "1,000.00",
        "12元",
        True,
        False,
        None,
        "1.005",
        "0.001",
        Decimal("1.234"),
        "NaN",
        "Infinity",
        "-Infinity",
        "1e12",
        "1e3",
        "1E+3",
        "1_000",
        "+5",
        ".5",
        "5.",
        "0x10",
        "1000000000000",
        [],
    ],
)
def test_parse_amount_refuses_and_names_the_field(raw: object) -> None:
    with pytest.raises(ValidationError) as err:
        parse_amount(raw, "claim.amount")
    assert err.value.field == "claim.amount"


def test_parse_amount_zero_can_be_refused() -> None:
    with pytest.raises(ValidationError) as err:
        parse_amount("0.00", "premium", allow_zero=False)
    assert err.value.field == "premium"
    assert parse_amount("0.01", "premium", allow_zero=False) == Decimal("0.01")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.005", "1.01"),
        ("2.675", "2.68"),  # a float would say 2.67
        ("0.125", "0.13"),  # banker's rounding would say 0.12
        ("0.135", "0.14"),
        ("11.205", "11.21"),
        ("1.004", "1.00"),
        ("1.0049999", "1.00"),
        ("-1.005", "-1.01"),  # half away from zero
        ("8.64", "8.64"),
        ("7", "7.00"),
    ],
)
def test_round_yuan_half_up(raw: str, expected: str) -> None:
    result = round_yuan(Decimal(raw))
    assert result == Decimal(expected)
    assert str(result) == expected


@pytest.mark.parametrize(
    ("yuan", "fen"),
    [
        ("0.00", 0),
        ("0.01", 1),
        ("0.10", 10),
        ("12.34", 1234),
        ("96.00", 9600),
        ("2158640.00", 215864000),
        ("999999999999.99", 99999999999999),
    ],
)
def test_to_fen_from_fen_round_trip(yuan: str, fen: int) -> None:
    assert to_fen(Decimal(yuan)) == fen
    assert isinstance(to_fen(Decimal(yuan)), int)
    assert from_fen(fen) == Decimal(yuan)
    assert str(from_fen(fen)) == yuan
    assert to_fen(from_fen(fen)) == fen


@pytest.mark.parametrize(("yuan", "fen"), [("0.005", 1), ("0.004", 0), ("12.345", 1235)])
def test_to_fen_rounds_half_up(yuan: str, fen: int) -> None:
    assert to_fen(Decimal(yuan)) == fen


def test_formatting() -> None:
    assert fmt(Decimal("1234.5")) == "1234.50"
    assert fmt(Decimal("0.125")) == "0.13"
    assert fmt_cn(Decimal("2158640")) == "2,158,640.00 元"
    assert fmt_cn(Decimal("96")) == "96.00 元"
