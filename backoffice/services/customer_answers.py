"""Answers to the questions put to a customer — the 1–5 satisfaction question (满意度) and the
回访 question after a claim closes — taken wherever the customer replies: WeChat, the web chat,
an SMS reply, the IVR keypad.

A question awaits the customer's *next* message on the channel and at the address it was
asked (the WeChat openid, the web id, the phone), for ANSWER_DAYS days. That message answers
the newest question waiting there when it reads as an answer (backoffice.domain.
customer_answer); either way no question waits any more afterwards, so a later "5" said to the
bot (a disability level, a menu choice) is never taken for a rating, and a second answer is a
normal message: a rating is never overwritten. Only the asker's own questions are looked at:
the address is the key, and a WeChat openid or a signed web session or SMS sender is proof
of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backoffice.domain import customer_answer as ca
from backoffice.domain.errors import Conflict, NotFound, ValidationError
from backoffice.domain.identity import parse_phone
from backoffice.services import conversations as conv
from backoffice.services import satisfaction
from backoffice.services.base import audit, today_cn
from backoffice.services.claims import claim_contact
from backoffice.services.commands import Command, OneOf, RowId, Text, takes
from backoffice.services.complaint_steps import Score
from backoffice.services.complaints import ComplaintIntake, open_complaint
from backoffice.services.notifications import queue
from backoffice.store.db import Database
from backoffice.store.models import (
    ClaimRow,
    ComplaintRow,
    Conversation,
    Party,
    PolicyRow,
    SatisfactionRow,
    Task,
    utcnow,
)

ANSWER_DAYS = 7
REPLY_CHANNELS = ("wechat", "web", "sms")
FOLLOW_UP_ASK_DAYS = 3  # the 回访 question goes out this many days after the close
FOLLOW_UP_TEXT = ("【小保】您好，这里是小保理赔回访。您的案件 {claim_no} 已结案，请问赔款是否"
                  "已收到、对理赔服务是否满意？请回复 1–5 分（5 为非常满意），"
                  "或直接告诉我们您的意见。")
THANKS = "感谢您的评价（{score} 分），我们会继续改进服务。"
THANKS_LOW = "感谢您的评价（{score} 分）。很抱歉让您不满意，主管会尽快与您联系了解情况。"
THANKS_FOLLOW_UP = "感谢您接受回访，您的意见已记录。"
THANKS_COMPLAINT = "您的意见已记录，我们会尽快安排专人与您联系处理。"


@dataclass(frozen=True, slots=True)
class Answered:
    """What the customer's message answered, and what they are told."""

    kind: str  # satisfaction | follow_up
    about: str  # "claim:R…", "conversation:12", "follow_up:…"
    reply: str
    score: int | None = None
    outcome: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "about": self.about, "reply": self.reply,
                "score": self.score, "outcome": self.outcome}


def reply(db: Database, channel: str, user: str, text: str) -> Answered | None:
    """The customer's message on `channel` from `user`, as an answer to the question waiting
    for it there; None (a normal message) when none waits or it is no answer."""
    if channel not in REPLY_CHANNELS or not user or not isinstance(text, str):
        return None
    if not waits(db, channel, user):  # most messages: one indexed read, no write
        return None
    with db.transaction() as s:
        ratings, follow_ups = _take_waiting(s, channel, user)
        if not ratings and not follow_ups:
            return None
        newest = max([*ratings, *follow_ups], key=lambda r: r.asked_at or utcnow())
        actor = f"customer:{channel}"
        if isinstance(newest, SatisfactionRow):
            return _rating(s, newest, text, channel, actor)
        return _follow_up(s, newest, text, channel, actor)


def waits(db: Database, channel: str, user: str) -> bool:
    """Whether a question may wait for this customer's reply there."""
    with db.read() as s:
        rating = s.execute(select(SatisfactionRow.id).where(
            SatisfactionRow.recipient == user[:80], SatisfactionRow.reply_channel == channel,
            SatisfactionRow.awaiting.is_(True)).limit(1)).first()
        return rating is not None or s.execute(select(Task.id).where(
            Task.recipient == user[:80], Task.reply_channel == channel,
            Task.status == "asked").limit(1)).first() is not None


