"""The customer-service side's typed commands, attacked at the use cases: complaints, home
visits, ratings, endorsement requests, channel bindings and the agents' conversation steps.
Wrong JSON types, Unicode digits, huge numbers and malformed dates are refused naming the
(nested) field and change nothing; unknown keys are ignored; an `actor`, `role` or
`approved_by` in the mapping decides nothing: who acts is the actor the caller passes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from backoffice.demo.staff import seed_staff
from backoffice.domain import staff as roles
from backoffice.domain.errors import Forbidden, ValidationError
from backoffice.domain.staff import Actor
from backoffice.services import (
    agent_desk,
    bindings,
    complaints,
    conversations,
    endorsement_requests,
    home_visits,
    satisfaction,
)
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, ComplaintRow, HomeVisit

if TYPE_CHECKING:
    from conftest import Factory

HUGE = 10**5000  # str() of it raises: a refusal must not
WIDE_PHONE = "１３９１２３４５６７８"  # full-width digits: \d and isdigit() take them, int() too
HANDLER = Actor("handler.wang", roles.COMPLAINT_HANDLER)
SUPERVISOR = Actor("supervisor.zhao", roles.CLAIMS_SUPERVISOR)
AGENT = Actor("agent.li", roles.CS_AGENT)
UNDERWRITER = Actor("underwriter.sun", roles.UNDERWRITER)


def refused(call: Callable[[], Any], field: str) -> str:
    """The call is refused naming `field`; the message, for a look."""
    with pytest.raises(ValidationError) as err:
        call()
    assert err.value.field == field, (err.value.field, err.value.message)
    return err.value.message


def count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def audit_actors(db: Database, entity_id: str) -> list[str]:
    with db.read() as s:
        return list(s.execute(select(AuditEntry.actor).where(
            AuditEntry.entity_id == entity_id).order_by(AuditEntry.id)).scalars())


# ---- complaints ------------------------------------------------------------------------------

def complaint_body(**extra: Any) -> dict[str, Any]:
    return {"channel": "wechat", "user": "wechat:o-cmd-1",
            "complainant": {"name": "陈美玲", "phone": "13912345678"},
            "category": "claims", "description": "理赔太慢", **extra}


def test_a_complaint_intake_refuses_wrong_types_naming_the_field(db: Database) -> None:
    cases = [
        ({"channel": ["wechat"]}, "channel"),
        ({"channel": "fax"}, "channel"),
        ({"complainant": "陈美玲"}, "complainant"),
        ({"complainant": {"name": "陈美玲", "phone": WIDE_PHONE}}, "complainant.phone"),
        ({"complainant": {"name": "陈美玲", "phone": HUGE}}, "complainant.phone"),
        ({"complainant": {"name": ["陈"], "phone": "13912345678"}}, "complainant.name"),
        ({"category": ["claims"]}, "category"),
        ({"category": "  "}, "category"),
        ({"description": HUGE}, "description"),
        ({"description": "x" * 4001}, "description"),
        ({"user": {"id": 1}}, "user"),
        ({"claim_no": 7}, "claim_no"),
    ]
    for extra, field in cases:
        refused(lambda e=extra: complaints.intake(db, complaint_body(**e), "customer"), field)
    refused(lambda: complaints.intake(db, ["x"], "customer"), "body")
    assert count(db, ComplaintRow) == 0


def test_a_complaint_intake_ignores_unknown_keys_and_a_body_actor(db: Database) -> None:
    made = complaints.intake(db, complaint_body(actor="admin", role="administrator",
                                                colour="blue", user=None), AGENT)
    assert made["status"] == "acknowledged" and made["category"] == "claims"
    assert audit_actors(db, made["complaint_no"])[0] == "agent.li"
    assert made["timeline"][0]["actor"] == "agent.li"
    ref = {"complaint_no": made["complaint_no"], "actor": "x"}
    assert complaints.get(db, ref, AGENT, pii=False)["complainant"]["phone"] == "139****5678"
    for bad in ("C 1", ["C1"], HUGE, "", "Ｃ1"):
        refused(lambda b=bad: complaints.get(db, {"complaint_no": b}), "complaint_no")


def test_a_complaint_step_needs_its_own_fields_and_refuses_wrong_types(db: Database) -> None:
    seed_staff(db)
    no = complaints.intake(db, complaint_body(), "customer")["complaint_no"]
    step: Callable[..., Any] = lambda **f: complaints.transition(  # noqa: E731
        db, {"complaint_no": no, **f}, HANDLER)
    refused(lambda: step(action="explode"), "action")
    refused(lambda: step(action=["take"]), "action")
    refused(lambda: complaints.transition(db, {"complaint_no": ["C1"], "action": "take"},
                                          HANDLER), "complaint_no")
    refused(lambda: complaints.transition(db, {"action": "take"}, HANDLER), "complaint_no")
    step(action="take")
    refused(lambda: step(action="note"), "note")
    refused(lambda: step(action="note", note=12), "note")
    refused(lambda: step(action="classify"), "track")
    refused(lambda: step(action="classify", track="extended"), "track")
    step(action="note", note="已调取记录")
    refused(lambda: step(action="decide", decision="致歉"), "outcome")
    refused(lambda: step(action="decide", decision="致歉", outcome="maybe"), "outcome")
    refused(lambda: step(action="decide", outcome="upheld"), "decision")
    for score in ("4", "²", "４", True, 6, HUGE, [4]):
        refused(lambda v=score: step(action="record_satisfaction", score=v), "score")
    view = step(action="decide", decision="致歉", outcome="upheld", colour="blue")
    assert view["status"] == "decided" and view["handler"] == "handler.wang"


def test_a_complaint_extension_is_the_acting_supervisors_approval(db: Database) -> None:
    seed_staff(db)
    no = complaints.intake(db, complaint_body(), "customer")["complaint_no"]
    ref = {"complaint_no": no}
    complaints.transition(db, {**ref, "action": "take"}, HANDLER)
    complaints.transition(db, {**ref, "action": "classify", "track": "complex"}, HANDLER)
    # a handler naming a supervisor in the body approves nothing
    refused(lambda: complaints.transition(
        db, {**ref, "action": "extend", "approved_by": "supervisor.zhao",
             "actor": "supervisor.zhao"}, HANDLER), "approved_by")
    done = complaints.transition(db, {**ref, "action": "extend", "approved_by": "handler.wang",
                                      "note": "涉及多家医院"}, SUPERVISOR)
    assert done["extension_approved_by"] == "supervisor.zhao"
    assert done["clock"]["track"] == "extended"
    assert done["timeline"][-1]["actor"] == "supervisor.zhao"


def test_who_may_take_a_complaint_step() -> None:
    roles.authorize_complaint_step(HANDLER, "note")
    roles.authorize_complaint_step(SUPERVISOR, "extend")
    roles.authorize_complaint_step(Actor("bot"), "extend")  # integrations keep every right
    for actor, action in ((HANDLER, "extend"), (SUPERVISOR, "note"), (AGENT, "take")):
        with pytest.raises(Forbidden) as err:
            roles.authorize_complaint_step(actor, action)
        assert err.value.field == "action" and actor.role_name in err.value.message


def test_the_complaint_queue_query_is_typed(db: Database) -> None:
    no = complaints.intake(db, complaint_body(), "customer")["complaint_no"]
    for query, field in (({"status": "lost"}, "status"), ({"status": ["received"]}, "status"),
                         ({"q": "x" * 101}, "q"), ({"q": 5}, "q"), ({"open": "maybe"}, "open"),
                         ({"breached": ["true"]}, "breached"), ({"handler": {}}, "handler"),
                         ({"claim_no": "x" * 61}, "claim_no")):
        refused(lambda q=query: complaints.search(db, q, "x"), field)
    everything = complaints.search(db, {"status": "", "q": "  ", "open": "true",
                                        "breached": "false", "page": 3}, "x")
    assert [c["complaint_no"] for c in everything] == [no]
    assert complaints.search(db, {"status": "closed"}, "x") == []


# ---- home visits ---------------------------------------------------------------------------

def visit_body(**extra: Any) -> dict[str, Any]:
    return {"channel": "ivr", "name": "林阿婆", "phone": "13812340000", "address": "峡山街道1号",
            "reason": "行动不便", **extra}


def test_a_home_visit_request_refuses_wrong_types_naming_the_field(db: Database) -> None:
    for extra, field in (({"channel": "fax"}, "channel"), ({"phone": WIDE_PHONE}, "phone"),
                         ({"phone": 13812340000}, "phone"), ({"id_number": HUGE}, "id_number"),
                         ({"id_number": "123"}, "id_number"), ({"address": ""}, "address"),
                         ({"reason": ["x"]}, "reason"), ({"preferred_time": "x" * 101},
                                                         "preferred_time"),
                         ({"name": 5}, "name")):
        refused(lambda e=extra: home_visits.request(db, visit_body(**e), "customer"), field)
    assert count(db, HomeVisit) == 0
    made = home_visits.request(db, visit_body(actor="admin", extra="x", id_number=None), AGENT)
    assert made["status"] == "requested" and made["id_number"] is None
    assert audit_actors(db, made["visit_no"]) == ["agent.li"]


def test_a_home_visit_step_is_typed_and_taken_by_the_actor(db: Database) -> None:
    seed_staff(db)
    no = home_visits.request(db, visit_body(), "customer")["visit_no"]
    step: Callable[..., Any] = lambda **f: home_visits.transition(  # noqa: E731
        db, {"visit_no": no, **f}, AGENT)
    refused(lambda: step(action="explode"), "action")
    refused(lambda: step(action="schedule"), "time")
    for bad in ("tomorrow", "2026-13-01T10:00", "２０２６-11-23T10:00", 20261123, ["x"],
                "9999-12-31T23:00-12:00"):
        refused(lambda t=bad: step(action="schedule", time=t), "time")
    refused(lambda: step(action="assign", handler="nobody"), "handler")
    refused(lambda: home_visits.transition(db, {"visit_no": "V 1", "action": "contact"}, AGENT),
            "visit_no")
    done = step(action="assign", actor="admin", handler=None)
    assert done["assigned_to"] == "agent.li"
    assert audit_actors(db, no)[-1] == "agent.li"
    refused(lambda: home_visits.search(db, {"open": "perhaps"}), "open")
    assert [v["visit_no"] for v in home_visits.search(db, {"assigned_to": "agent.li"})] == [no]
    assert home_visits.get(db, {"visit_no": no})["assigned_to"] == "agent.li"
    refused(lambda: home_visits.get(db, {"visit_no": 7}), "visit_no")


# ---- satisfaction ---------------------------------------------------------------------------

def test_a_satisfaction_rating_refuses_wrong_types_naming_the_field(db: Database) -> None:
    base = {"subject_type": "conversation", "subject_id": "c-1", "score": 3,
            "channel": "wechat"}
    for extra, field in (({"subject_type": ["claim"]}, "subject_type"),
                         ({"subject_id": HUGE}, "subject_id"), ({"subject_id": ""}, "subject_id"),
                         ({"subject_id": True}, "subject_id"), ({"score": "3"}, "score"),
                         ({"score": HUGE}, "score"), ({"score": 3.5}, "score"),
                         ({"channel": "fax"}, "channel"), ({"comment": ["好"]}, "comment"),
                         ({"comment": "x" * 1001}, "comment")):
        refused(lambda e=extra: satisfaction.record(db, {**base, **e}), field)
    rated = satisfaction.record(db, {**base, "subject_id": 42, "actor": "admin", "x": 1},
                                AGENT)
    assert (rated["subject_id"], rated["score"]) == ("42", 3)
    assert audit_actors(db, "conversation:42") == ["agent.li"]


# ---- endorsement requests --------------------------------------------------------------------

def test_an_endorsement_request_refuses_nested_bad_values(db: Database,
                                                          factory: Factory) -> None:
    policy_no = factory.issued()["policy_no"]
    base = {"channel": "wechat", "policy_no": policy_no, "kind": "change_beneficiary",
            "details": {"beneficiaries": [{"name": "王小红", "relation": "child"}]}}

    def with_beneficiary(**b: Any) -> dict[str, Any]:
        return {**base, "details": {"beneficiaries": [{"name": "王小红", "relation": "child",
                                                       **b}]}}

    cases = [
        ({**base, "kind": ["surrender"]}, "kind"),
        ({**base, "channel": 3}, "channel"),
        ({**base, "policy_no": HUGE}, "policy_no"),
        ({**base, "details": "x"}, "details"),
        ({**base, "details": {"beneficiaries": "王小红"}}, "details.beneficiaries"),
        ({**base, "details": {"beneficiaries": [7]}}, "details.beneficiaries[0]"),
        (with_beneficiary(relation="boss"), "details.beneficiaries[0].relation"),
        (with_beneficiary(name=["王"]), "details.beneficiaries[0].name"),
        (with_beneficiary(share_pct="²"), "details.beneficiaries[0].share_pct"),
        (with_beneficiary(share_pct=HUGE), "details.beneficiaries[0].share_pct"),
        (with_beneficiary(id_number="１２３"), "details.beneficiaries[0].id_number"),
        ({**base, "details": {**base["details"], "wish": "x"}}, "details.wish"),
        ({**base, "details": {**base["details"], "actor": "admin"}}, "details.actor"),
        ({**base, "details": {**base["details"], "phone": ["x"]}}, "details.phone"),
        ({**base, "kind": "surrender"}, "details.beneficiaries"),
    ]
    for raw, field in cases:
        refused(lambda r=raw: endorsement_requests.submit(db, r, "customer"), field)
    assert endorsement_requests.search(db, {}) == []


def test_an_endorsement_request_is_decided_by_the_actor_never_the_body(
        db: Database, factory: Factory) -> None:
    policy_no = factory.issued()["policy_no"]
    made = endorsement_requests.submit(db, {
        "channel": "wechat", "policy_no": policy_no, "kind": "change_beneficiary",
        "details": {"beneficiaries": [{"name": "王小红", "relation": "child"}]},
        "actor": "admin", "extra": 1}, AGENT)
    no = made["request_no"]
    refused(lambda: endorsement_requests.transition(
        db, {"request_no": no, "action": "explode"}, UNDERWRITER), "action")
    refused(lambda: endorsement_requests.transition(
        db, {"request_no": no, "action": "reject", "reason": ["x"]}, UNDERWRITER), "reason")
    refused(lambda: endorsement_requests.transition(
        db, {"request_no": no, "action": "reject"}, UNDERWRITER), "reason")
    done = endorsement_requests.transition(
        db, {"request_no": no, "action": "reject", "reason": "未见签字",
             "actor": "admin", "decided_by": "admin"}, UNDERWRITER)
    assert done["decided_by"] == "underwriter.sun"
    assert endorsement_requests.get(db, {"request_no": no}) == done
    refused(lambda: endorsement_requests.get(db, {"request_no": "BQ/1"}), "request_no")
    assert audit_actors(db, no) == ["agent.li", "underwriter.sun"]


def test_the_endorsement_request_queue_query_is_typed(db: Database) -> None:
    for query, field in (({"status": "lost"}, "status"), ({"kind": "explode"}, "kind"),
                         ({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit"),
                         ({"limit": "４"}, "limit"), ({"limit": HUGE}, "limit"),
                         ({"limit": "1" * 5000}, "limit"), ({"policy_no": ["P1"]}, "policy_no")):
        refused(lambda q=query: endorsement_requests.search(db, q), field)
    assert endorsement_requests.search(db, {"status": "", "kind": "", "limit": "1000"}) == []


# ---- bindings --------------------------------------------------------------------------------

def test_a_binding_refuses_wrong_types_naming_the_field(db: Database,
                                                       factory: Factory) -> None:
    person = factory.person()
    factory.issued(insured=person)
    base = {"channel": "wechat", "user": "o-bind", "id_number": person["id_number"],
            "phone": person["phone"]}
    no_proof = {k: v for k, v in base.items() if k != "phone"}
    for raw, field in (({**base, "channel": "sms"}, "channel"), ({**base, "user": ["o"]}, "user"),
                       ({**base, "user": "x" * 129}, "user"),
                       ({**base, "id_number": HUGE}, "id_number"),
                       ({**base, "phone": "１３８"}, "phone"), ({**base, "phone": ""}, "phone"),
                       (no_proof, "phone"), ({**no_proof, "policy_no": 5}, "policy_no"),
                       ({**no_proof, "policy_no": "x" * 41}, "policy_no")):
        refused(lambda r=raw: bindings.bind(db, r, "bot"), field)
    bound = bindings.bind(db, {**base, "actor": "admin", "colour": "blue"}, AGENT)
    assert bound["party"]["phone_masked"]
    assert bindings.get(db, {"channel": "wechat", "user": "o-bind"}) == bound
    refused(lambda: bindings.get(db, {"channel": "sms", "user": "o-bind"}), "channel")
    refused(lambda: bindings.unbind(db, {"channel": "wechat", "user": ""}, AGENT), "user")
    assert bindings.unbind(db, {"channel": "wechat", "user": "o-bind"}, AGENT) == {
        "unbound": True}


def test_a_binding_mismatch_is_still_refused_as_identity_mismatch(db: Database,
                                                                  factory: Factory) -> None:
    person = factory.person()
    factory.issued(insured=person)
    with pytest.raises(bindings.IdentityMismatch) as err:
        bindings.bind(db, {"channel": "wechat", "user": "o-guess",
                           "id_number": person["id_number"], "phone": "13900000000"}, "bot")
    assert err.value.field == "id_number"


# ---- the agents' conversation steps ------------------------------------------------------------

@pytest.fixture
def queued(db: Database) -> int:
    seed_staff(db)
    turn = conversations.user_message(db, "wechat", "o-cmd-conv", "我要转人工")
    conversations.bot_messages(db, turn.conversation_id, [
        {"custom": {"handoff": {"reason": "user_request", "summary": {"text": "要人工"}}}}])
    return turn.conversation_id


def test_the_conversation_list_and_its_path_are_typed(db: Database, queued: int) -> None:
    for query, field in (({"state": "lost"}, "state"), ({"state": ["queued"]}, "state"),
                         ({"queue": ""}, "queue"), ({"queue": "agents"}, "queue"),
                         ({"queue": "x" * 300}, "queue")):
        refused(lambda q=query: conversations.list_conversations(db, q), field)
    assert [c["id"] for c in conversations.list_conversations(
        db, {"state": "", "queue": "general", "limit": 5})] == [queued]
    for bad in ("abc", "-1", "9" * 40, "²", "４", HUGE, 0, None, [1]):
        refused(lambda b=bad: conversations.get_conversation(db, {"conversation_id": b}),
                "conversation_id")
    assert conversations.get_conversation(db, {"conversation_id": str(queued)})["id"] == queued


def test_an_agent_is_the_staff_member_acting_or_the_one_an_integration_names(
        db: Database, queued: int) -> None:
    ref = {"conversation_id": queued}
    for bad in (None, "", "x" * 61, 12, [], {}, True):  # an integration must name the agent
        refused(lambda b=bad: conversations.take(db, {**ref, "agent": b}, Actor("api")),
                "agent")
    taken = conversations.take(db, {**ref, "agent": "supervisor.zhao"}, AGENT)
    assert taken["agent"] == "agent.li"  # staff act as themselves
    for bad in (None, "", "x" * 4001, 5, ["hi"]):
        refused(lambda b=bad: conversations.agent_message(db, {**ref, "text": b}, AGENT), "text")
    sent = conversations.agent_message(db, {**ref, "text": " 您好 "}, AGENT)
    assert sent.text == "您好"
    # the channels' router's call (conversation id, agent, text) is read as the command
    again = conversations.agent_message(db, queued, "agent.li", "还在吗")
    assert again.text == "还在吗"
    refused(lambda: conversations.agent_message(db, queued, "agent.li", ""), "text")
    for bad in (None, "", 12, ["queue"], "x" * 81):
        refused(lambda b=bad: agent_desk.transfer(db, {**ref, "target": b}, AGENT), "target")
    for bad in (None, "", "x" * 61, 3):
        refused(lambda b=bad: agent_desk.close(db, {**ref, "disposition": b}, AGENT),
                "disposition")
    back = conversations.handback(db, {**ref, "actor": "x"}, AGENT)
    assert back["state"] == "bot"
    conversations.take(db, {**ref, "agent": "agent.li"}, "api")
    closed = agent_desk.close(db, {**ref, "disposition": "已解决", "agent": "other"}, AGENT)
    assert closed["state"] == "closed" and closed["agent"] == "agent.li"
    assert audit_actors(db, str(queued)) == ["bot", "agent.li", "agent.li", "agent.li",
                                             "agent.li"]
