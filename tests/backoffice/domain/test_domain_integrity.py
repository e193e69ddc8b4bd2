"""Claims integrity: each leak planted in the facts raises its flag; clean claims raise none."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from backoffice.domain.integrity import (
    CODES,
    DocumentFact,
    IntegrityFacts,
    OtherClaim,
    Stay,
    check,
    hospital_level,
    overlapping_days,
    read_diagnosis,
)

D = date.fromisoformat
STAY = Stay(D("2026-03-02"), D("2026-03-12"))
BASE = IntegrityFacts(
    claim_no="CL-NEW", claim_type="hospital_allowance", incident_date=D("2026-03-01"),
    reported_on=D("2026-03-03"), insured_name="陈阿婆", reporter_name="林小明", stay=STAY,
    diagnosis="右桡骨远端骨折", hospital="汕头市潮南区人民医院",
    documents=(DocumentFact("CL-NEW", "medical_invoice", "a" * 64, ("44000123", "0012345"),
                            "陈阿婆"),),
    max_allowance_days_per_year=180,
)


def other(no: str = "CL-OLD", **kw: object) -> OtherClaim:
    base = {"status": "paid", "claim_type": "hospital_allowance",
            "incident_date": D("2025-06-01"), "stay": None, "amount": Decimal("300.00")}
    return OtherClaim(no, **{**base, **kw})  # type: ignore[arg-type]


def codes(facts: IntegrityFacts) -> list[str]:
    return [f.code for f in check(facts)]


# ---- clean claims of every type ----------------------------------------------------------------

CLEAN = {
    "hospital_allowance": BASE,
    "medical": replace(BASE, claim_type="medical", diagnosis="左股骨颈骨折"),
    "disability": replace(BASE, claim_type="disability", stay=None, diagnosis="头皮挫裂伤"),
    "death": replace(BASE, claim_type="death", stay=None, diagnosis=None,
                     death_date=D("2026-03-05")),
    "transport_death": replace(BASE, claim_type="transport_death", stay=None, diagnosis=None,
                               death_date=D("2026-03-01")),
}


@pytest.mark.parametrize("claim_type", list(CLEAN))
def test_a_clean_claim_of_every_type_raises_no_flag(claim_type: str) -> None:
    assert check(CLEAN[claim_type]) == ()


@pytest.mark.parametrize("claim_type", list(CLEAN))
def test_a_clean_claim_beside_earlier_unrelated_claims_raises_no_flag(claim_type: str) -> None:
    earlier = (other("CL-A", stay=Stay(D("2025-06-01"), D("2025-06-05")),
                     allowance_days_by_year={2025: 4}),
               other("CL-R", status="rejected", claim_type=claim_type,
                     incident_date=CLEAN[claim_type].incident_date, stay=STAY))
    assert check(replace(CLEAN[claim_type], other_claims=earlier)) == ()


# ---- every code, planted ----------------------------------------------------------------------

PLANTED = [
    ("duplicate_stay", replace(BASE, other_claims=(other(stay=STAY, status="registered"),))),
    ("overlapping_stay", replace(BASE, other_claims=(
        other(stay=Stay(D("2026-03-10"), D("2026-03-20")), status="adjudicated"),))),
    ("duplicate_incident", replace(CLEAN["disability"], other_claims=(
        other(claim_type="disability", incident_date=D("2026-03-01")),))),
    ("death_benefit_paid", replace(CLEAN["transport_death"], other_claims=(
        other(claim_type="death", incident_date=D("2026-03-01"), amount=Decimal("3000")),))),
    ("after_death", replace(BASE, death_date=D("2026-02-01"))),
    ("after_death", replace(BASE, other_claims=(
        other(claim_type="death", incident_date=D("2026-01-01"), death_date=D("2026-01-20")),))),
    ("allowance_cap", replace(BASE, other_claims=(
        other(stay=Stay(D("2026-01-02"), D("2026-02-28")), status="adjudicated",
              incident_date=D("2026-01-01"), allowance_days_by_year={2026: 175}),))),
    ("document_reused", replace(BASE, matching_documents=(
        DocumentFact("CL-OLD", "discharge_summary", "a" * 64),))),
    ("document_reused", replace(BASE, matching_documents=(
        DocumentFact("CL-OLD", "medical_invoice", "b" * 64, ("44000123", "0012345")),))),
    ("name_mismatch", replace(BASE, documents=(
        DocumentFact("CL-NEW", "medical_invoice", "a" * 64, None, "黄大伯"),))),
    ("not_accident", replace(BASE, diagnosis="脑梗死")),
    ("not_accident", replace(BASE, diagnosis="跌倒致右股骨颈骨折；脑梗死")),
    ("frequent", replace(CLEAN["disability"], other_claims=(
        other("CL-1", incident_date=D("2025-10-01")), other("CL-2", incident_date=D("2026-01-05")),
    ))),
    ("frequent", replace(BASE, reporter_other_insureds=(
        ("CL-X", 7), ("CL-Y", 8), ("CL-Z", 9), ("CL-W", 10)))),
    ("hospital_level", replace(BASE, hospital="汕头市潮南区陈店镇卫生院")),
    ("hospital_level", replace(BASE, hospital=None, hospital_level=1)),
]


@pytest.mark.parametrize(("code", "facts"), PLANTED, ids=[f"{c}-{i}" for i, (c, _) in
                                                           enumerate(PLANTED)])
def test_each_planted_leak_raises_exactly_its_flag(code: str, facts: IntegrityFacts) -> None:
    assert codes(facts) == [code]


def test_every_code_has_a_planted_case() -> None:
    assert {c for c, _ in PLANTED} == set(CODES)


def test_a_flag_names_the_claims_it_relates_to() -> None:
    (flag,) = check(PLANTED[0][1])
    assert flag.related == ("CL-OLD",)
    assert flag.to_api() == {"code": "duplicate_stay", "text": flag.text, "related": ["CL-OLD"]}


def test_a_withdrawn_or_rejected_claim_counts_for_nothing() -> None:
    for status in ("withdrawn", "rejected"):
        assert check(replace(BASE, other_claims=(other(stay=STAY, status=status),))) == ()


def test_the_cap_counts_claims_in_progress_settled_ones_are_the_adjudications_job() -> None:
    settled = other(stay=Stay(D("2026-01-02"), D("2026-02-28")), status="paid",
                    allowance_days_by_year={2026: 175})
    assert codes(replace(BASE, other_claims=(settled,))) == []
    assert codes(replace(BASE, other_claims=(replace(settled, status="pending_approval"),))) \
        == ["allowance_cap"]


def test_death_after_transport_death_is_flagged_too() -> None:
    facts = replace(CLEAN["death"], other_claims=(
        other(claim_type="transport_death", incident_date=D("2026-03-01"), status="approved",
              amount=Decimal("30000")),))
    assert codes(facts) == ["death_benefit_paid"]


def test_a_death_benefit_for_another_accident_is_no_flag() -> None:
    facts = replace(CLEAN["death"], other_claims=(
        other(claim_type="transport_death", incident_date=D("2026-02-01"), status="reported"),))
    assert codes(facts) == []


def test_an_incident_on_the_day_of_death_is_not_after_it() -> None:
    day = BASE.incident_date
    assert codes(replace(BASE, death_date=day, stay=Stay(day, day))) == []
    # admitted before the death, the stay ending the day of it (出院 by death)
    assert codes(replace(BASE, death_date=STAY.discharge)) == []


def test_days_in_hospital_after_the_death_are_flagged() -> None:
    """An accident before the death, but a stay claimed past it: nobody stays on dead."""
    flagged = check(replace(BASE, death_date=BASE.incident_date + timedelta(days=2)))
    assert [f.code for f in flagged] == ["after_death"]
    assert "住院期间" in flagged[0].text


def test_a_second_stay_after_the_same_accident_is_no_duplicate_incident() -> None:
    later = other(stay=Stay(D("2026-04-01"), D("2026-04-05")), incident_date=D("2026-03-01"))
    assert codes(replace(BASE, other_claims=(later,))) == []


def test_a_child_reporting_for_parents_and_parents_in_law_is_not_frequent() -> None:
    family = (("CL-X", 7), ("CL-Y", 8), ("CL-Z", 9), ("CL-Z2", 9))
    assert codes(replace(BASE, reporter_other_insureds=family)) == []


def test_several_claims_for_one_accident_are_not_frequent() -> None:
    same_day = (other("CL-1", claim_type="medical", incident_date=BASE.incident_date),
                other("CL-2", claim_type="disability", incident_date=BASE.incident_date))
    assert codes(replace(BASE, other_claims=same_day)) == []


def test_the_same_document_on_the_same_claim_is_no_reuse() -> None:
    assert codes(replace(BASE, matching_documents=(
        DocumentFact("CL-NEW", "medical_invoice", "a" * 64),))) == []


def test_names_compare_without_spaces_and_the_reporter_may_be_named() -> None:
    docs = (DocumentFact("CL-NEW", "id_card", "c" * 64, None, "林 小明"),)
    assert codes(replace(BASE, documents=docs)) == []


def test_overlapping_days_are_the_days_in_both_stays() -> None:
    days = overlapping_days(STAY, [Stay(D("2026-03-10"), D("2026-03-20"))])
    assert sorted(date.fromordinal(d) for d in days) == [D("2026-03-10"), D("2026-03-11")]


# ---- diagnoses ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("diagnosis", "verdict"), [
    ("脑梗死", "illness"),
    ("肺部感染", "illness"),
    ("高血压3级（极高危）", "illness"),
    ("2型糖尿病；冠心病", "illness"),
    ("慢性阻塞性肺疾病急性加重", "illness"),
    ("左股骨颈骨折", "injury"),
    ("右桡骨远端骨折", "injury"),
    ("头皮挫裂伤", "injury"),
    ("腰1椎体压缩性骨折", "injury"),
    ("多发肋骨骨折；肺挫伤", "injury"),
    ("跌倒致右股骨粗隆间骨折；脑梗死后遗症", "injury_with_illness"),
    ("晕厥；头皮挫裂伤", "injury_with_illness"),
    ("原因待查", "unknown"),
])
def test_realistic_diagnoses_are_read_as_injury_or_illness(diagnosis: str, verdict: str) -> None:
    assert read_diagnosis(diagnosis).verdict == verdict


def test_the_longest_term_wins() -> None:
    reading = read_diagnosis("脑梗死")
    assert reading.illnesses == (("脑梗死", "I63.9"),)


def test_an_injury_caused_by_illness_is_flagged_for_review_not_refused() -> None:
    (flag,) = check(replace(BASE, diagnosis="跌倒致右股骨颈骨折；脑梗死"))
    assert "须人工复核" in flag.text and "不予给付" not in flag.text


def test_a_diagnosis_matters_only_where_an_accident_is_the_cause() -> None:
    assert codes(replace(CLEAN["death"], diagnosis="脑梗死")) == []


# ---- hospitals ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "level"), [
    ("汕头市潮南区人民医院", 2),
    ("潮南区人民医院", 2),
    ("汕头大学医学院第一附属医院", 3),
    ("汕头市潮南区两英镇卫生院", 1),
    ("两英 镇卫生院", 1),
    ("某某医院", None),
])
def test_hospitals_are_matched_by_name_or_alias(name: str, level: int | None) -> None:
    assert hospital_level(name) == level


def test_an_unknown_hospital_is_no_flag() -> None:
    assert codes(replace(BASE, hospital="广州某某医院")) == []


def test_the_hospital_level_matters_only_for_the_allowance() -> None:
    assert codes(replace(CLEAN["medical"], hospital="陈店镇卫生院")) == []


def test_the_list_outranks_a_reported_level() -> None:
    facts = replace(BASE, hospital="两英镇卫生院", hospital_level=2)
    assert codes(facts) == ["hospital_level"]
    assert codes(replace(BASE, hospital="广州某某医院", hospital_level=1)) == ["hospital_level"]


def test_a_huge_diagnosis_is_shown_cut_short() -> None:
    (flag,) = check(replace(BASE, diagnosis="脑梗死" * 5000))
    assert len(flag.text) < 300


def test_a_flagged_claim_never_takes_the_fast_track() -> None:
    from backoffice.domain.fast_track import FAST, MANUAL, TrackFacts, decide_track

    clean = TrackFacts(claim_type="hospital_allowance", payable=Decimal("300.00"),
                       excluded=False, documents_complete=True, fields_need_review=False,
                       late_report=False, reopened=False, special_case=False,
                       injury_shown=True, hospital_level_shown=True)
    assert decide_track(clean).track == FAST
    for code in CODES:
        decision = decide_track(replace(clean, flags=(code,)))
        assert decision.track == MANUAL
        assert decision.rule == f"M12 风险核查标记（{code}），须人工审核"


# ---- found by the portfolio benchmark (bench/integrity.py): clean claims that were flagged -------

@pytest.mark.parametrize("diagnosis", [
    "右股骨颈骨折；高血压2级；2型糖尿病",
    "腰1椎体压缩性骨折；骨质疏松",
    "左桡骨远端骨折；冠心病；白内障",
])
def test_comorbidities_beside_an_injury_are_no_flag(diagnosis: str) -> None:
    assert read_diagnosis(diagnosis).verdict == "injury"
    assert codes(replace(BASE, diagnosis=diagnosis)) == []


@pytest.mark.parametrize("diagnosis", ["低血糖；右桡骨远端骨折", "癫痫发作；左肱骨外科颈骨折",
                                       "眩晕；头皮挫裂伤；高血压3级"])
def test_an_illness_that_may_have_caused_the_fall_is_still_reviewed(diagnosis: str) -> None:
    assert read_diagnosis(diagnosis).verdict == "injury_with_illness"
    (flag,) = check(replace(BASE, diagnosis=diagnosis))
    assert flag.code == "not_accident" and "可致意外的疾病（高血压" not in flag.text


@pytest.mark.parametrize("doc_type", ["claimant_id", "bank_account", "relationship_proof"])
def test_the_same_id_card_bank_card_or_household_photo_again_is_no_reuse(doc_type: str) -> None:
    # a daughter claims for her mother and, later, her father with the same photos
    mine = (*BASE.documents, DocumentFact("CL-NEW", doc_type, "d" * 64))
    theirs = (DocumentFact("CL-DAD", doc_type, "d" * 64),)
    assert codes(replace(BASE, documents=mine, matching_documents=theirs)) == []


def test_the_stays_summary_again_for_the_same_accidents_disability_is_no_reuse() -> None:
    stay = other("CL-STAY", incident_date=BASE.incident_date, stay=STAY)
    disability = replace(CLEAN["disability"], other_claims=(stay,), documents=(
        DocumentFact("CL-NEW", "medical_records", "e" * 64),), matching_documents=(
        DocumentFact("CL-STAY", "discharge_summary", "e" * 64),))
    assert codes(disability) == []
    another_accident = replace(disability, other_claims=(
        replace(stay, incident_date=D("2025-06-01")),))
    assert codes(another_accident) == ["document_reused"]
    same_kind = replace(disability, other_claims=(replace(stay, claim_type="disability"),))
    assert codes(same_kind) == ["duplicate_incident", "document_reused"]


def test_three_accidents_spread_over_more_than_twelve_months_are_not_frequent() -> None:
    # 2025-08-15, 2026-03-01, 2026-09-01: each pair within a year, no 12 months hold all three
    spread = (other("CL-1", incident_date=D("2025-08-15")),
              other("CL-2", incident_date=D("2026-09-01")))
    assert codes(replace(CLEAN["disability"], other_claims=spread)) == []
    close = (other("CL-1", incident_date=D("2025-08-15")),
             other("CL-2", incident_date=D("2026-02-01")))
    (flag,) = check(replace(CLEAN["disability"], other_claims=close))
    assert flag.code == "frequent" and flag.related == ("CL-1", "CL-2")


def test_frequent_names_only_the_claims_of_its_twelve_months() -> None:
    claims = (other("CL-0", incident_date=D("2025-01-10")),
              other("CL-1", incident_date=D("2025-09-01")),
              other("CL-2", incident_date=D("2026-01-05")))
    (flag,) = check(replace(CLEAN["disability"], other_claims=claims))
    assert flag.related == ("CL-1", "CL-2")


def test_the_summary_of_a_rejected_claim_for_the_same_accident_is_no_reuse_either() -> None:
    rejected = other("CL-DIS", claim_type="disability", status="rejected",
                     incident_date=BASE.incident_date)
    facts = replace(BASE, other_claims=(rejected,), matching_documents=(
        DocumentFact("CL-DIS", "medical_records", "a" * 64),))
    assert codes(facts) == []
