"""Fast track: the first rule that sends a claim to people wins; otherwise F1 decides alone."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from backoffice.domain.fast_track import FAST, MANUAL, TrackFacts, decide_track

SIMPLE = TrackFacts(
    claim_type="hospital_allowance", payable=Decimal("300.00"), excluded=False,
    documents_complete=True, fields_need_review=False, late_report=False, reopened=False,
    special_case=False, injury_shown=True, hospital_level_shown=True,
)


def test_a_simple_small_allowance_claim_goes_fast_with_rule_f1() -> None:
    decision = decide_track(SIMPLE)
    assert decision.track == FAST
    assert decision.rule == ("F1 住院津贴 300.00 元 不超过 5,000.00 元，材料齐全一致、按时报案，"
                             "系统自动理算并审批")


@pytest.mark.parametrize(("change", "rule"), [
    ({"documents_complete": False}, "M1 材料尚未齐全，须人工跟进"),
    ({"claim_type": "death"}, "M2 death 类案件须人工审核（快速通道仅限住院津贴）"),
    ({"claim_type": "transport_death"},
     "M2 transport_death 类案件须人工审核（快速通道仅限住院津贴）"),
    ({"claim_type": "medical"}, "M2 medical 类案件须人工审核（快速通道仅限住院津贴）"),
    ({"special_case": True}, "M3 重大或特殊案件须人工处理"),
    ({"reopened": True}, "M4 重开案件须人工复核"),
    ({"late_report": True}, "M5 报案时间较出险时间明显延迟（保险法第21条），须人工核实"),
    ({"fields_need_review": True}, "M6 单证识别结果有待人工复核或与案件信息不一致"),
    ({"facts_by_staff": True}, "M11 理算事实由工作人员录入，须由另一名理赔人员审核（双人复核）"),
    ({"payable": None}, "M7 缺少理算所需信息（如入院、出院日期）"),
    ({"excluded": True}, "M8 可能涉及责任免除，须人工审核"),
    ({"payable": Decimal("0.00")}, "M9 理算金额为零，须人工确认"),
    ({"payable": Decimal("-1.00")}, "M9 理算金额为零，须人工确认"),
    ({"payable": Decimal("5000.01")}, "M10 理算金额超过 5,000.00 元，超出快速通道权限"),
    ({"payable": Decimal("12345.67")}, "M10 理算金额超过 5,000.00 元，超出快速通道权限"),
    ({"injury_shown": False},
     "M13 出院诊断未显示意外损伤（未识别到诊断或诊断含疾病），须人工核实住院原因"),
    ({"hospital_level_shown": False}, "M14 住院医院等级未知或低于二级，须人工核实"),
])
def test_each_manual_rule_alone(change: dict[str, object], rule: str) -> None:
    decision = decide_track(replace(SIMPLE, **change))  # type: ignore[arg-type]
    assert decision.track == MANUAL
    assert decision.rule == rule


def test_the_rules_apply_in_order() -> None:
    """Everything wrong at once, then put right one thing at a time: the next rule shows."""
    facts = TrackFacts(claim_type="death", payable=None, excluded=True, documents_complete=False,
                       fields_need_review=True, late_report=True, reopened=True,
                       special_case=True)
    steps: list[tuple[dict[str, object], str]] = [
        ({}, "M1"),
        ({"documents_complete": True}, "M2"),
        ({"claim_type": "hospital_allowance"}, "M3"),
        ({"special_case": False}, "M4"),
        ({"reopened": False}, "M5"),
        ({"late_report": False}, "M6"),
        ({"fields_need_review": False}, "M7"),
        ({"payable": Decimal("0.00")}, "M8"),
        ({"excluded": False}, "M9"),
        ({"payable": Decimal("5000.01")}, "M10"),
        ({"payable": Decimal("5000.00")}, "M13"),
        ({"injury_shown": True}, "M14"),
        ({"hospital_level_shown": True}, "F1"),
    ]
    for change, number in steps:
        facts = replace(facts, **change)  # type: ignore[arg-type]
        decision = decide_track(facts)
        assert decision.rule.split(" ")[0] == number, (change, decision.rule)
        assert decision.track == (FAST if number == "F1" else MANUAL)


def test_the_limit_includes_5000_itself() -> None:
    """The tender's "5000元以下" includes 5,000 (rules.md: ≤ 5,000), as the payment clock."""
    above = decide_track(replace(SIMPLE, payable=Decimal("5000.01")))
    at_limit = decide_track(replace(SIMPLE, payable=Decimal("5000.00")))
    assert (above.track, at_limit.track) == (MANUAL, FAST)
    assert at_limit.rule.startswith("F1 住院津贴 5,000.00 元 不超过 5,000.00 元")
    assert decide_track(replace(SIMPLE, payable=Decimal("0.01"))).track == FAST


def test_an_excluded_claim_over_the_limit_names_the_exclusion_first() -> None:
    decision = decide_track(replace(SIMPLE, excluded=True, payable=Decimal("6000.00")))
    assert decision.rule.startswith("M8 ")
