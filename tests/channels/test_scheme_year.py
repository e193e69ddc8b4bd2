"""A scripted year of the 潮南区 scheme on the settable clock, on SQLite and PostgreSQL.

The scheduler's own jobs run through their exactly-once guard (backoffice.scheduler.jobs.run)
at every firing their cron names, in time order, over the days that matter; the customers
come in through the real doors — the bot's back-office API (actions.backoffice.Client) for a
WeChat report and a phone report, WeChat's signed pushes, the signed SMS webhook, the IVR's
signed events (a stand-in Rasa answers the bot's part). At the end every message of the
outbox is checked one by one: recipient, channel, template, key words, and nothing else.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from channel_kit import SMS_SECRET, TOKEN, Platform, platform_env, start_platform
from sqlalchemy import func, select
from test_ivr import Phone, said
from wechat_client import WeChatPusher, reply_text, text_xml

from actions.backoffice import Client
from backoffice import clock as bo_clock
from backoffice.clock import ManualClock, manual_clock
from backoffice.domain.calendar import CN_CALENDAR
from backoffice.domain.errors import Forbidden
from backoffice.domain.identity import make_id_number
from backoffice.domain.staff import CLAIMS_ADJUSTER, CLAIMS_SUPERVISOR, Actor
from backoffice.scheduler import jobs
from backoffice.scheduler.jobs import JOBS, JobSpec, Runtime
from backoffice.services import claims, group, scheme
from backoffice.services.base import SHANGHAI
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.files import FileStore
from backoffice.store.models import (
    ClaimPayment,
    ClaimRow,
    JobRun,
    Notification,
    Party,
    PolicyRow,
    RosterMember,
    SatisfactionRow,
    Task,
)
from channels.ivr import RATE

START = date(2026, 1, 1)
AREA = "440514"
OPENID = "oWx" + "chenshufen0000000000000000"[:25]
CARD = "6222020200112233446"
REPORTER = "13823459999"  # 林振华's son
# (name, gender, town, phone): the founding roster; the last one's phone is struck off later
MEMBERS = [
    ("陈淑芬", "女", "峡山街道", "13923450001"), ("林振华", "男", "陈店镇", "13923450002"),
    ("黄秀英", "女", "两英镇", "13923450003"), ("郑德明", "男", "峡山街道", "13923450004"),
    ("吴玉兰", "女", "司马浦镇", "13923450005"), ("许伟雄", "男", "陈店镇", "13923450006"),
    ("蔡丽娟", "女", "两英镇", "13923450007"), ("杨国强", "男", "胪岗镇", "13923450008"),
    ("翁美珍", "女", "峡山街道", "13923450009"), ("马建平", "男", "仙城镇", "13923450010"),
    ("庄桂香", "女", "井都镇", "13923450011"), ("周炳坤", "男", "雷岭镇", "13923450012"),
]
PER_RUN = 5  # enrollment notices a firing: small, so that the batching shows

ADJUSTER = Actor("adjuster.chen", CLAIMS_ADJUSTER)
SECOND_ADJUSTER = Actor("adjuster.lin", CLAIMS_ADJUSTER)
SUPERVISOR = Actor("supervisor.zhao", CLAIMS_SUPERVISOR)
CASHIER = "cashier.xu"

# what the scheduler would fire (the dispatcher runs after every step instead of every 30 s;
# home visits are not part of this year)
DAILY = ("policy_clock", "job_runs_prune", "progress_notices", "documents_reminders",
         "deadline_checks", "follow_up_visits", "premium_reminders", "complaint_clocks",
         "enrollment_notices")
MONTHLY = ("auto_enrollment", "loss_ratio_watch")


def idn(n: int) -> str:
    female = MEMBERS[n][1] == "女"
    return make_id_number(AREA, date(1948 + n, 1 + n % 12, 3 + n), 2 * n + 1 + female)


def bj(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


# ---- a stand-in for Rasa's HTTP API (its REST and phone webhooks, /status) --------------------

def rasa_stand_in() -> web.Application:
    async def status(_: web.Request) -> web.Response:
        return web.json_response({"model_file": "stand-in.tar.gz", "num_active_training_jobs": 0})

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("message") == "/human_handoff":
            return web.json_response([
                {"recipient_id": body["sender"], "text": "正在为您转接人工客服，请稍候。"},
                {"recipient_id": body["sender"],
                 "custom": {"handoff": {"reason": "user_request", "summary": "来电转人工"}}}])
        return web.json_response([{"recipient_id": body["sender"], "text": "您好，我是小保。"}])

    app = web.Application()
    app.router.add_get("/status", status)
    app.router.add_post("/webhooks/rest/webhook", webhook)
    app.router.add_post("/webhooks/ivr/webhook", webhook)
    return app


# ---- the year's machinery ------------------------------------------------------------------------

@dataclass
class Recorder:
    via: str
    sent: list[int] = field(default_factory=list)

    def send(self, note: Notification) -> str:
        self.sent.append(note.id)
        return self.via


@dataclass
class Year:
    db: Database
    clock: ManualClock
    platform: Platform
    files: FileStore
    runtime: Runtime
    bot: Client
    fired: Counter[str] = field(default_factory=Counter)
    results: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def advance(self, until: datetime, names: tuple[str, ...] = DAILY + MONTHLY) -> None:
        """Every firing of the named jobs after now and up to `until`, in time order, each
        at its own time; then the clock stands at `until` and the outbox is dispatched."""
        now = self.clock()
        firings: list[tuple[datetime, JobSpec]] = []
        for name in names:
            spec = JOBS[name]
            trigger = spec.trigger()
            at = trigger.get_next_fire_time(None, now + timedelta(microseconds=1))
            while at is not None and at <= until:
                firings.append((at, spec))
                at = trigger.get_next_fire_time(at, at + timedelta(microseconds=1))
        for at, spec in sorted(firings, key=lambda f: (f[0], f[1].id)):
            self.clock.set(at)
            result = jobs.run(self.runtime, spec, at)
            assert result is not None and "errors" not in result, (spec.id, at, result)
            again = jobs.run(self.runtime, spec, at)  # a second scheduler: the slot is taken
            assert again is None
            self.fired[spec.id] += 1
            self.results[(spec.id, spec.slot_of(at))] = result
        self.clock.set(until)
        self.dispatch()

    def skip(self, until: datetime) -> None:
        """Quiet weeks: only the monthly jobs fire on the way."""
        self.advance(until, MONTHLY)

    def dispatch(self) -> None:
        """The dispatcher's next firing (every 30 s): the outbox sent by the senders."""
        self.clock.advance(seconds=30)
        result = jobs.run(self.runtime, JOBS["notifications_dispatch"], self.clock())
        assert result is not None and result["dead"] == 0 and result["retry"] == 0

    def act(self, claim_no: str, action: str, actor: str, **raw: Any) -> dict[str, Any]:
        return claims.transition(self.db, {"claim_no": claim_no, "action": action, **raw},
                                 actor)


