"""ID and phone numbers however they are typed or spoken (actions/spoken.py is pure)."""

from __future__ import annotations

import pytest

from actions.spoken import digits_of, id_number_in, mask_spoken, phone_in

ID = "440514195811271307"  # a real one: checksum 7
ID_X = "11010519491231002X"


@pytest.mark.parametrize(("said", "expected"), [
    (ID, ID),
    ("4405 1419 5811 2713 07", ID),
    ("440514-19581127-1307", ID),
    ("４４０５１４１９５８１１２７１３０７", ID),
    ("四四零五一四一九五八一一二七一三零七", ID),
    ("四四洞五幺四幺九五八幺幺两拐幺三洞拐", ID),
    ("四四〇五 一四一九 五八一一 二七一三 〇七", ID),
    ("4405一四1958一一27一三07", ID),
    ("身份证号是：440514195811271307，谢谢", ID),
    ("她的身份证四四零五，一四一九，五八一一，二七一三，零七", ID),
    ("11010519491231002x", ID_X),
    ("11010519491231002Ｘ", ID_X),
    ("一一零一零五一九四九一二三一零零二叉", ID_X),
    ("110105 19491231 002 X", ID_X),
])
def test_id_numbers_as_said(said: str, expected: str) -> None:
    assert id_number_in(said) == expected


@pytest.mark.parametrize("said", [
    "",
    "不知道",
    "44051419581127130",  # 17 digits
    "4405141958112713077",  # 19 digits
    "四四零五一四一九五八一一二七一三零",  # 17 spoken
    "040514195811271307",  # no area code starts with 0
    "44051419581127130Y",
    "4405141958😀11271307",
    "ID: abcdefghijklmnopqr",
    "4" * 500,
])
def test_no_id_number(said: str) -> None:
    assert id_number_in(said) is None


@pytest.mark.parametrize(("said", "expected"), [
    ("13922334455", "13922334455"),
    ("139 2233 4455", "13922334455"),
    ("139-2233-4455", "13922334455"),
    ("１３９２２３３４４５５", "13922334455"),
    ("幺三九二二三三四四五五", "13922334455"),
    ("一三九两两三三四四五五", "13922334455"),
    ("幺三八洞洞洞洞拐拐拐拐", "13800007777"),
    ("一三九，二二三三，四四五五", "13922334455"),
    ("+86 139 2233 4455", "13922334455"),
    ("+86-13922334455", "13922334455"),
    ("008613922334455", "13922334455"),
    ("8613922334455", "13922334455"),
    ("说错了，电话是幺三九二二三三四四五五", "13922334455"),
    ("我妈七十一了，13922334455", "13922334455"),  # a number before it is not joined
    ("电话13922334455，身份证440514195811271307", "13922334455"),
])
def test_phones_as_said(said: str, expected: str) -> None:
    assert phone_in(said) == expected


@pytest.mark.parametrize("said", [
    "",
    "1392233445",  # 10 digits
    "139223344556",  # 12 digits
    "12922334455",  # no mobile starts 12
    "02988776655",  # a landline
    ID,  # an ID number holds no phone
    "+1 415 555 0100",
    "幺三九二二三三四四五五五",
    "abc13922334455def6",
])
def test_no_phone(said: str) -> None:
    if said == "abc13922334455def6":  # letters around a number do not hide it
        assert phone_in(said) == "13922334455"
        return
    assert phone_in(said) is None


def test_other_words_are_left_for_the_search_only() -> None:
    assert digits_of("一三九 二二三三") == "1392233"
    assert digits_of("七十一，139") == "7十1，139"
    assert digits_of("七十一，139", loose=True) == "7十1139"


def _mask_id(value: str) -> str:
    return value[:6] + "*" * 8 + value[-4:]


def _mask_phone(value: str) -> str:
    return value[:3] + "****" + value[-4:]


@pytest.mark.parametrize(("text", "expected"), [
    ("电话幺三九 二二三三 四四五五，谢谢", "电话139****4455，谢谢"),
    ("身份证四四零五一四一九五八一一二七一三零七", "身份证440514********1307"),
    ("4405 1419 5811 2713 07号", "440514********1307号"),
    ("+86 139-2233-4455", "139****4455"),
    ("１３９２２３３４４５５", "139****4455"),
    # nothing personal: left as said
    ("她七十一岁，2026年10月3日摔倒", "她七十一岁，2026年10月3日摔倒"),
    ("一一一一一一一一一一一一", "一一一一一一一一一一一一"),
    ("医疗费一万二千三百元", "医疗费一万二千三百元"),
    ("报案号R202600000123", "报案号R202600000123"),
    ("", ""),
])
def test_spoken_numbers_are_masked_in_place(text: str, expected: str) -> None:
    assert mask_spoken(text, _mask_id, _mask_phone) == expected


@pytest.mark.parametrize(("said", "expected"), [
    # as a telephony platform's speech recognition delivers them (issue 16, item 8)
    ("四四零五一五一九四八零三一二零零二三", "440515194803120023"),
    ("四四零五一五 一九四八零三一二 零零二三", "440515194803120023"),
    ("幺三八 一二三四 五六七八", "13812345678"),
    ("1 3 8-1234-5678", "13812345678"),
    ("幺三八一二三四五六七八", "13812345678"),
])
def test_numbers_as_speech_recognition_writes_them(said: str, expected: str) -> None:
    found = id_number_in(said) if len(expected) == 18 else phone_in(said)
    assert found == expected
