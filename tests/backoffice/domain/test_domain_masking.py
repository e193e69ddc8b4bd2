"""Masking catches personal numbers however people write them (spaces, dashes, full-width
digits and Ｘ) and leaves ordinary numbers (amounts, dates, times, our own numbers) alone."""

from __future__ import annotations

from datetime import date

import pytest

from backoffice.domain.identity import make_id_number
from backoffice.domain.masking import mask_text

ID = "440514195811271307"  # a real-form ID number (area, birth date, check character)
ID_X = next(make_id_number("440514", date(1962, 3, 8), s) for s in range(1, 999)
            if make_id_number("440514", date(1962, 3, 8), s).endswith("X"))
FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def spaced(value: str, groups: tuple[int, ...], sep: str = " ") -> str:
    out, at = [], 0
    for size in groups:
        out.append(value[at:at + size])
        at += size
    return sep.join(out)


# (as written, what must not survive: the hidden middle, written as in the text)
HIDDEN = [
    ("4405 1419 5811 2713 07", ["1419", "5811", "2713"]),
    ("440514-19581127-1307", ["19581127"]),
    ("440514 19581127 1307", ["19581127"]),
    ("440514　19581127　1307", ["19581127"]),  # ideographic spaces
    ("４４０５１４１９５８１１２７１３０７", ["１９５８１１２７"]),
    (spaced(ID_X, (6, 8, 4), "-"), [ID_X[6:14]]),
    (ID_X[:-1] + "Ｘ", [ID_X[6:14]]),
    (spaced(ID_X, (4, 4, 4, 4, 2)).translate(FULL), [ID_X[6:10].translate(FULL)]),
    (spaced(ID_X.lower(), (6, 8, 4)), [ID_X[6:14]]),
    ("１５１５１７４２９３８", ["５１７４"]),
    ("151-5174-2938", ["5174"]),
    ("151 5174 2938", ["5174"]),
    ("+86 151 5174 2938", ["5174"]),
    ("１５１－５１７４－２９３８", ["５１７４"]),
    ("6222 0212 3456 7890 123", ["0212", "3456", "7890"]),
    ("6222-0212-3456-7890", ["0212", "3456"]),
    ("6222　0212　3456　7890", ["0212", "3456"]),
    ("６２２２０２１２３４５６７８９０１２３", ["０２１２３４５６"]),
    ("4367 4212 3456 7890", ["4212", "3456"]),
    # other separators people type: dots, slashes, underscores, tabs, spaced dashes, brackets
    ("440514/19581127/1307", ["19581127"]),
    ("440514.19581127.1307", ["19581127"]),
    ("151.5174.2938", ["5174"]),
    ("151_5174_2938", ["5174"]),
    ("151\t5174\t2938", ["5174"]),
    ("151 - 5174 - 2938", ["5174"]),
    ("(151)51742938", ["5174"]),
    ("（151）5174 2938", ["5174"]),
    ("151\u200b5174\u200b2938", ["5174"]),
    ("6222.0212.3456.7890.123", ["0212", "3456", "7890"]),
    ("6222/0212/3456/7890", ["0212", "3456"]),
]


@pytest.mark.parametrize(("written", "secrets"), HIDDEN, ids=[w for w, _ in HIDDEN])
@pytest.mark.parametrize("around", ["{}", "身份证{}，", "电话：{}。", "卡号{}扣款", "(x) {} ok"])
def test_numbers_written_in_groups_are_masked(written: str, secrets: list[str],
                                             around: str) -> None:
    masked = mask_text(around.format(written))
    for secret in secrets:
        assert secret not in masked, masked
    assert len(masked) == len(around.format(written))  # masked in place, nothing shifted
    assert masked.startswith(around.split("{}")[0])


def test_the_kept_ends_are_shown_as_written() -> None:
    assert mask_text("4405 1419 5811 2713 07") == "4405 14** **** **13 07"
    assert mask_text("440514-19581127-1307") == "440514-********-1307"
    assert mask_text("身份证：１５１５１７４２９３８") == "身份证：１５１****２９３８"
    assert mask_text("6222 0212 3456 7890 123") == "**** **** **** ***0 123"


VISIBLE = [
    "金额 1,234.50 元", "2158640.00 元", "共 215,864 人", "共 215 864 人", "金额 12 345 678.00",
    "2026-11-22", "2026-11-22 10:15:00", "2026-11-22T10:15:00+08:00", "2026-11-22 2026-11-23",
    "2026 年 11 月 22 日", "２０２６年１１月２２日", "10:15-11:30", "11:30 - 12:30",
    "R202612345678", "R2026 1234 5678", "P202600000001", "G202600000001234567",
    "BQ2026000001", "C2026000123", "保单号 P2026-0000-0001", "客服 400-820-8820",
    "95511", "1380013", "第 2026 1234 5678 号", "20261122 20261123", "邮编 515100",
    "身份证后四位 1307", "卡尾号 0123", "1 2 3 4 5 6 7 8 9 10", "住院 15 天，2026-05-20 入院",
    "440514-19581127-1308",  # not a real ID number: its check character is wrong
    "１２３４．５０元", "v1.2.3-2026-11", "2026-1122-1015-3300",
    "2026.11.22", "2026/11/22 10:15", "IP 192.168.100.200", "版本 1.2.3.4567", "1.5 天",
    "第 1/2 页", "金额 1234.50", "2026.11.22-2026.11.30",
]


@pytest.mark.parametrize("text", VISIBLE)
def test_ordinary_numbers_stay_visible(text: str) -> None:
    assert mask_text(text) == text


def test_a_line_with_everything() -> None:
    line = (f"理赔 R202612345678 于 2026-11-22 10:15:00 报案，金额 1,234.50 元；"
            f"身份证 {spaced(ID, (6, 8, 4), '-')}，电话 151 5174 2938，"
            f"卡 6222 0212 3456 7890 123，住院 15 天")
    masked = mask_text(line)
    for kept in ("R202612345678", "2026-11-22 10:15:00", "1,234.50", "住院 15 天"):
        assert kept in masked
    for gone in ("19581127", "5174", "0212 3456"):
        assert gone not in masked