def notes(db: Database) -> list[Notification]:
    with db.read() as s:
        rows = list(s.execute(select(Notification).order_by(Notification.id)).scalars())
        s.expunge_all()
    return rows


def sms_push(phone: str, text: str, secret: str = SMS_SECRET) -> tuple[bytes, dict[str, str]]:
    data = {"event_id": uuid.uuid4().hex, "timestamp": int(time.time()), "from": phone,
            "to": "106900000000", "text": text}
    body = json.dumps(data, ensure_ascii=False).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Xiaobao-Signature": signature}


async def post_sms(platform: Platform, body: bytes, headers: dict[str, str]
                   ) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.post(
            platform.url("/sms/inbound"), data=body, headers=headers) as r:
        return r.status, await r.json()


@pytest.fixture
async def year(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
               ) -> AsyncIterator[Year]:
    rasa = TestServer(rasa_stand_in(), host="127.0.0.1")
    await rasa.start_server()
    monkeypatch.setattr(scheme, "enrollment_notices",
                        functools.partial(scheme.enrollment_notices, per_run=PER_RUN))
    with manual_clock(bj(START, 9)) as c:
        platform = await start_platform(tmp_path, db, str(rasa.make_url("")).rstrip("/"),
                                        platform_env(None), monkeypatch)
        senders = {ch: Recorder(ch) for ch in ("sms", "wechat", "log")}
        client = Client(platform.url("").rstrip("/"), TOKEN)  # the bot's own client
        yield Year(db, c, platform, FileStore(tmp_path / "files"),
                   Runtime(db, senders, owner="year-test"), client)  # type: ignore[arg-type]
        if client._http is not None:
            await client._http.close()
        await platform.server.close()
    await rasa.close()


