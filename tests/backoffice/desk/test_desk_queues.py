"""The agents' named queues on the desk: each waiting conversation shows its queue, the list
filters by queue, the transfer form offers the other queues, and the supervisor sees the
length and waiting times of each queue and the agents' ratings per queue."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient
from desk_testkit import CSRF, World

from backoffice.clock import ManualClock
from backoffice.services import conversations, satisfaction

Desk = Callable[[str | None], Awaitable[TestClient]]
CALLER = "13922223333"


def _caller(world: World) -> int:
    turn = conversations.user_message(world.db, "ivr", CALLER, "0", phone=CALLER)
    conversations.bot_failed(world.db, turn.conversation_id, "user_request", "来电按 0 转人工")
    return turn.conversation_id


def _row(page: str, cid: int) -> str:
    found = re.search(rf'<tr class="queued" data-conversation="{cid}">.*?</tr>', page, re.S)
    assert found, cid
    return found.group(0)


async def test_the_queue_page_shows_and_filters_by_queue(desk: Desk, world: World) -> None:
    caller = _caller(world)
    agent = await desk("cs_agent")
    page = await (await agent.get("/desk/handoff")).text()
    assert 'data-queue="claims">理赔</td>' in _row(page, world.conversation_id)
    assert 'data-queue="elderly">长者/电话</td>' in _row(page, caller)
    assert 'href="/desk/handoff?queue=complaints"' in page
    elderly = await (await agent.get("/desk/handoff?queue=elderly")).text()
    assert f'data-conversation="{caller}"' in elderly
    assert f'data-conversation="{world.conversation_id}"' not in elderly
    assert "转人工队列 · 长者/电话" in elderly
    empty = await (await agent.get("/desk/handoff?queue=complaints")).text()
    assert "队列为空" in empty
    refused = await agent.get("/desk/handoff?queue=nowhere")
    assert refused.status == 400 and "未知的坐席队列" in await refused.text()


async def test_a_transfer_into_another_queue(desk: Desk, world: World) -> None:
    cid = world.conversation_id
    agent = await desk("cs_agent")
    page = await (await agent.get(f"/desk/handoff/{cid}")).text()
    token = CSRF.search(page)
    assert token
    assert 'id="queue" data-queue="claims"' in page
    assert '<option value="queue">转回理赔队列</option>' in page
    assert '<option value="queue:complaints">转入投诉队列</option>' in page
    assert 'value="queue:claims"' not in page  # not offered: it is there already
    resp = await agent.post(f"/desk/handoff/{cid}/transfer", allow_redirects=False,
                            data={"target": "queue:complaints", "csrf_token": token.group(1)})
    assert resp.status == 302 and resp.headers["Location"].startswith("/desk/handoff?msg=")
    assert conversations.get_conversation(world.db, {"conversation_id": cid})["queue"] == \
        "complaints"
    assert "投诉队列" in await (await agent.get(resp.headers["Location"])).text()
    bad = await agent.post(f"/desk/handoff/{cid}/transfer", allow_redirects=False,
                           data={"target": "queue:nowhere", "csrf_token": token.group(1)})
    assert bad.status == 302 and "err=" in bad.headers["Location"]
    assert conversations.get_conversation(world.db, {"conversation_id": cid})["queue"] == \
        "complaints"


async def test_the_supervisor_sees_each_queue(desk: Desk, world: World,
                                              clock: ManualClock) -> None:
    clock.advance(seconds=30)
    caller = _caller(world)
    clock.advance(seconds=65)  # the claim's conversation waited 95 s, the caller 65 s
    supervisor = await desk("claims_supervisor")
    board = await (await supervisor.get("/desk/supervisor")).text()
    table = re.search(r'<table id="agent-queues">.*?</table>', board, re.S)
    assert table
    rows = dict(re.findall(r'<tr data-queue="(\w+)">(.*?)</tr>', table.group(0), re.S))
    assert set(rows) == {"general", "claims", "complaints", "elderly"}
    assert '"waiting-count">1<' in rows["claims"] and "1 分 35 秒" in rows["claims"]
    assert '"waiting-count">1<' in rows["elderly"] and "1 分 5 秒" in rows["elderly"]
    assert '"waiting-count">0<' in rows["general"]
    conversations.take(world.db, {"conversation_id": caller, "agent": "agent.li"}, "api")
    conversations.close(world.db, caller, "已解决")
    satisfaction.ask_after_conversation(world.db, str(caller), "ivr", CALLER, "agent.li")
    satisfaction.record(world.db, {"subject_type": "conversation", "subject_id": str(caller),
                                   "score": 4, "channel": "sms"})
    board = await (await supervisor.get("/desk/supervisor")).text()
    rated = re.search(r'<tr class="agent-queue" data-queue="elderly">(.*?)</tr>', board, re.S)
    assert rated and "长者/电话" in rated.group(1) and "4.0" in rated.group(1)
