"""Staff correct a claim's type before a decision (`change_type`): the documents are listed
again for the new type and the customer is told, the coverage and integrity checks run again,
and whoever changed the type does not approve the claim. Refused with the field named, and
nothing changed, for the same type, a type the scheme does not cover, no reason, after the
decision, and for anyone who does not work claims."""

from __future__ import annotations

from typing import Any

import pytest
from api_testkit import Api
from sqlalchemy import select
from test_api_claims_kit import (
    DOCS,
    Scheme,
    act,
    clock,
    report,
    report_body,
    scheme,
    staff_headers,
    supply_all,
    upload,
)

from backoffice.domain import staff as roles
from backoffice.services import staff
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, Notification, Task

__all__ = ["clock", "scheme"]  # fixtures

WHY = "家属来电更正：未住院治疗，经鉴定为八级伤残"


def missing(claim: dict[str, Any]) -> list[str]:
    return sorted(m["type"] for m in claim["missing_documents"])


def notices(db: Database, claim_no: str) -> list[str]:
    with db.read() as s:
        return [n.text for n in s.execute(select(Notification).where(
            Notification.dedupe_key.like(f"claim:{claim_no}:%")).order_by(Notification.id))
            .scalars()]


async def test_a_type_the_scheme_does_not_cover_is_corrected_then_registered(
        api: Api, scheme: Scheme, db: Database) -> None:
    """"没住院" taken as `medical`: the claim stalls in registration review until a person
    corrects the type; then it registers and the hospital allowance's documents are asked."""
    claim = await report(api, report_body(scheme, "medical", facts={}))
    no = claim["claim_no"]
    assert claim["status"] == "reported"
    assert "不承保此类理赔" in claim["track_rule"]
    refused = await act(api, no, "register", expect=422)  # the check refuses it as reported
    assert refused["error"]["field"] == "coverage"

    changed = await act(api, no, "change_type", claim_type="hospital_allowance",
                        note="客户确认住院 10 天")
    assert changed["claim_type"] == "hospital_allowance"
    assert changed["status"] == "reported"
    assert "不承保" not in changed["track_rule"]
    assert changed["timeline"][-1]["action"] == "change_type"
    assert "「医疗费用」改为「住院津贴」" in changed["timeline"][-1]["note"]

    registered = await act(api, no, "register")
    assert registered["status"] == "documents_pending"
    assert missing(registered) == sorted(DOCS["hospital_allowance"])
    with db.read() as s:
        review = s.execute(select(Task).where(Task.kind == "registration_review")).scalars()
        assert all(t.status != "open" for t in review)


async def test_documents_are_listed_again_for_the_new_type_and_the_customer_is_told(
        api: Api, scheme: Scheme, db: Database) -> None:
    claim = await report(api, report_body(scheme))
    no = claim["claim_no"]
    await upload(api, no, "claimant_id")
    await upload(api, no, "discharge_summary")
    before = notices(db, no)

    changed = await act(api, no, "change_type", claim_type="disability", note=WHY,
                        actor="adjuster.li")
    assert changed["status"] == "documents_pending"
    # the allowance's invoice was never sent and is not needed now; the discharge summary
    # sent stays on file; the disability's own documents are asked for
    assert missing(changed) == ["bank_account", "disability_assessment", "medical_records"]
    assert [d["doc_type"] for d in changed["documents"]] == ["claimant_id", "discharge_summary"]
    told = notices(db, no)[len(before):]
    assert len(told) == 1
    assert "理赔类型已更正为「意外伤残」" in told[0]
    for name in ("伤残鉴定", "病历"):
        assert name in told[0]
    with db.read() as s:
        entry = s.execute(select(AuditEntry).where(
            AuditEntry.entity_id == no, AuditEntry.action == "change_type")).scalar_one()
    assert (entry.actor, entry.before, entry.after) == (
        "adjuster.li", {"claim_type": "hospital_allowance"},
        {"claim_type": "disability", "note": WHY})


