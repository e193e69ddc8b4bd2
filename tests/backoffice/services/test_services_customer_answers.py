"""Satisfaction and 回访 answers in the back office: the question asked where the customer is,
their next message taken as the answer (once, only theirs, only while it waits), the 回访
question after a claim closes and its outcome on the follow-up task with audit, a low score's
task for the supervisor, and the figures by claim type, age band and town; on SQLite and
PostgreSQL."""
# ruff: noqa: F811  (the claims tests' fixtures, imported by name)

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from test_services_claims import (  # noqa: F401
    CARD,
    PHONE,
    act,
    body,
    clock,
    files,
    on,
    report,
    scheme,
    upload_all,
)

from backoffice.clock import ManualClock
from backoffice.domain import customer_answer as ca
from backoffice.domain.errors import Conflict, NotFound, ValidationError
from backoffice.services import customer_answers, demo, satisfaction
from backoffice.store.db import Database
from backoffice.store.files import FileStore
from backoffice.store.models import AuditEntry, ClaimRow, Notification, SatisfactionRow, Task


def closed_claim(db: Database, files: FileStore, scheme: demo.SeedResult, who: int = 0) -> str:
    """A hospital allowance decided by the fast track, paid and closed (by SMS: no openid)."""
    no = report(db, body(scheme, who, facts={"admission_date": "2026-03-01",
                                              "discharge_date": "2026-03-03"}))["claim_no"]
    assert upload_all(db, files, no)["status"] == "approved"
    act(db, no, "pay", "cashier-1", amount="60.00", account=CARD)
    act(db, no, "close", "clerk-1")
    return str(no)


def claim_rating(db: Database, claim_no: str) -> SatisfactionRow:
    with db.read() as s:
        row = s.execute(select(SatisfactionRow).where(
            SatisfactionRow.subject_type == "claim",
            SatisfactionRow.subject_id == claim_no)).scalar_one()
        s.expunge(row)
    return row


def follow_up(db: Database, claim_no: str) -> Task:
    with db.read() as s:
        task = s.execute(select(Task).join(ClaimRow, ClaimRow.id == Task.claim_id).where(
            ClaimRow.claim_no == claim_no, Task.kind == "follow_up")).scalar_one()
        s.expunge(task)
    return task


def low_tasks(db: Database) -> list[Task]:
    with db.read() as s:
        rows = list(s.execute(select(Task).where(Task.kind == "low_score")).scalars())
        s.expunge_all()
    return rows


# ---- the domain's reading of a reply -----------------------------------------------------------

@pytest.mark.parametrize("text, score, comment", [
    ("5", 5, None), ("五", 5, None), ("满意", 4, None), ("非常满意", 5, None),
    ("不满意", 2, None), ("一般", 3, None), ("3分，态度还行", 3, "态度还行"), ("５", 5, None),
    ("五星", 5, None), ("给4分 很耐心", 4, "很耐心"), ("非常不满意！太慢", 1, "太慢"),
    ("打个五分", 5, None), ("我就给你们打四分", 4, None), ("评分：3", 3, None),
    ("给个2分，太慢", 2, "太慢"),
])
def test_ratings_as_people_say_them(text: str, score: int, comment: str | None) -> None:
    assert ca.read_rating(text) == ca.RatingAnswer(score, comment)


@pytest.mark.parametrize("text", ["0", "6", "10", "55", "五楼", "1.5万", "3天前",
                                  "R202600000012", "我的理赔到哪了", "", "   ", "一下"])
def test_what_is_no_rating(text: str) -> None:
    assert ca.read_rating(text) is None


def test_a_long_comment_is_cut_and_follow_up_readings() -> None:
    said = ca.read_rating("2 " + "慢" * 10_000)
    assert said is not None and said.score == 2 and len(said.comment or "") == ca.MAX_COMMENT
    assert ca.read_follow_up("收到了，谢谢") == ca.FollowUpAnswer("reached", None, "收到了，谢谢")
    assert ca.read_follow_up("我要投诉，2分") == ca.FollowUpAnswer("complaint_raised", 2,
                                                              "我要投诉，2分")
    assert ca.read_follow_up("5") == ca.FollowUpAnswer("reached", 5, "5")
    assert ca.read_follow_up("我想再报个案") is None


def test_age_bands_and_towns() -> None:
    assert ca.age_band(date(1950, 12, 8), date(2026, 12, 7)) == "75–79岁"
    assert ca.age_band(date(1941, 1, 1), date(2026, 12, 7)) == "85岁及以上"
    assert ca.town_of("广东省汕头市潮南区司马浦镇大布村") == "司马浦镇"
    assert ca.town_of("广东省汕头市潮南区峡山街道东泰村3号") == "峡山街道"
    assert ca.town_of(None) == ca.town_of("北京市东城区测试路1号") == "未知"