# ---- the year ---------------------------------------------------------------------------------

async def test_a_year_of_the_scheme(year: Year) -> None:
    db = year.db
    assert bo_clock.utcnow() == bj(START, 9).astimezone(UTC)
    # 1 January: the district's group policy and its founding roster
    policy_no = group.create_group_policy(db, {
        "product_code": "CN-ELDER-ACC", "applicant_name": "汕头市潮南区人民政府",
        "start_date": START.isoformat()}, "underwriter.sun")["policy_no"]
    lines = ["name,gender,birth_date,id_number,phone,address\n"] + [
        f"{name},{g},{date(1948 + n, 1 + n % 12, 3 + n)},{idn(n)},{phone},"
        f"广东省汕头市潮南区{town}{n + 1}号\n"
        for n, (name, g, town, phone) in enumerate(MEMBERS)]
    assert group.import_roster(db, policy_no, lines, "importer", START).imported == 12
    with db.transaction() as s:  # a number found dead: the registry keeps none for him
        s.execute(Party.__table__.update().where(
            Party.id_number_hash == keyed_hash("id_number", idn(11)))
            .values(phone=None, phone_hash=None))
    # 陈淑芬 follows the account and identifies herself to the bot (its binding call)
    bound = await year.bot.bind("wechat", OPENID, idn(0), MEMBERS[0][3], None)
    assert bound.get("bound", True)
    year.advance(bj(START + timedelta(days=1), 9))
    enrolled = [year.results[("enrollment_notices", f"2026-01-01T{h}:10:00+08:00")]
                for h in ("09", "10", "11", "12")]
    assert enrolled == [{"queued": 5, "no_contact": 0}, {"queued": 5, "no_contact": 0},
                        {"queued": 1, "no_contact": 1}, {"queued": 0, "no_contact": 0}]

    # ---- March: two claims, one by WeChat through the bot, one on a call ----------------------
    year.skip(bj(date(2026, 3, 2), 10))
    wechat_claim = (await year.bot.report_claim({
        "policy_no": policy_no, "insured": {"channel": "wechat", "user": OPENID},
        "claim_type": "hospital_allowance", "incident_date": "2026-02-27",
        "incident_place": "峡山街道家中",
        "description": "在家中摔倒；伤情：右手腕骨折；就医：潮南区人民医院",
        "reporter": {"name": "本人", "relation": "self", "phone": MEMBERS[0][3]},
        "channel": "wechat"}))["claim_no"]
    year.advance(bj(date(2026, 3, 3), 10, 30))
    phone_claim = (await year.bot.report_claim({
        "policy_no": policy_no, "insured_id_number": idn(1), "claim_type": "disability",
        "incident_date": "2026-02-28", "incident_place": "陈店镇市场",
        "description": "买菜时被电动车撞倒；伤情：左腿骨折；就医：陈店医院",
        "reporter": {"name": "林小明", "relation": "child", "phone": REPORTER},
        "channel": "ivr"}))["claim_no"]

    # the documents come in on 17 March (WeChat), the phone claim's are waived on the 19th
    year.advance(bj(date(2026, 3, 17), 10))
    for doc in claims.get_claim(db, wechat_claim)["missing_documents"]:
        claims.upload_document(db, year.files, wechat_claim, f"{doc['type']}.jpg",
                               "image/jpeg", f"{doc['type']} of {wechat_claim}".encode(),
                               doc["type"], "customer")
    view = year.act(wechat_claim, "adjudicate", ADJUSTER, facts={
        "admission_date": "2026-02-27", "discharge_date": "2026-03-02",
        "diagnosis": "右桡骨远端骨折", "hospital_level": 2})
    assert (view["status"], view["payable"]) == ("adjudicated", "90.00")  # 3 days × 30
    with pytest.raises(Forbidden, match="双人复核"):  # who adjudicated does not approve
        year.act(wechat_claim, "approve", ADJUSTER)
    year.act(wechat_claim, "approve", SUPERVISOR)
    year.act(wechat_claim, "set_bank_account", ADJUSTER, account=CARD)
    year.act(wechat_claim, "set_bank_account", SECOND_ADJUSTER, account=CARD)
    with pytest.raises(Forbidden):  # nor pays the one who approved
        year.act(wechat_claim, "pay", SUPERVISOR, amount="90.00")
    assert year.act(wechat_claim, "pay", CASHIER, amount="90.00")["status"] == "paid"

    year.advance(bj(date(2026, 3, 19), 10))
    year.act(phone_claim, "documents_complete", ADJUSTER, waive_missing=True)
    view = year.act(phone_claim, "adjudicate", ADJUSTER, facts={"disability_levels": [9]})
    assert view["payable"] == "600.00"  # 3,000 × level 9's 20 %
    year.act(phone_claim, "approve", SECOND_ADJUSTER)
    year.act(phone_claim, "set_bank_account", ADJUSTER, account=CARD)
    year.act(phone_claim, "set_bank_account", SECOND_ADJUSTER, account=CARD)
    year.act(phone_claim, "pay", CASHIER, amount=view["payable"])

    # closed on Friday the 20th; 陈淑芬 answers the satisfaction question on WeChat
    year.advance(bj(date(2026, 3, 20), 10))
    year.act(wechat_claim, "close", ADJUSTER)
    year.act(phone_claim, "close", ADJUSTER)
    year.dispatch()
    pusher = WeChatPusher(year.platform.url("/wechat"))
    status, reply = await pusher.push(text_xml(OPENID, "5"))
    assert status == 200 and "感谢您的评价（5 分）" in reply_text(reply)
    # the phone claim's reporter answers by SMS: a forged push first, then his own, a low score
    forged = sms_push(REPORTER, "5", secret="not-the-secret")
    assert (await post_sms(year.platform, *forged))[0] == 403
    status, answer = await post_sms(year.platform, *sms_push(REPORTER, "2 等了太久，电话也没人接"))
    assert status == 200 and answer["status"] == "satisfaction" and answer["score"] == 2

    # 回访: the question on the third day after the close; answered by WeChat and by SMS
    year.advance(bj(date(2026, 3, 24), 10))
    status, reply = await pusher.push(text_xml(OPENID, "收到了，谢谢"))
    assert status == 200 and "感谢您接受回访" in reply_text(reply)
    status, answer = await post_sms(year.platform, *sms_push(REPORTER, "收到了"))
    assert status == 200 and answer["status"] == "follow_up"

    # a call: the caller asks for a person, and rates the call on the keypad afterwards
    phone = Phone(year.platform)
    phone.caller = MEMBERS[2][3]
    await phone.actions("start")
    assert (await phone.actions("dtmf", digits="0"))[-1]["type"] == "transfer"
    assert RATE in said(await phone.actions("noinput"))
    assert (await phone.actions("dtmf", digits="4"))[-1] == {"type": "hangup"}

    year.advance(bj(date(2026, 4, 10), 10))
    # ---- the quarter's disclosure, against a count made here from the raw tables ----------
    report = scheme.quarterly_report(db, {"policy_no": policy_no, "quarter": "2026Q1"})
    check_quarter(db, policy_no, report)

    # ---- the roster changes: a death in June, a move in July ---------------------------------
    year.skip(bj(date(2026, 6, 16), 10))
    group.remove_member(db, {"policy_no": policy_no, "id_number": idn(3), "reason": "death",
                             "date": "2026-06-15"}, "importer")
    year.skip(bj(date(2026, 7, 2), 10))
    group.remove_member(db, {"policy_no": policy_no, "id_number": idn(4),
                             "reason": "moved_away", "date": "2026-07-01"}, "importer")

    # ---- the renewal in October, its enrollment notices the same day -------------------------
    year.skip(bj(date(2026, 10, 9), 10))
    renewed = scheme.renew(db, {"policy_no": policy_no, "premium_per_insured": "12.00"},
                           "underwriter.sun")
    year.advance(bj(date(2026, 10, 10), 9))
    year.skip(bj(date(2026, 12, 31), 10))
    assert (renewed["members"], renewed["not_renewed"]) == (10, 2)
    assert roster(db, renewed["policy_no"]) == {idn(n) for n in range(12)} - {idn(3), idn(4)}
    assert [year.results[("enrollment_notices", f"2026-10-09T{h}:10:00+08:00")]
            for h in ("10", "11")] == [{"queued": 5, "no_contact": 0},
                                       {"queued": 4, "no_contact": 1}]

    check_answers(db, wechat_claim, phone_claim, phone.caller)
    check_outbox(year, policy_no, renewed["policy_no"], wechat_claim, phone_claim)


