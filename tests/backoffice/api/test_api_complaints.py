"""Complaints, home visits and satisfaction through the API, on a manual clock: intake to
close with the regulatory clock, an appeal, extensions, warnings and escalation by the
scheduler, the link to a claim, a home visit's clocks and ratings per agent and queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api_testkit import Api
from sqlalchemy import select
from test_api_claims_kit import (
    Scheme,
    act,
    clock,
    report,
    report_body,
    scheme,
    staff_headers,
)

from backoffice.services import complaints, home_visits, staff
from backoffice.store.db import Database
from backoffice.store.models import Notification, OutboxEvent, Task

__all__ = ["clock", "scheme"]  # fixtures


def body(**extra: Any) -> dict[str, Any]:
    return {"channel": "wechat", "user": "wechat:o-openid-1",
            "complainant": {"name": "陈美玲", "phone": "13912345678"},
            "category": "claims", "description": "理赔太慢，材料交了两周没有消息", **extra}


#: the staff of these tests: (role, display name, phone); one password each, test-only
STAFF = {"sup.zhao": ("claims_supervisor", "赵主管", "13700000001"),
         "handler1": ("complaint_handler", "王专员", "13700000002"),
         "agent1": ("cs_agent", "李坐席", "13700000003")}
PASSWORD = "complaint-tests-pass-1"


def add_staff(db: Database, *usernames: str) -> None:
    for username in usernames:
        role, name, phone = STAFF[username]
        staff.add(db, username, PASSWORD, role, name, phone=phone)


async def as_staff(api: Api, username: str) -> dict[str, str]:
    """Signed in afresh: the tests move the clock past a token's lifetime."""
    return await staff_headers(api, username, fresh=True, password=PASSWORD)


async def step(api: Api, no: str, action: str, actor: str = "handler1", expect: int = 200,
               **fields: Any) -> dict[str, Any]:
    """A complaint step by a staff member with their own token (`actor` names them)."""
    answer: dict[str, Any] = await api.call(
        "POST", f"/complaints/{no}/transitions", json_body={"action": action, **fields},
        headers=await as_staff(api, actor), expect=expect)
    return answer


def notices(db: Database, template: str) -> list[Notification]:
    with db.read() as s:
        return list(s.execute(select(Notification).where(Notification.template == template)
                              .order_by(Notification.id)).scalars())


async def test_intake_to_close_with_the_clock_and_a_linked_claim(
        api: Api, db: Database, scheme: Scheme) -> None:
    add_staff(db, "handler1")
    claim = await report(api, report_body(scheme))
    made = await api.post("/complaints", body(claim_no=claim["claim_no"]), expect=201)
    no = made["complaint_no"]
    today = scheme.today()
    assert made["status"] == "acknowledged"
    assert made["due_by"] == (today + timedelta(days=15)).isoformat()
    assert made["clock"]["days_left"] == 15 and not made["clock"]["breached"]
    ack = notices(db, "complaint_ack")
    assert [(n.channel, n.recipient) for n in ack] == [("wechat", "o-openid-1")]
    assert no in ack[0].text and made["due_by"] in ack[0].text

    linked = await api.get(f"/claims/{claim['claim_no']}", expect=200)
    assert linked["complaints"] == [{"complaint_no": no, "status": "acknowledged",
                                     "due_by": made["due_by"], "category": "claims"}]
    listed = await api.get(f"/complaints?claim_no={claim['claim_no']}", expect=200)
    assert [c["complaint_no"] for c in listed["items"]] == [no]

    await step(api, no, "decide", expect=409, decision="x", outcome="upheld")
    taken = await step(api, no, "take")
    assert (taken["status"], taken["handler"]) == ("assigned", "handler1")
    await step(api, no, "note", note="已调取案件记录，材料于第3日齐全，审核逾期")
    scheme.clock.advance(days=6)
    decided = await step(api, no, "decide", decision="向客户致歉并加急审核", outcome="upheld")
    assert decided["status"] == "decided" and decided["clock"]["days_left"] == 9
    told = await step(api, no, "notify")
    assert told["status"] == "notified" and told["told_on"] == (today + timedelta(6)).isoformat()
    assert told["clock"]["done_on"] == told["told_on"] and not told["clock"]["breached"]
    assert [n.recipient for n in notices(db, "complaint_result")] == ["o-openid-1"]
    asked = notices(db, "satisfaction_request")
    assert [(n.channel, n.payload["subject_id"]) for n in asked] == [("wechat", no)]

    # the handler does not rate their own complaint
    await api.error("POST", "/satisfaction", 403, "forbidden", "subject_id",
                    {"subject_type": "complaint", "subject_id": no, "score": 5,
                     "channel": "phone"}, headers=await as_staff(api, "handler1"))
    rated = await api.post("/satisfaction", {"subject_type": "complaint", "subject_id": no,
                                             "score": 4, "channel": "wechat"}, expect=201)
    assert (rated["score"], rated["agent"], rated["queue"]) == (4, "handler1", "complaints")
    await api.error("POST", "/satisfaction", 409, "conflict", "subject_id",
                    {"subject_type": "complaint", "subject_id": no, "score": 5,
                     "channel": "wechat"})
    closed = await step(api, no, "close")
    assert closed["status"] == "closed" and closed["satisfaction"] == 4
    assert [e["action"] for e in closed["timeline"]] == [
        "intake", "acknowledge", "assign", "note", "decide", "notify", "record_satisfaction",
        "close"]

    reopened = await step(api, no, "reopen", note="对结果不满意，申请复核")
    assert reopened["status"] == "reopened" and reopened["reopen_count"] == 1
    assert reopened["due_by"] == (today + timedelta(days=21)).isoformat()
    stats = await api.get("/stats/satisfaction", expect=200)
    assert {"name": "complaints", "ratings": 1, "asked": 1, "average": 4.0} in \
        stats["by_queue"]


