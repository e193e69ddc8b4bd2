"""问题件: a claim the coverage check holds is registered anyway by a claims supervisor, with
the reason, or declined with a letter. An adjuster cannot override the check; no reason, a
claim the check passes and a claim already registered are refused with the field named; the
supervisor who overrode the check does not approve the claim."""

from __future__ import annotations

from api_testkit import Api
from sqlalchemy import select
from test_api_claims_kit import DOCS, Scheme, act, clock, report, report_body, scheme

from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, Task

__all__ = ["clock", "scheme"]  # fixtures

WHY = "民政局来函确认：老人户籍迁入登记延误，出险时已在本区居住"


async def _held(api: Api, scheme: Scheme, claim_type: str = "hospital_allowance") -> str:
    """A stay before the insured's cover began: the check holds the claim."""
    claim = await report(api, report_body(scheme, claim_type, incident="2025-03-01"))
    assert claim["status"] == "reported" and "立案核查未通过" in claim["track_rule"]
    return str(claim["claim_no"])


async def test_a_supervisor_registers_a_held_claim_with_the_reason(
        api: Api, scheme: Scheme, db: Database) -> None:
    no = await _held(api, scheme)
    registered = await act(api, no, "register_anyway", note=WHY)
    assert registered["status"] == "documents_pending"
    step = next(e for e in registered["timeline"] if e["action"] == "register_anyway")
    assert step["actor"] == "supervisor.zhou" and WHY in step["note"]
    assert "核查未通过" in step["note"] and len(step["note"]) > len(WHY) + 10  # the checks too
    assert sorted(m["type"] for m in registered["missing_documents"]) == sorted(
        DOCS["hospital_allowance"])
    with db.read() as s:
        entries = list(s.execute(select(AuditEntry).where(
            AuditEntry.action == "register_anyway", AuditEntry.entity_id == no)).scalars())
        assert {e.actor for e in entries} == {"supervisor.zhou"}
        assert any(e.after == {"note": WHY} and e.before["problems"] for e in entries)
        assert all(t.status != "open" for t in s.execute(select(Task).where(
            Task.kind == "registration_review", Task.claim_id.is_not(None))).scalars())
    # again: the claim is no longer held
    again = await act(api, no, "register_anyway", note=WHY, expect=409)
    assert again["error"]["code"] == "illegal_transition"


async def test_the_override_is_refused_without_a_reason_by_an_adjuster_or_when_not_needed(
        api: Api, scheme: Scheme) -> None:
    no = await _held(api, scheme)
    for note in (None, "", "   ", "\u200b\u200b"):
        body = {} if note is None else {"note": note}
        refused = await act(api, no, "register_anyway", expect=400, **body)
        assert refused["error"]["field"] == "note", note
    adjuster = await act(api, no, "register_anyway", actor="adjuster.li", note=WHY, expect=403)
    assert adjuster["error"]["code"] == "forbidden"
    fine = await report(api, report_body(scheme))  # the check passes: register it plainly
    if fine["status"] == "reported":
        refused = await act(api, fine["claim_no"], "register_anyway", note=WHY, expect=400)
        assert refused["error"]["field"] == "action"
    claim = await api.get(f"/claims/{no}", expect=200)
    assert claim["status"] == "reported"
    assert not any(e["action"] == "register_anyway" for e in claim["timeline"])


async def test_a_claim_the_check_passes_after_a_type_change_needs_no_override(
        api: Api, scheme: Scheme) -> None:
    claim = await report(api, report_body(scheme, "medical", facts={}))
    no = claim["claim_no"]
    await act(api, no, "change_type", claim_type="hospital_allowance", note="客户确认住院",
              actor="adjuster.li")
    claim = await api.get(f"/claims/{no}", expect=200)
    assert claim["status"] == "reported"  # the type now passes: nothing to override
    refused = await act(api, no, "register_anyway", note=WHY, expect=400)
    assert refused["error"]["field"] == "action"
