"""Money: exact decimals in yuan at the edges, integer fen in storage. Never float."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from backoffice.domain.errors import ValidationError

FEN = Decimal("0.01")
MAX_AMOUNT = 10**12  # yuan; an amount from outside is less


def round_yuan(amount: Decimal) -> Decimal:
    """Round to the fen, half up, as premium and benefit notices do."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def to_fen(amount: Decimal) -> int:
    return int(round_yuan(amount) * 100)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)


def fmt(amount: Decimal) -> str:
    """Decimal string for the API: '1234.50'."""
    return f"{round_yuan(amount):.2f}"


def fmt_cn(amount: Decimal) -> str:
    """For people: '1,234.50 元'."""
    return f"{round_yuan(amount):,.2f} 元"


_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


def parse_amount(raw: object, field: str, *, allow_zero: bool = True) -> Decimal:
    """An amount from outside: a decimal string or an integer, never a float or negative."""
    if isinstance(raw, bool) or raw is None or isinstance(raw, float):
        raise ValidationError(field, "金额须为十进制字符串，如 \"1234.50\"")
    # an int is bounded before str(), which raises on more than 4,300 digits
    if isinstance(raw, int) and not -MAX_AMOUNT < raw < MAX_AMOUNT:
        raise ValidationError(field, "金额过大" if raw > 0 else "金额不能为负数")
    text = str(raw).strip()
    # text from outside is plain decimal digits: Decimal also reads "４", "1e3", "1_000"
    if not text.isascii() or (isinstance(raw, str) and not _DECIMAL.fullmatch(text)):
        raise ValidationError(field, "金额须为十进制字符串，如 \"1234.50\"")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationError(field, f"金额 {raw!r} 不是数字") from None
    if not amount.is_finite():
        raise ValidationError(field, "金额不是有限数")
    if amount < 0:
        raise ValidationError(field, "金额不能为负数")
    if amount == 0 and not allow_zero:
        raise ValidationError(field, "金额必须大于零")
    if amount >= MAX_AMOUNT:  # before quantize, which overflows on huge exponents
        raise ValidationError(field, "金额过大")
    if amount != amount.quantize(FEN, rounding=ROUND_HALF_UP):
        raise ValidationError(field, "金额最多两位小数（分）")
    return amount.quantize(FEN)