def roster(db: Database, policy_no: str) -> set[str]:
    with db.read() as s:
        return set(s.execute(select(Party.id_number).join(
            RosterMember, RosterMember.party_id == Party.id).join(
            PolicyRow, PolicyRow.id == RosterMember.policy_id).where(
            PolicyRow.policy_no == policy_no, RosterMember.status == "active")).scalars())


def check_answers(db: Database, wechat_claim: str, phone_claim: str, caller: str) -> None:
    """The answers where they came: the ratings, the 回访 outcomes, the low score's task."""
    with db.read() as s:
        ratings = {(r.subject_type, r.subject_id): (r.score, r.channel) for r in s.execute(
            select(SatisfactionRow).where(SatisfactionRow.score.is_not(None))).scalars()}
        call = s.execute(select(func.max(SatisfactionRow.subject_id)).where(
            SatisfactionRow.subject_type == "conversation")).scalar_one()
        follow_ups = {t.claim_id: (t.status, t.outcome, t.done_by) for t in s.execute(
            select(Task).where(Task.kind == "follow_up")).scalars()}
        claim_ids = dict(s.execute(select(ClaimRow.claim_no, ClaimRow.id)).tuples().all())
        low = [(t.assigned_to, t.status, t.claim_id) for t in s.execute(
            select(Task).where(Task.kind == "low_score")).scalars()]
    assert ratings == {("claim", wechat_claim): (5, "wechat"), ("claim", phone_claim): (2, "sms"),
                       ("conversation", call): (4, "ivr")}
    assert follow_ups == {claim_ids[wechat_claim]: ("done", "reached", "customer:wechat"),
                          claim_ids[phone_claim]: ("done", "reached", "customer:sms")}
    assert low == [("claims_supervisor", "open", claim_ids[phone_claim])]
    assert caller == MEMBERS[2][3]