def _take_waiting(s: Session, channel: str, user: str
                  ) -> tuple[list[SatisfactionRow], list[Task]]:
    """The questions waiting for this message, taken (no longer waiting: the next message
    ends them, answer or not) by a conditional UPDATE first, so of two messages at once only
    one finds them (PostgreSQL re-checks the condition after the first commits; SQLite's
    write lock is taken before anything is read); those still live (asked in the last
    ANSWER_DAYS days, not rated) are returned. A follow-up task not answered goes back to the
    open queue for a person to call."""
    taken = s.execute(update(SatisfactionRow).where(
        SatisfactionRow.recipient == user[:80], SatisfactionRow.reply_channel == channel,
        SatisfactionRow.awaiting.is_(True)).values(awaiting=False)
        .returning(SatisfactionRow.id).execution_options(synchronize_session=False)
    ).scalars().all()
    asked = s.execute(update(Task).where(
        Task.recipient == user[:80], Task.reply_channel == channel, Task.kind == "follow_up",
        Task.status == "asked").values(status="open")
        .returning(Task.id).execution_options(synchronize_session=False)).scalars().all()
    since = utcnow() - timedelta(days=ANSWER_DAYS)
    ratings = [r for r in (s.get(SatisfactionRow, i) for i in taken)
               if r is not None and r.score is None and r.asked_at and r.asked_at >= since]
    tasks = [t for t in (s.get(Task, i) for i in asked)
             if t is not None and t.asked_at and t.asked_at >= since]
    return ratings, tasks


def _rating(s: Session, row: SatisfactionRow, text: str, channel: str,
            actor: str) -> Answered | None:
    said = ca.read_rating(text)
    if said is None:
        return None
    row.channel = channel
    complaint = None
    if row.subject_type == "complaint":
        complaint = s.execute(select(ComplaintRow).where(
            ComplaintRow.complaint_no == row.subject_id)).scalar()
    satisfaction.rate(s, row, said.score, said.comment, actor, complaint)
    told = THANKS_LOW if ca.is_low(said.score) else THANKS
    return Answered("satisfaction", f"{row.subject_type}:{row.subject_id}",
                    told.format(score=said.score), score=said.score)


def _follow_up(s: Session, task: Task, text: str, channel: str, actor: str) -> Answered | None:
    said = ca.read_follow_up(text)
    if said is None:
        return None
    claim = s.get(ClaimRow, task.claim_id) if task.claim_id else None
    claim_no = claim.claim_no if claim else None
    record_outcome(s, task, said.outcome, said.result, actor)
    if said.score is not None and claim_no:
        _rate_claim_too(s, claim_no, said.score, said.result, channel, actor)
    if said.outcome == ca.COMPLAINT_RAISED and not ca.is_low(said.score):
        satisfaction.low_score_task(s, "claims", f"follow_up:{task.id}", said.score,
                                    said.result, claim_no=claim_no,
                                    agent=claim.handler if claim else None)
    told = THANKS_COMPLAINT if said.outcome == ca.COMPLAINT_RAISED else THANKS_FOLLOW_UP
    return Answered("follow_up", f"follow_up:{task.id}", told, score=said.score,
                    outcome=said.outcome)


def _rate_claim_too(s: Session, claim_no: str, score: int, comment: str, channel: str,
                    actor: str) -> None:
    """A score said in the 回访 rates the claim when its satisfaction question is unanswered
    (once: a rating already given is kept)."""
    row = s.execute(select(SatisfactionRow).where(
        SatisfactionRow.subject_type == "claim",
        SatisfactionRow.subject_id == claim_no)).scalar()
    if row is None or row.score is not None:
        if ca.is_low(score):  # no claim rating to carry it: the low score still reaches a person
            satisfaction.low_score_task(s, "claims", f"claim:{claim_no}", score, comment,
                                        claim_no=claim_no)
        return
    row.channel = channel
    satisfaction.rate(s, row, score, comment, actor)


