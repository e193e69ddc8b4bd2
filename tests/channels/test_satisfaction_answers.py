"""Answers to the satisfaction question and the 回访 question taken where the customer gives
them: WeChat (signed pushes), the web chat, an SMS reply (a signed webhook), the IVR keypad at
the end of a call; against the running platform and a real Rasa server, on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from channel_kit import (
    SMS_SECRET,
    Platform,
    WeChatApiStandIn,
    openid,
    platform_env,
    start_platform,
    web_chat,
    web_later,
    web_user,
)
from sqlalchemy import func, select
from test_ivr import Phone, said
from wechat_client import WeChatPusher, reply_text, text_xml

from backoffice.services import satisfaction
from backoffice.store.db import Database
from backoffice.store.models import (
    AuditEntry,
    Conversation,
    ConversationMessage,
    SatisfactionRow,
    Task,
)
from channels.ivr import RATE

THANKS = "感谢您的评价"


@pytest.fixture
async def wechat_platform(tmp_path: Path, channel_db: Database, rasa_url: str,
                          wechat_api: WeChatApiStandIn, monkeypatch: pytest.MonkeyPatch
                          ) -> AsyncIterator[Platform]:
    started = await start_platform(tmp_path, channel_db, rasa_url, platform_env(wechat_api),
                                   monkeypatch)
    yield started
    await started.server.close()


def ask(db: Database, channel: str, recipient: str, subject_id: str | None = None, *,
        reply_channel: str | None = None) -> str:
    """The satisfaction question sent to `recipient` (about an agent conversation)."""
    subject_id = subject_id or str(random.randint(10**8, 10**9))
    with db.transaction() as s:
        assert satisfaction.ask(s, "conversation", subject_id, channel, recipient,
                                agent="agent7", reply_channel=reply_channel)
    return subject_id


def rating(db: Database, subject_id: str) -> SatisfactionRow:
    with db.read() as s:
        row = s.execute(select(SatisfactionRow).where(
            SatisfactionRow.subject_id == subject_id)).scalar_one()
        s.expunge(row)
    return row


def low_score_tasks(db: Database, subject_id: str) -> list[Task]:
    with db.read() as s:
        rows = list(s.execute(select(Task).where(
            Task.kind == "low_score", Task.note.contains(subject_id))).scalars())
        s.expunge_all()
    return rows


# ---- WeChat ------------------------------------------------------------------------------------

async def test_a_wechat_reply_rates_once_and_a_second_answer_goes_to_the_bot(
        wechat_platform: Platform) -> None:
    db = wechat_platform.db
    user, other = openid(), openid()
    subject = ask(db, "wechat", user)
    pusher = WeChatPusher(wechat_platform.url("/wechat"))
    # another customer's "5" answers nothing of this one's
    _, reply = await pusher.push(text_xml(other, "5"))
    assert THANKS not in reply_text(reply)
    assert rating(db, subject).score is None and rating(db, subject).awaiting
    status, reply = await pusher.push(text_xml(user, "3分，态度还行"))
    assert status == 200 and THANKS in reply_text(reply) and "3 分" in reply_text(reply)
    row = rating(db, subject)
    assert (row.score, row.comment, row.channel, row.awaiting) == (3, "态度还行", "wechat",
                                                                    False)
    # a second answer is a normal message: the bot answers it, the rating is kept
    _, reply = await pusher.push(text_xml(user, "5"))
    assert THANKS not in reply_text(reply)
    assert rating(db, subject).score == 3
    with db.read() as s:
        audits = s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.entity_type == "satisfaction",
            AuditEntry.entity_id == f"conversation:{subject}")).scalar()
        conv_row = s.execute(select(Conversation).where(Conversation.user_id == user)).scalar()
        assert conv_row is not None
        lines = [m.text for m in s.execute(select(ConversationMessage).where(
            ConversationMessage.conversation_id == conv_row.id)
            .order_by(ConversationMessage.id)).scalars()]
    assert audits == 1
    # the answer and its thanks are in the transcript, in order
    assert lines[0] == "3分，态度还行" and THANKS in lines[1]


@pytest.mark.parametrize("text, score", [("五", 5), ("满意", 4), ("非常满意", 5),
                                         ("不满意", 2), ("一般", 3), ("五星", 5)])
async def test_the_ways_a_rating_is_said_on_wechat(wechat_platform: Platform, text: str,
                                                  score: int) -> None:
    user = openid()
    subject = ask(wechat_platform.db, "wechat", user)
    _, reply = await WeChatPusher(wechat_platform.url("/wechat")).push(text_xml(user, text))
    assert THANKS in reply_text(reply)
    assert rating(wechat_platform.db, subject).score == score


@pytest.mark.parametrize("text", ["0", "6", "10", "55", "五楼", "1.5万"])
async def test_no_rating_is_a_normal_message_and_ends_the_question(
        wechat_platform: Platform, text: str) -> None:
    user = openid()
    subject = ask(wechat_platform.db, "wechat", user)
    pusher = WeChatPusher(wechat_platform.url("/wechat"))
    _, reply = await pusher.push(text_xml(user, text))
    assert THANKS not in reply_text(reply)
    row = rating(wechat_platform.db, subject)
    assert row.score is None and not row.awaiting
    # the question no longer waits: a later "5" (an answer to the bot) is no rating
    _, reply = await pusher.push(text_xml(user, "5"))
    assert THANKS not in reply_text(reply) and rating(wechat_platform.db, subject).score is None


# ---- the web chat ------------------------------------------------------------------------------

async def test_a_web_chat_rating_low_score_opens_a_supervisor_task(platform: Platform) -> None:
    async with aiohttp.ClientSession() as http:
        who, stranger = await web_user(http, platform), await web_user(http, platform)
        subject = ask(platform.db, "log", who.user, reply_channel="web")
        # a 10 KB comment: the rating is kept with the first 1,000 characters
        answer = await web_chat(http, platform, stranger, "1")
        assert THANKS not in str(answer["messages"])  # not this customer's question
        answer = await web_chat(http, platform, who, "不满意，" + "等" * 1990)
        assert THANKS in answer["messages"][0]["text"] and answer["state"] == "bot"
        assert "主管" in answer["messages"][0]["text"]
    row = rating(platform.db, subject)
    assert row.score == 2 and row.channel == "web" and len(row.comment or "") == 1000
    tasks = low_score_tasks(platform.db, subject)
    assert len(tasks) == 1 and tasks[0].assigned_to == "claims_supervisor"
    assert "2 分" in (tasks[0].note or "")


async def test_a_closed_web_conversation_asks_in_the_chat_and_takes_the_answer(
        platform: Platform) -> None:
    auth = {"Authorization": "Bearer test-token"}
    async with aiohttp.ClientSession() as http:
        who = await web_user(http, platform)
        assert (await web_chat(http, platform, who, "转人工"))["state"] == "queued"
        async with http.get(platform.url("/api/v1/conversations?state=queued"),
                            headers=auth) as r:
            cid = next(c["id"] for c in (await r.json())["items"] if c["user"] == who.user)
        async with http.post(platform.url(f"/api/v1/conversations/{cid}/take"), headers=auth,
                             json={"agent": "agent7"}) as r:
            assert r.status == 200
        async with http.post(platform.url(f"/api/v1/conversations/{cid}/close"), headers=auth,
                             json={"disposition": "已解决"}) as r:
            closed = await r.json()
            assert closed["state"] == "closed" and closed["satisfaction_asked"] is True
        later = (await web_later(http, platform, who))["messages"]
        assert any("回复 1–5" in m["text"] for m in later)  # the question, in the chat
        answer = await web_chat(http, platform, who, "非常满意")
        assert THANKS in answer["messages"][0]["text"]
    row = rating(platform.db, str(cid))
    assert (row.score, row.channel, row.agent) == (5, "web", "agent7")


async def test_no_question_waiting_a_digit_is_a_normal_message(platform: Platform) -> None:
    async with aiohttp.ClientSession() as http:
        who = await web_user(http, platform)
        answer = await web_chat(http, platform, who, "5")
        assert THANKS not in str(answer["messages"])
    with platform.db.read() as s:
        assert s.execute(select(func.count()).select_from(SatisfactionRow)).scalar() == 0


# ---- SMS replies -------------------------------------------------------------------------------

def sms_push(phone: str, said: str, *, secret: str = SMS_SECRET, **fields: Any
             ) -> tuple[bytes, dict[str, str]]:
    data = {"event_id": uuid.uuid4().hex, "timestamp": int(time.time()), "from": phone,
            "to": "106900000000", "text": said, **fields}
    body = json.dumps(data, ensure_ascii=False).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Xiaobao-Signature": signature}


async def post_sms(platform: Platform, body: bytes, headers: dict[str, str]
                   ) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.post(
            platform.url("/sms/inbound"), data=body, headers=headers) as r:
        return r.status, await r.json()


def phone_number() -> str:
    return f"138{random.randint(10**7, 10**8 - 1)}"


async def test_an_sms_reply_rates_and_a_replay_records_nothing_more(platform: Platform) -> None:
    phone = phone_number()
    subject = ask(platform.db, "sms", phone)
    body, headers = sms_push("+86 " + phone, "4 态度很好")
    status, answer = await post_sms(platform, body, headers)
    assert status == 200, answer
    assert answer["status"] == "satisfaction" and answer["score"] == 4
    assert THANKS in answer["reply"]
    again = await post_sms(platform, body, headers)
    assert again == (200, answer)  # the same answer, nothing recorded twice
    row = rating(platform.db, subject)
    assert (row.score, row.comment, row.channel) == (4, "态度很好", "sms")
    with platform.db.read() as s:
        assert s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.entity_id == f"conversation:{subject}")).scalar() == 1
    # the same event id with another body is refused
    data = json.loads(body)
    forged_body, forged_headers = sms_push(phone, "1", event_id=data["event_id"])
    status, error = await post_sms(platform, forged_body, forged_headers)
    assert status == 409 and error["error"]["field"] == "event_id"
    assert rating(platform.db, subject).score == 4


async def test_copies_of_an_sms_at_once_record_once(platform: Platform) -> None:
    phone = phone_number()
    subject = ask(platform.db, "sms", phone)
    body, headers = sms_push(phone, "2 一直没人回电话")
    results = await asyncio.gather(*(post_sms(platform, body, headers) for _ in range(3)))
    assert results[0][0] == 200 and all(r == results[0] for r in results)
    assert rating(platform.db, subject).score == 2
    assert len(low_score_tasks(platform.db, subject)) == 1
    with platform.db.read() as s:
        assert s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.entity_id == f"conversation:{subject}")).scalar() == 1


async def test_an_sms_that_answers_nothing_is_kept_for_the_agents(platform: Platform) -> None:
    phone = phone_number()
    body, headers = sms_push(phone, "我想问一下我的理赔到哪一步了")
    status, answer = await post_sms(platform, body, headers)
    assert status == 200 and answer["status"] == "kept" and answer["reply"] is None
    assert await post_sms(platform, body, headers) == (200, answer)  # a replay: kept once
    with platform.db.read() as s:
        conv_row = s.get(Conversation, answer["conversation_id"])
        assert conv_row is not None
        assert (conv_row.channel, conv_row.user_id, conv_row.state) == ("sms", phone, "queued")
        said_ = list(s.execute(select(ConversationMessage.text).where(
            ConversationMessage.conversation_id == conv_row.id,
            ConversationMessage.role == "user")).scalars())
    assert said_ == ["我想问一下我的理赔到哪一步了"]
    # an SMS with a rating but no question waiting is kept too, never a rating
    body, headers = sms_push(phone, "5")
    status, answer = await post_sms(platform, body, headers)
    assert status == 200 and answer["status"] == "kept"


async def test_forged_stale_and_hostile_sms_pushes_are_refused(platform: Platform) -> None:
    phone = phone_number()
    subject = ask(platform.db, "sms", phone)
    body, headers = sms_push(phone, "5", secret="not-the-secret")
    assert (await post_sms(platform, body, headers))[0] == 403
    body, headers = sms_push(phone, "5")
    async with aiohttp.ClientSession() as http, http.post(
            platform.url("/sms/inbound"), data=body,
            headers={"Content-Type": "application/json"}) as r:
        assert r.status == 403
    status, error = await post_sms(platform, *sms_push(phone, "5",
                                                       timestamp=int(time.time()) - 3600))
    assert status == 403 and error["error"]["field"] == "timestamp"
    status, error = await post_sms(platform, *sms_push(phone, "好" * 10_000))
    assert status == 413 and error["error"]["field"] == "body"
    for fields, field in (({"text": "好" * 2_000}, "text"), ({"text": ""}, "text"),
                          ({"text": 5}, "text"), ({"from": "not a phone"}, "from"),
                          ({"from": "12"}, "from"), ({"event_id": "e" * 65}, "event_id"),
                          ({"timestamp": "now"}, "timestamp"), ({"from": "99999"}, "from")):
        status, error = await post_sms(platform, *sms_push(phone, "5", **fields))
        assert status == 400 and error["error"]["field"] == field, (fields, error)
    for raw in (b"[1]", b"{bad", b"null"):
        signature = hmac.new(SMS_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        status, error = await post_sms(platform, raw, {"X-Xiaobao-Signature": signature})
        assert status == 400 and error["error"]["field"] == "body"
    assert rating(platform.db, subject).score is None  # nothing of that was a rating


# ---- the IVR keypad ----------------------------------------------------------------------------

def call_ratings(platform: Platform, phone: Phone) -> list[SatisfactionRow]:
    with platform.db.read() as s:
        ids = [str(i) for i in s.execute(select(Conversation.id).where(
            Conversation.phone == phone.caller)).scalars()]
        rows = list(s.execute(select(SatisfactionRow).where(
            SatisfactionRow.subject_type == "conversation",
            SatisfactionRow.subject_id.in_(ids))).scalars())
        s.expunge_all()
    return rows


async def test_the_keypad_rating_after_a_report(platform: Platform) -> None:
    phone = Phone(platform)
    await phone.actions("start")
    await phone.actions("dtmf", digits="1")
    await phone.actions("speech", text="昨天", confidence=0.9)
    done = await phone.actions("speech", text="在家里", confidence=0.8)
    assert any(a["type"] == "sms" for a in done)  # the report number: the call had a report
    asked = await phone.actions("speech", text="没有了，再见", confidence=0.9)
    assert RATE in said(asked) and asked[-1]["type"] == "collect"
    assert asked[-1]["max_digits"] == 1
    # a wrong key is asked once more
    again = await phone.actions("dtmf", digits="9")
    assert RATE in said(again)
    thanks = await phone.actions("dtmf", digits="4#")
    assert "感谢您的评价" in said(thanks) and thanks[-1] == {"type": "hangup"}
    rows = call_ratings(platform, phone)
    assert [(r.score, r.channel) for r in rows] == [(4, "ivr")]


async def test_the_keypad_rating_after_an_agent_and_a_low_score(platform: Platform) -> None:
    phone = Phone(platform)
    await phone.actions("start")
    handed = await phone.actions("dtmf", digits="0")
    assert handed[-1]["type"] == "transfer"
    # the platform brings the caller back after the agent's leg: the rating is asked once
    asked = await phone.actions("noinput")
    assert RATE in said(asked)
    thanks = await phone.actions("dtmf", digits="1")
    assert thanks[-1] == {"type": "hangup"}
    rows = call_ratings(platform, phone)
    assert [r.score for r in rows] == [1]
    assert low_score_tasks(platform.db, rows[0].subject_id)


async def test_a_call_without_a_report_or_an_agent_asks_nothing(platform: Platform) -> None:
    phone = Phone(platform)
    await phone.actions("start")
    await phone.actions("speech", text="你好", confidence=0.9)
    bye = await phone.actions("speech", text="没有了，再见", confidence=0.9)
    assert RATE not in said(bye)
    assert call_ratings(platform, phone) == []


async def test_two_wrong_keys_end_the_call_without_a_rating(platform: Platform) -> None:
    phone = Phone(platform)
    await phone.actions("start")
    await phone.actions("dtmf", digits="0")
    await phone.actions("noinput")
    await phone.actions("dtmf", digits="0")
    end = await phone.actions("dtmf", digits="6")
    assert end[-1] == {"type": "hangup"}
    assert call_ratings(platform, phone) == []