def check_quarter(db: Database, policy_no: str, report: dict[str, Any]) -> None:
    """The quarter's figures against a count made here, straight from the rows."""
    first, last = date(2026, 1, 1), date(2026, 3, 31)
    lo, hi = bj(first, 0), bj(last + timedelta(days=1), 0)
    with db.read() as s:
        pid = s.execute(select(PolicyRow.id).where(PolicyRow.policy_no == policy_no)
                        ).scalar_one()
        rows = s.execute(select(ClaimRow.claim_no, ClaimRow.claim_type, ClaimRow.status,
                                ClaimRow.approved_fen, Party.address)
                         .join(Party, Party.id == ClaimRow.insured_party_id)
                         .where(ClaimRow.policy_id == pid)).all()
        rows = [r for r in rows if r.claim_no and s.execute(select(ClaimRow.reported_on).where(
            ClaimRow.claim_no == r.claim_no)).scalar_one() <= last]
        pays = s.execute(select(ClaimPayment.amount_fen, ClaimPayment.paid_at).join(
            ClaimRow, ClaimRow.id == ClaimPayment.claim_id).where(
            ClaimRow.policy_id == pid)).all()
        scores = [sc for sc, subject in s.execute(select(
            SatisfactionRow.score, SatisfactionRow.subject_id).where(
            SatisfactionRow.subject_type == "claim")).all() if sc is not None
            and subject in {r.claim_no for r in rows}]
        members = s.execute(select(RosterMember.enrolled_on, RosterMember.ended_on).where(
            RosterMember.policy_id == pid)).all()
    decided = [r for r in rows if r.status in ("approved", "paid", "closed")]
    towns = Counter(next(t for t in ("峡山街道", "陈店镇", "两英镇") if t in r.address)
                    for r in rows)
    in_quarter = [fen for fen, at in pays if lo <= at.astimezone(SHANGHAI) < hi]
    assert report["claims"]["reported"] == len(rows) == 2
    assert report["claims"]["approved"] == len(decided) == 2
    amount = sum(r.approved_fen for r in decided)
    assert report["claims"]["approved_amount"] == f"{amount / 100:.2f}"
    assert {g["claim_type"]: g["reported"] for g in report["by_type"]} == dict(
        Counter(r.claim_type for r in rows))
    assert {g["town"]: g["reported"] for g in report["by_town"]} == dict(towns)
    assert report["paid_in_quarter"] == {"payments": len(in_quarter),
                                         "amount": f"{sum(in_quarter) / 100:.2f}"}
    assert report["satisfaction"]["ratings"] == len(scores) == 2
    assert report["satisfaction"]["average"] == f"{sum(scores) / len(scores):.2f}"
    assert report["insureds"]["at_quarter_end"] == sum(
        e <= last and (x is None or x >= last) for e, x in members) == 12
    assert report["complaints"]["received"] == 0
    assert all(t["breached"] == 0 for t in report["sla"])