# ---- the satisfaction question answered --------------------------------------------------------

def test_a_closed_claim_is_asked_and_the_sms_reply_rates_it(
        db: Database, scheme: demo.SeedResult, files: FileStore) -> None:
    no = closed_claim(db, files, scheme)
    row = claim_rating(db, no)
    assert (row.reply_channel, row.recipient, row.awaiting, row.claim_no) == (
        "sms", PHONE, True, no)
    # another customer's phone, or another channel with the same address, answers nothing
    assert customer_answers.reply(db, "sms", "13900000000", "5") is None
    assert customer_answers.reply(db, "wechat", PHONE, "5") is None
    answered = customer_answers.reply(db, "sms", PHONE, "4分 很快")
    assert answered is not None and answered.kind == "satisfaction" and answered.score == 4
    row = claim_rating(db, no)
    assert (row.score, row.comment, row.channel, row.awaiting) == (4, "很快", "sms", False)
    # a second answer does not overwrite: it is a normal message
    assert customer_answers.reply(db, "sms", PHONE, "1") is None
    assert claim_rating(db, no).score == 4
    assert low_tasks(db) == []
    with db.read() as s:
        audit = s.execute(select(AuditEntry).where(
            AuditEntry.entity_type == "satisfaction",
            AuditEntry.entity_id == f"claim:{no}")).scalar_one()
    assert audit.actor == "customer:sms" and audit.after == {"score": 4, "channel": "sms"}


