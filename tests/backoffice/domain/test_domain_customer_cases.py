"""A customer's cases in plain words: what happened, what is awaited and from whom, by when."""

from __future__ import annotations

from datetime import date

from backoffice.domain import customer_cases as cc

D = date(2026, 6, 10)


def test_two_years_back_including_a_leap_day() -> None:
    assert cc.claims_since(date(2026, 12, 7)) == date(2024, 12, 7)
    assert cc.claims_since(date(2028, 2, 29)) == date(2026, 2, 28)


def test_a_rejection_tells_the_reasons_and_the_way_to_a_review() -> None:
    reasons = [" 既往疾病所致 ", "", "超过180日"]
    text = cc.claim_journey("rejected", "hospital_allowance", D, reasons, [], None, None).text()
    assert text.startswith("住院津贴，出险 2026-06-10：未予赔付，原因：既往疾病所致；超过180日")
    assert "复核" in text
    # no reasons on file: the letter is named, never an empty "原因："
    assert "详见拒赔通知书" in cc.claim_journey("rejected", "death", D, [], [], None, None).text()


def test_open_claims_say_who_is_awaited() -> None:
    missing = cc.claim_journey("documents_pending", "disability", D, [], ["伤残鉴定报告"], None,
                               None).text()
    assert "等您提交：伤残鉴定报告" in missing
    review = cc.claim_journey("under_review", "disability", D, [], [], None, date(2026, 6, 15))
    assert review.text().endswith("等理赔人员处理，预计 2026-06-15 前。")
    assert "已结案，赔付 900.00 元" in cc.claim_journey("closed", "death", D, [], [], "900.00",
                                                       None).text()
    assert "unknown_type" in cc.claim_journey("reported", "unknown_type", D, [], [], None,
                                              None).text()


def test_complaint_visit_and_endorsement_journeys() -> None:
    open_c = cc.complaint_journey("investigating", "claims", None, None, D).text()
    assert open_c == ("理赔类投诉：调查处理中；处理人员正在调查，等我们答复处理结果，"
                      "预计 2026-06-10 前。")
    done = cc.complaint_journey("closed", "service", "upheld", "已向您致歉" * 20, D).text()
    assert "结论：投诉成立" in done and "预计" not in done and len(done) < 120
    assert "等服务人员打电话联系您，预计 2026-06-10 前" in cc.home_visit_journey(
        "requested", D, date(2026, 6, 11), None).text()
    assert "等服务人员上门，预计 2026-06-12 前" in cc.home_visit_journey(
        "scheduled", D, date(2026, 6, 11), date(2026, 6, 12)).text()
    assert cc.home_visit_journey("cancelled", D, D, None).text() == "上门服务：已取消。"
    assert "等工作人员审核，预计" in cc.endorsement_journey("submitted", "change_beneficiary",
                                                         None, D).text()
    assert "未获批准，原因：未签字" in cc.endorsement_journey("rejected", "change_beneficiary",
                                                          "未签字", D).text()
    assert cc.more_text(0, "投诉") == "" and "另有 2 件投诉" in cc.more_text(2, "投诉")


def test_an_appeal_shows_its_journey_beside_the_claim() -> None:
    filed = cc.appeal_journey("FH2026000001", "open", date(2026, 6, 24), None, None)
    assert filed == "复核申请 FH2026000001 已受理，正在复核，2026-06-24 前答复您"
    text = cc.claim_journey("rejected", "death", D, ["猝死"], [], None, None, filed).text()
    assert text == ("意外身故，出险 2026-06-10：未予赔付，原因：猝死；"
                    "复核申请 FH2026000001 已受理，正在复核，2026-06-24 前答复您。")
    upheld = cc.appeal_journey("FH2026000001", "upheld", D, date(2026, 6, 20), "死亡证明记载猝死")
    text = cc.claim_journey("rejected", "death", D, ["猝死"], [], None, None, upheld).text()
    assert "维持原拒赔决定（死亡证明记载猝死）" in text and "可以说“申请复核”" in text
    reopened = cc.appeal_journey("FH2026000001", "reopened", D, date(2026, 6, 20), None)
    text = cc.claim_journey("under_review", "death", D, [], [], None, date(2026, 6, 30),
                            reopened).text()
    assert "材料审核中（复核申请 FH2026000001 已于 2026-06-20 改为重新审核）" in text
    assert text.endswith("预计 2026-06-30 前。")