async def test_extensions_warnings_and_escalation(api: Api, db: Database,
                                                  scheme: Scheme) -> None:
    add_staff(db, "sup.zhao", "handler1")
    no = (await api.post("/complaints", body(channel="ivr", user=None), expect=201))[
        "complaint_no"]
    await step(api, no, "assign", handler="handler1")
    await step(api, no, "assign", handler="sup.zhao", expect=400)  # not a complaint handler
    await step(api, no, "extend", actor="sup.zhao", expect=400)  # not complex yet
    complex_ = await step(api, no, "classify", track="complex")
    assert complex_["clock"]["days_left"] == 30
    # an extension is a supervisor's approval, given as themself: a handler may not, and a
    # body naming the supervisor proves nothing
    await step(api, no, "extend", actor="handler1", approved_by="sup.zhao", expect=403)
    await api.post(f"/complaints/{no}/transitions", {"action": "extend",
                                                     "approved_by": "sup.zhao"}, expect=400)
    extended = await step(api, no, "extend", actor="sup.zhao", note="涉及多家医院")
    assert extended["clock"]["track"] == "extended" and extended["clock"]["days_left"] == 60
    notice = notices(db, "complaint_extension")
    assert [(n.channel, n.recipient) for n in notice] == [("sms", "13912345678")]
    assert extended["due_by"] in notice[0].text

    today = scheme.today()
    assert complaints.clock_checks(db, today) == {"warned": 0, "escalated": 0}
    warn_day = today + timedelta(days=57)
    assert complaints.clock_checks(db, warn_day) == {"warned": 1, "escalated": 0}
    assert complaints.clock_checks(db, warn_day) == {"warned": 1, "escalated": 0}
    warnings = notices(db, "complaint_warning")
    assert [(n.channel, n.recipient) for n in warnings] == [("sms", "13700000002")]
    breach_day = today + timedelta(days=61)
    assert complaints.clock_checks(db, breach_day) == {"warned": 0, "escalated": 1}
    assert complaints.clock_checks(db, breach_day) == {"warned": 0, "escalated": 0}
    esc = notices(db, "complaint_escalation")
    assert [n.recipient for n in esc] == ["13700000001"]
    with db.read() as s:
        tasks = s.execute(select(Task).where(Task.kind == "complaint_escalation")).scalars()
        assert [t.dedupe_key for t in tasks] == [f"complaint_escalation:{no}:0"]
        topics = s.execute(select(OutboxEvent.topic)).scalars().all()
    assert "complaint.breached" in topics
    assert (await api.get(f"/complaints/{no}"))["escalated_on"] == breach_day.isoformat()


async def test_bad_complaints_change_nothing(api: Api, scheme: Scheme) -> None:
    cases = [
        ({**body(), "channel": "fax"}, "channel"),
        ({**body(), "complainant": {"name": "陈美玲", "phone": "123"}}, "complainant.phone"),
        ({**body(), "complainant": "x"}, "complainant"),
        ({**body(), "category": ""}, "category"),
        ({**body(), "category": "x" * 41}, "category"),
        ({**body(), "description": ""}, "description"),
        ({**body(), "description": "x" * 4001}, "description"),
    ]
    for bad, field in cases:
        await api.error("POST", "/complaints", 400, "invalid", field, bad)
    await api.error("POST", "/complaints", 404, "not_found", "claim_no",
                    body(claim_no="R202699999999"))
    assert (await api.get("/complaints", expect=200))["items"] == []
    await api.error("GET", "/complaints/C000", 404, "not_found", "complaint_no")
    await api.error("GET", "/complaints?status=lost", 400, "invalid", "status")
    no = (await api.post("/complaints", body(), expect=201))["complaint_no"]
    await api.error("POST", f"/complaints/{no}/transitions", 400, "invalid", "action",
                    {"action": "explode", "actor": "x"})
    await api.error("POST", f"/complaints/{no}/transitions", 409, "illegal_transition",
                    "action", {"action": "close", "actor": "x"})