def test_two_answers_at_once_rate_once(
        db: Database, scheme: demo.SeedResult, files: FileStore) -> None:
    no = closed_claim(db, files, scheme)
    start = threading.Barrier(2)
    got: list[object] = []

    def answer(text: str) -> None:
        start.wait()
        got.append(customer_answers.reply(db, "sms", PHONE, text))

    threads = [threading.Thread(target=answer, args=(t,)) for t in ("5", "2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answered = [a for a in got if a is not None]
    assert len(got) == 2 and len(answered) == 1
    row = claim_rating(db, no)
    assert row.score == answered[0].score  # type: ignore[attr-defined]
    with db.read() as s:
        assert len(list(s.execute(select(AuditEntry).where(
            AuditEntry.entity_type == "satisfaction")).scalars())) == 1


def test_a_question_waits_seven_days_and_a_non_answer_ends_it(
        db: Database, scheme: demo.SeedResult, files: FileStore, clock: ManualClock) -> None:
    old = closed_claim(db, files, scheme, 0)
    on(clock, date(2026, 3, 19))
    assert customer_answers.reply(db, "sms", PHONE, "5") is None  # too late: a message
    assert claim_rating(db, old).score is None and not claim_rating(db, old).awaiting
    # the staff can still take the rating down
    satisfaction.record(db, {"subject_type": "claim", "subject_id": old, "score": 5,
                             "channel": "phone"}, "agent-9")
    assert claim_rating(db, old).score == 5


def test_a_low_score_opens_a_task_for_the_supervisor(
        db: Database, scheme: demo.SeedResult, files: FileStore) -> None:
    no = closed_claim(db, files, scheme)
    answered = customer_answers.reply(db, "sms", PHONE, "1 太慢了，打了好几次电话")
    assert answered is not None and "主管" in answered.reply
    [task] = low_tasks(db)
    assert task.assigned_to == "claims_supervisor" and task.status == "open"
    assert no in (task.note or "") and "1 分" in (task.note or "") and "太慢了" in (task.note or "")
    with db.read() as s:
        assert s.get(ClaimRow, task.claim_id).claim_no == no  # type: ignore[union-attr]
        notice = s.execute(select(Notification).where(
            Notification.template == "low_score")).scalar_one()
    assert notice.recipient == "claims_supervisor"
    # a staff member keying a low rating in opens one too
    other = closed_claim(db, files, scheme, 1)
    satisfaction.record(db, {"subject_type": "claim", "subject_id": other, "score": 2,
                             "channel": "phone"}, "agent-9")
    assert len(low_tasks(db)) == 2


# ---- 回访 ---------------------------------------------------------------------------------------

def test_the_follow_up_question_and_its_answer_on_the_task(
        db: Database, scheme: demo.SeedResult, files: FileStore, clock: ManualClock) -> None:
    no = closed_claim(db, files, scheme)
    assert customer_answers.ask_follow_ups(db) == {"asked": 0}  # not three days yet
    on(clock, date(2026, 3, 13))
    assert customer_answers.ask_follow_ups(db) == {"asked": 1}
    assert customer_answers.ask_follow_ups(db) == {"asked": 0}  # once
    task = follow_up(db, no)
    assert (task.status, task.reply_channel, task.recipient) == ("asked", "sms", PHONE)
    with db.read() as s:
        question = s.execute(select(Notification).where(
            Notification.template == "follow_up_question")).scalar_one()
    assert question.recipient == PHONE and no in question.text
    # the newest question waiting gets the answer: the 回访; its score rates the claim too
    answered = customer_answers.reply(db, "sms", PHONE, "收到了，5分，谢谢")
    assert answered is not None and answered.kind == "follow_up"
    assert (answered.outcome, answered.score) == ("reached", 5)
    task = follow_up(db, no)
    assert (task.status, task.outcome, task.done_by) == ("done", "reached", "customer:sms")
    assert task.result == "收到了，5分，谢谢" and task.done_at is not None
    assert claim_rating(db, no).score == 5
    with db.read() as s:
        entry = s.execute(select(AuditEntry).where(
            AuditEntry.entity_type == "task", AuditEntry.entity_id == str(task.id),
            AuditEntry.action == "follow_up_result")).scalar_one()
    assert entry.after == {"outcome": "reached", "status": "done"}
    assert customer_answers.reply(db, "sms", PHONE, "满意") is None  # nothing waits now


def test_a_complaint_in_the_follow_up_is_raised_to_the_supervisor(
        db: Database, scheme: demo.SeedResult, files: FileStore, clock: ManualClock) -> None:
    no = closed_claim(db, files, scheme)
    on(clock, date(2026, 3, 16))
    customer_answers.ask_follow_ups(db)
    answered = customer_answers.reply(db, "sms", PHONE, "我要投诉，钱到现在都没收到")
    assert answered is not None and answered.outcome == "complaint_raised"
    assert follow_up(db, no).outcome == "complaint_raised"
    [task] = low_tasks(db)
    assert "提出投诉" in (task.note or "") and task.assigned_to == "claims_supervisor"


def test_a_message_that_is_no_follow_up_answer_leaves_the_task_to_a_person(
        db: Database, scheme: demo.SeedResult, files: FileStore, clock: ManualClock) -> None:
    no = closed_claim(db, files, scheme)
    on(clock, date(2026, 3, 16))
    customer_answers.ask_follow_ups(db)
    assert customer_answers.reply(db, "sms", PHONE, "我想再报一个案") is None
    task = follow_up(db, no)
    assert (task.status, task.outcome) == ("open", None)


# ---- the IVR keypad ----------------------------------------------------------------------------

def test_call_rating_refuses_hostile_values(db: Database) -> None:
    from backoffice.services import conversations as conv

    turn = conv.user_message(db, "ivr", "call-abc", "你好", phone="13912340000")
    for bad in (0, 6, -1, True, "5", 5.0):
        with pytest.raises(ValidationError):
            customer_answers.call_rating(db, "call-abc", bad)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        customer_answers.call_rating(db, "call-someone-else", 5)
    assert customer_answers.call_rating(db, "call-abc", 5)["subject_id"] == str(
        turn.conversation_id)
    with pytest.raises(Conflict):
        customer_answers.call_rating(db, "call-abc", 1)


# ---- figures -----------------------------------------------------------------------------------

def test_figures_by_claim_type_age_band_and_town(
        db: Database, scheme: demo.SeedResult, files: FileStore) -> None:
    first = closed_claim(db, files, scheme, 0)
    second = closed_claim(db, files, scheme, 1)
    customer_answers.reply(db, "sms", PHONE, "4")  # both asked at PHONE: the newest answers
    figures = satisfaction.stats(db)
    assert figures["by_claim_type"] == [{"name": "hospital_allowance", "ratings": 1,
                                         "asked": 2, "average": 4.0}]
    with db.read() as s:
        from backoffice.store.models import Party

        people = {no: s.execute(select(Party).join(ClaimRow, ClaimRow.insured_party_id
                                                   == Party.id)
                                .where(ClaimRow.claim_no == no)).scalar_one()
                  for no in (first, second)}
    on_day = datetime(2026, 3, 10, tzinfo=UTC).date()
    bands = sorted({ca.age_band(p.birth_date, on_day) for p in people.values()})
    towns = sorted({ca.town_of(p.address) for p in people.values()})
    assert sorted(f["name"] for f in figures["by_age_band"]) == bands
    assert sorted(f["name"] for f in figures["by_town"]) == towns
    assert sum(f["asked"] for f in figures["by_town"]) == 2
    assert sum(f["ratings"] for f in figures["by_age_band"]) == 1
    assert all(t != "未知" for t in towns)  # the demo addresses name their town
