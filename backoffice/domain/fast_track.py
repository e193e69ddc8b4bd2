"""Fast track (快速理赔通道): which claims the system may decide alone, and why.

A simple, clear, small claim — a hospital allowance of 5,000 元 or less (the tender's
"5000元以下", which includes 5,000 itself, as the payment clock counts it) with complete,
consistent documents, reported on time, for a stay the diagnosis shows was caused by an
injury, in a hospital known to be of level 2 or above — is adjudicated and approved by the
system. Everything else queues for people. The decision always carries the rule that made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from backoffice.domain.money import fmt_cn

FAST = "fast"
MANUAL = "manual"
FAST_TRACK_LIMIT = Decimal("5000.00")
FAST_TRACK_TYPES = ("hospital_allowance",)


@dataclass(frozen=True, slots=True)
class TrackDecision:
    track: str
    rule: str


@dataclass(frozen=True, slots=True)
class TrackFacts:
    claim_type: str
    payable: Decimal | None
    excluded: bool
    documents_complete: bool
    fields_need_review: bool
    late_report: bool
    reopened: bool
    special_case: bool
    # facts a staff member typed: a person shaped the decision, so another person decides
    facts_by_staff: bool = False
    flags: tuple[str, ...] = ()  # open integrity flags (backoffice.domain.integrity)
    # an allowance is paid only for an accident's stay in a hospital of 二级 or above: the
    # diagnosis must read as an injury (integrity.read_diagnosis) and the hospital's level be
    # known to be high enough; what is not known goes to people, it is not assumed
    injury_shown: bool = False
    hospital_level_shown: bool = False


def decide_track(f: TrackFacts) -> TrackDecision:
    """The first rule that sends a claim to people wins; otherwise the fast track."""
    manual = [
        (not f.documents_complete, "M1 材料尚未齐全，须人工跟进"),
        (f.claim_type not in FAST_TRACK_TYPES,
         f"M2 {f.claim_type} 类案件须人工审核（快速通道仅限住院津贴）"),
        (f.special_case, "M3 重大或特殊案件须人工处理"),
        (f.reopened, "M4 重开案件须人工复核"),
        (f.late_report, "M5 报案时间较出险时间明显延迟（保险法第21条），须人工核实"),
        (f.fields_need_review, "M6 单证识别结果有待人工复核或与案件信息不一致"),
        (f.facts_by_staff, "M11 理算事实由工作人员录入，须由另一名理赔人员审核（双人复核）"),
        (f.payable is None, "M7 缺少理算所需信息（如入院、出院日期）"),
        (f.excluded, "M8 可能涉及责任免除，须人工审核"),
        (f.payable is not None and f.payable <= 0, "M9 理算金额为零，须人工确认"),
        (f.payable is not None and f.payable > FAST_TRACK_LIMIT,
         f"M10 理算金额超过 {fmt_cn(FAST_TRACK_LIMIT)}，超出快速通道权限"),
        # last: a more specific rule above names the reason better when both apply
        (bool(f.flags), f"M12 风险核查标记（{'、'.join(f.flags)}），须人工审核"),
        (not f.injury_shown, "M13 出院诊断未显示意外损伤（未识别到诊断或诊断含疾病），"
                             "须人工核实住院原因"),
        (not f.hospital_level_shown, "M14 住院医院等级未知或低于二级，须人工核实"),
    ]
    for applies, rule in manual:
        if applies:
            return TrackDecision(MANUAL, rule)
    assert f.payable is not None
    return TrackDecision(
        FAST,
        f"F1 住院津贴 {fmt_cn(f.payable)} 不超过 {fmt_cn(FAST_TRACK_LIMIT)}，材料齐全一致、"
        "按时报案，系统自动理算并审批",
    )
