"""Checks of what was read: pure functions, no I/O.

ID numbers (GB 11643-1999 check character, the birth date and gender they encode), bank card
numbers (Luhn, issuer from the BIN), amounts in words (大写) against figures, dates in the
shapes Chinese documents print, Chinese numerals.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

import cn_identity

# what the recogniser reads for 0, 1 and X in an ID number (full-width forms and a lower-case
# x are cn_identity's to fold)
_ID_LOOK_ALIKES = {"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "×": "X"}


# ---- identity numbers ------------------------------------------------------------------------

def id_check_char(first17: str) -> str:
    return cn_identity.check_char(first17)


def id_problems(value: str, birth_date: str | None = None, gender: str | None = None
                ) -> list[str]:
    """What is wrong with an ID number and its agreement with a birth date and gender (男/女)."""
    if not cn_identity.is_well_formed(value or ""):
        return ["身份证号应为18位"]
    problems = []
    born = id_birth_date(value)
    if born is None:
        problems.append("身份证号中的出生日期无效")
    if id_check_char(value[:17]) != value[17]:
        problems.append("身份证号校验码不正确")
    if birth_date and born and birth_date != born:
        problems.append("出生日期与身份证号不一致")
    if gender and gender in ("男", "女") and gender != id_gender(value):
        problems.append("性别与身份证号不一致")
    return problems


def id_birth_date(value: str) -> str | None:
    born = cn_identity.birth_date_of(value)
    return born.isoformat() if born else None


def id_gender(value: str) -> str:
    return "男" if cn_identity.gender_of(value) == "male" else "女"


def repair_id_number(raw: str) -> str | None:
    """An ID number out of OCR text: O/o/D read for 0, l/I for 1, x or × for X, spaces."""
    return cn_identity.find_in_text(raw, _ID_LOOK_ALIKES)


# ---- bank cards ------------------------------------------------------------------------------

def luhn_ok(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# Issuer identification numbers (first six digits) of the big Chinese issuers' debit and credit
# cards. A small table: the printed name decides when the BIN is not in it.
BINS: dict[str, str] = {
    "622202": "中国工商银行", "622208": "中国工商银行", "621226": "中国工商银行",
    "621225": "中国工商银行", "955880": "中国工商银行", "427018": "中国工商银行",
    "622700": "中国建设银行", "621700": "中国建设银行", "436742": "中国建设银行",
    "622280": "中国建设银行", "621284": "中国建设银行",
    "622848": "中国农业银行", "622845": "中国农业银行", "103000": "中国农业银行",
    "621282": "中国农业银行",
    "621661": "中国银行", "621660": "中国银行", "456351": "中国银行", "601382": "中国银行",
    "622260": "交通银行", "622262": "交通银行", "601428": "交通银行",
    "621799": "中国邮政储蓄银行", "622188": "中国邮政储蓄银行", "621098": "中国邮政储蓄银行",
    "622588": "招商银行", "621483": "招商银行", "410062": "招商银行", "622609": "招商银行",
    "622908": "兴业银行", "622909": "兴业银行",
    "622150": "中国邮政储蓄银行", "621288": "中国邮政储蓄银行",
    "622620": "中国民生银行", "622617": "中国民生银行", "415599": "中国民生银行",
    "622690": "中信银行", "622696": "中信银行", "433670": "中信银行",
    "622155": "平安银行", "622156": "平安银行", "623058": "平安银行",
    "622521": "浦发银行", "622522": "浦发银行", "621792": "浦发银行",
    "622630": "华夏银行", "622632": "华夏银行",
    "622568": "广发银行", "622558": "广发银行",
    "622666": "中国光大银行", "622660": "中国光大银行", "621488": "中国光大银行",
    "623595": "广东农村信用社", "621458": "广东农村信用社",
}

BANK_NAMES: tuple[str, ...] = tuple(sorted(set(BINS.values()), key=len, reverse=True))


def bank_of(card_number: str) -> str | None:
    return BINS.get(card_number[:6])


# ---- amounts in words (大写) -------------------------------------------------------------------

_DIGITS = {"零": 0, "〇": 0, "壹": 1, "贰": 2, "貳": 2, "叁": 3, "參": 3, "肆": 4, "伍": 5,
           "陆": 6, "陸": 6, "柒": 7, "捌": 8, "玖": 9}
_UNITS = {"拾": 10, "佰": 100, "仟": 1000}
_BIG = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}


def words_to_amount(words: str) -> Decimal | None:
    """壹仟贰佰叁拾肆元伍角整 → 1234.50; None when it is not an amount in words."""
    text = re.sub(r"[\s人民币（）()¥￥:：]", "", words).replace("圆", "元").replace("正", "整")
    if not text:
        return None
    yuan_part, _, rest = text.partition("元")
    if not rest and "元" not in text:
        if not re.search(r"[角分]", text):
            return None
        yuan_part, rest = "", text
    integer = _words_integer(yuan_part) if yuan_part else 0
    if integer is None:
        return None
    jiao = re.search(r"([零壹贰貳叁參肆伍陆陸柒捌玖])角", rest)
    fen = re.search(r"([零壹贰貳叁參肆伍陆陸柒捌玖])分", rest)
    leftover = re.sub(r"[零壹贰貳叁參肆伍陆陸柒捌玖][角分]|整|零", "", rest)
    if leftover:
        return None
    cents = (_DIGITS[jiao.group(1)] * 10 if jiao else 0) + (_DIGITS[fen.group(1)] if fen else 0)
    return Decimal(integer) + Decimal(cents) / 100


def _words_integer(text: str) -> int | None:
    total, section, digit = 0, 0, 0
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            section += (digit or 1) * _UNITS[ch]
            digit = 0
        elif ch in _BIG:
            total = (total + section + digit) * _BIG[ch] if _BIG[ch] > 10_000 else \
                total + (section + digit) * _BIG[ch]
            section = digit = 0
        else:
            return None
    return total + section + digit


def amount_to_words(amount: Decimal) -> str:
    """1234.50 → 壹仟贰佰叁拾肆元伍角整 (the way invoices print it)."""
    digits = "零壹贰叁肆伍陆柒捌玖"
    fen_total = int((amount * 100).quantize(Decimal(1)))
    yuan, cents = divmod(fen_total, 100)
    out = _int_words(yuan, digits) + "元" if yuan else ""
    jiao, fen = divmod(cents, 10)
    if jiao:
        out += digits[jiao] + "角"
    elif fen and yuan:
        out += "零"
    if fen:
        out += digits[fen] + "分"
    else:
        out += "整"
    return out or "零元整"


def _int_words(n: int, digits: str) -> str:
    units = ["", "拾", "佰", "仟"]
    sections = ["", "万", "亿"]
    out, zero_pending, idx = "", False, 0
    while n:
        n, section = divmod(n, 10_000)
        part, zero = "", False
        for i in range(4):
            section, d = divmod(section, 10)
            if d:
                part = digits[d] + units[i] + ("零" if zero and part else "") + part
                zero = False
            else:
                zero = True
        if part:
            out = part + sections[idx] + ("零" if zero_pending and out else "") + out
        zero_pending = zero or not part
        idx += 1
    return out


def parse_amount(text: str) -> Decimal | None:
    cleaned = re.sub(r"[,，¥￥\s元]", "", text)
    found = re.search(r"\d+(?:\.\d{1,2})?", cleaned)
    if not found:
        return None
    try:
        return Decimal(found.group(0)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


# ---- dates and numerals ----------------------------------------------------------------------

_DATE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*(?:年|[-./])\s*(?P<m>\d{1,2})\s*(?:月|[-./])\s*(?P<d>\d{1,2})"
    # two-digit month and day with a separator lost: 20240520, 202405-20, 2024-0520
    r"|(?P<cy>(?:19|20)\d{2})[-./]?(?P<cm>[01]\d)[-./]?(?P<cd>[0-3]\d)"
)


def find_date(text: str) -> tuple[str, int, int] | None:
    """The first date in text as YYYY-MM-DD, with where it starts and ends."""
    for m in _DATE.finditer(text.replace(" ", "")):
        y, mo, d = (m.group("y"), m.group("m"), m.group("d")) if m.group("y") else \
            (m.group("cy"), m.group("cm"), m.group("cd"))
        try:
            return date(int(y), int(mo), int(d)).isoformat(), m.start(), m.end()
        except ValueError:
            continue
    return None


def normalise_date(text: str) -> str | None:
    found = find_date(text)
    return found[0] if found else None


def days_between(start: str, end: str) -> int:
    """Days in hospital as Chinese hospitals count them: discharge minus admission, at least 1."""
    return max((date.fromisoformat(end) - date.fromisoformat(start)).days, 1)


# the 56 ethnic groups as the ID card prints them (without 族)
ETHNIC_GROUPS = frozenset(
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 "
    "佤 畲 高山 拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 "
    "锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 "
    "鄂伦春 赫哲 门巴 珞巴 基诺".split())
# rare characters of those names and what the recogniser reads instead
ETHNIC_LOOK_ALIKES = {"佘": "畲", "畬": "畲", "鑫": "畲", "余": "畲", "低": "佤"}


def ethnic_group(raw: str) -> tuple[str, bool]:
    """(the ethnic group, whether it is one of the 56); look-alikes of rare names mapped."""
    name = raw.removesuffix("族")
    if name in ETHNIC_GROUPS:
        return name, True
    fixed = "".join(ETHNIC_LOOK_ALIKES.get(ch, ch) for ch in name)
    return (fixed, True) if fixed in ETHNIC_GROUPS else (name, False)


_CN_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
                "九": 9, "十": 10, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6,
                "柒": 7, "捌": 8, "玖": 9, "拾": 10}


def cn_level(text: str) -> int | None:
    """伤残等级: 十级 / 10级 / 拾级 → 10; 一级 → 1."""
    m = re.search(r"(\d{1,2}|[一二三四五六七八九十壹贰叁肆伍陆柒捌玖拾]{1,2})\s*级", text)
    if not m:
        return None
    raw = m.group(1)
    if raw.isdigit():
        value = int(raw)
    elif len(raw) == 2 and raw[0] in "十拾":
        value = 10 + _CN_NUMERALS.get(raw[1], 0)
    else:
        value = _CN_NUMERALS.get(raw[0], 0)
    return value if 1 <= value <= 10 else None
