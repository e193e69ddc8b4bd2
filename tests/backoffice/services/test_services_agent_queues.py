"""The agents' named queues: the handoff lands in the queue its reason, summary and channel
call for; the list filters by queue; transfers move between queues with an audit entry; the
agents' ratings are figured per queue. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backoffice.demo.staff import seed_staff
from backoffice.domain.errors import ValidationError
from backoffice.domain.staff import CS_AGENT, Actor
from backoffice.services import agent_desk, conversations, satisfaction
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry


def _handoff(db: Database, channel: str, user: str, reason: str,
             summary: dict[str, Any]) -> int:
    turn = conversations.user_message(db, channel, user, "我要转人工")
    conversations.bot_messages(db, turn.conversation_id, [
        {"text": "正在为您转接人工客服。"},
        {"custom": {"handoff": {"reason": reason, "summary": summary}}}])
    return turn.conversation_id


def _audits(db: Database, cid: int) -> list[tuple[str, dict[str, Any] | None]]:
    with db.read() as s:
        rows = s.execute(select(AuditEntry.action, AuditEntry.after).where(
            AuditEntry.entity_type == "conversation", AuditEntry.entity_id == str(cid))
            .order_by(AuditEntry.id)).all()
    return [(action, after) for action, after in rows]


AGENT_LI = Actor("agent.li", CS_AGENT)


def _take(db: Database, cid: int) -> None:
    conversations.take(db, {"conversation_id": cid}, AGENT_LI)


@pytest.fixture
def handed(db: Database) -> dict[str, int]:
    seed_staff(db)
    ids = {
        "angry": _handoff(db, "wechat", "oAngry", "anger", {"text": "客户很生气"}),
        "claim": _handoff(db, "wechat", "oClaim", "user_request",
                          {"text": "问理赔进度", "claim_no": "R202612010001"}),
        "plain": _handoff(db, "web", "web-plain", "user_request", {"text": "想问问"}),
    }
    caller = conversations.user_message(db, "ivr", "13922223333", "0", phone="13922223333")
    conversations.bot_failed(db, caller.conversation_id, "user_request", "来电按 0 转人工")
    ids["caller"] = caller.conversation_id
    return ids


def test_a_handoff_joins_the_queue_its_reason_summary_and_channel_call_for(
        db: Database, handed: dict[str, int]) -> None:
    queues = {name: conversations.get_conversation(db, {"conversation_id": cid})["queue"]
              for name, cid in handed.items()}
    assert queues == {"angry": "complaints", "claim": "claims", "plain": "general",
                      "caller": "elderly"}
    assert _audits(db, handed["angry"]) == [("handoff", {"reason": "anger",
                                                         "queue": "complaints"})]
    assert _audits(db, handed["caller"])[-1][1] == {"reason": "user_request", "queue": "elderly"}


def test_the_list_filters_by_queue_and_refuses_an_unknown_one(
        db: Database, handed: dict[str, int]) -> None:
    claims_only = conversations.list_conversations(db, {"state": "queued", "queue": "claims"})
    assert [c["id"] for c in claims_only] == [handed["claim"]]
    assert {c["queue"] for c in conversations.list_conversations(db, {})} == {
        "complaints", "claims", "general", "elderly"}
    waiting = agent_desk.queue(db, "queued", queue="elderly")
    assert [c["id"] for c in waiting] == [handed["caller"]]
    assert waiting[0]["waiting_seconds"] is not None
    for bad in ("agents", "", "x" * 300):
        with pytest.raises(ValidationError) as err:
            conversations.list_conversations(db, {"queue": bad})
        assert err.value.field == "queue"


def test_transfers_between_queues_are_audited(db: Database, handed: dict[str, int]) -> None:
    cid = handed["plain"]
    _take(db, cid)
    moved = agent_desk.transfer(db, {"conversation_id": cid, "target": "queue:complaints"},
                                AGENT_LI)
    assert moved == {"id": cid, "state": "queued", "agent": None, "queue": "complaints"}
    assert [c["id"] for c in agent_desk.queue(db, queue="complaints")] == sorted(
        [handed["angry"], cid])
    assert ("requeue", {"queue": "complaints"}) in _audits(db, cid)
    with db.read() as s:
        came_from = s.execute(select(AuditEntry.before).where(
            AuditEntry.entity_id == str(cid), AuditEntry.action == "requeue")).scalar_one()
    assert came_from == {"queue": "general"}
    lines = [m["text"] for m in
             conversations.get_conversation(db, {"conversation_id": cid})["messages"]]
    assert "坐席 agent.li 将会话转入投诉队列" in lines
    _take(db, cid)
    back = agent_desk.transfer(db, {"conversation_id": cid, "target": "queue"},
                               AGENT_LI)  # its own queue, now complaints
    assert back["queue"] == "complaints" and back["state"] == "queued"
    to_agent = agent_desk.transfer(db, {"conversation_id": cid, "target": "supervisor.zhao"},
                                   AGENT_LI)
    assert to_agent == {"id": cid, "state": "agent", "agent": "supervisor.zhao",
                        "queue": "complaints"}
    assert _audits(db, cid)[-1] == ("transfer", {"to": "supervisor.zhao", "queue": "complaints"})
    before = len(_audits(db, cid))
    for bad in ("queue:nowhere", "queue:", "queue:QUEUE"):
        with pytest.raises(ValidationError) as err:
            agent_desk.transfer(db, {"conversation_id": cid, "target": bad,
                                     "agent": "supervisor.zhao"}, "api")
        assert err.value.field == "target"
    assert len(_audits(db, cid)) == before  # a refused transfer changes nothing
    assert conversations.get_conversation(db, {"conversation_id": cid})["agent"] == \
        "supervisor.zhao"


def test_the_agents_ratings_are_figured_per_queue(db: Database,
                                                  handed: dict[str, int]) -> None:
    for name, score in (("claim", 5), ("caller", 3), ("plain", 4)):
        cid = handed[name]
        _take(db, cid)
        agent_desk.close(db, {"conversation_id": cid, "disposition": "已解决"}, AGENT_LI)
        satisfaction.record(db, {"subject_type": "conversation", "subject_id": str(cid),
                                 "score": score, "channel": "wechat"})
    _take(db, handed["angry"])
    agent_desk.close(db, {"conversation_id": handed["angry"], "disposition": "已转投诉"},
                     AGENT_LI)  # asked, not rated yet
    figures = satisfaction.stats(db)
    per_queue = {r["name"]: r for r in figures["by_agent_queue"]}
    assert per_queue == {
        "claims": {"name": "claims", "ratings": 1, "asked": 1, "average": 5.0},
        "complaints": {"name": "complaints", "ratings": 0, "asked": 1, "average": None},
        "elderly": {"name": "elderly", "ratings": 1, "asked": 1, "average": 3.0},
        "general": {"name": "general", "ratings": 1, "asked": 1, "average": 4.0},
    }
    assert {r["name"]: r["ratings"] for r in figures["by_agent"]} == {"agent.li": 3}
    assert [r["name"] for r in figures["by_queue"]] == ["agents"]