def expected_messages(policy_no: str, renewed: str, wechat_claim: str, phone_claim: str
                      ) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(template, channel, recipient, key words) of every message the year should send."""
    mine = MEMBERS[0][3]
    out = []

    def to(n: int) -> tuple[str, str]:
        return ("wechat", OPENID) if n == 0 else ("sms", MEMBERS[n][3])

    for n in range(11):  # 周炳坤 has no phone: no notice
        out.append(("enrollment", *to(n), (MEMBERS[n][0], policy_no, "2026-01-01 至 2027-01-01",
                                           "无需缴费")))
    out.append(("missing_documents", "sms", mine, (wechat_claim, "出院小结", "住院医疗费用发票")))
    out.append(("missing_documents", "sms", REPORTER, (phone_claim, "伤残鉴定报告")))
    for stage in ("待补充材料",) * 3 + ("已支付",):  # every 3 working days until closed
        out.append(("claim_progress", "wechat", OPENID, (wechat_claim, stage)))
    for _ in range(4):
        out.append(("claim_progress", "sms", REPORTER, (phone_claim, "待补充材料", "伤残鉴定报告")))
    for _ in range(2):  # after 5 and 10 working days, with the 2-year time bar
        out.append(("documents_reminder", "wechat", OPENID,
                    (wechat_claim, "出院小结", "2028年2月27日", "保险法第二十六条")))
        out.append(("documents_reminder", "sms", REPORTER,
                    (phone_claim, "伤残鉴定报告", "2028年2月28日", "保险法第二十六条")))
    out.append(("satisfaction_request", "wechat", OPENID, ("请为本次理赔服务打分",)))
    out.append(("satisfaction_request", "sms", REPORTER, ("请为本次理赔服务打分",)))
    out.append(("low_score", "log", "claims_supervisor", (phone_claim, "2 分", "等了太久")))
    out.append(("follow_up_question", "wechat", OPENID, ("理赔回访", wechat_claim)))
    out.append(("follow_up_question", "sms", REPORTER, ("理赔回访", phone_claim)))
    for _month in range(4, 13):
        out.append(("loss_ratio_alert", "log", "claims_supervisor",
                    (policy_no, "超过 100%", "已赔 690.00 元")))
    for n in (0, 1, 2, 5, 6, 7, 8, 9, 10):  # not the dead, not the moved away, not the unreachable
        out.append(("enrollment", *to(n), (MEMBERS[n][0], renewed, "2027-01-01 至 2028-01-01")))
    return out


def check_outbox(year: Year, policy_no: str, renewed: str, wechat_claim: str,
                 phone_claim: str) -> None:
    got = notes(year.db)
    want = expected_messages(policy_no, renewed, wechat_claim, phone_claim)
    # nothing missing and nothing more: the count per recipient and template matches exactly
    assert Counter((n.template, n.channel, n.recipient) for n in got) == Counter(
        (t, c, r) for t, c, r, _ in want)
    for note in got:  # each message says what it should
        candidates = [w for w in want if w[:3] == (note.template, note.channel, note.recipient)
                      and all(word in note.text for word in w[3])]
        assert candidates, (note.template, note.recipient, note.text)
        want.remove(candidates[0])
    assert want == []
    # all sent, by the sender of their channel, once each
    assert {n.status for n in got} == {"sent"}
    sent = year.runtime.senders
    for channel in ("sms", "wechat", "log"):
        assert sorted(sent[channel].sent) == [n.id for n in got if n.channel == channel]  # type: ignore[attr-defined]
    # the clocks from the report: on the working days the rules give
    report_day = {wechat_claim: date(2026, 3, 2), phone_claim: date(2026, 3, 3)}
    for no, day in report_day.items():
        progress = sorted(n.dedupe_key for n in got if n.template == "claim_progress"
                          and n.payload.get("claim_no") == no)
        assert progress == sorted(f"claim:{no}:progress:{CN_CALENDAR.add_working_days(day, k)}"
                                  for k in (3, 6, 9, 12))
        reminders = [n.dedupe_key for n in got if n.template == "documents_reminder"
                     and n.payload.get("claim_no") == no]
        assert reminders == [f"claim:{no}:documents-reminder:{day}:{k}" for k in (1, 2)]
    # the loss-ratio watch: above 100 % on every first of the month from day 90 on
    alerts = [n for n in got if n.template == "loss_ratio_alert"]
    for note, month in zip(alerts, range(4, 13), strict=True):
        on = date(2026, month, 1)
        premium = Decimal(10 * (12 - (on > date(2026, 6, 15)) - (on > date(2026, 7, 1))))
        projected = Decimal("690") / premium * Decimal(365) / Decimal((on - START).days)
        assert projected > 1 and note.payload["alert"] == "high"
        assert f"保费 {premium:.2f} 元" in note.text
    with year.db.read() as s:
        runs = s.execute(select(func.count()).select_from(JobRun).where(
            JobRun.job != "notifications_dispatch")).scalar_one()
    assert runs == sum(year.fired.values())  # one run a firing, the second scheduler skipped