async def test_a_claim_under_review_goes_back_to_waiting_for_the_new_documents(
        api: Api, scheme: Scheme) -> None:
    claim = await report(api, report_body(scheme, "disability"))
    no = claim["claim_no"]
    reviewed = await supply_all(api, claim)
    assert reviewed["status"] == "under_review"

    changed = await act(api, no, "change_type", claim_type="hospital_allowance",
                        note="鉴定撤回，按住院津贴处理")
    assert changed["status"] == "documents_pending"
    assert missing(changed) == ["discharge_summary", "medical_invoice"]
    done = await supply_all(api, changed)
    assert done["status"] == "under_review"  # people decide what a person reshaped


async def test_whoever_changed_the_type_does_not_approve(api: Api, scheme: Scheme) -> None:
    stay = report_body(scheme)["facts"]  # a stay reported as a disability
    claim = await report(api, report_body(scheme, "disability", facts=stay))
    no = claim["claim_no"]
    await act(api, no, "change_type", claim_type="hospital_allowance", note="住院，非伤残",
              actor="adjuster.wang")
    claim = await supply_all(api, await api.get(f"/claims/{no}", expect=200))
    assert claim["track"] != "fast"
    await act(api, no, "adjudicate", actor="adjuster.li")
    refused = await act(api, no, "approve", actor="adjuster.wang", expect=403)
    assert "更改理赔类型" in refused["error"]["message"]
    approved = await act(api, no, "approve", actor="supervisor.zhou")
    assert approved["status"] == "approved"


@pytest.mark.parametrize(("fields", "field", "status"), [
    ({"claim_type": "hospital_allowance", "note": WHY}, "claim_type", 400),  # the same type
    ({"claim_type": "medical", "note": WHY}, "claim_type", 400),  # not covered
    ({"claim_type": "flood", "note": WHY}, "claim_type", 400),  # no such type
    ({"claim_type": ["disability"], "note": WHY}, "claim_type", 400),
    ({"note": WHY}, "claim_type", 400),
    ({"claim_type": "disability"}, "note", 400),
    ({"claim_type": "disability", "note": " \u200b\t"}, "note", 400),
])
async def test_a_refused_change_names_the_field_and_changes_nothing(
        api: Api, scheme: Scheme, fields: dict[str, Any], field: str, status: int) -> None:
    claim = await report(api, report_body(scheme))
    no = claim["claim_no"]
    refused = await act(api, no, "change_type", expect=status, **fields)
    assert refused["error"]["field"] == field
    after = await api.get(f"/claims/{no}", expect=200)
    assert after["claim_type"] == "hospital_allowance"
    assert [e["action"] for e in after["timeline"]] == [e["action"] for e in claim["timeline"]]
    assert missing(after) == missing(claim)


async def test_the_type_is_not_changed_once_the_amount_is_decided(
        api: Api, scheme: Scheme) -> None:
    claim = await supply_all(api, await report(api, report_body(scheme, "disability")))
    no = claim["claim_no"]
    await act(api, no, "adjudicate")
    refused = await act(api, no, "change_type", claim_type="hospital_allowance", note=WHY,
                        expect=409)
    assert refused["error"]["field"] == "action"
    after = await api.get(f"/claims/{no}", expect=200)
    assert (after["claim_type"], after["status"]) == ("disability", "adjudicated")


async def test_only_claims_staff_change_a_type(api: Api, scheme: Scheme, db: Database) -> None:
    claim = await report(api, report_body(scheme))
    no = claim["claim_no"]
    for username, role in (("agent.chen", roles.CS_AGENT),
                           ("handler.lin", roles.COMPLAINT_HANDLER)):
        staff.add(db, username, "a-staff-password-1", role)
        headers = await staff_headers(api, username, password="a-staff-password-1")
        await api.call("POST", f"/claims/{no}/transitions", headers=headers, expect=403,
                       json_body={"action": "change_type", "claim_type": "disability",
                                  "note": WHY})
    after = await api.get(f"/claims/{no}", expect=200)
    assert after["claim_type"] == "hospital_allowance"
