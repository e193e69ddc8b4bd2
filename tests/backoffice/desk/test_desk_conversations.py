"""Working a handed-off conversation on the desk: the queue with its waiting time and the
bot's summary, the transcript with the customer beside it, reply, canned replies, private
notes, transfer, hand-back and close with the satisfaction question; masking and refusals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from desk_testkit import CSRF, World
from sqlalchemy import select

from backoffice.clock import ManualClock
from backoffice.domain.errors import Conflict, ValidationError
from backoffice.domain.staff import CLAIMS_SUPERVISOR, CS_AGENT, Actor
from backoffice.services import agent_desk, conversations
from backoffice.store import models
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import ConversationMessage, Notification, Party, SatisfactionRow

Desk = Callable[[str | None], Awaitable[TestClient]]


async def _token(client: TestClient, path: str) -> tuple[str, str]:
    text = await (await client.get(path)).text()
    found = CSRF.search(text)
    assert found
    return found.group(1), text


AGENT_LI = Actor("agent.li", CS_AGENT)
SUPERVISOR_ZHAO = Actor("supervisor.zhao", CLAIMS_SUPERVISOR)


async def _post(client: TestClient, path: str, token: str, **form: str) -> str:
    resp = await client.post(path, data={**form, "csrf_token": token}, allow_redirects=False)
    assert resp.status == 302, (path, resp.status, (await resp.text())[:300])
    return resp.headers["Location"]


def test_the_queue_says_how_long_each_has_waited(world: World, clock: ManualClock) -> None:
    clock.advance(seconds=95)
    items = agent_desk.queue(world.db, "queued")
    mine = next(c for c in items if c["id"] == world.conversation_id)
    assert mine["waiting_seconds"] == 95 and mine["handoff_reason"] == "user_request"
    assert mine["summary"]["claim_no"] == world.claim_no
    agent_desk.transfer(world.db, {"conversation_id": world.conversation_id, "target": "queue"},
                        AGENT_LI)  # requeued now
    clock.advance(seconds=10)
    again = next(c for c in agent_desk.queue(world.db) if c["id"] == world.conversation_id)
    assert again["waiting_seconds"] == 10


def test_transfers_notes_and_refusals(world: World) -> None:
    cid = world.conversation_id
    ref = {"conversation_id": cid}
    conversations.take(world.db, ref, AGENT_LI)
    agent_desk.add_note(world.db, cid, "agent.li", "客户情绪激动")
    for bad in ("", None, "x" * 3000, 7):
        with pytest.raises(ValidationError):
            agent_desk.add_note(world.db, cid, "agent.li", bad)
    for target in ("adjuster.chen", "nobody", "", None):  # not an agent, unknown, missing
        with pytest.raises(ValidationError):
            agent_desk.transfer(world.db, {**ref, "target": target}, AGENT_LI)
    moved = agent_desk.transfer(world.db, {**ref, "target": "supervisor.zhao"}, AGENT_LI)
    assert moved["agent"] == "supervisor.zhao"
    with pytest.raises(Conflict):  # the conversation is the supervisor's now
        conversations.agent_message(world.db, {**ref, "text": "在吗"}, AGENT_LI)
    closed = agent_desk.close(world.db, {**ref, "disposition": "已解决"}, SUPERVISOR_ZHAO)
    assert closed["state"] == "closed" and closed["satisfaction_asked"] is True
    with pytest.raises(Conflict):
        agent_desk.transfer(world.db, {**ref, "target": "queue"}, SUPERVISOR_ZHAO)
    with world.db.read() as s:
        rating = s.execute(select(SatisfactionRow).where(
            SatisfactionRow.subject_type == "conversation",
            SatisfactionRow.subject_id == str(cid))).scalar_one()
        assert rating.agent == "supervisor.zhao" and rating.queue == "agents"
        asked = s.execute(select(Notification).where(
            Notification.recipient == world.openid)).scalars().all()
        assert any(n.channel == "wechat" and "打分" in n.text for n in asked)


def test_the_customer_beside_the_transcript(world: World) -> None:
    beside = agent_desk.customer(world.db, world.conversation_id, pii=False)
    assert [k["claim_no"] for k in beside["claims"]] == [world.claim_no]
    assert world.complaint_no in [c["complaint_no"] for c in beside["complaints"]]
    assert beside["policies"] and beside["people"]
    assert world.members[0] not in str(beside) and "*" in beside["people"][0]["id_number"]
    full = agent_desk.customer(world.db, world.conversation_id, pii=True)
    assert full["people"][0]["id_number"] == world.members[0]
    # nobody to find: a web user who said nothing identifying
    turn = conversations.user_message(world.db, "web", "web-anon", "转人工")
    conversations.bot_messages(world.db, turn.conversation_id, [
        {"custom": {"handoff": {"reason": "user_request", "summary": {"text": "要求人工"}}}}])
    nobody = agent_desk.customer(world.db, turn.conversation_id, pii=False)
    assert not nobody["found"] and nobody["policies"] == []


async def test_an_agent_works_a_conversation_on_the_desk(desk: Desk, world: World,
                                                         clock: ManualClock,
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    canned = tmp_path / "canned.txt"
    canned.write_text("您好，这里是小保人工客服。\n\n请提供您的报案号。\n", encoding="utf-8")
    monkeypatch.setenv("XIAOBAO_DESK_CANNED_REPLIES", str(canned))
    cid = world.conversation_id
    clock.advance(seconds=125)
    agent = await desk("cs_agent")
    token, queue = await _token(agent, "/desk/handoff")
    assert f'href="/desk/handoff/{cid}"' in queue and "2 分 5 秒" in queue
    assert "客户要求" in queue and "客户询问理赔进度" in queue and world.claim_no in queue
    assert "13811112222" not in queue and "138****2222" in queue  # the slots, masked
    where = await _post(agent, f"/desk/handoff/{cid}/take", token)
    assert where.startswith(f"/desk/handoff/{cid}?msg=")
    for hostile in ("²", "%EF%BC%94", "9" * 40):  # digits to str.isdigit, not ids
        assert (await agent.get(f"/desk/handoff/{hostile}")).status == 404
    page = await (await agent.get(f"/desk/handoff/{cid}")).text()
    assert "人工服务中" in page and "我要转人工" in page and "正在为您转接人工客服" in page
    assert "13811112222" not in page
    assert world.claim_no in page and world.complaint_no in page  # the customer beside it
    assert world.members[0] not in page
    assert "请提供您的报案号。" in page and page.count('<option value="您好') == 1
    await _post(agent, f"/desk/handoff/{cid}/reply", token, text="请提供您的报案号。")
    await _post(agent, f"/desk/handoff/{cid}/note", token, note="客户在医院，稍后回访")
    bad = await _post(agent, f"/desk/handoff/{cid}/reply", token, text="")
    assert "err=" in bad
    bad = await _post(agent, f"/desk/handoff/{cid}/transfer", token, target="nobody")
    assert "err=" in bad
    page = await (await agent.get(f"/desk/handoff/{cid}")).text()
    assert "请提供您的报案号。</div>" in page and "客户在医院，稍后回访" in page
    with world.db.read() as s:
        roles_seen = [m.role for m in s.execute(select(ConversationMessage).where(
            ConversationMessage.conversation_id == cid)).scalars()]
    assert roles_seen[-2:] == ["agent", "note"]
    await _post(agent, f"/desk/handoff/{cid}/transfer", token, target="supervisor.zhao")
    supervisor = await desk("claims_supervisor")
    token2, page = await _token(supervisor, f"/desk/handoff/{cid}")
    assert "supervisor.zhao" in page and world.members[0] in page  # sees full numbers
    refused = await _post(agent, f"/desk/handoff/{cid}/reply", token, text="还在吗")
    assert "err=" in refused  # no longer the agent's conversation
    done = await _post(supervisor, f"/desk/handoff/{cid}/close", token2, disposition="已解决")
    assert done.startswith("/desk/handoff?msg=")
    assert conversations.get_conversation(world.db, {"conversation_id": cid})["state"] == "closed"
    with world.db.read() as s:
        assert s.execute(select(SatisfactionRow).where(
            SatisfactionRow.subject_id == str(cid))).scalar_one().agent == "supervisor.zhao"
    for path in ("/desk/handoff/abc", "/desk/handoff/99999"):
        assert (await agent.get(path)).status == 404
    again = await _post(agent, f"/desk/handoff/{cid}/close", token, disposition="已解决")
    assert "err=" in again


@pytest.mark.skipif(not hasattr(models, "ChannelBinding"),
                    reason="the channel bindings (BRIEF interface 4) are not on this branch yet")
def test_a_bound_customer_is_found_by_the_binding(world: World) -> None:
    with world.db.transaction() as s:
        party_id = s.execute(select(Party.id).where(
            Party.id_number_hash == keyed_hash("id_number", world.members[0]))).scalar_one()
        s.add(models.ChannelBinding(channel="web", user="web-bound", party_id=party_id))
    turn = conversations.user_message(world.db, "web", "web-bound", "转人工")
    beside = agent_desk.customer(world.db, turn.conversation_id, pii=True)
    assert [p["id_number"] for p in beside["people"]] == [world.members[0]]
    assert [k["claim_no"] for k in beside["claims"]] == [world.claim_no]
    assert beside["identified"] is True


async def test_a_reply_to_a_phone_caller_goes_by_sms(desk: Desk, world: World,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIAOBAO_IVR_SECRET", "desk-test-ivr-secret")
    caller = "13922223333"
    turn = conversations.user_message(world.db, "ivr", caller, "0", phone=caller)
    conversations.bot_failed(world.db, turn.conversation_id, "user_request", "来电按 0 转人工")
    agent = await desk("cs_agent")
    token, queue = await _token(agent, "/desk/handoff")
    assert caller not in queue and "139****3333" in queue and "电话" in queue
    await _post(agent, f"/desk/handoff/{turn.conversation_id}/take", token)
    where = await _post(agent, f"/desk/handoff/{turn.conversation_id}/reply", token,
                        text="您的报案已登记，稍后短信告知进度。")
    assert "msg=" in where
    with world.db.read() as s:
        sms = s.execute(select(Notification).where(Notification.recipient == caller)
                        ).scalars().all()
    assert [n.channel for n in sms] == ["sms"] and "稍后短信告知进度" in sms[0].text
    page = await (await agent.get(f"/desk/handoff/{turn.conversation_id}")).text()
    assert caller not in page  # the caller's number masked for an agent
    # a customer with that number is shown as matched, not identified: the number proves
    # nothing, and the agent is told to check before saying anything personal
    with world.db.transaction() as s:
        s.execute(Party.__table__.update().where(  # Core: the sealed column as a value
            Party.id_number_hash == keyed_hash("id_number", world.members[1]))
            .values(phone=caller, phone_hash=keyed_hash("phone", caller)))
    page = await (await agent.get(f"/desk/handoff/{turn.conversation_id}")).text()
    assert 'id="customer-unverified"' in page and "尚未核验身份" in page
    assert not agent_desk.customer(world.db, turn.conversation_id, pii=False)["identified"]