def record_outcome(s: Session, task: Task, outcome: str, result: str | None,
                   actor: str) -> None:
    """A follow-up task's outcome and result, done, audited."""
    before = {"status": task.status, "outcome": task.outcome}
    task.outcome, task.result = outcome, (result or None)
    task.status, task.done_by, task.done_at = "done", actor, utcnow()
    audit(s, actor, "task", str(task.id), "follow_up_result", before,
          {"outcome": outcome, "status": "done"})


class FollowUpResult(Command):
    """A staff member's result of a 回访 (follow-up) task: reached, not reached or a complaint
    raised, with what was said."""

    task_id: RowId
    outcome: OneOf(ca.OUTCOMES)
    result: Text(ca.MAX_COMMENT) = None
    score: Score | None = None  # a rating the customer gave on the call


@takes(FollowUpResult)
def record_follow_up(db: Database, cmd: FollowUpResult, actor: str) -> dict[str, Any]:
    """The result of a 回访 call, on its task, audited; a score rates the claim (when not
    rated yet), a low one or a complaint opens the supervisor's task. A task already done is
    a conflict: its result is never overwritten."""
    with db.transaction() as s:
        task = s.execute(select(Task).where(Task.id == cmd.task_id, Task.kind == "follow_up")
                         .with_for_update()).scalar()
        if task is None:
            raise NotFound(f"回访任务 {cmd.task_id} 不存在", "task_id")
        if task.status == "done":
            raise Conflict("该回访任务已有结果", "task_id")
        claim = s.get(ClaimRow, task.claim_id) if task.claim_id else None
        record_outcome(s, task, cmd.outcome, cmd.result, str(actor))
        complaint_no = None
        if cmd.outcome == ca.COMPLAINT_RAISED:
            complaint_no = _open_complaint(s, task, claim, cmd.result, str(actor))
            task.result = f"{task.result or ''}（已登记投诉 {complaint_no}）".lstrip()
        if cmd.score is not None and claim is not None:
            _rate_claim_too(s, claim.claim_no, cmd.score, cmd.result or "", "phone", str(actor))
        if cmd.outcome == ca.COMPLAINT_RAISED and not ca.is_low(cmd.score):
            satisfaction.low_score_task(s, "claims", f"follow_up:{task.id}", cmd.score,
                                        cmd.result, claim_no=claim.claim_no if claim else None,
                                        agent=claim.handler if claim else None)
        return {**follow_up_view(task, claim), "complaint_no": complaint_no}


def _open_complaint(s: Session, task: Task, claim: ClaimRow | None, said: str | None,
                    actor: str) -> str:
    """A complaint raised on a 回访 call is a complaint: taken down (受理) on its clock, in
    the same transaction as the result, for the person called."""
    party = s.get(Party, task.party_id) if task.party_id else None
    name, phone = ((claim.reporter_name, claim.reporter_phone) if claim is not None
                   else (party.name, party.phone) if party is not None else (None, None))
    if not name or not phone:
        raise ValidationError("outcome", "该回访对象没有联系电话，无法登记投诉；"
                                         "请在投诉页登记并注明联系方式")
    policy = s.get(PolicyRow, task.policy_id) if task.policy_id else None
    row = open_complaint(s, ComplaintIntake.of({
        "channel": "phone", "complainant": {"name": name, "phone": phone},
        "category": "claims" if claim is not None else "service",
        "description": said or "回访中客户提出投诉", "claim_no": claim.claim_no if claim else None,
        "policy_no": policy.policy_no if policy else None}), actor)
    audit(s, actor, "task", str(task.id), "complaint_opened", None,
          {"complaint_no": row.complaint_no})
    return row.complaint_no


def follow_up_view(task: Task, claim: ClaimRow | None) -> dict[str, Any]:
    return {"task_id": task.id, "claim_no": claim.claim_no if claim else None,
            "status": task.status, "due_on": task.due_on.isoformat(),
            "asked_at": task.asked_at.isoformat() if task.asked_at else None,
            "outcome": task.outcome, "outcome_name": ca.OUTCOME_NAMES.get(task.outcome or ""),
            "result": task.result, "done_by": task.done_by,
            "done_at": task.done_at.isoformat() if task.done_at else None}


# ---- the 回访 question -------------------------------------------------------------------------

