"""Satisfaction (满意度): asking for a 1–5 rating on the customer's channel, storing it, and
the figures per agent and per queue.

A rating is asked after a claim closes, after a complaint's result is told, and after an agent
conversation closes (`ask_after_conversation`, for the conversation router). One rating per
subject: the ask creates the row, the answer fills it in.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import WithJsonSchema
from sqlalchemy import String, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice.domain.agent_queue import supervisor_of
from backoffice.domain.customer_answer import age_band, is_low, town_of
from backoffice.domain.errors import Conflict, Forbidden, NotFound, ValidationError
from backoffice.services.base import audit, emit, today_cn
from backoffice.services.commands import Command, OneOf, Text, domain_rule, takes
from backoffice.services.complaint_steps import Score, record_satisfaction
from backoffice.services.notifications import NOTIFICATION_CHANNELS, queue
from backoffice.store.db import Database
from backoffice.store.models import (
    ClaimRow,
    ComplaintRow,
    Conversation,
    Party,
    SatisfactionRow,
    Task,
    utcnow,
)

SUBJECT_TYPES = ("conversation", "claim", "complaint")
QUEUES = {"claim": "claims", "complaint": "complaints", "conversation": "agents"}
RATING_CHANNELS = ("wechat", "ivr", "web", "sms", "desk", "api", "bot", "phone")
ASK_TEXT = ("【小保】感谢您的耐心。请为本次{what}服务打分：回复 1–5（5 为非常满意），"
            "也可以附上您的意见。")
_WHAT = {"claim": "理赔", "complaint": "投诉处理", "conversation": "人工客服"}


# where a reply to a question sent on a notification channel comes back
REPLY_CHANNELS = {"wechat": "wechat", "sms": "sms"}


def ask(s: Session, subject_type: str, subject_id: str, channel: str, recipient: str, *,
        agent: str | None = None, queue_name: str | None = None, round_no: int = 0,
        reply_channel: str | None = None, claim_no: str | None = None) -> bool:
    """Queue the question on the customer's channel, once per subject (and appeal round).
    The customer's next message on `reply_channel` (by default the channel asked on: WeChat
    or SMS; `web` for the web chat) to `recipient` answers it (services.customer_answers)."""
    if channel not in NOTIFICATION_CHANNELS:
        channel = "sms"
    row = s.execute(select(SatisfactionRow).where(
        SatisfactionRow.subject_type == subject_type,
        SatisfactionRow.subject_id == subject_id)).scalar()
    if row is None:
        row = SatisfactionRow(subject_type=subject_type, subject_id=subject_id, channel=channel,
                              agent=agent, queue=queue_name or QUEUES[subject_type],
                              asked_at=utcnow())
        s.add(row)
    elif row.score is not None and round_no == 0:
        return False
    elif row.score is not None:  # an appeal's new result asks again; the old rating goes
        row.score, row.comment, row.rated_at, row.agent = None, None, None, agent
    queued = queue(s, f"satisfaction:{subject_type}:{subject_id}:{round_no}", channel, recipient,
                   "satisfaction_request", ASK_TEXT.format(what=_WHAT[subject_type]),
                   {"subject_type": subject_type, "subject_id": subject_id})
    if queued is not None:
        reply_channel = reply_channel or REPLY_CHANNELS.get(channel)
        row.reply_channel, row.recipient = reply_channel, recipient[:80] if recipient else None
        row.awaiting = bool(reply_channel and recipient)
        row.asked_at = utcnow()
        row.claim_no = claim_no or (subject_id if subject_type == "claim" else row.claim_no)
        emit(s, "satisfaction.asked", {"subject_type": subject_type, "subject_id": subject_id})
    return queued is not None


def ask_text(subject_type: str) -> str:
    return ASK_TEXT.format(what=_WHAT[subject_type])


def ask_after_conversation(db: Database, conversation_id: str, channel: str, user: str,
                           agent: str | None, queue_name: str = "agents") -> bool:
    """For the conversation router: an agent conversation closed, ask its customer.

    `channel` is the conversation's (wechat: `user` is the openid; ivr: `user` is the call,
    asked by SMS at the caller's number kept with the conversation; web: the web id, through
    the log sender, answered in the web chat)."""
    notify_channel = {"wechat": "wechat", "ivr": "sms"}.get(channel, "log")
    with db.transaction() as s:
        recipient: str | None = user
        if channel == "ivr":
            conv = s.get(Conversation, int(conversation_id)) \
                if str(conversation_id).isdigit() else None
            recipient = conv.phone if conv is not None else None
        if not recipient:
            return False
        return ask(s, "conversation", str(conversation_id), notify_channel, recipient,
                   agent=agent, queue_name=queue_name,
                   reply_channel="web" if channel == "web" else None)


def _subject_id(value: Any, _field: str) -> str:
    """A claim's or complaint's number, or a conversation's id (given as a number too)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**39:
        value = str(value)  # bounded first: str() of a 5,000-digit number raises
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        raise ValidationError("subject_id", "subject_id 须为不超过 40 字的文本")
    return value.strip()


