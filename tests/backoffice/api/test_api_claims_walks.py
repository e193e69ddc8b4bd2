"""Claims through the API, report to close: the fast track, the manual track with escalation,
missing and late documents with a rejection letter, withdrawal and reopening, advance
payment, and a report that cannot be registered."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from api_testkit import Api
from test_api_claims_kit import (
    CARD,
    DOCS,
    OTHER_CARD,
    Scheme,
    act,
    advance_to,
    clock,
    report,
    report_body,
    scheme,
    staff_headers,
    statuses,
    supply_all,
    upload,
)

from backoffice.domain.calendar import CN_CALENDAR

__all__ = ["clock", "scheme"]  # fixtures


async def test_fast_track_hospital_allowance_from_report_to_close(api: Api,
                                                                   scheme: Scheme) -> None:
    claim = await report(api, report_body(scheme), key="wx-report-0001")
    no = claim["claim_no"]
    assert claim["status"] == "documents_pending"
    assert [m["type"] for m in claim["missing_documents"]] == DOCS["hospital_allowance"]
    assert all(m["name"] for m in claim["missing_documents"])
    assert claim["policy_no"] == scheme.policy_no and claim["claim_type"] == "hospital_allowance"
    assert statuses(claim) == ["reported", "registered", "documents_pending"]

    progress = await api.get(f"/claims/{no}/progress", expect=200)
    assert progress["stage"] == "待补充材料"
    assert "出院小结" in progress["text"] and no in progress["text"]
    assert progress["missing_documents"] == claim["missing_documents"]
    assert progress["expected_by"] is None

    for i, doc_type in enumerate(DOCS["hospital_allowance"]):
        receipt = await upload(api, no, doc_type, filename=f"{doc_type}.jpg")
        assert receipt["doc_type"] == doc_type and receipt["needs_review"] == []
        assert isinstance(receipt["document_id"], int) and receipt["fields"] == {}
        last = i == len(DOCS["hospital_allowance"]) - 1
        assert receipt["claim_status"] == ("approved" if last else "documents_pending")

    claim = await api.get(f"/claims/{no}", expect=200)
    assert claim["status"] == "approved" and claim["track"] == "fast"
    assert claim["track_rule"].startswith("F1")
    assert claim["payable"] == claim["approved"] == "300.00"  # 10 days × 30 元
    assert claim["missing_documents"] == []
    assert [d["doc_type"] for d in claim["documents"]] == DOCS["hospital_allowance"]
    assert claim["adjudication_lines"][-1]["amount"] == "300.00"
    today = scheme.today()
    assert claim["deadlines"]["payment"] == {
        **claim["deadlines"]["payment"], "breached": False, "paused": False, "done_on": None,
        "due": CN_CALENDAR.add_working_days(today, 3).isoformat()}
    assert claim["deadlines"]["decision"]["done_on"] == today.isoformat()
    approve = [e for e in claim["timeline"] if e["action"] == "approve"]
    assert approve and approve[0]["actor"] == "system"
    assert (await api.get(f"/claims/{no}/progress", expect=200))["expected_by"] == \
        claim["deadlines"]["payment"]["due"]

    scheme.clock.advance(days=1)
    paid = await act(api, no, "pay", actor="adjuster.wang", amount="300.00", account=CARD,
                     reference="BANK-0001")
    assert paid["status"] == "paid"
    assert paid["deadlines"]["payment"]["done_on"] == scheme.today().isoformat()
    assert paid["deadlines"]["payment"]["breached"] is False
    closed = await act(api, no, "close", actor="supervisor.zhou")
    assert closed["status"] == "closed" and closed["allowed_actions"] == ["reopen"]
    assert statuses(closed) == ["reported", "registered", "documents_pending", "under_review",
                                "adjudicated", "approved", "paid", "closed"]
    assert {e["actor"] for e in closed["timeline"]} >= {"customer", "system", "adjuster.wang",
                                                        "supervisor.zhou"}
    text = (await api.get(f"/claims/{no}/progress", expect=200))["text"]
    assert "已结案" in text and "300.00" in text
    await upload(api, no, "other", expect=422)  # nothing more on a closed claim
    listed = await api.get(f"/claims?insured_id_number={scheme.members[0]}", expect=200)
    assert [(c["claim_no"], c["status"], c["claim_type"], c["incident_date"])
            for c in listed["items"]] == [(no, "closed", "hospital_allowance", "2026-05-20")]


async def test_manual_transport_death_escalates_beyond_the_adjusters_authority(
        api: Api, scheme: Scheme) -> None:
    body = report_body(scheme, "transport_death", insured=scheme.members[1],
                       incident="2026-05-25")
    claim = await report(api, body, key="tel-report-77")
    no = claim["claim_no"]
    assert [m["type"] for m in claim["missing_documents"]] == DOCS["transport_death"]
    claim = await supply_all(api, claim)
    assert claim["status"] == "under_review" and claim["track"] == "manual"
    assert claim["track_rule"].startswith("M2")
    today = scheme.today()
    assert claim["deadlines"]["review"]["due"] == CN_CALENDAR.add_working_days(
        today, 3).isoformat()
    assert claim["deadlines"]["decision"]["due"] == (today + timedelta(days=30)).isoformat()

    await act(api, no, "assign", actor="supervisor.zhou", handler="adjuster.nobody", expect=400)
    await staff_headers(api, "adjuster.li")  # the handler has an account
    claim = await act(api, no, "assign", actor="supervisor.zhou", handler="adjuster.li")
    assert claim["handler"] == "adjuster.li"
    mine = await api.get("/claims?handler=adjuster.li", expect=200)
    assert [c["claim_no"] for c in mine["items"]] == [no]
    claim = await act(api, no, "investigate", note="走访公交公司调取行车记录")
    assert claim["status"] == "investigating"
    assert (await api.get(f"/claims/{no}/progress", expect=200))["stage"] == "调查核实中"
    claim = await act(api, no, "finish_investigation", note="确认乘车途中发生事故")
    assert claim["status"] == "under_review"
    claim = await act(api, no, "adjudicate")
    assert claim["status"] == "adjudicated" and claim["payable"] == "30000.00"
    assert "营运机动车" in claim["adjudication_lines"][0]["text"]

    claim = await act(api, no, "approve")
    assert claim["status"] == "pending_approval" and claim["approval_role"] == "supervisor"
    assert claim["approved"] is None
    assert claim["timeline"][-1]["action"] == "escalate"
    await act(api, no, "pay", actor="adjuster.wang", amount="30000.00", account=CARD, expect=409)
    claim = await act(api, no, "approve", actor="supervisor.zhou")
    assert claim["status"] == "approved" and claim["approved"] == "30000.00"
    # 30,000 元 is not under 5,000: 7 working days, within Art. 23's 10 days
    assert claim["deadlines"]["payment"]["due"] == min(
        CN_CALENDAR.add_working_days(today, 7), today + timedelta(days=10)).isoformat()

    await act(api, no, "pay", actor="adjuster.wang", amount="3000.00", account=CARD, expect=400)
    await act(api, no, "pay", actor="adjuster.wang", amount="30000.00",
              account="6222020200112233447", expect=400)
    claim = await act(api, no, "pay", actor="adjuster.wang", amount="30000.00", account=CARD)
    assert claim["status"] == "paid"
    claim = await act(api, no, "close", actor="supervisor.zhou")
    assert statuses(claim) == ["reported", "registered", "documents_pending", "under_review",
                               "investigating", "under_review", "adjudicated",
                               "pending_approval", "approved", "paid", "closed"]
    actors = [(e["action"], e["actor"]) for e in claim["timeline"]]
    assert ("escalate", "adjuster.wang") in actors and ("approve", "supervisor.zhou") in actors


async def test_a_death_claim_within_the_adjusters_authority(api: Api, scheme: Scheme) -> None:
    claim = await supply_all(api, await report(api, report_body(
        scheme, "death", insured=scheme.members[2], incident="2026-05-10")))
    no = claim["claim_no"]
    await act(api, no, "approve", expect=409)  # not adjudicated yet
    claim = await act(api, no, "adjudicate")
    assert claim["payable"] == "3000.00"
    claim = await act(api, no, "approve")
    assert claim["status"] == "approved" and claim["approved"] == "3000.00"
    assert claim["deadlines"]["payment"]["due"] == CN_CALENDAR.add_working_days(
        scheme.today(), 3).isoformat()


async def test_missing_then_late_documents_pause_the_clock_and_a_rejection_letter_follows(
        api: Api, scheme: Scheme) -> None:
    claim = await report(api, report_body(scheme, "disability"))
    no = claim["claim_no"]
    day0 = scheme.today()
    assert [m["type"] for m in claim["missing_documents"]] == DOCS["disability"]
    # from the report: the customer's notices and time bar; the insurer's clocks start with
    # complete documents
    dl = claim["deadlines"]
    assert set(dl) == {"progress_notice", "documents_reminder", "time_bar"}
    assert dl["progress_notice"]["due"] == CN_CALENDAR.add_working_days(day0, 3).isoformat()
    assert dl["documents_reminder"]["due"] == CN_CALENDAR.add_working_days(day0, 5).isoformat()
    incident = date.fromisoformat(claim["incident_date"])
    assert dl["time_bar"]["due"] == incident.replace(year=incident.year + 2).isoformat()
    assert not any(d["breached"] for d in dl.values())
    await upload(api, no, "disability_assessment")
    await upload(api, no, "claimant_id")
    claim = await api.get(f"/claims/{no}", expect=200)
    assert claim["status"] == "documents_pending"
    assert [m["type"] for m in claim["missing_documents"]] == ["medical_records", "bank_account"]
    err = await act(api, no, "documents_complete", expect=422)
    assert err["error"]["field"] == "missing_documents" and "病历资料" in err["error"]["message"]
    progress = await api.get(f"/claims/{no}/progress", expect=200)
    assert "病历资料" in progress["text"] and "领款人银行账户" in progress["text"]
    assert "伤残鉴定报告" not in progress["text"]
    await upload(api, no, "medical_records")
    claim = await upload(api, no, "bank_account")
    assert claim["claim_status"] == "under_review"
    claim = await api.get(f"/claims/{no}", expect=200)
    decision_due = date.fromisoformat(claim["deadlines"]["decision"]["due"])
    assert decision_due == day0 + timedelta(days=30)
    assert claim["deadlines"]["decision"]["paused"] is False

    advance_to(scheme.clock, day0 + timedelta(days=2))
    claim = await act(api, no, "request_documents", documents=[
        {"type": "police_report", "name": "派出所事故证明"}])
    assert claim["status"] == "documents_pending"
    assert claim["missing_documents"] == [{"type": "police_report", "name": "派出所事故证明"}]
    assert claim["deadlines"]["decision"]["paused"] is True
    assert claim["deadlines"]["review"]["paused"] is True
    await act(api, no, "request_documents", documents=[
        {"type": "police_report", "name": "派出所事故证明"}], expect=400)  # already asked

    advance_to(scheme.clock, day0 + timedelta(days=7))
    claim = await api.get(f"/claims/{no}", expect=200)
    assert claim["deadlines"]["decision"]["paused"] is True
    # provisional: as if the documents came today, five days of pause so far
    assert claim["deadlines"]["decision"]["due"] == (decision_due + timedelta(days=5)).isoformat()
    assert "派出所事故证明" in (await api.get(f"/claims/{no}/progress", expect=200))["text"]
    receipt = await upload(api, no, "police_report", filename="事故证明.pdf")
    assert receipt["claim_status"] == "under_review"
    claim = await api.get(f"/claims/{no}", expect=200)
    assert claim["deadlines"]["decision"]["paused"] is False
    assert claim["deadlines"]["decision"]["due"] == (decision_due + timedelta(days=5)).isoformat()
    assert claim["missing_documents"] == []
    assert "police_report" in [d["doc_type"] for d in claim["documents"]]

    reasons = ["伤残系既往疾病所致，不属于意外伤害", "事故发生经过与病历记载不符"]
    claim = await act(api, no, "reject", actor="supervisor.zhou", reasons=reasons)
    assert claim["status"] == "rejected" and claim["rejection_reasons"] == reasons
    letter = claim["deadlines"]["rejection_letter"]
    assert letter["due"] == (scheme.today() + timedelta(days=3)).isoformat()
    assert letter["breached"] is False and letter["done_on"] is None
    assert claim["deadlines"]["decision"]["done_on"] == scheme.today().isoformat()
    [pending] = claim["letters"]
    assert pending["kind"] == "rejection" and pending["sent_at"] is None

    text = await api.get(f"/claims/{no}/letters/{pending['letter_no']}", expect=200)
    assert isinstance(text, str)
    assert all(r in text for r in reasons) and "第二十四条" in text and no in text
    assert "拒绝赔付通知书" in text

    scheme.clock.advance(days=1)
    claim = await act(api, no, "send_rejection_letter", actor="supervisor.zhou")
    assert claim["letters"][0]["sent_at"] is not None
    assert claim["deadlines"]["rejection_letter"]["done_on"] == scheme.today().isoformat()
    assert claim["deadlines"]["rejection_letter"]["breached"] is False
    assert claim["timeline"][-1]["action"] == "send_rejection_letter"
    await act(api, no, "send_rejection_letter", expect=422)  # nothing left to send
    progress = await api.get(f"/claims/{no}/progress", expect=200)
    assert progress["stage"] == "已拒赔" and reasons[0] in progress["text"]
    await api.error("GET", f"/claims/{no}/letters/L20269999999", 404, "not_found", "letter_no")


async def test_a_late_rejection_letter_and_a_late_payment_are_breached(
        api: Api, scheme: Scheme) -> None:
    rejected = await supply_all(api, await report(api, report_body(scheme, "death")))
    await act(api, rejected["claim_no"], "reject", reasons=["猝死，属于责任免除"])
    approved = await supply_all(api, await report(api, report_body(
        scheme, insured=scheme.members[1])))
    assert approved["status"] == "approved"
    due = date.fromisoformat(approved["deadlines"]["payment"]["due"])

    advance_to(scheme.clock, due)  # on the due day: not yet late
    claim = await api.get(f"/claims/{approved['claim_no']}", expect=200)
    assert claim["deadlines"]["payment"]["breached"] is False
    advance_to(scheme.clock, due + timedelta(days=1))
    claim = await api.get(f"/claims/{approved['claim_no']}", expect=200)
    assert claim["deadlines"]["payment"]["breached"] is True
    late = await api.get(f"/claims/{rejected['claim_no']}", expect=200)
    assert late["deadlines"]["rejection_letter"]["breached"] is True

    queue = await api.get("/claims?breached=true", expect=200)
    late_ones = {c["claim_no"]: c for c in queue["items"]}
    # the rejection still owes its letter: it is in the work queue too
    assert set(late_ones) == {approved["claim_no"], rejected["claim_no"]}
    assert all(c["breached"] is True for c in queue["items"])
    assert late_ones[approved["claim_no"]]["next_due"] == due.isoformat()
    assert (await api.get("/claims?breached=false", expect=200))["items"] == []
    soon = await api.get(f"/claims?due_before={due.isoformat()}", expect=200)
    assert approved["claim_no"] in [c["claim_no"] for c in soon["items"]]
    assert [c["next_due"] for c in soon["items"]] == sorted(c["next_due"]
                                                           for c in soon["items"])
    earlier = (due - timedelta(days=30)).isoformat()
    assert (await api.get(f"/claims?due_before={earlier}", expect=200))["items"] == []

    claim = await act(api, approved["claim_no"], "pay", amount="300.00", account=CARD)
    assert claim["deadlines"]["payment"]["breached"] is True  # paid late stays late
    claim = await act(api, rejected["claim_no"], "send_rejection_letter")
    assert claim["deadlines"]["rejection_letter"]["breached"] is True


async def test_withdrawal_and_reopening(api: Api, scheme: Scheme) -> None:
    claim = await report(api, report_body(scheme, "death", insured=scheme.members[2]))
    no = claim["claim_no"]
    claim = await act(api, no, "withdraw", actor="supervisor.zhao", note="家属决定不再申请")
    assert claim["status"] == "withdrawn" and claim["allowed_actions"] == ["reopen"]
    assert claim["timeline"][-1]["note"] == "家属决定不再申请"
    await upload(api, no, "death_certificate", expect=422)
    for action in ("pay", "close", "withdraw", "investigate", "adjudicate"):
        err = await act(api, no, action, expect=409, amount="1.00", account=CARD)
        assert (err["error"]["code"], err["error"]["field"]) == ("illegal_transition", "action")
    progress = await api.get(f"/claims/{no}/progress", expect=200)
    assert progress["stage"] == "已撤案" and "重新报案" in progress["next_step"]

    claim = await act(api, no, "reopen", actor="supervisor.zhou", note="家属补交材料后申请重开")
    assert claim["status"] == "under_review" and claim["track"] == "manual"
    assert claim["track_rule"].startswith("M4")
    await act(api, no, "reopen", expect=409)
    assert statuses(claim) == ["reported", "registered", "documents_pending", "withdrawn",
                               "under_review"]

    # a closed claim can be reopened too, and closed again
    done = await supply_all(api, await report(api, report_body(scheme,
                                                               insured=scheme.members[1])))
    done = await act(api, done["claim_no"], "pay", amount="300.00", account=CARD)
    done = await act(api, done["claim_no"], "close")
    again = await act(api, done["claim_no"], "reopen", note="发现漏算住院天数")
    assert again["status"] == "under_review" and again["approved"] is None
    again = await act(api, again["claim_no"], "adjudicate", facts={
        "admission_date": "2026-05-20", "discharge_date": "2026-06-01"})
    assert again["payable"] == "360.00"


async def test_advance_payment_then_the_balance(api: Api, scheme: Scheme) -> None:
    body = report_body(scheme, "transport_death", insured=scheme.members[2],
                       facts={"death_date": "2026-05-20", "transport": "rail"})
    claim = await supply_all(api, await report(api, body))
    no = claim["claim_no"]
    await act(api, no, "advance_payment", amount="20000.00", determinable="10000.00",
              account=CARD, expect=400)
    claim = await act(api, no, "advance_payment", actor="supervisor.zhou", amount="10000.00",
                      determinable="30000.00", account=CARD)
    assert claim["status"] == "under_review" and claim["advance_paid"] == "10000.00"
    assert claim["deadlines"]["advance_payment"]["done_on"] == scheme.today().isoformat()
    assert "先予支付" in claim["timeline"][-1]["note"]
    claim = await act(api, no, "adjudicate")
    assert claim["payable"] == "30000.00"
    claim = await act(api, no, "approve", actor="supervisor.zhou")
    err = await act(api, no, "pay", amount="30000.00", expect=400)
    assert err["error"]["field"] == "amount" and "20000" in err["error"]["message"]
    claim = await act(api, no, "pay", amount="20000.00")  # the account is on file
    assert claim["status"] == "paid" and claim["advance_paid"] == "10000.00"


async def test_a_report_that_fails_the_coverage_check_is_declined_with_a_letter(
        api: Api, scheme: Scheme) -> None:
    claim = await report(api, report_body(scheme, "death", insured=scheme.outsider))
    no = claim["claim_no"]
    assert claim["status"] == "reported" and claim["missing_documents"] == []
    assert "出险人不是该保单的被保险人" in claim["track_rule"]
    err = await act(api, no, "register", expect=422)
    assert err["error"]["field"] == "coverage"
    await act(api, no, "decline_registration", reasons=[], expect=400)
    claim = await act(api, no, "decline_registration", reasons=["出险人不是该保单的被保险人"])
    assert claim["status"] == "rejected" and len(claim["letters"]) == 1
    assert "rejection_letter" in claim["deadlines"]
    text = await api.get(f"/claims/{no}/letters/{claim['letters'][0]['letter_no']}",
                         expect=200)
    assert "出险人不是该保单的被保险人" in text


async def test_adjudication_preview(api: Api, scheme: Scheme) -> None:
    preview = await api.post("/adjudication/preview", {
        "product_code": "CN-ELDER-ACC", "claim_type": "hospital_allowance",
        "incident_date": "2026-03-01",
        "facts": {"admission_date": "2026-03-01", "discharge_date": "2026-05-31"}},
        expect=200)
    assert preview["payable"] == "2700.00"  # 91 days, 90 paid per stay
    assert preview["lines"][-1] == {"text": preview["lines"][-1]["text"], "amount": "2700.00"}
    assert any("90 天" in ln["text"] for ln in preview["lines"])
    for transport, amount in (("motor_vehicle", "30000.00"), ("ship", "50000.00"),
                              ("aircraft", "100000.00")):
        answer = await api.post("/adjudication/preview", {
            "product_code": "CN-ELDER-ACC", "claim_type": "transport_death",
            "incident_date": "2026-03-01",
            "facts": {"transport": transport, "death_date": "2026-03-02"}}, expect=200)
        assert answer["payable"] == amount
    disability = await api.post("/adjudication/preview", {
        "product_code": "CN-ELDER-ACC", "claim_type": "disability",
        "incident_date": "2026-03-01", "facts": {"disability_levels": [5, 5, 9]}}, expect=200)
    assert disability["payable"] == "2100.00"  # two at level 5 → level 4: 70 %
    excluded = await api.post("/adjudication/preview", {
        "product_code": "CN-ELDER-ACC", "claim_type": "death", "incident_date": "2026-03-01",
        "facts": {"death_date": "2026-03-01", "cause": "sudden_death"}}, expect=200)
    assert excluded["payable"] == "0.00" and excluded["excluded"] is True
    await api.error("POST", "/adjudication/preview", 400, "invalid", "facts.death_date", {
        "product_code": "CN-ELDER-ACC", "claim_type": "death", "incident_date": "2026-03-01",
        "facts": {}})


async def test_four_eyes_on_money(api: Api, scheme: Scheme) -> None:
    """The attack of one adjuster alone: waive, type facts, approve, pay to his own card."""
    claim = await report(api, report_body(scheme, "death", insured=scheme.members[1]))
    no = claim["claim_no"]
    await act(api, no, "documents_complete", actor="adjuster.li", waive_missing=True)
    # a discharge in the future, or a death before the incident, is refused by name
    err = await act(api, no, "adjudicate", actor="adjuster.li", expect=400,
                    facts={"death_date": "2027-01-01"})
    assert err["error"]["field"] == "facts.death_date"
    err = await act(api, no, "adjudicate", actor="adjuster.li", expect=400,
                    facts={"death_date": "2026-05-19"})
    assert err["error"]["field"] == "facts.death_date"
    await act(api, no, "adjudicate", actor="adjuster.li", facts={"death_date": "2026-05-20"})
    err = await act(api, no, "approve", actor="adjuster.li", expect=403)
    assert (err["error"]["code"], err["error"]["field"]) == ("forbidden", "action")
    assert "双人复核" in err["error"]["message"]
    claim = await act(api, no, "approve", actor="adjuster.wang")
    assert claim["status"] == "approved"
    err = await act(api, no, "pay", actor="adjuster.wang", amount="3000.00", expect=403)
    assert err["error"]["field"] == "action"
    # the payee is the customer's verified card: neither another one, nor a change by one person
    err = await act(api, no, "pay", actor="adjuster.li", amount="3000.00", account=OTHER_CARD,
                    expect=409)
    assert err["error"]["field"] == "account"
    err = await api.call("POST", f"/claims/{no}/transitions", expect=409, json_body={
        "action": "set_bank_account", "account": OTHER_CARD})  # the integration: no change
    assert err["error"]["field"] == "account"
    # a staff change of the payee: proposed by one, confirmed by another, paid by a third
    await act(api, no, "set_bank_account", actor="supervisor.zhou", account=OTHER_CARD)
    await act(api, no, "pay", actor="adjuster.li", amount="3000.00", account=OTHER_CARD,
              expect=409)  # not yet confirmed
    err = await act(api, no, "set_bank_account", actor="supervisor.zhou", account=OTHER_CARD,
                    expect=403)
    assert err["error"]["field"] == "action"
    await act(api, no, "set_bank_account", actor="adjuster.wang", account=OTHER_CARD)
    for chooser in ("supervisor.zhou", "adjuster.wang"):
        err = await act(api, no, "pay", actor=chooser, amount="3000.00", expect=403)
        assert "双人复核" in err["error"]["message"]
    claim = await act(api, no, "pay", actor="adjuster.li", amount="3000.00",
                      account=OTHER_CARD)
    assert claim["status"] == "paid"
    actors = [(e["action"], e["actor"]) for e in claim["timeline"]]
    assert ("approve", "adjuster.wang") in actors and ("pay", "adjuster.li") in actors
    assert ("waive_documents", "adjuster.li") in actors
    assert ("propose_bank_account", "supervisor.zhou") in actors
    assert ("confirm_bank_account", "adjuster.wang") in actors


async def test_the_fast_tracks_approval_is_paid_by_any_adjuster(api: Api,
                                                                scheme: Scheme) -> None:
    claim = await supply_all(api, await report(api, report_body(scheme)))
    assert claim["status"] == "approved"
    paid = await act(api, claim["claim_no"], "pay", actor="adjuster.wang",
                     amount=claim["approved"])
    assert paid["status"] == "paid"


async def test_a_staff_members_report_is_no_way_around_four_eyes(api: Api,
                                                                 scheme: Scheme) -> None:
    """The lone adjuster again: he reports the claim himself with facts he typed and his own
    card, supplies the documents and tries to pay. His facts keep the fast track out and him
    from approving; his card waits for a second person; the customer's is never replaced."""
    me = await staff_headers(api, "adjuster.li")
    body = report_body(scheme, bank_account=OTHER_CARD)
    claim = await api.call("POST", "/claims", json_body=body, headers=me, expect=201)
    no = claim["claim_no"]
    claim = await supply_all(api, claim)
    assert claim["status"] == "under_review" and claim["track_rule"].startswith("M11")
    actors = [(e["action"], e["actor"]) for e in claim["timeline"]]
    assert ("enter_facts", "adjuster.li") in actors
    assert ("propose_bank_account", "adjuster.li") in actors
    await act(api, no, "adjudicate", actor="adjuster.li", facts={})
    err = await act(api, no, "approve", actor="adjuster.li", expect=403)
    assert "双人复核" in err["error"]["message"]
    await act(api, no, "approve", actor="adjuster.wang")
    # no verified account: nobody pays until a second person confirms (and then not them)
    due = claim_payable(await api.get(f"/claims/{no}", expect=200))
    err = await act(api, no, "pay", actor="supervisor.zhao", amount=due, expect=422)
    assert err["error"]["field"] == "account"
    await act(api, no, "set_bank_account", actor="adjuster.li", account=OTHER_CARD,
              expect=403)  # his own proposal
    await act(api, no, "set_bank_account", actor="supervisor.zhou", account=OTHER_CARD)
    for chooser in ("adjuster.li", "supervisor.zhou", "adjuster.wang"):
        err = await act(api, no, "pay", actor=chooser, amount=due, expect=403)
        assert "双人复核" in err["error"]["message"]
    paid = await act(api, no, "pay", actor="supervisor.zhao", amount=due)
    assert paid["status"] == "paid"


def claim_payable(claim: dict[str, Any]) -> str:
    return str(claim["approved"])
