"""The agents' queues through the API: the queue in every conversation answer, the list
filtered by queue (400 naming `queue` for an unknown one), and transfers to an agent or into
another queue, with hostile bodies refused and nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from api_testkit import Api
from sqlalchemy import select

from backoffice.demo.staff import seed_staff
from backoffice.services import conversations
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry

HOSTILE: list[Any] = [None, "", "x" * 5000, 12, [], {}, True]
HOSTILE_TARGETS = [*HOSTILE, "queue:", "queue:nowhere", "queue:general\x00", "nobody"]


def _handoff(db: Database, channel: str, user: str, reason: str,
             summary: dict[str, Any]) -> int:
    turn = conversations.user_message(db, channel, user, "我要转人工")
    conversations.bot_messages(db, turn.conversation_id, [
        {"custom": {"handoff": {"reason": reason, "summary": summary}}}])
    return turn.conversation_id


@pytest.fixture
def handed(db: Database) -> dict[str, int]:
    seed_staff(db)
    return {"complaint": _handoff(db, "wechat", "oQueueApi1", "complaint", {"text": "要投诉"}),
            "claim": _handoff(db, "web", "web-queue-api", "fallback",
                              {"text": "问理赔", "claim_no": "R202612010009"}),
            "plain": _handoff(db, "wechat", "oQueueApi2", "user_request", {"text": "咨询"})}


async def test_the_list_filters_by_queue(api: Api, handed: dict[str, int]) -> None:
    everything = (await api.get("/conversations?state=queued", expect=200))["items"]
    assert {c["id"]: c["queue"] for c in everything} == {
        handed["complaint"]: "complaints", handed["claim"]: "claims",
        handed["plain"]: "general"}
    claims_only = (await api.get("/conversations?queue=claims", expect=200))["items"]
    assert [c["id"] for c in claims_only] == [handed["claim"]]
    both = await api.get("/conversations?state=agent&queue=complaints", expect=200)
    assert both == {"items": []}
    one = await api.get(f"/conversations/{handed['plain']}", expect=200)
    assert one["queue"] == "general"
    for bad in ("nowhere", "", "Claims", "x" * 500):
        await api.error("GET", f"/conversations?queue={bad}", 400, "invalid", "queue")


async def test_transfer_to_a_queue_or_an_agent(api: Api, db: Database,
                                               handed: dict[str, int]) -> None:
    cid = handed["plain"]
    url = f"/conversations/{cid}/transfer"
    await api.post(f"/conversations/{cid}/take", {"agent": "agent.li"}, expect=200)
    moved = await api.post(url, {"agent": "agent.li", "target": "queue:claims"}, expect=200)
    assert moved == {"id": cid, "state": "queued", "agent": None, "queue": "claims"}
    listed = (await api.get("/conversations?queue=claims&state=queued", expect=200))["items"]
    assert sorted(c["id"] for c in listed) == sorted([handed["claim"], cid])
    to_agent = await api.post(url, {"agent": "agent.li", "target": "supervisor.zhao"},
                              expect=200)
    assert to_agent == {"id": cid, "state": "agent", "agent": "supervisor.zhao",
                        "queue": "claims"}
    with db.read() as s:
        trail = s.execute(select(AuditEntry.action, AuditEntry.after).where(
            AuditEntry.entity_id == str(cid), AuditEntry.action.in_(("requeue", "transfer")))
            .order_by(AuditEntry.id)).all()
    assert [tuple(t) for t in trail] == [
        ("requeue", {"queue": "claims"}),
        ("transfer", {"to": "supervisor.zhao", "queue": "claims"})]
    await api.post(f"/conversations/{cid}/close", {"disposition": "已解决"}, expect=200)
    await api.error("POST", url, 409, "conflict", "conversation_id",
                    {"agent": "agent.li", "target": "queue"})
    await api.error("POST", "/conversations/999999/transfer", 404, "not_found",
                    "conversation_id", {"agent": "agent.li", "target": "queue"})


async def test_hostile_transfers_are_refused_and_change_nothing(
        api: Api, handed: dict[str, int]) -> None:
    cid = handed["complaint"]
    url = f"/conversations/{cid}/transfer"
    before = await api.get(f"/conversations/{cid}", expect=200)
    for value in HOSTILE_TARGETS:
        err = await api.call("POST", url, json_body={"agent": "agent.li", "target": value})
        assert err["error"]["field"] in ("target", "body"), (value, err)
    for value in HOSTILE:
        err = await api.call("POST", url, json_body={"agent": value, "target": "queue"})
        assert err["error"]["field"] in ("agent", "body"), (value, err)
    for raw in (b"{bad", b"[]", b'"queue"', b"null"):
        answer = await api.call("POST", url, data=raw,
                                headers={"Content-Type": "application/json"})
        assert answer["error"]["field"], raw
    assert await api.get(f"/conversations/{cid}", expect=200) == before