async def test_claim_close_asks_for_a_rating(api: Api, db: Database, scheme: Scheme) -> None:
    from test_api_claims_kit import supply_all

    claim = await supply_all(api, await report(api, report_body(scheme)))
    no = claim["claim_no"]
    assert claim["status"] == "approved"
    await act(api, no, "pay", amount=claim["approved"], account="6222020200112233446")
    await act(api, no, "close")
    asked = notices(db, "satisfaction_request")
    assert [(n.channel, n.payload["subject_id"]) for n in asked] == [("sms", no)]
    await api.post("/satisfaction", {"subject_type": "claim", "subject_id": no, "score": 5,
                                     "channel": "sms", "comment": "很快"}, expect=201)
    await api.error("POST", "/satisfaction", 404, "not_found", "subject_id",
                    {"subject_type": "claim", "subject_id": "R0", "score": 5,
                     "channel": "sms"})
    for bad, field in [({"score": 6}, "score"), ({"subject_type": "x"}, "subject_type"),
                       ({"channel": "fax"}, "channel"), ({"subject_id": ""}, "subject_id")]:
        raw = {"subject_type": "conversation", "subject_id": "c-1", "score": 3,
               "channel": "wechat", **bad}
        await api.error("POST", "/satisfaction", 400, "invalid", field, raw)


async def test_home_visit_clocks_and_the_customer_told_the_time(
        api: Api, db: Database, scheme: Scheme) -> None:
    add_staff(db, "agent1")
    visit = await api.post("/home-visits", {
        "channel": "ivr", "name": "林阿婆", "phone": "13812340000", "address": "潮南区峡山街道1号",
        "reason": "行动不便，需要上门办理理赔材料", "preferred_time": "上午"}, expect=201)
    no = visit["visit_no"]
    requested = scheme.clock.at
    assert visit["status"] == "requested"
    assert visit["contact_by"] == (requested + timedelta(hours=24)).isoformat()
    assert visit["visit_by"] == (requested + timedelta(hours=48)).isoformat()
    assert [n.recipient for n in notices(db, "home_visit")] == ["13812340000"]

    base = f"/home-visits/{no}/transitions"
    await api.error("POST", base, 400, "invalid", "handler",
                    {"action": "assign", "handler": "nobody"},
                    headers=await as_staff(api, "agent1"))
    await api.call("POST", base, json_body={"action": "assign", "actor": "x"},
                   headers=await as_staff(api, "agent1"), expect=200)
    scheme.clock.advance(hours=21)
    assert home_visits.clock_checks(db, scheme.clock.at) == {"warned": 1, "breached": 0}
    assert [n.recipient for n in notices(db, "home_visit_warn")] == ["13700000003"]
    scheme.clock.advance(hours=4)
    assert home_visits.clock_checks(db, scheme.clock.at) == {"warned": 0, "breached": 1}
    at = (scheme.clock.at + timedelta(hours=5)).isoformat()
    scheduled = await api.call("POST", base, json_body={"action": "schedule", "time": at},
                               headers=await as_staff(api, "agent1"), expect=200)
    assert scheduled["status"] == "scheduled"
    assert scheduled["clocks"]["home_visit_contact"]["breached"] is True
    told = notices(db, "home_visit")
    assert len(told) == 2 and "已约定于" in told[1].text
    await api.error("POST", base, 400, "invalid", "time",
                    {"action": "schedule", "time": "tomorrow"},
                    headers=await as_staff(api, "agent1"))
    scheme.clock.advance(hours=5)
    done = await api.call("POST", base, json_body={"action": "visit"},
                          headers=await as_staff(api, "agent1"), expect=200)
    assert done["status"] == "visited" and not done["clocks"]["home_visit"]["breached"]
    await api.error("POST", base, 422, "domain_error", "action",
                    {"action": "cancel", "actor": "agent1"})
    await api.error("POST", "/home-visits", 400, "invalid", "phone",
                    {"channel": "ivr", "name": "林阿婆", "phone": "1", "address": "a",
                     "reason": "r"})


async def test_a_channels_own_category_is_kept(api: Api, scheme: Scheme) -> None:
    made = await api.post("/complaints", body(channel="bot", category="理赔时效"), expect=201)
    assert made["category"] == "理赔时效" and made["channel"] == "bot"
    got = await api.get(f"/complaints/{made['complaint_no']}", expect=200)
    assert got["category"] == "理赔时效" and got["status"] == "acknowledged"