def ask_follow_ups(db: Database, today: date | None = None) -> dict[str, int]:
    """The 回访 question to the customer of every open follow-up task whose claim closed at
    least FOLLOW_UP_ASK_DAYS days ago and that was not asked yet (the scheduler's daily job,
    with the follow-up tasks)."""
    today = today or today_cn()
    with db.read() as s:
        ids = list(s.execute(select(Task.id).join(ClaimRow, ClaimRow.id == Task.claim_id).where(
            Task.kind == "follow_up", Task.status == "open", Task.asked_at.is_(None),
            ClaimRow.closed_on.is_not(None),
            ClaimRow.closed_on <= today - timedelta(days=FOLLOW_UP_ASK_DAYS))
            .order_by(Task.id)).scalars())
    asked = 0
    for task_id in ids:
        with db.transaction() as s:
            asked += ask_follow_up(s, task_id)
    return {"asked": asked}


def ask_follow_up(s: Session, task_id: int) -> int:
    task = s.execute(select(Task).where(Task.id == task_id).with_for_update()).scalar_one()
    claim = s.get(ClaimRow, task.claim_id) if task.claim_id else None
    if claim is None or task.status != "open" or task.asked_at is not None:
        return 0
    channel, recipient = claim_contact(claim)
    if not recipient:
        return 0
    queue(s, f"follow_up_question:{task.id}", channel, recipient, "follow_up_question",
          FOLLOW_UP_TEXT.format(claim_no=claim.claim_no),
          {"claim_no": claim.claim_no, "task_id": task.id})
    task.status, task.asked_at = "asked", utcnow()
    task.reply_channel, task.recipient = channel, recipient[:80]
    audit(s, "system", "task", str(task.id), "follow_up_asked", None,
          {"channel": channel, "claim_no": claim.claim_no})
    return 1


# ---- an SMS reply (channels/sms.py) ------------------------------------------------------------

SMS_KEPT = "sms_message"


def sms_message(db: Database, phone: str, text: str, push_key: str) -> dict[str, Any]:
    """A customer's SMS from `phone`: the answer to the question waiting for it there, or else
    kept for the agents — the message in the sender's SMS conversation, queued (once per
    `push_key`: a replayed SMS is not kept twice)."""
    phone = parse_phone(phone, "phone")
    answered = reply(db, "sms", phone, text)
    if answered is not None:
        return {"status": answered.kind, "reply": answered.reply, "score": answered.score,
                "outcome": answered.outcome, "conversation_id": None}
    turn = conv.user_message_once(db, push_key, "sms", phone, text, phone=phone)
    if turn is not None and turn.state == "bot":  # the agents answer SMS: no bot on this channel
        conv.bot_failed(db, turn.conversation_id, SMS_KEPT, "客户短信，请坐席回复")
    return {"status": "kept", "reply": None, "score": None, "outcome": None,
            "conversation_id": turn.conversation_id if turn is not None else None}


# ---- the IVR keypad at the end of a call -------------------------------------------------------

def call_rating(db: Database, call_user: str, score: int) -> dict[str, Any]:
    """The caller's keypad rating of their call: the conversation of the call user (random per
    call, kept by the gateway: proof of the call), rated once."""
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError("score", "评分须为 1 至 5 的整数")
    with db.transaction() as s:
        conv_row = s.execute(select(Conversation).where(
            Conversation.channel == "ivr", Conversation.user_id == call_user[:80])
            .order_by(Conversation.id.desc()).limit(1)).scalar()
        if conv_row is None:
            raise NotFound("该通话没有会话记录", "user")
        subject_id = str(conv_row.id)
        row = s.execute(select(SatisfactionRow).where(
            SatisfactionRow.subject_type == "conversation",
            SatisfactionRow.subject_id == subject_id).with_for_update()).scalar()
        if row is not None and row.score is not None:
            raise Conflict("该通话已评价过", "user")
        if row is None:
            row = SatisfactionRow(subject_type="conversation", subject_id=subject_id,
                                  channel="ivr", agent=conv_row.agent, queue="agents",
                                  asked_at=utcnow())
            s.add(row)
        row.channel = "ivr"
        satisfaction.rate(s, row, score, None, "customer:ivr")
        s.flush()
        return {"subject_type": "conversation", "subject_id": subject_id, "score": score}