SubjectId = Annotated[str, domain_rule(_subject_id),
                      WithJsonSchema({"type": "string", "maxLength": 40})]


class Rating(Command):
    """A customer's 1–5 rating of a claim, a complaint or an agent conversation."""

    subject_type: OneOf(SUBJECT_TYPES)
    subject_id: SubjectId
    score: Score
    channel: OneOf(RATING_CHANNELS)
    comment: Text(1000) | None = None


def _subject(s: Session, subject_type: str, subject_id: str) -> tuple[str | None, Any]:
    """The handler of a claim or complaint (the agent rated) and the complaint row."""
    if subject_type == "claim":
        claim = s.execute(select(ClaimRow).where(ClaimRow.claim_no == subject_id)).scalar()
        if claim is None:
            raise NotFound(f"案件 {subject_id} 不存在", "subject_id")
        return claim.handler, None
    if subject_type == "complaint":
        row = s.execute(select(ComplaintRow).where(
            ComplaintRow.complaint_no == subject_id)).scalar()
        if row is None:
            raise NotFound(f"投诉 {subject_id} 不存在", "subject_id")
        return row.handler, row
    return None, None


@takes(Rating)
def record(db: Database, cmd: Rating, actor: str = "customer") -> dict[str, Any]:
    """A customer's rating, recorded by `actor` (the customer's channel or a staff member
    taking it down). A subject is rated once; a second rating is a conflict."""
    try:
        with db.transaction() as s:
            agent, complaint = _subject(s, cmd.subject_type, cmd.subject_id)
            if agent is not None and agent == str(actor):
                # a rating measures the handler: it is the customer's word, never their own
                raise Forbidden("不能为本人经办的案件或投诉记录满意度评价", "subject_id")
            row = s.execute(select(SatisfactionRow).where(
                SatisfactionRow.subject_type == cmd.subject_type,
                SatisfactionRow.subject_id == cmd.subject_id)).scalar()
            if row is not None and row.score is not None:
                raise Conflict("该服务已评价过", "subject_id")
            if row is None:
                row = SatisfactionRow(subject_type=cmd.subject_type,
                                      subject_id=cmd.subject_id, channel=cmd.channel,
                                      agent=agent, queue=QUEUES[cmd.subject_type])
                s.add(row)
            row.agent = row.agent or agent
            if row.claim_no is None:  # for the figures by claim type, age band and town
                row.claim_no = cmd.subject_id if cmd.subject_type == "claim" else (
                    complaint.claim_no if complaint is not None else None)
            rate(s, row, cmd.score, cmd.comment, actor, complaint)
            s.flush()
            return _view(row)
    except IntegrityError:
        raise Conflict("该服务已评价过", "subject_id") from None


def rate(s: Session, row: SatisfactionRow, score: int, comment: str | None, actor: str,
         complaint: ComplaintRow | None = None) -> None:
    """The rating written on its row: audited, onto the complaint it rates, and a low score
    (1–2) opens a follow-up task for the queue's supervisor."""
    row.score, row.comment, row.rated_at = score, comment, utcnow()
    row.awaiting = False
    if complaint is not None:
        _onto_complaint(s, complaint, score, actor)
    audit(s, str(actor), "satisfaction", f"{row.subject_type}:{row.subject_id}",
          "rate", None, {"score": row.score, "channel": row.channel})
    if is_low(score):
        low_score_task(s, row.queue, f"{row.subject_type}:{row.subject_id}", score, comment,
                       claim_no=row.claim_no, agent=row.agent)


