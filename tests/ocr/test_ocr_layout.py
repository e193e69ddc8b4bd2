"""Pairing labels with values by position, with the recogniser's look-alikes in the labels.

Lines are given as the engine answers them (text, confidence, box), so that each layout rule
is shown on its own."""

from __future__ import annotations

from ocr.engine import Line
from ocr.extractors import extract_discharge, extract_id_card
from ocr.layout import Labels, Value, find_values, first_value


def line(text: str, x0: float, y0: float, width: float | None = None,
         height: float = 30, score: float = 0.99) -> Line:
    return Line(text, score, x0, y0, x0 + (width or 30 * len(text)), y0 + height)


def text_of(values: dict[str, list[Value]], key: str) -> str:
    found = first_value(values, key)
    assert found is not None, key
    return found.text


LABELS = Labels({"name": ["姓名"], "admission": ["入院日期"], "discharge": ["出院日期"],
                 "address": ["住址"]}, stops=["性别", "住院号"])


def test_merged_cells_split_at_the_next_label() -> None:
    values = find_values([line("姓名：张三住院号：123456", 0, 0)], LABELS)
    assert text_of(values, "name") == "张三"


def test_look_alikes_in_labels() -> None:
    lines = [line("姓各 李四", 0, 0), line("往址：汕头市潮南区", 0, 50),
             line("出院日朗：2024年3月15日", 0, 100)]
    values = find_values(lines, LABELS)
    assert text_of(values, "name") == "李四"
    assert text_of(values, "address") == "汕头市潮南区"
    assert text_of(values, "discharge") == "2024年3月15日"


def test_one_wrong_character_in_a_long_label_but_not_another_label() -> None:
    lines = [line("入院日斯2024-03-05", 0, 0), line("出院日期2024-03-15", 0, 50)]
    values = find_values(lines, LABELS)
    assert text_of(values, "admission") == "2024-03-05"
    assert text_of(values, "discharge") == "2024-03-15"
    # 入院日期 is itself a label: it never counts as a misread 出院日期
    assert [v.text for v in values["discharge"]] == ["2024-03-15"]


def test_value_in_the_cell_to_the_right_or_below() -> None:
    right = [line("姓名", 0, 0), line("王五", 200, 2)]
    assert text_of(find_values(right, LABELS), "name") == "王五"
    below = [line("住址", 0, 0), line("汕头市龙湖区", 0, 40)]
    assert text_of(find_values(below, LABELS), "address") == "汕头市龙湖区"


def test_a_label_inside_a_sentence_yields_to_a_label_cell() -> None:
    lines = [line("患者姓名不详时由家属填写", 0, 0), line("姓名：赵六", 0, 50)]
    assert text_of(find_values(lines, LABELS), "name") == "赵六"


def test_id_card_address_on_two_lines_and_fields_from_the_number() -> None:
    lines = [line("姓名", 0, 0), line("周七", 120, 0), line("民族汉", 300, 50),
             line("住址", 0, 150), line("广东省汕头市潮南区峡山街道", 120, 150),
             line("和平路12号", 120, 185), line("公民身份号码", 0, 300),
             line("11010519491231002X", 250, 300)]
    ex = extract_id_card(lines)
    fields = {n: f["value"] for n, f in ex.fields.items()}
    assert fields == {"name": "周七", "gender": "女", "ethnicity": "汉",
                      "birth_date": "1949-12-31", "address": "广东省汕头市潮南区峡山街道和平路12号",
                      "id_number": "11010519491231002X"}
    # gender and birth date not printed: taken from the valid number, a little less sure
    assert ex.fields["birth_date"]["confidence"] < ex.fields["id_number"]["confidence"]


def test_discharge_before_admission_is_refused() -> None:
    ex = extract_discharge([line("某某医院", 0, 0), line("出院记录", 0, 40),
                            line("入院日期：2024-03-15", 0, 100),
                            line("出院日期：2024-03-05", 0, 150)])
    assert ex.fields["hospital_days"] == {"value": None, "confidence": 0.0}
    assert "出院日期早于入院日期" in ex.warnings