def low_score_task(s: Session, queue_name: str | None, about: str, score: int | None,
                   comment: str | None, *, claim_no: str | None = None,
                   agent: str | None = None) -> None:
    """A follow-up task (`low_score`) for the supervisor of the queue, due the next day; a
    complaint said in a 回访 (no score) opens one too."""
    claim_id = None
    if claim_no:
        claim_id = s.execute(select(ClaimRow.id).where(ClaimRow.claim_no == claim_no)).scalar()
    said = f"：{comment[:200]}" if comment else ""
    what = f"评价 {score} 分" if score is not None else "提出投诉"
    note = (f"客户对{_ABOUT.get(about.partition(':')[0], '服务')} {about.partition(':')[2]} "
            f"{what}（经办：{agent or '未分配'}）{said}。请主管回访了解原因。")
    supervisor = supervisor_of(queue_name)
    key = f"low_score:{about}:{utcnow().strftime('%Y%m%d%H%M%S%f')}"
    task = Task(kind="low_score", claim_id=claim_id, due_on=today_cn() + timedelta(days=1),
                assigned_to=supervisor, note=note, dedupe_key=key)
    s.add(task)
    s.flush()
    queue(s, f"notice:{key}", "log", supervisor, "low_score", note,
          {"about": about, "score": score, "task_id": task.id})
    audit(s, "system", "task", str(task.id), "low_score_task", None,
          {"about": about[:60], "score": score, "assigned_to": supervisor})


_ABOUT = {"claim": "理赔案件", "complaint": "投诉", "conversation": "人工客服会话",
          "follow_up": "回访"}


def _onto_complaint(s: Session, row: ComplaintRow, score: int, actor: str) -> None:
    """A complaint told its result and now rated moves on to `rated` by the workflow, as
    whoever recorded the rating (the customer through a channel, or a staff member)."""
    row.satisfaction_score = score
    if row.status == "notified":
        record_satisfaction(s, row, score, actor)


def _view(row: SatisfactionRow) -> dict[str, Any]:
    return {"subject_type": row.subject_type, "subject_id": row.subject_id, "score": row.score,
            "channel": row.channel, "comment": row.comment, "agent": row.agent,
            "queue": row.queue, "rated_at": row.rated_at.isoformat() if row.rated_at else None}


def _figures(rows: Any) -> list[dict[str, Any]]:
    return [{"name": name or "-", "ratings": int(n), "asked": int(asked),
             "average": None if avg is None else round(float(avg), 2)}
            for name, n, avg, asked in rows]


def stats(db: Database) -> dict[str, Any]:
    """Average score and count per agent and per queue (claims, complaints, agents), plus how
    many were asked; the agents' ratings per agents' queue (`by_agent_queue`), the queue
    of the conversation each rating is about; and the ratings about a claim by claim type,
    the insured's age band and town (`by_claim_type`, `by_age_band`, `by_town`)."""
    counted = (func.count(SatisfactionRow.score), func.avg(SatisfactionRow.score), func.count())
    with db.read() as s:
        def group(col: Any) -> list[dict[str, Any]]:
            return _figures(s.execute(select(col, *counted).group_by(col).order_by(col)).all())

        by_agent_queue = _figures(s.execute(
            select(Conversation.queue, *counted)
            .join(Conversation, cast(Conversation.id, String) == SatisfactionRow.subject_id)
            .where(SatisfactionRow.subject_type == "conversation")
            .group_by(Conversation.queue).order_by(Conversation.queue)).all())
        return {"by_agent": group(SatisfactionRow.agent),
                "by_queue": group(SatisfactionRow.queue),
                "by_agent_queue": by_agent_queue,
                **_by_insured(s)}


def _by_insured(s: Session) -> dict[str, list[dict[str, Any]]]:
    """The ratings about a claim (a claim's own, a complaint's about a claim) by the claim's
    type and by the insured's age band (on the day asked) and town."""
    rows = s.execute(
        select(SatisfactionRow.score, SatisfactionRow.asked_at, ClaimRow.claim_type,
               Party.birth_date, Party.address)
        .join(ClaimRow, ClaimRow.claim_no == SatisfactionRow.claim_no)
        .join(Party, Party.id == ClaimRow.insured_party_id)).all()
    groups: dict[str, dict[str, list[int | None]]] = {
        "by_claim_type": {}, "by_age_band": {}, "by_town": {}}
    for score, asked_at, claim_type, birth, address in rows:
        on = asked_at.date() if asked_at else today_cn()
        for name, key in (("by_claim_type", claim_type), ("by_age_band", age_band(birth, on)),
                          ("by_town", town_of(address))):
            groups[name].setdefault(key, []).append(score)
    return {name: [_figure(key, scores) for key, scores in sorted(found.items())]
            for name, found in groups.items()}


def _figure(name: str, scores: list[int | None]) -> dict[str, Any]:
    given = [x for x in scores if x is not None]
    return {"name": name, "ratings": len(given), "asked": len(scores),
            "average": round(sum(given) / len(given), 2) if given else None}
